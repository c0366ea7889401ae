//! Attacks that bypass the app: a plain SQL session logged in as a person tries what the
//! app would never send. The database itself must refuse each time.

mod common;

use common::*;
use dialog_core::model::{AppealStatus, StaffRole};
use dialog_core::{Error, Rule};
use sqlx::{Executor as _, PgPool, Row};

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn operator_cannot_rewrite_history(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    let a = op
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    op.add_comment(a.id, "Жильцы перекрыли стояк сами").await?;
    let mut sql = psql(&city, &login).await?;
    let id = a.id;

    let r = on(
        &mut sql,
        "update appeal_history set comment = 'ничего не было' where appeal_id = $1",
        id,
    )
    .await;
    assert_eq!(sqlstate(r), "42501", "history edited");
    let r = on(&mut sql, "delete from appeal_history where appeal_id = $1", id).await;
    assert_eq!(sqlstate(r), "42501", "history deleted");
    let r = sqlx::query("truncate appeal_history").execute(&mut sql).await;
    assert_eq!(sqlstate(r), "42501", "history truncated");
    // Forging a non-comment entry, or a comment in someone else's name.
    let r = sqlx::query(
        "insert into appeal_history (appeal_id, action, after) values ($1, 'status', '{\"status\": \"закрыто\"}')",
    )
    .bind(id)
    .execute(&mut sql)
    .await;
    assert_eq!(sqlstate(r), "42501", "forged status entry");
    on(&mut sql, "insert into appeal_history (appeal_id, action, comment, actor, at) values ($1, 'comment', 'от чужого имени', 'someone_else', '2000-01-01')", id).await?;
    let row = sqlx::query(
        "select actor, extract(year from at)::int as y from appeal_history where comment = 'от чужого имени'",
    )
    .fetch_one(&mut sql)
    .await?;
    assert_eq!(
        row.get::<String, _>("actor"),
        login,
        "the comment is signed by who wrote it"
    );
    assert!(row.get::<i32, _>("y") >= 2026, "the comment cannot be backdated");

    // Even the admin cannot rewrite history.
    let (_admin, admin_login) = person(&city, StaffRole::Admin, None).await?;
    let mut sql = psql(&city, &admin_login).await?;
    let r = sqlx::query("delete from appeal_history").execute(&mut sql).await;
    assert_eq!(sqlstate(r), "42501", "admin deleted history");

    let h = op.history(id).await?;
    assert_eq!(
        h.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["created", "comment", "comment"]
    );
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn statuses_cannot_be_skipped(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    let a = op
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    let mut sql = psql(&city, &login).await?;
    for skip in ["в работе", "отработано", "закрыто"] {
        let r = sqlx::query(&format!("update appeals set status = '{skip}' where id = $1"))
            .bind(a.id)
            .execute(&mut sql)
            .await;
        assert_eq!(sqlstate(r), "DL001", "новый → {skip}");
    }
    let r = on(&mut sql, "update appeals set status = 'назначено' where id = $1", a.id).await;
    assert_eq!(sqlstate(r), "DL002", "назначено without an executor");
    let r = sqlx::query("insert into appeals (id, number, identifier, kind_id, building_id, status, appeal_type, priority) values (gen_random_uuid(), 'x', '+79123456789', $1, $2, 'в работе', 'авария', 'низкий')")
        .bind(city.leak)
        .bind(city.lenina_10)
        .execute(&mut sql)
        .await;
    assert_eq!(sqlstate(r), "DL001", "created straight into в работе");
    // The number, author and registration time are the database's.
    let r = on(
        &mut sql,
        "update appeals set number = '2000-000001' where id = $1",
        a.id,
    )
    .await;
    assert_eq!(sqlstate(r), "DL009");
    // Saving over someone else's change with the version one read is refused by the database.
    on(&mut sql, "update appeals set comment = 'первое' where id = $1", a.id).await?;
    let r = sqlx::query("update appeals set comment = 'второе', version = $2 where id = $1")
        .bind(a.id)
        .bind(a.version)
        .execute(&mut sql)
        .await;
    assert_eq!(sqlstate(r), "DL008", "a stale version overwrote");
    let r = on(&mut sql, "delete from appeals where id = $1", a.id).await;
    assert_eq!(sqlstate(r), "42501", "operator deleted an appeal");
    // Typing a progress or a deadline does nothing: they are derived.
    let r = on(&mut sql, "update appeals set progress = 100 where id = $1", a.id).await;
    assert_eq!(sqlstate(r), "428C9", "progress typed");
    on(
        &mut sql,
        "update appeals set deadline_at = now() + interval '1 year', notified_at = now() where id = $1",
        a.id,
    )
    .await?;
    let after = op.appeal(a.id).await?;
    assert_eq!(after.deadline_at, a.deadline_at);
    assert_eq!(after.notified_at, None);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn in_work_needs_a_recorded_call_after_assignment(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    // A call to the plumber made before the appeal existed does not count.
    op.record_call(&call_to(city.plumber, city.plumber_phone, None)).await?;
    let a = op
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    let a = op.assign_executor(a.id, a.version, city.plumber).await?;
    assert_eq!(a.status, AppealStatus::Assigned);
    assert!(!a.executors[0].notified);
    let mut sql = psql(&city, &login).await?;
    let r = on(&mut sql, "update appeals set status = 'в работе' where id = $1", a.id).await;
    assert_eq!(sqlstate(r), "DL003", "в работе without a call");

    // Backdating the assignment (to make the earlier call count) does not work either.
    let r = on(&mut sql, "delete from appeal_executors where appeal_id = $1", a.id).await;
    assert_eq!(sqlstate(r), "DL002", "the last executor of a назначено appeal");
    on(&mut sql, "update appeals set status = 'новый' where id = $1", a.id).await?;
    on(&mut sql, "delete from appeal_executors where appeal_id = $1", a.id).await?;
    sqlx::query("insert into appeal_executors (appeal_id, executor_id, assigned_at, assigned_by) values ($1, $2, '2000-01-01', 'someone')")
        .bind(a.id)
        .bind(city.plumber)
        .execute(&mut sql)
        .await?;
    on(&mut sql, "update appeals set status = 'назначено' where id = $1", a.id).await?;
    let r = on(&mut sql, "update appeals set status = 'в работе' where id = $1", a.id).await;
    assert_eq!(sqlstate(r), "DL003", "a backdated assignment made an old call count");
    let (at, by): (chrono::DateTime<chrono::Utc>, String) =
        sqlx::query_as("select assigned_at, assigned_by from appeal_executors where appeal_id = $1")
            .bind(a.id)
            .fetch_one(&mut sql)
            .await?;
    assert!(at > chrono::Utc::now() - chrono::Duration::minutes(1));
    assert_eq!(by, login);
    // A call "from the future" is refused.
    let mut future = call_to(city.plumber, city.plumber_phone, Some(a.id));
    future.started_at += chrono::Duration::hours(1);
    future.ended_at = Some(future.started_at + chrono::Duration::seconds(10));
    future.answered_at = Some(future.started_at);
    assert!(matches!(
        op.record_call(&future).await,
        Err(Error::Rule {
            rule: Rule::CallTime,
            ..
        })
    ));
    let a = op.appeal(a.id).await?;

    // Unanswered, or answered without a recording: still not notified.
    let mut unanswered = call_to(city.plumber, city.plumber_phone, Some(a.id));
    unanswered.answered_at = None;
    op.record_call(&unanswered).await?;
    let mut unrecorded = call_to(city.plumber, city.plumber_phone, Some(a.id));
    unrecorded.recording = None;
    unrecorded.recording_codec = None;
    op.record_call(&unrecorded).await?;
    // A call to another executor does not count either.
    op.record_call(&call_to(city.plumber_b, "+79170000002", Some(a.id)))
        .await?;
    match op.change_status(a.id, a.version, AppealStatus::InWork).await {
        Err(Error::Rule {
            rule: Rule::ExecutorNotNotified,
            message,
            hint,
        }) => {
            assert!(message.contains("не оповещён"), "{message}");
            assert!(hint.unwrap_or_default().contains("Позвоните исполнителю"));
        }
        other => panic!("expected the notification rule, got {other:?}"),
    }

    op.record_call(&call_to(city.plumber, city.plumber_phone, Some(a.id)))
        .await?;
    let a = op.change_status(a.id, a.version, AppealStatus::InWork).await?;
    assert_eq!(a.status, AppealStatus::InWork);
    assert!(a.notified_at.is_some() && a.in_work_at.is_some());
    assert_eq!(a.progress, 50);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn closing_and_reopening_is_for_supervisors(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    let (sup, _) = person(&city, StaffRole::Supervisor, None).await?;
    let a = op
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    let a = op.assign_executor(a.id, a.version, city.plumber).await?;
    op.record_call(&call_to(city.plumber, city.plumber_phone, Some(a.id)))
        .await?;
    let a = op.change_status(a.id, a.version, AppealStatus::InWork).await?;
    let a = op.change_status(a.id, a.version, AppealStatus::Done).await?;
    let mut sql = psql(&city, &login).await?;
    let r = on(&mut sql, "update appeals set status = 'закрыто' where id = $1", a.id).await;
    assert_eq!(sqlstate(r), "DL004", "operator closed");
    let a = sup.change_status(a.id, a.version, AppealStatus::Closed).await?;
    assert_eq!((a.status, a.progress), (AppealStatus::Closed, 100));
    assert!(matches!(
        op.change_status(a.id, a.version, AppealStatus::InWork).await,
        Err(Error::Rule {
            rule: Rule::SupervisorOnly,
            ..
        })
    ));
    let a = sup.change_status(a.id, a.version, AppealStatus::InWork).await?;
    assert_eq!(a.closed_at, None);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn operator_cannot_make_logins_or_grant_roles(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    let mut sql = psql(&city, &login).await?;
    let r = sqlx::query("create role intruder login password 'x'")
        .execute(&mut sql)
        .await;
    assert_eq!(sqlstate(r), "42501", "operator created a role");
    let r = sqlx::query("grant dialog_admin to current_user")
        .execute(&mut sql)
        .await;
    assert_eq!(sqlstate(r), "42501", "operator granted themselves admin");
    let r = sqlx::query(
        "select dialog_create_person('intruder', 'SCRAM-SHA-256$4096:AAAA$AAAA:AAAA', 'admin', 'Взломщик')",
    )
    .execute(&mut sql)
    .await;
    assert_eq!(sqlstate(r), "42501", "operator called the person factory");
    let r = sqlx::query("insert into staff (login, full_name, role) values ('intruder', 'Взломщик', 'admin')")
        .execute(&mut sql)
        .await;
    assert_eq!(sqlstate(r), "42501");
    let r = sqlx::query("update executors set active = false")
        .execute(&mut sql)
        .await;
    assert_eq!(sqlstate(r), "42501", "operator edited a directory");
    // Another person's password: only admins; one's own: yes.
    let (_other, other) = person(&city, StaffRole::Operator, None).await?;
    assert!(matches!(
        op.set_password(&other, "новый-пароль-123").await,
        Err(Error::Forbidden(_))
    ));
    op.set_password(&login, "новый-пароль-123").await?;
    // The plain password never reaches the server: the functions accept only verifiers.
    let r = sqlx::query("select dialog_set_password(current_user, 'plain-text-password')")
        .execute(&mut sql)
        .await;
    assert_eq!(sqlstate(r), "DL011");
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn manager_sees_only_their_organization(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let ours = op
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    let theirs = op
        .create_appeals(&card("+79123456780", Some(city.mira_5), city.leak))
        .await?
        .remove(0);
    op.add_attachment(ours.id, "фото.jpg", "image/jpeg", b"JPEG ours")
        .await?;
    op.add_attachment(theirs.id, "фото.jpg", "image/jpeg", b"JPEG theirs")
        .await?;
    op.record_call(&call_to(city.plumber, city.plumber_phone, Some(ours.id)))
        .await?;
    op.record_call(&call_to(city.plumber_b, "+79170000002", Some(theirs.id)))
        .await?;
    op.add_comment(theirs.id, "секрет Южной").await?;

    let (mgr, login) = person(&city, StaffRole::Manager, Some(city.org_a)).await?;
    let mut sql = psql(&city, &login).await?;
    let numbers: Vec<String> = sqlx::query_scalar("select number from appeals")
        .fetch_all(&mut sql)
        .await?;
    assert_eq!(numbers, vec![ours.number.clone()]);
    let files: Vec<Vec<u8>> = sqlx::query_scalar("select content from attachments")
        .fetch_all(&mut sql)
        .await?;
    assert_eq!(files, vec![b"JPEG ours".to_vec()]);
    let calls: i64 = sqlx::query_scalar("select count(*) from calls")
        .fetch_one(&mut sql)
        .await?;
    assert_eq!(calls, 1);
    let leaked: i64 = sqlx::query_scalar("select count(*) from appeal_history where appeal_id = $1")
        .bind(theirs.id)
        .fetch_one(&mut sql)
        .await?;
    assert_eq!(leaked, 0);
    let r = sqlx::query("update appeals set comment = 'x'").execute(&mut sql).await;
    assert_eq!(sqlstate(r), "42501", "manager edited");
    // Setting the role to something else does not help: it is who logged in that counts.
    let r = sql.execute("set role dialog_operator").await;
    assert_eq!(sqlstate(r), "42501");
    // Through the store too.
    assert!(matches!(mgr.appeal(theirs.id).await, Err(Error::NotFound(_))));
    assert_eq!(mgr.appeal(ours.id).await?.number, ours.number);
    let page = mgr
        .registry_page(&Default::default(), Default::default(), None, 50)
        .await?;
    assert_eq!(page.rows.len(), 1);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn files_and_recordings_have_size_limits(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    let a = op
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    let big = vec![0u8; 25 * 1024 * 1024 + 1];
    match op.add_attachment(a.id, "видео.mp4", "video/mp4", &big).await {
        Err(Error::Invalid {
            field: "content",
            message,
        }) => assert!(message.contains("25 МБ"), "{message}"),
        other => panic!("expected the size limit, got {other:?}"),
    }
    let mut sql = psql(&city, &login).await?;
    let r = on(&mut sql, "insert into attachments (id, appeal_id, file_name, mime, content) values (gen_random_uuid(), $1, 'a', 'x/y', ''::bytea)", a.id).await;
    assert_eq!(sqlstate(r), "23514", "empty file");
    assert!(op.attachments(a.id).await?.is_empty());
    let ok = op.add_attachment(a.id, "фото.jpg", "image/jpeg", &[1, 2, 3]).await?;
    assert_eq!(op.attachment_content(ok.id).await?, vec![1, 2, 3]);
    Ok(())
}
