//! The PBX bridge's side of the database: the calls it records are linked to the operators'
//! recordings, its queue reaches every operator within a second, and nobody else can write
//! either.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::*;
use dialog_core::events::Change;
use dialog_core::model::{CallDirection, StaffRole};
use dialog_core::pbx::{CallEvent, Duty, PbxLeg, QueueState, Service};
use dialog_core::Error;
use futures_util::StreamExt;
use sqlx::PgPool;

/// An operator at extension 2001, and their login.
async fn operator_on_2001(city: &City) -> anyhow::Result<(dialog_core::Store, String)> {
    let (op, login) = person(city, StaffRole::Operator, None).await?;
    sqlx::query("update staff set sip_extension = '2001' where login = $1")
        .bind(&login)
        .execute(city.owner.pool())
        .await?;
    Ok((op, login))
}

/// Extension 2001's leg `id` to the plumber, with the SIP Call-ID `id@dialog`.
fn leg_to_plumber(city: &City, id: &str) -> PbxLeg {
    PbxLeg {
        uniqueid: id.into(),
        linkedid: id.into(),
        direction: CallDirection::Outgoing,
        extension: "2001".into(),
        number: city.plumber_phone.into(),
        sip_call_id: Some(format!("{id}@dialog")),
    }
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn the_queue_reaches_operators_at_once(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let (mgr, _) = person(&city, StaffRole::Manager, Some(city.org_a)).await?;
    assert!(op.queue_state().await?.is_empty(), "no bridge, no queue");
    let mut changes = Box::pin(op.changes().await?);
    let since = Utc::now() - chrono::Duration::seconds(75);
    city.pbx
        .queue(&QueueState {
            queue: "dispatch".into(),
            waiting: 2,
            longest_since: Some(since),
            agents: 3,
            talking: 1,
            stale: false,
        })
        .await?;
    let heard = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(c) = changes.next().await {
            if matches!(c, Ok(Change::Queue)) {
                return true;
            }
        }
        false
    })
    .await?;
    assert!(heard, "the operator's app heard of the queue within a second");
    let q = op.queue_state().await?;
    assert_eq!(q.len(), 1);
    assert_eq!((q[0].waiting, q[0].agents, q[0].talking, q[0].stale), (2, 3, 1, false));
    assert!(q[0]
        .longest_since
        .is_some_and(|s| (s - since).num_milliseconds().abs() < 1000));
    // A manager has no business with the center's queue.
    assert!(matches!(mgr.queue_state().await, Err(Error::Forbidden(_))));
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn the_pbx_record_and_the_recording_meet_on_the_call_id(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = operator_on_2001(&city).await?;
    let leg = |id: &str| leg_to_plumber(&city, id);
    // The PBX reports first, the app stores its recording after…
    for e in [CallEvent::Start, CallEvent::Answer, CallEvent::End] {
        city.pbx.call_event(e, &leg("first")).await?;
    }
    let mut c = call_to(city.plumber, city.plumber_phone, None);
    c.sip_call_id = Some("first@dialog".into());
    op.record_call(&c).await?;
    // …or the other way round.
    let mut c2 = call_to(city.plumber, city.plumber_phone, None);
    c2.sip_call_id = Some("second@dialog".into());
    op.record_call(&c2).await?;
    city.pbx.call_event(CallEvent::Start, &leg("second")).await?;
    let linked: Vec<(String, Option<String>, String)> = sqlx::query_as(
        r#"select c.sip_call_id, p.uniqueid, p.operator_login from calls c join pbx_calls p on p.id = c.pbx_call_id
           order by c.sip_call_id"#,
    )
    .fetch_all(city.owner.pool())
    .await?;
    assert_eq!(
        linked,
        vec![
            ("first@dialog".into(), Some("first".into()), login.clone()),
            ("second@dialog".into(), Some("second".into()), login.clone())
        ]
    );
    // A report repeated after a restart of the bridge changes nothing; the times are the
    // server's at each event.
    for e in [CallEvent::Start, CallEvent::Answer, CallEvent::End] {
        city.pbx.call_event(e, &leg("first")).await?;
    }
    let (n, answered): (i64, bool) =
        sqlx::query_as("select count(*), bool_and(answered_at <= ended_at) from pbx_calls where uniqueid = 'first'")
            .fetch_one(city.owner.pool())
            .await?;
    assert_eq!((n, answered), (1, true));
    Ok(())
}

/// Calls written to the table directly, several in one statement (as the owner does for the
/// demo city), keep each call's rules: the calls table's own triggers make them the acting
/// operator's, anchor their times to the server's or the PBX's clock, link the PBX's leg, and
/// write and announce a line of history for each; a call whose times are out of order stops
/// the whole statement.
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn calls_written_together_keep_each_calls_rules(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = operator_on_2001(&city).await?;
    let a = op
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    let leg = leg_to_plumber(&city, "w");
    for e in [CallEvent::Start, CallEvent::Answer, CallEvent::End] {
        city.pbx.call_event(e, &leg).await?;
    }
    let pbx_end: chrono::DateTime<Utc> = sqlx::query_scalar("select ended_at from pbx_calls where uniqueid = 'w'")
        .fetch_one(city.owner.pool())
        .await?;
    let head: i64 = sqlx::query_scalar("select coalesce(max(seq), 0) from appeal_changes")
        .fetch_one(city.owner.pool())
        .await?;
    // Each row as the operator at its own moment (the phone says it rang 10 s and talked 50 s).
    let insert = r#"insert into calls (id, direction, from_number, to_number, started_at, answered_at, ended_at,
                                       operator_login, appeal_id, executor_id, sip_call_id)
        select gen_random_uuid(), 'исходящий', '2001', $1, e - interval '60 s', e - interval '50 s' + shift,
               set_config('dialog.clock', e::text, true)::timestamptz, set_config('dialog.actor', $2, true),
               $3, $4, sip
        from (values (now() - interval '2 hours', 'w@dialog', interval '0 s'),
                     (now() - interval '1 hour', null, $5::interval)) v(e, sip, shift)
        order by e"#;
    // Answered after it ended: nothing of the statement is kept.
    let r = sqlx::query(insert)
        .bind(city.plumber_phone)
        .bind(&login)
        .bind(a.id)
        .bind(city.plumber)
        .bind("2 minutes")
        .execute(city.owner.pool())
        .await;
    assert_eq!(sqlstate(r), "DL006");
    let count = || sqlx::query_scalar::<_, i64>("select count(*) from calls").fetch_one(city.owner.pool());
    assert_eq!(count().await?, 0);
    sqlx::query(insert)
        .bind(city.plumber_phone)
        .bind(&login)
        .bind(a.id)
        .bind(city.plumber)
        .bind("0 s")
        .execute(city.owner.pool())
        .await?;
    assert_eq!(count().await?, 2);
    type Row = (String, chrono::DateTime<Utc>, f64, f64, Option<String>);
    let calls: Vec<Row> = sqlx::query_as(
        r#"select c.operator_login, c.ended_at, extract(epoch from c.answered_at - c.started_at)::float8,
                  extract(epoch from c.ended_at - c.answered_at)::float8, p.uniqueid
           from calls c left join pbx_calls p on p.id = c.pbx_call_id order by c.ended_at"#,
    )
    .fetch_all(city.owner.pool())
    .await?;
    // The witnessed call ends when the PBX saw it end (not two hours ago); the other, at its
    // own moment, an hour ago.
    assert_eq!(calls[1].1, pbx_end);
    assert!(calls[0].1 < pbx_end - chrono::Duration::minutes(59));
    for (who, _, ring, talk, _) in &calls {
        assert_eq!((who, *ring, *talk), (&login, 10.0, 50.0));
    }
    assert_eq!(
        calls.iter().map(|c| c.4.clone()).collect::<Vec<_>>(),
        vec![None, Some("w".to_string())]
    );
    // A line of history each, at the call's end, by the operator; and each line announced.
    let lines: Vec<(String, chrono::DateTime<Utc>)> =
        sqlx::query_as("select actor, at from appeal_history where appeal_id = $1 and action = 'call' order by at")
            .bind(a.id)
            .fetch_all(city.owner.pool())
            .await?;
    assert_eq!(lines, vec![(login.clone(), calls[0].1), (login.clone(), calls[1].1)]);
    let announced: i64 =
        sqlx::query_scalar("select count(*) from appeal_changes where seq > $1 and appeal_id = $2 and op = 'call'")
            .bind(head)
            .bind(a.id)
            .fetch_one(city.owner.pool())
            .await?;
    assert_eq!(announced, 2);
    Ok(())
}

/// PBX legs written to the table directly, several in one statement (as the owner does for the
/// demo city), keep what the PBX said: each event is stamped with the server's clock whatever
/// time is written, an answer or an end is written once, no answer after the end, the number
/// stays once answered, the operator is the extension's, and recordings waiting for a leg's
/// Call-ID are linked to it.
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn pbx_legs_written_together_keep_what_the_pbx_said(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = operator_on_2001(&city).await?;
    let mut c = call_to(city.plumber, city.plumber_phone, None);
    c.sip_call_id = Some("a@dialog".into());
    op.record_call(&c).await?;
    let owner = city.owner.pool();
    let run = |sql: &'static str| sqlx::query(sql).execute(owner);
    // Two legs, the owner claiming other starts and another operator.
    run(
        r#"insert into pbx_calls (uniqueid, linkedid, direction, extension, number, sip_call_id, started_at,
                                  operator_login)
           select u, u, 'исходящий', '2001', '+79170000001', u || '@dialog',
                  set_config('dialog.clock', t::text, true)::timestamptz, 'someone'
           from (values ('a', now() - interval '10 min'), ('b', now() - interval '9 min')) v(u, t)"#,
    )
    .await?;
    // a is answered, then b ends; then a is answered again later, b is answered after its end,
    // and both numbers are changed (a's, answered, stays).
    run("update pbx_calls set answered_at = set_config('dialog.clock', (now() - interval '8 min')::text, true)::timestamptz where uniqueid = 'a'").await?;
    run("update pbx_calls set ended_at = set_config('dialog.clock', (now() - interval '7 min')::text, true)::timestamptz where uniqueid = 'b'").await?;
    run(r#"update pbx_calls set answered_at = set_config('dialog.clock', (now() - interval '6 min')::text, true)::timestamptz,
                                number = '+79990000000', started_at = now(), operator_login = 'someone'"#)
    .await?;
    type Leg = (String, String, Option<String>, f64, Option<f64>, Option<f64>, bool);
    let legs: Vec<Leg> = sqlx::query_as(
        r#"select p.uniqueid, p.number, p.operator_login, extract(epoch from now() - p.started_at)::float8 / 60,
                  extract(epoch from now() - p.answered_at)::float8 / 60,
                  extract(epoch from now() - p.ended_at)::float8 / 60,
                  exists (select 1 from calls c where c.pbx_call_id = p.id)
           from pbx_calls p order by p.uniqueid"#,
    )
    .fetch_all(owner)
    .await?;
    let minutes = |m: Option<f64>| m.map(|m| m.round());
    let seen: Vec<_> = legs
        .iter()
        .map(|l| {
            (
                l.0.as_str(),
                l.1.as_str(),
                l.2.as_deref(),
                l.3.round(),
                minutes(l.4),
                minutes(l.5),
                l.6,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("a", "+79170000001", Some(login.as_str()), 10.0, Some(8.0), None, true),
            ("b", "+79990000000", Some(login.as_str()), 9.0, None, Some(7.0), false),
        ]
    );
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn only_an_active_pbx_service_writes_what_the_pbx_saw(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (_, admin_login) = person(&city, StaffRole::Admin, None).await?;
    // An admin's own session is not the PBX.
    let mut sql = psql(&city, &admin_login).await?;
    let r = sqlx::query("select dialog_pbx_queue('q', 5, now(), 1, 1)")
        .execute(&mut sql)
        .await;
    assert_eq!(sqlstate(r), "42501");
    // A mail service is not either.
    let mail_login = format!("mail{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    city.owner.add_service(&mail_login, PASSWORD, Duty::Mail).await?;
    let mail = Service::connect(&options_for(city.owner.pool(), &mail_login, PASSWORD), Duty::Mail).await?;
    let r = sqlx::query("select dialog_pbx_call('start', 'u', 'u', 'исходящий', '2001', '+79170000001', null)")
        .execute(mail.pool())
        .await;
    assert_eq!(sqlstate(r), "42501");
    // The service reads nothing of the appeals.
    let r = sqlx::query("select count(*) from appeals")
        .execute(city.pbx.pool())
        .await;
    assert_eq!(sqlstate(r), "42501");
    let r = sqlx::query("select * from dialog_registry(null, null, null, null, 10)")
        .execute(city.pbx.pool())
        .await;
    assert_eq!(sqlstate(r), "42501");
    // Switched off, it cannot even connect.
    sqlx::query("select dialog_set_service_active($1, false)")
        .bind(&mail_login)
        .execute(city.owner.pool())
        .await?;
    assert!(
        Service::connect(&options_for(city.owner.pool(), &mail_login, PASSWORD), Duty::Mail)
            .await
            .is_err()
    );
    Ok(())
}
