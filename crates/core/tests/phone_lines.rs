//! The workstations' phone lines behind the supervisor's dashboard («звонков в очереди»,
//! «операторы на линии»), against the real database: what counts, what goes stale, and that
//! nobody can report another person's line.

mod common;

use common::*;
use dialog_core::model::StaffRole;
use dialog_core::phone::LineReport;
use sqlx::PgPool;

fn line(extension: &str, registered: bool, ringing: u8, talking: u8) -> LineReport {
    LineReport {
        extension: extension.into(),
        registered,
        ringing,
        talking,
    }
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn dashboard_counts_lines_on_the_line_and_calls_ringing(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (first, _) = person(&city, StaffRole::Operator, None).await?;
    let (second, second_login) = person(&city, StaffRole::Operator, None).await?;
    let (third, _) = person(&city, StaffRole::Operator, None).await?;
    let (chief, _) = person(&city, StaffRole::Supervisor, None).await?;

    let d = chief.dashboard().await?;
    assert_eq!((d.calls_waiting, d.operators_on_line, d.operators_talking), (0, 0, 0));

    first.report_line(&line("2001", true, 2, 0)).await?;
    second.report_line(&line("2002", true, 1, 1)).await?;
    // A line that failed to register is not "on the line", and its calls do not count.
    third.report_line(&line("2003", false, 0, 0)).await?;
    let d = chief.dashboard().await?;
    assert_eq!((d.calls_waiting, d.operators_on_line, d.operators_talking), (3, 2, 1));

    // A report replaces the previous one; logging out clears the line.
    first.report_line(&line("2001", true, 0, 1)).await?;
    second.clear_line().await?;
    let d = chief.dashboard().await?;
    assert_eq!((d.calls_waiting, d.operators_on_line, d.operators_talking), (0, 1, 1));

    // A workstation that stopped reporting (crashed, lost the network) goes stale.
    second.report_line(&line("2002", true, 4, 0)).await?;
    let mut owner = city.owner.pool().acquire().await?;
    sqlx::query("set session_replication_role = replica")
        .execute(&mut *owner)
        .await?;
    sqlx::query("update phone_lines set updated_at = now() - interval '3 minutes' where login = $1")
        .bind(&second_login)
        .execute(&mut *owner)
        .await?;
    sqlx::query("set session_replication_role = origin")
        .execute(&mut *owner)
        .await?;
    let d = chief.dashboard().await?;
    assert_eq!((d.calls_waiting, d.operators_on_line), (0, 1));
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn nobody_reports_or_clears_another_persons_line(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (first, first_login) = person(&city, StaffRole::Operator, None).await?;
    let (_, second_login) = person(&city, StaffRole::Operator, None).await?;
    first.report_line(&line("2001", true, 1, 0)).await?;

    let mut second = psql(&city, &second_login).await?;
    for attack in [
        format!("update phone_lines set ringing = 50 where login = '{first_login}'"),
        format!("delete from phone_lines where login = '{first_login}'"),
        format!(
            "insert into phone_lines (login, extension, registered, ringing) values ('{first_login}', '2002', true, 7)"
        ),
    ] {
        assert_eq!(
            sqlstate(sqlx::raw_sql(&attack).execute(&mut second).await),
            "42501",
            "{attack}"
        );
    }
    // Through the function a person reports their own line only, with the server's time.
    sqlx::query("select dialog_report_line('2002', true, 7, 0)")
        .execute(&mut second)
        .await?;
    let rows: Vec<(String, i32, bool)> = sqlx::query_as(
        "select login, ringing, updated_at > now() - interval '1 minute' from phone_lines order by login",
    )
    .fetch_all(city.owner.pool())
    .await?;
    let mut expected = vec![(first_login.clone(), 1, true), (second_login.clone(), 7, true)];
    expected.sort();
    assert_eq!(rows, expected);

    // Counts out of range are refused by the database itself.
    assert_eq!(
        sqlstate(
            sqlx::query("select dialog_report_line('2002', true, -1, 0)")
                .execute(&mut second)
                .await
        ),
        "23514"
    );
    Ok(())
}
