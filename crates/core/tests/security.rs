//! The boundary against an insider: a plain SQL session logged in with a person's own
//! password (what psql would send, over the simple query protocol) tries what the app never
//! would. Each attack is one class of the boundary; the database itself must refuse it, and
//! the app's own path must still work. Operators, supervisors, admins and managers of two
//! organizations, and two databases in one cluster.

mod common;

use std::time::{Duration, Instant};

use common::*;
use dialog_core::model::{AppealStatus, StaffRole};
use dialog_core::registry::{FilterTemplate, RegistryFilter};
use dialog_core::{ConnectError, Error, Rule, Store};
use futures_util::StreamExt;
use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool, Row};
use uuid::Uuid;

/// Runs SQL as psql would (simple query protocol) and returns its SQLSTATE; panics when the
/// database accepted it.
async fn refused(conn: &mut PgConnection, sql: &str) -> String {
    sqlstate(sqlx::raw_sql(sql).execute(&mut *conn).await)
}

/// The rows a query returns, as psql would see them (first column, text).
async fn column(conn: &mut PgConnection, sql: &str) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar::<_, String>(sql).fetch_all(&mut *conn).await?)
}

async fn registered(
    op: &Store,
    identifier: &str,
    building: Uuid,
    kind: Uuid,
) -> anyhow::Result<dialog_core::appeals::Appeal> {
    Ok(op
        .create_appeals(&card(identifier, Some(building), kind))
        .await?
        .remove(0))
}

// 1. A manager reads other organizations' appeals neither directly nor through the planner.
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn a_manager_learns_nothing_of_other_organizations(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let ours = registered(&op, "+79123456789", city.lenina_10, city.leak).await?;
    let mut hidden = card("+79123456780", Some(city.mira_5), city.leak);
    hidden.applicant_name = "Секретова Тайна Южная".into();
    let theirs = op.create_appeals(&hidden).await?.remove(0);
    op.add_attachment(ours.id, "фото.jpg", "image/jpeg", b"JPEG ours")
        .await?;
    let their_file = op
        .add_attachment(theirs.id, "фото.jpg", "image/jpeg", b"JPEG theirs")
        .await?;
    op.record_call(&call_to(city.plumber, city.plumber_phone, Some(ours.id)))
        .await?;
    let their_call = op
        .record_call(&call_to(city.plumber_b, "+79170000002", Some(theirs.id)))
        .await?;
    op.add_comment(theirs.id, "секрет Южной").await?;
    sqlx::query("analyze").execute(city.owner.pool()).await?;

    let (mgr, login) = person(&city, StaffRole::Manager, Some(city.org_a)).await?;
    let mut sql = psql(&city, &login).await?;
    // No table of appeals is theirs to query, so none is theirs to EXPLAIN either: the planner
    // never shows them estimates drawn from rows they may not see.
    for table in [
        "appeals",
        "appeal_executors",
        "appeal_history",
        "attachments",
        "calls",
        "phone_lines",
        "filter_templates",
        "appeal_changes",
    ] {
        assert_eq!(
            refused(&mut sql, &format!("select * from {table}")).await,
            "42501",
            "{table}"
        );
        assert_eq!(
            refused(&mut sql, &format!("explain select * from {table} where true")).await,
            "42501",
            "explain {table}"
        );
    }
    assert_eq!(
        refused(
            &mut sql,
            "explain select * from appeals where search_text like '%секретова%'"
        )
        .await,
        "42501"
    );
    let stats: i64 = sqlx::query_scalar("select count(*) from pg_stats where tablename = 'appeals'")
        .fetch_one(&mut sql)
        .await?;
    assert_eq!(stats, 0, "the column statistics of appeals are not theirs to read");
    // LIKE is not declared leakproof: nothing runs a person's pattern before the row policies.
    let leakproof: bool =
        sqlx::query_scalar("select proleakproof from pg_proc where oid = 'textlike(text, text)'::regprocedure")
            .fetch_one(&mut sql)
            .await?;
    assert!(!leakproof);
    // What they read goes through functions that keep them to their organization.
    let numbers = column(
        &mut sql,
        "select number from dialog_registry(null, null, null, null, 100)",
    )
    .await?;
    assert_eq!(numbers, vec![ours.number.clone()]);
    assert!(matches!(mgr.appeal(theirs.id).await, Err(Error::NotFound(_))));
    assert!(matches!(
        mgr.appeal_by_number(&theirs.number).await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(mgr.appeal(ours.id).await?.number, ours.number);
    let page = mgr
        .registry_page(&RegistryFilter::default(), Default::default(), None, 50)
        .await?;
    assert_eq!(page.rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![ours.id]);
    for text in ["секретова", "мира", "+79123456780", theirs.number.as_str()] {
        let f = RegistryFilter {
            text: text.into(),
            ..Default::default()
        };
        assert!(
            mgr.registry_page(&f, Default::default(), None, 50)
                .await?
                .rows
                .is_empty(),
            "{text}"
        );
        assert_eq!(mgr.registry_count(&f).await?, 0, "{text}");
    }
    assert!(mgr.history(theirs.id).await?.is_empty());
    assert!(mgr.attachments(theirs.id).await?.is_empty());
    assert!(matches!(
        mgr.attachment_content(their_file.id).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(mgr.recording(their_call.id).await, Err(Error::NotFound(_))));
    assert!(mgr.appeal_calls(theirs.id).await?.is_empty());
    assert_eq!(mgr.calls(&Default::default()).await?.len(), 1);
    assert!(mgr.joined_group(theirs.id).await?.is_empty());
    // Their EXPLAIN of a function shows a function, not the rows behind it.
    let plan = column(
        &mut sql,
        "explain select * from dialog_appeals_by_id(array[gen_random_uuid()])",
    )
    .await?;
    assert!(
        plan.iter().all(|l| !l.contains("appeals_pkey") && !l.contains("Index")),
        "{plan:?}"
    );
    // Writing is not theirs at all.
    assert_eq!(
        refused(&mut sql, &format!("select dialog_add_comment('{}', 'x')", ours.id)).await,
        "42501"
    );
    assert_eq!(
        refused(
            &mut sql,
            &format!(
                "select dialog_set_status(array['{}'::uuid], array[{}], 'отменено')",
                ours.id, ours.version
            )
        )
        .await,
        "42501"
    );
    // Switching to a group role gives nothing: it is who logged in that counts.
    assert_eq!(refused(&mut sql, "set role dialog_operator").await, "42501");
    Ok(())
}

// 2. Roles are cluster-wide; a person is who their active staff row in THIS database says.
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn people_of_one_database_have_no_rights_in_another(pool: PgPool) -> TestResult {
    let city = city(pool.clone()).await?;
    let (op, op_login) = person(&city, StaffRole::Operator, None).await?;
    let (_, admin_login) = person(&city, StaffRole::Admin, None).await?;
    registered(&op, "+79123456789", city.lenina_10, city.leak).await?;

    // A second Dialog database in the same cluster, with an appeal of its own.
    let other = format!("dialog_other_{}", &Uuid::now_v7().simple().to_string()[20..]);
    sqlx::raw_sql(&format!("create database {other}"))
        .execute(&pool)
        .await?;
    let base = pool.connect_options().as_ref().clone();
    let other_owner = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(base.clone().database(&other))
        .await?;
    dialog_core::MIGRATOR.run(&other_owner).await?;
    let other_city = common::city(other_owner.clone()).await?;
    let (other_op, _) = person(&other_city, StaffRole::Operator, None).await?;
    registered(&other_op, "+79991234567", other_city.lenina_10, other_city.leak).await?;

    // The door: this database's people cannot even connect to the other one.
    for login in [&op_login, &admin_login] {
        let mut o = options_for(city.owner.pool(), login, PASSWORD);
        o.database = other.clone();
        assert!(
            matches!(Store::connect(&o).await, Err(ConnectError::NotAPerson(_))),
            "{login}"
        );
        let r = PgConnection::connect_with(&o.pg_options()).await;
        assert_eq!(sqlstate(r), "42501");
    }
    // Even where a DBA lets them in by mistake, the other database's rules do not know them.
    sqlx::raw_sql(&format!(
        "grant connect on database {other} to {op_login}, {admin_login}"
    ))
    .execute(&other_owner)
    .await?;
    for login in [&op_login, &admin_login] {
        let mut o = options_for(city.owner.pool(), login, PASSWORD);
        o.database = other.clone();
        let mut sql = PgConnection::connect_with(&o.pg_options()).await?;
        let seen: i64 = sqlx::query_scalar("select count(*) from appeals")
            .fetch_one(&mut sql)
            .await?;
        assert_eq!(seen, 0, "{login} read the other database's appeals");
        assert_eq!(
            refused(&mut sql, "select * from dialog_registry(null, null, null, null, 10)").await,
            "42501"
        );
        let r = refused(
            &mut sql,
            "select dialog_create_person('intruder_b', 'SCRAM-SHA-256$4096:AAAA$AAAA:AAAA', 'admin', 'Взломщик')",
        )
        .await;
        assert_eq!(r, "42501", "{login} made an admin in the other database");
        assert!(matches!(Store::connect(&o).await, Err(ConnectError::NotAPerson(_))));
        sql.close().await?;
    }

    // Within one database: a member of a group role without a staff row is nobody.
    let stray = format!("stray{}", &Uuid::now_v7().simple().to_string()[20..]);
    sqlx::raw_sql(&format!(
        "create role {stray} login password '{PASSWORD}' in role dialog_admin"
    ))
    .execute(city.owner.pool())
    .await?;
    let r = PgConnection::connect_with(&options_for(city.owner.pool(), &stray, PASSWORD).pg_options()).await;
    assert_eq!(sqlstate(r), "42501", "a group member without a staff row connected");
    let db = city
        .owner
        .pool()
        .connect_options()
        .get_database()
        .unwrap_or_default()
        .to_owned();
    sqlx::raw_sql(&format!("grant connect on database \"{db}\" to {stray}"))
        .execute(city.owner.pool())
        .await?;
    let mut sql = PgConnection::connect_with(&options_for(city.owner.pool(), &stray, PASSWORD).pg_options()).await?;
    let seen: i64 = sqlx::query_scalar("select count(*) from appeals")
        .fetch_one(&mut sql)
        .await?;
    assert_eq!(seen, 0);
    let staff: i64 = sqlx::query_scalar("select count(*) from staff")
        .fetch_one(&mut sql)
        .await?;
    assert_eq!(staff, 0);
    assert_eq!(
        refused(
            &mut sql,
            "select dialog_create_person('intruder_c', 'SCRAM-SHA-256$4096:AAAA$AAAA:AAAA', 'admin', 'Взломщик')"
        )
        .await,
        "42501"
    );
    sql.close().await?;

    other_owner.close().await;
    sqlx::raw_sql(&format!("drop database {other} with (force)"))
        .execute(&pool)
        .await?;
    Ok(())
}

// 3. History, files and calls take no client-chosen ids, authors or times.
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn history_and_files_take_no_client_chosen_columns(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    let a = registered(&op, "+79123456789", city.lenina_10, city.leak).await?;
    op.add_comment(a.id, "Жильцы перекрыли стояк сами").await?;
    let mut sql = psql(&city, &login).await?;
    let id = a.id;
    for attack in [
        format!("insert into appeal_history (id, appeal_id, action, comment) overriding system value values (9223372036854775000, '{id}', 'comment', 'x')"),
        format!("insert into appeal_history (appeal_id, action, comment, before, after) values ('{id}', 'comment', 'x', '{{}}', '{{\"status\": \"закрыто\"}}')"),
        format!("insert into appeal_history (appeal_id, action, comment, actor, at) values ('{id}', 'comment', 'x', 'someone', '2000-01-01')"),
        format!("update appeal_history set comment = 'ничего не было' where appeal_id = '{id}'"),
        format!("delete from appeal_history where appeal_id = '{id}'"),
        "truncate appeal_history".to_owned(),
        format!("insert into attachments (id, appeal_id, file_name, mime, content, uploaded_at, uploaded_by) values (gen_random_uuid(), '{id}', 'a.pdf', 'application/pdf', 'x', '2000-01-01', 'someone')"),
        format!("update attachments set uploaded_at = '2000-01-01' where appeal_id = '{id}'"),
    ] {
        assert_eq!(refused(&mut sql, &attack).await, "42501", "{attack}");
    }
    // Even the admin cannot rewrite history.
    let (_admin, admin_login) = person(&city, StaffRole::Admin, None).await?;
    let mut admin_sql = psql(&city, &admin_login).await?;
    assert_eq!(refused(&mut admin_sql, "delete from appeal_history").await, "42501");
    // Through the functions, the server signs and dates.
    let f = op
        .add_attachment(a.id, "акт.pdf", "application/pdf", b"%PDF-1.4")
        .await?;
    assert_eq!(f.uploaded_by, login);
    assert!(f.uploaded_at > chrono::Utc::now() - chrono::Duration::minutes(1));
    let h = op.history(id).await?;
    assert_eq!(
        h.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["created", "comment", "attachment"]
    );
    assert!(h.iter().all(|e| e.actor == login));
    // File names cannot hide what they are.
    let r = refused(
        &mut sql,
        &format!(
            "select dialog_add_attachment(gen_random_uuid(), '{id}', E'счёт\\u202Efdp.exe', 'application/pdf', 'x')"
        ),
    )
    .await;
    assert_eq!(r, "23514");
    let f = op
        .add_attachment(a.id, "счёт\u{202e}fdp.exe", "application/pdf", b"MZ")
        .await?;
    assert_eq!(f.file_name, "счёт_fdp.exe");
    Ok(())
}

// 4. Deadlines cannot be pushed out by a received time in the future (or far in the past).
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn the_received_time_cannot_move_the_deadlines(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    let mut future = card("+79123456789", Some(city.lenina_10), city.leak);
    future.received_at = Some(chrono::Utc::now() + chrono::Duration::days(365 * 70));
    assert!(matches!(
        op.create_appeals(&future).await,
        Err(Error::Rule {
            rule: Rule::ReceivedAt,
            ..
        })
    ));
    let mut ancient = card("+79123456789", Some(city.lenina_10), city.leak);
    ancient.received_at = Some(chrono::Utc::now() - chrono::Duration::days(60));
    assert!(matches!(
        op.create_appeals(&ancient).await,
        Err(Error::Rule {
            rule: Rule::ReceivedAt,
            ..
        })
    ));
    let a = registered(&op, "+79123456789", city.lenina_10, city.leak).await?;
    let mut c = changes(&a);
    c.received_at = chrono::Utc::now() + chrono::Duration::hours(5);
    assert!(matches!(
        op.save_appeal(a.id, a.version, &c).await,
        Err(Error::Rule {
            rule: Rule::ReceivedAt,
            ..
        })
    ));
    let mut sql = psql(&city, &login).await?;
    for attack in [
        format!("update appeals set received_at = '2099-01-01' where id = '{}'", a.id),
        format!("update appeals set deadline_at = '2099-01-01' where id = '{}'", a.id),
    ] {
        assert_eq!(refused(&mut sql, &attack).await, "42501", "{attack}");
    }
    let r = refused(
        &mut sql,
        &format!(
            "select dialog_register_appeal(gen_random_uuid(), '2099-01-01', 'телефон', '+79123456789', '', '', '{}', '', '', '', '', '{}', null, '', '{{}}', null, null)",
            city.lenina_10, city.leak
        ),
    )
    .await;
    assert_eq!(r, "DL016");
    // A letter that came yesterday can say so.
    let mut letter = card("ivan@example.ru", Some(city.lenina_10), city.leak);
    letter.received_at = Some(chrono::Utc::now() - chrono::Duration::days(1));
    let l = op.create_appeals(&letter).await?.remove(0);
    assert!(l.deadline_at < Some(chrono::Utc::now() + chrono::Duration::days(3)));
    Ok(())
}

// 5. Calls: nobody inserts, edits or moves a call that is not theirs; times are the server's.
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn calls_cannot_be_forged_backdated_or_moved(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    let (other, _) = person(&city, StaffRole::Operator, None).await?;
    let ours = registered(&op, "+79123456789", city.lenina_10, city.leak).await?;
    let theirs = registered(&op, "+79123456780", city.mira_5, city.leak).await?;
    let mut sql = psql(&city, &login).await?;
    for attack in [
        format!("insert into calls (id, direction, from_number, to_number, started_at, answered_at, ended_at, executor_id, recording, recording_codec) values (gen_random_uuid(), 'исходящий', '1001', '{}', now(), now(), now(), '{}', 'x', 'audio/ogg')", city.plumber_phone, city.plumber),
        format!("update calls set appeal_id = '{}'", theirs.id),
        "update calls set started_at = started_at - interval '1 day'".to_owned(),
        "delete from calls".to_owned(),
    ] {
        assert_eq!(refused(&mut sql, &attack).await, "42501", "{attack}");
    }
    // A call claimed to have happened yesterday is stored with the server's clock.
    let mut c = call_to(city.plumber, city.plumber_phone, None);
    c.started_at = chrono::Utc::now() - chrono::Duration::days(1);
    c.answered_at = Some(c.started_at + chrono::Duration::seconds(10));
    c.ended_at = Some(c.started_at + chrono::Duration::seconds(70));
    let stored = op.record_call(&c).await?;
    let age = chrono::Utc::now() - stored.started_at;
    assert!(age < chrono::Duration::minutes(2), "backdated by {age}");
    assert_eq!(
        stored
            .ended_at
            .zip(stored.answered_at)
            .map(|(e, a)| (e - a).num_seconds()),
        Some(60)
    );
    assert_eq!(stored.operator_login, login);
    // A call from the future is refused.
    let mut future = call_to(city.plumber, city.plumber_phone, None);
    future.ended_at = Some(chrono::Utc::now() + chrono::Duration::hours(1));
    assert!(matches!(
        op.record_call(&future).await,
        Err(Error::Rule {
            rule: Rule::CallTime,
            ..
        })
    ));
    // Linking: one's own call, once; the appeal's history says so.
    let other_call = other
        .record_call(&call_to(city.plumber, city.plumber_phone, None))
        .await?;
    assert!(matches!(
        op.link_call(other_call.id, ours.id).await,
        Err(Error::Rule {
            rule: Rule::NotYourCall,
            ..
        })
    ));
    op.link_call(stored.id, ours.id).await?;
    assert!(matches!(
        op.link_call(stored.id, theirs.id).await,
        Err(Error::Rule {
            rule: Rule::NotYourCall,
            ..
        })
    ));
    let h = op.history(ours.id).await?;
    assert_eq!(h.last().map(|e| e.action.as_str()), Some("call"));
    Ok(())
}

// 6. One person cannot stop the center.
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn one_person_cannot_stop_the_center(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    let (other, _) = person(&city, StaffRole::Operator, None).await?;
    let (_, mgr_login) = person(&city, StaffRole::Manager, Some(city.org_a)).await?;
    let a = registered(&op, "+79123456789", city.lenina_10, city.leak).await?;
    let mut sql = psql(&city, &login).await?;
    // No table can be locked against everyone, and no row held for update.
    for table in [
        "appeals",
        "appeal_executors",
        "appeal_history",
        "attachments",
        "calls",
        "phone_lines",
        "filter_templates",
        "staff",
        "buildings",
    ] {
        let r = refused(&mut sql, &format!("begin; lock table {table} in exclusive mode")).await;
        assert_eq!(r, "42501", "{table}");
        sqlx::raw_sql("rollback").execute(&mut sql).await?;
    }
    assert_eq!(refused(&mut sql, "select * from appeals for update").await, "42501");
    // No temporary tables, no large objects.
    assert_eq!(refused(&mut sql, "create temp table t (i int)").await, "42501");
    assert_eq!(refused(&mut sql, "select lo_create(0)").await, "42501");
    assert_eq!(refused(&mut sql, "select lo_from_bytea(0, 'x')").await, "42501");
    // Nor the database's own helpers.
    for f in [
        "dialog_next_number(now())".to_owned(),
        format!("dialog_lock_appeal('{}', 1)", a.id),
        format!("dialog_apply_executors('{}', '{{}}', 'новый')", a.id),
        format!("dialog_announce('{}', 'update')", a.id),
        format!("dialog_announce_many(array['{}']::uuid[], 'update')", a.id),
        format!("dialog_open_door('{login}', true)"),
        // The searches' turns: nobody takes them all for themselves.
        "pg_try_advisory_xact_lock(1685283171, 1)".to_owned(),
        "pg_advisory_xact_lock_shared(1685283171, 1)".to_owned(),
        "dialog_registry_rows(null, null, null, null, 1)".to_owned(),
    ] {
        assert_eq!(refused(&mut sql, &format!("select {f}")).await, "42501", "{f}");
    }
    // Searches take turns: with every turn taken a search waits for one, and a registration
    // does not wait at all.
    let mut owner = city.owner.pool().begin().await?;
    sqlx::raw_sql("select pg_advisory_xact_lock(1685283171, i) from generate_series(1, 4) i")
        .execute(&mut *owner)
        .await?;
    let search = tokio::spawn({
        let op = op.clone();
        async move {
            let page = op
                .registry_page(&Default::default(), dialog_core::registry::Sort::ReceivedDesc, None, 10)
                .await;
            (page, Instant::now())
        }
    });
    let t = Instant::now();
    registered(&other, "+79123456702", city.lenina_110, city.leak).await?;
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "registration waited {:?}",
        t.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!search.is_finished(), "a search ran without a turn");
    let freed = Instant::now();
    owner.rollback().await?;
    let (page, done) = tokio::time::timeout(Duration::from_secs(5), search).await??;
    assert!(!page?.rows.is_empty());
    assert!(done - freed < Duration::from_secs(1), "{:?}", done - freed);
    // A registration left open in a transaction holds no number: the others register at once.
    let mut stalled = psql(&city, &login).await?;
    sqlx::raw_sql(&format!(
        "begin; select dialog_register_appeal(gen_random_uuid(), null, 'телефон', '+79123456700', '', '', '{}', '', '', '', '', '{}', null, '', '{{}}', null, null)",
        city.lenina_10, city.leak
    ))
    .execute(&mut stalled)
    .await?;
    let t = Instant::now();
    let b = tokio::time::timeout(
        Duration::from_secs(5),
        registered(&other, "+79123456701", city.lenina_110, city.leak),
    )
    .await??;
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_ne!(b.number, a.number);
    sqlx::raw_sql("rollback").execute(&mut stalled).await?;
    // An appeal held by someone's open transaction: the others are told in words within
    // seconds, not left hanging.
    sqlx::raw_sql(&format!(
        "begin; select dialog_assign('{}', {}, '{}', true)",
        a.id, a.version, city.plumber
    ))
    .execute(&mut stalled)
    .await?;
    let t = Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(15),
        other.change_status(a.id, a.version, AppealStatus::Cancelled),
    )
    .await?;
    assert!(matches!(r, Err(Error::Busy)), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(10));
    sqlx::raw_sql("rollback").execute(&mut stalled).await?;
    // The server ends what a person leaves open.
    let idle: String = sqlx::query_scalar("show idle_in_transaction_session_timeout")
        .fetch_one(&mut sql)
        .await?;
    assert_eq!(idle, "1min");
    let limit: i32 = sqlx::query_scalar("select rolconnlimit from pg_roles where rolname = $1")
        .bind(&mgr_login)
        .fetch_one(&mut sql)
        .await?;
    // One person's sessions are limited: 99 sessions of one manager lock nobody else out.
    let mut held = Vec::new();
    let mut refusal = None;
    for _ in 0..limit + 2 {
        match PgConnection::connect_with(&options_for(city.owner.pool(), &mgr_login, PASSWORD).pg_options()).await {
            Ok(c) => held.push(c),
            Err(e) => {
                refusal = Some(e);
                break;
            }
        }
    }
    assert_eq!(sqlstate::<()>(Err(refusal.expect("the limit held"))), "53300");
    let sessions: i64 = sqlx::query_scalar("select count(*) from pg_stat_activity where usename = $1")
        .bind(&mgr_login)
        .fetch_one(city.owner.pool())
        .await?;
    assert_eq!(sessions, i64::from(limit));
    assert!(registered(&op, "+79123456702", city.lenina_10, city.leak).await.is_ok());
    Ok(())
}

// 7. Change notifications tell a listener nothing it may not read, and forged ones do nothing.
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn notifications_reach_only_those_who_may_know_and_cannot_be_forged(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, op_login) = person(&city, StaffRole::Operator, None).await?;
    let (mgr, mgr_login) = person(&city, StaffRole::Manager, Some(city.org_a)).await?;
    let mut sql = psql(&city, &mgr_login).await?;
    let mut forger = psql(&city, &op_login).await?;
    // Each hears the channel the database names for them; the manager cannot name another's.
    let theirs_channel: String = sqlx::query_scalar("select dialog_my_change_channel()")
        .fetch_one(&mut forger)
        .await?;
    let mine_channel: String = sqlx::query_scalar("select dialog_my_change_channel()")
        .fetch_one(&mut sql)
        .await?;
    assert_ne!(theirs_channel, mine_channel);
    for attack in [
        "select dialog_change_channel(null)",
        "select secret from change_channel_secret",
    ] {
        assert_eq!(refused(&mut sql, attack).await, "42501", "{attack}");
    }
    let mut events = Box::pin(mgr.appeal_events().await?);
    let mgr_pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options_for(city.owner.pool(), &mgr_login, PASSWORD).pg_options())
        .await?;
    let mut raw = PgListener::connect_with(&mgr_pool).await?;
    raw.listen_all([mine_channel.as_str(), "dialog_appeals"]).await?;

    // Another organization's appeal: not a word reaches the manager.
    let theirs = registered(&op, "+79123456780", city.mira_5, city.leak).await?;
    let heard = tokio::time::timeout(Duration::from_millis(1500), raw.recv()).await;
    assert!(heard.is_err(), "the manager heard {heard:?}");
    // What the change was is read through a function that hides other organizations'.
    let rows = sqlx::query("select appeal_id, number, op from dialog_changes_since(0, null, 100)")
        .fetch_all(&mut sql)
        .await?;
    assert!(!rows.is_empty());
    assert!(rows
        .iter()
        .all(|r| r.get::<Option<Uuid>, _>(0).is_none() && r.get::<Option<String>, _>(1).is_none()));
    // Forged notifications, on the old channel or on the channel of those who see everything,
    // bring the manager's app nothing; nor does the foreign appeal.
    sqlx::raw_sql(&format!(
        "notify dialog_changes, '999999999'; select pg_notify('{theirs_channel}', 'x'); \
         select pg_notify('{theirs_channel}', json_build_object('seq', 999999999, 'id', '{}', 'op', 'update')::text)",
        theirs.id
    ))
    .execute(&mut forger)
    .await?;
    let none = tokio::time::timeout(Duration::from_millis(2500), events.next()).await;
    assert!(
        none.is_err(),
        "a forged or foreign change reached the manager: {none:?}"
    );
    // Their own organization's change arrives at once, with what changed.
    let ours = registered(&op, "+79123456789", city.lenina_10, city.leak).await?;
    let n = tokio::time::timeout(Duration::from_secs(5), raw.recv()).await??;
    assert!(n.payload().contains(&ours.id.to_string()), "{}", n.payload());
    let e = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await?
        .expect("open")?;
    assert_eq!((e.id, e.number.as_deref()), (ours.id, Some(ours.number.as_str())));
    // And is not shown again when the stream confirms it.
    let again = tokio::time::timeout(Duration::from_secs(3), events.next()).await;
    assert!(again.is_err(), "shown twice: {again:?}");
    Ok(())
}

// 8. Templates, phone lines and joins.
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn templates_lines_and_joins_stay_in_their_place(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, op_login) = person(&city, StaffRole::Operator, None).await?;
    let (other, other_login) = person(&city, StaffRole::Operator, None).await?;
    let (sup, sup_login) = person(&city, StaffRole::Supervisor, None).await?;
    let (mgr, mgr_login) = person(&city, StaffRole::Manager, Some(city.org_a)).await?;
    let mine = FilterTemplate {
        id: Uuid::now_v7(),
        owner: op_login.clone(),
        name: "Мои аварии".into(),
        shared: false,
        filter: RegistryFilter::default(),
        position: 0,
    };
    op.save_template(&mine).await?;
    let shared = FilterTemplate {
        id: Uuid::now_v7(),
        owner: sup_login.clone(),
        name: "Для всех".into(),
        shared: true,
        filter: RegistryFilter::default(),
        position: 0,
    };
    sup.save_template(&shared).await?;
    // Nobody plants a template on another person's desktop, or takes theirs.
    let mut sql = psql(&city, &op_login).await?;
    for attack in [
        format!("update filter_templates set owner = '{other_login}'"),
        format!("insert into filter_templates (id, owner, name, filter) values (gen_random_uuid(), '{other_login}', 'x', '{{}}')"),
    ] {
        assert_eq!(refused(&mut sql, &attack).await, "42501", "{attack}");
    }
    let planted = FilterTemplate {
        name: "Подброшенный".into(),
        ..mine.clone()
    };
    assert!(matches!(other.save_template(&planted).await, Err(Error::Forbidden(_))));
    // A shared template edited by another supervisor stays shared: only its author may take
    // it back to their own desktop.
    let (sup2, _) = person(&city, StaffRole::Supervisor, None).await?;
    let unshared = FilterTemplate {
        shared: false,
        ..shared.clone()
    };
    assert!(matches!(sup2.save_template(&unshared).await, Err(Error::Forbidden(_))));
    let mut sup_sql = psql(&city, &sup_login).await?;
    sqlx::query("select dialog_save_template($1, 'Теперь личный', false, '{}', 0)")
        .bind(shared.id)
        .execute(&mut sup_sql)
        .await?;
    let owners: Vec<String> = other.templates().await?.into_iter().map(|t| t.template.owner).collect();
    assert!(
        !owners.contains(&sup_login) && !owners.contains(&op_login),
        "{owners:?}"
    );
    // A filter that is not a filter is refused, so no desktop breaks on it.
    let r = refused(
        &mut sup_sql,
        "select dialog_save_template(gen_random_uuid(), 'Сломанный', true, '{\"types\": 5}', 0)",
    )
    .await;
    assert_eq!(r, "23514");
    let r = refused(
        &mut sup_sql,
        "select dialog_save_template(gen_random_uuid(), 'Сломанный', true, '[1]', 0)",
    )
    .await;
    assert_eq!(r, "23514");
    // One the app cannot read (from a newer version, say) is left out; the rest still show.
    sqlx::query("insert into filter_templates (id, owner, name, shared, filter) values ($1, $2, 'Из будущего', true, '{\"types\": [\"неизвестный\"]}')")
        .bind(Uuid::now_v7())
        .bind(&sup_login)
        .execute(city.owner.pool())
        .await?;
    let names: Vec<String> = op.templates().await?.into_iter().map(|t| t.template.name).collect();
    assert!(names.contains(&"Мои аварии".to_owned()), "{names:?}");
    assert!(!names.contains(&"Из будущего".to_owned()));
    // A manager reads nobody's phone line.
    op.report_line(&dialog_core::phone::LineReport {
        extension: "2001".into(),
        registered: true,
        ringing: 1,
        talking: 0,
    })
    .await?;
    let mut mgr_sql = psql(&city, &mgr_login).await?;
    assert_eq!(refused(&mut mgr_sql, "select * from phone_lines").await, "42501");
    assert_eq!(
        refused(&mut mgr_sql, "select dialog_report_line('2001', true, 50, 0)").await,
        "42501"
    );
    assert_eq!(mgr.dashboard().await?.operators_on_line, 1, "the count, not who");
    // A new appeal joins only an appeal of its kind at its address.
    let at_mira = registered(&op, "+79123456780", city.mira_5, city.leak).await?;
    let mut join = card("+79123456789", Some(city.lenina_10), city.leak);
    join.reasons[0].join_to = Some(at_mira.id);
    assert!(matches!(
        op.create_appeals(&join).await,
        Err(Error::Rule { rule: Rule::Join, .. })
    ));
    let r = refused(
        &mut sql,
        &format!(
            "select dialog_register_appeal(gen_random_uuid(), null, 'телефон', '+79123456789', '', '', '{}', '', '', '', '', '{}', null, '', '{{}}', '{}', null)",
            city.lenina_10, city.leak, at_mira.id
        ),
    )
    .await;
    assert_eq!(r, "DL007");
    Ok(())
}

// 9. The clock and the person the triggers write down (migrations/…21_demo_clock.sql) are the
// owner's to set, for a history loaded afterwards; a person who sets them from psql still gets
// the server's clock and their own login, and no more rights.
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn only_the_owner_sets_the_clock_and_the_actor(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (_op, login) = person(&city, StaffRole::Operator, None).await?;
    let (_admin, admin_login) = person(&city, StaffRole::Admin, None).await?;
    let owner = city.owner.pool();
    let register = "select dialog_register_appeal($1, null, 'телефон', $2, 'Иванова Мария Ивановна', '', $3, '5', '', '', '', $4, null, 'Течь', null, null, null)";
    // What the appeal and its first line of history say: registered when, by whom.
    type Stamps = (
        chrono::DateTime<chrono::Utc>,
        String,
        chrono::DateTime<chrono::Utc>,
        String,
    );
    async fn stamps(owner: &PgPool, id: Uuid) -> anyhow::Result<Stamps> {
        Ok(sqlx::query_as(
            r#"select a.registered_at, a.created_by, h.at, h.actor
               from appeals a join appeal_history h on h.appeal_id = a.id and h.action = 'created' where a.id = $1"#,
        )
        .bind(id)
        .fetch_one(owner)
        .await?)
    }
    let recent = chrono::Utc::now() - chrono::Duration::minutes(5);

    let mut sql = psql(&city, &login).await?;
    // PostgreSQL keeps a person from giving their role a default of a setting nobody declared;
    // for the session, anyone may set it.
    for default in ["dialog.clock = '2000-01-01 00:00:00+00'", "dialog.actor = 'admin'"] {
        let attack = format!("alter role {login} set {default}");
        assert_eq!(refused(&mut sql, &attack).await, "42501", "{attack}");
    }
    sqlx::raw_sql(&format!(
        "set dialog.clock = '2000-01-01 00:00:00+00'; set dialog.actor = '{admin_login}'"
    ))
    .execute(&mut sql)
    .await?;
    assert_eq!(
        column(&mut sql, "select current_setting('dialog.clock')").await?,
        ["2000-01-01 00:00:00+00"]
    );
    let id = Uuid::now_v7();
    sqlx::query(register)
        .bind(id)
        .bind("+79123456789")
        .bind(city.lenina_10)
        .bind(city.leak)
        .execute(&mut sql)
        .await?;
    let (registered, created_by, at, actor) = stamps(owner, id).await?;
    assert!(registered > recent && at > recent, "{registered}, {at}");
    assert_eq!((created_by.as_str(), actor.as_str()), (login.as_str(), login.as_str()));
    // Nor do the settings lend the admin's rights, and the clock is not the person's to read.
    assert_eq!(column(&mut sql, "select dialog_is_admin()::text").await?, ["false"]);
    assert_eq!(column(&mut sql, "select dialog_is_owner()::text").await?, ["false"]);
    for attack in [
        "select dialog_set_setting('call_evidence', 'app')",
        "select dialog_now()",
        "select dialog_actor()",
    ] {
        assert_eq!(refused(&mut sql, attack).await, "42501", "{attack}");
    }

    // The owner's session: the triggers write the time and the person it names, and the
    // owner acting as an operator has the operator's rights, not its own.
    let mut tx = owner.begin().await?;
    sqlx::query(
        "select set_config('dialog.clock', '2025-01-15 10:00:00+03', true), set_config('dialog.actor', $1, true)",
    )
    .bind(&login)
    .execute(&mut *tx)
    .await?;
    let past = Uuid::now_v7();
    sqlx::query(register)
        .bind(past)
        .bind("+79123456780")
        .bind(city.lenina_10)
        .bind(city.leak)
        .execute(&mut *tx)
        .await?;
    let (is_owner, is_supervisor): (bool, bool) = sqlx::query_as("select dialog_is_owner(), dialog_is_supervisor()")
        .fetch_one(&mut *tx)
        .await?;
    assert!(!is_owner && !is_supervisor);
    tx.commit().await?;
    let (registered, created_by, at, actor) = stamps(owner, past).await?;
    let expected = "2025-01-15T07:00:00Z".parse::<chrono::DateTime<chrono::Utc>>()?;
    assert_eq!((registered, at), (expected, expected));
    assert_eq!((created_by.as_str(), actor.as_str()), (login.as_str(), login.as_str()));
    let number: String = sqlx::query_scalar("select number from appeals where id = $1")
        .bind(past)
        .fetch_one(owner)
        .await?;
    assert!(
        number.starts_with("2025-"),
        "numbered in the year of its registration: {number}"
    );
    // Set for the transaction only: the owner's next one is its own, now.
    let now_id = Uuid::now_v7();
    sqlx::query(register)
        .bind(now_id)
        .bind("+79123456781")
        .bind(city.lenina_10)
        .bind(city.leak)
        .execute(owner)
        .await?;
    let (registered, _, _, actor) = stamps(owner, now_id).await?;
    assert!(registered > recent, "{registered}");
    assert_ne!(actor, login);
    Ok(())
}

// The workflow itself, through the functions a person may call.
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn statuses_cannot_be_skipped_or_closed_by_operators(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    let (sup, _) = person(&city, StaffRole::Supervisor, None).await?;
    let a = registered(&op, "+79123456789", city.lenina_10, city.leak).await?;
    let mut sql = psql(&city, &login).await?;
    for skip in ["в работе", "отработано", "закрыто"] {
        let r = refused(
            &mut sql,
            &format!(
                "select dialog_set_status(array['{}'::uuid], array[{}], '{skip}')",
                a.id, a.version
            ),
        )
        .await;
        assert_eq!(r, "DL001", "новый → {skip}");
    }
    let r = refused(
        &mut sql,
        &format!(
            "select dialog_set_status(array['{}'::uuid], array[{}], 'назначено')",
            a.id, a.version
        ),
    )
    .await;
    assert_eq!(r, "DL002");
    // A stale version is refused by the database, and the conflict names the appeal.
    let mut c = changes(&a);
    c.comment = "первое".into();
    op.save_appeal(a.id, a.version, &c).await?;
    match op.save_appeal(a.id, a.version, &c).await {
        Err(Error::Conflict { id, number, version }) => {
            assert_eq!((id, number.as_str(), version), (a.id, a.number.as_str(), a.version + 1));
        }
        other => panic!("{other:?}"),
    }
    let a = op.appeal(a.id).await?;
    let a = op.assign_executor(a.id, a.version, city.plumber).await?;
    pbx_call(&city, "2001", city.plumber_phone).await?;
    let a = op.change_status(a.id, a.version, AppealStatus::InWork).await?;
    let a = op.change_status(a.id, a.version, AppealStatus::Done).await?;
    assert!(matches!(
        op.change_status(a.id, a.version, AppealStatus::Closed).await,
        Err(Error::Rule {
            rule: Rule::SupervisorOnly,
            ..
        })
    ));
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
    assert_eq!(
        refused(&mut sql, &format!("delete from appeals where id = '{}'", a.id)).await,
        "42501"
    );
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn in_work_needs_a_call_the_pbx_carried_after_assignment(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    // A call to the plumber made before the appeal existed does not count.
    pbx_call(&city, "2001", city.plumber_phone).await?;
    let a = registered(&op, "+79123456789", city.lenina_10, city.leak).await?;
    let a = op.assign_executor(a.id, a.version, city.plumber).await?;
    assert_eq!(a.status, AppealStatus::Assigned);
    assert!(!a.executors[0].notified);
    // The operator's own app recording a "conversation" is not evidence: it is written by the
    // party the rule checks.
    op.record_call(&call_to(city.plumber, city.plumber_phone, Some(a.id)))
        .await?;
    // Nor can their own SQL session write what the PBX writes.
    let mut sql = psql(&city, &login).await?;
    for attack in [
        format!("select dialog_pbx_call('answer', 'x1', 'x1', 'исходящий', '2001', '{}', null)", city.plumber_phone),
        format!("insert into pbx_calls (uniqueid, linkedid, direction, extension, number, answered_at) values ('x2', 'x2', 'исходящий', '2001', '{}', now())", city.plumber_phone),
        "select dialog_set_setting('call_evidence', 'app')".to_owned(),
        "update settings set value = 'app'".to_owned(),
    ] {
        assert_eq!(refused(&mut sql, &attack).await, "42501", "{attack}");
    }
    // Unanswered at the PBX, or to someone else: still not notified.
    {
        use dialog_core::pbx::{CallEvent, PbxLeg};
        let leg = PbxLeg {
            uniqueid: "unanswered".into(),
            linkedid: "unanswered".into(),
            direction: dialog_core::model::CallDirection::Outgoing,
            extension: "2001".into(),
            number: city.plumber_phone.into(),
            sip_call_id: None,
        };
        city.pbx.call_event(CallEvent::Start, &leg).await?;
        city.pbx.call_event(CallEvent::End, &leg).await?;
    }
    pbx_call(&city, "2001", "+79170000002").await?;
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
    // The PBX carried an answered call to the plumber's number: that unlocks it.
    pbx_call(&city, "2001", city.plumber_phone).await?;
    assert!(op.appeal(a.id).await?.executors[0].notified);
    let a = op.change_status(a.id, a.version, AppealStatus::InWork).await?;
    assert_eq!(a.status, AppealStatus::InWork);
    assert!(a.notified_at.is_some() && a.in_work_at.is_some());
    // Every phone of the executor counts, and the first answered call since the assignment is
    // the moment they were notified.
    sqlx::query("update executors set phones = array['+79170000001', '+79170000009'] where id = $1")
        .bind(city.plumber)
        .execute(city.owner.pool())
        .await?;
    let c = registered(&op, "+79123456787", city.lenina_10, city.leak).await?;
    let c = op.assign_executor(c.id, c.version, city.plumber).await?;
    pbx_call(&city, "2001", "+79170000009").await?;
    pbx_call(&city, "2001", city.plumber_phone).await?;
    let c = op.change_status(c.id, c.version, AppealStatus::InWork).await?;
    let first: chrono::DateTime<chrono::Utc> = sqlx::query_scalar(
        "select started_at from pbx_calls where number = '+79170000009' order by started_at desc limit 1",
    )
    .fetch_one(city.owner.pool())
    .await?;
    assert_eq!(c.notified_at, Some(first));
    // A center without the PBX bridge may choose to trust the operators' apps; the admin
    // says so, it is never a silent fallback.
    let b = registered(&op, "+79123456788", city.lenina_10, city.leak).await?;
    let b = op.assign_executor(b.id, b.version, city.plumber).await?;
    op.record_call(&call_to(city.plumber, city.plumber_phone, Some(b.id)))
        .await?;
    assert!(!op.appeal(b.id).await?.executors[0].notified);
    city.owner.set_setting("call_evidence", "app").await?;
    assert!(op.appeal(b.id).await?.executors[0].notified);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn operator_cannot_make_logins_or_grant_roles(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    let mut sql = psql(&city, &login).await?;
    for attack in [
        "create role intruder login password 'x'",
        "grant dialog_admin to current_user",
        "select dialog_create_person('intruder', 'SCRAM-SHA-256$4096:AAAA$AAAA:AAAA', 'admin', 'Взломщик')",
        "insert into staff (login, full_name, role) values ('intruder', 'Взломщик', 'admin')",
        "update executors set active = false",
        "create function public.f() returns int language sql return 1",
    ] {
        assert_eq!(refused(&mut sql, attack).await, "42501", "{attack}");
    }
    let (_other, other) = person(&city, StaffRole::Operator, None).await?;
    assert!(matches!(
        op.set_password(&other, "новый-пароль-123").await,
        Err(Error::Forbidden(_))
    ));
    op.set_password(&login, "новый-пароль-123").await?;
    // The plain password never reaches the server: the functions accept only verifiers.
    assert_eq!(
        refused(
            &mut sql,
            "select dialog_set_password(current_user, 'plain-text-password')"
        )
        .await,
        "DL011"
    );
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn files_and_recordings_have_size_limits(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    let a = registered(&op, "+79123456789", city.lenina_10, city.leak).await?;
    let big = vec![0u8; 25 * 1024 * 1024 + 1];
    match op.add_attachment(a.id, "видео.mp4", "video/mp4", &big).await {
        Err(Error::Invalid {
            field: "content",
            message,
        }) => assert!(message.contains("25 МБ"), "{message}"),
        other => panic!("expected the size limit, got {other:?}"),
    }
    let mut sql = psql(&city, &login).await?;
    let r = refused(
        &mut sql,
        &format!(
            "select dialog_add_attachment(gen_random_uuid(), '{}', 'a', 'x/y', ''::bytea)",
            a.id
        ),
    )
    .await;
    assert_eq!(r, "23514", "empty file");
    assert!(op.attachments(a.id).await?.is_empty());
    let ok = op.add_attachment(a.id, "фото.jpg", "image/jpeg", &[1, 2, 3]).await?;
    assert_eq!(op.attachment_content(ok.id).await?, vec![1, 2, 3]);
    // A day's allowance: more than that is refused in words (the allowance is lowered here
    // only to keep the test small).
    sqlx::raw_sql(
        "create or replace function dialog_daily_bytes_limit() returns bigint language sql immutable return 1000",
    )
    .execute(city.owner.pool())
    .await?;
    match op.add_attachment(a.id, "ещё.jpg", "image/jpeg", &[0u8; 2000]).await {
        Err(Error::Rule {
            rule: Rule::Quota,
            message,
            ..
        }) => assert!(message.contains("За сутки"), "{message}"),
        other => panic!("expected the daily allowance, got {other:?}"),
    }
    let mut long = call_to(city.plumber, city.plumber_phone, None);
    long.recording = Some(vec![0u8; 2000]);
    assert!(matches!(
        op.record_call(&long).await,
        Err(Error::Rule { rule: Rule::Quota, .. })
    ));
    // A call without a recording adds no bytes: it is kept even over the allowance.
    let mut plain = call_to(city.plumber, city.plumber_phone, None);
    (plain.recording, plain.recording_codec) = (None, None);
    op.record_call(&plain).await?;
    let kept: i64 = sqlx::query_scalar("select count(*) from calls where id = $1")
        .bind(plain.id)
        .fetch_one(city.owner.pool())
        .await?;
    assert_eq!(kept, 1, "a call without a recording is not refused for the day's bytes");
    Ok(())
}

/// A retried registration returns what was registered; a different card under the same id
/// is refused, and two saves of one card at once make one appeal.
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn retried_and_doubled_registrations_make_one_appeal(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let (other, _) = person(&city, StaffRole::Operator, None).await?;
    let new = card("+79123456789", Some(city.lenina_10), city.leak);
    let (a, b) = tokio::join!(op.create_appeals(&new), op.create_appeals(&new));
    let (a, b) = (a?.remove(0), b?.remove(0));
    assert_eq!((a.id, &a.number), (b.id, &b.number));
    let count: i64 = sqlx::query_scalar("select count(*) from appeals where identifier = '+79123456789'")
        .fetch_one(city.owner.pool())
        .await?;
    assert_eq!(count, 1);
    let mut changed = new.clone();
    changed.reasons[0].comment = "Другая причина".into();
    assert!(matches!(
        op.create_appeals(&changed).await,
        Err(Error::Rule {
            rule: Rule::AlreadyRegistered,
            ..
        })
    ));
    assert!(matches!(
        other.create_appeals(&new).await,
        Err(Error::Rule {
            rule: Rule::AlreadyRegistered,
            ..
        })
    ));
    Ok(())
}
