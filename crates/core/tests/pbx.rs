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
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    sqlx::query("update staff set sip_extension = '2001' where login = $1")
        .bind(&login)
        .execute(city.owner.pool())
        .await?;
    let leg = |id: &str| PbxLeg {
        uniqueid: id.into(),
        linkedid: id.into(),
        direction: CallDirection::Outgoing,
        extension: "2001".into(),
        number: city.plumber_phone.into(),
        sip_call_id: Some(format!("{id}@dialog")),
    };
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
