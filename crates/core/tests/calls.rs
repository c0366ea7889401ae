//! The recordings registry against the real database: every filter, the
//! order, and a manager seeing only their organization's calls.

mod common;

use chrono::{Duration, Utc};
use common::*;
use dialog_core::files::{CallFilter, NewCall};
use dialog_core::model::{CallDirection, StaffRole};
use dialog_core::Error;
use sqlx::PgPool;
use uuid::Uuid;

/// An answered, recorded incoming call from `from`, `hours_ago`.
fn incoming_from(from: &str, hours_ago: i64) -> NewCall {
    let started = Utc::now() - Duration::hours(hours_ago);
    NewCall {
        id: Uuid::now_v7(),
        direction: CallDirection::Incoming,
        from_number: from.into(),
        to_number: "2001".into(),
        started_at: started,
        answered_at: Some(started + Duration::seconds(5)),
        ended_at: Some(started + Duration::seconds(95)),
        appeal_id: None,
        executor_id: None,
        recording: Some(b"OggS applicant".to_vec()),
        recording_codec: Some("audio/wav".into()),
        sip_call_id: None,
    }
}

fn ids(calls: &[dialog_core::files::Call]) -> Vec<Uuid> {
    calls.iter().map(|c| c.id).collect()
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn recordings_registry_filters_by_date_number_operator_and_direction(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (first, first_login) = person(&city, StaffRole::Operator, None).await?;
    let (second, second_login) = person(&city, StaffRole::Operator, None).await?;

    // Three days of calls: an applicant two days ago and today, a plumber called yesterday.
    let old = past_call(&city, &first_login, &incoming_from("+79123456789", 48)).await?;
    let mut to_plumber = call_to(city.plumber, city.plumber_phone, None);
    to_plumber.started_at = Utc::now() - Duration::hours(24);
    to_plumber.answered_at = Some(to_plumber.started_at);
    to_plumber.ended_at = Some(to_plumber.started_at + Duration::seconds(30));
    let to_plumber = past_call(&city, &first_login, &to_plumber).await?;
    let today = past_call(&city, &second_login, &incoming_from("+79123456789", 1)).await?;

    // No filter: everything, newest first.
    let all = first.calls(&CallFilter::default()).await?;
    assert_eq!(ids(&all), vec![today.id, to_plumber.id, old.id]);
    assert_eq!(all[0].operator_login, second_login);
    assert_eq!(all[0].recording_size, Some(14));

    // Dates: from is inclusive, to exclusive.
    let since_yesterday = CallFilter {
        from: Some(Utc::now() - Duration::hours(30)),
        ..Default::default()
    };
    assert_eq!(
        ids(&first.calls(&since_yesterday).await?),
        vec![today.id, to_plumber.id]
    );
    let before_today = CallFilter {
        to: Some(today.started_at),
        ..Default::default()
    };
    assert_eq!(ids(&first.calls(&before_today).await?), vec![to_plumber.id, old.id]);

    // A number as the operator types it, on either side of the call.
    for typed in ["8 (912) 345-67-89", "345-67", "+7 912 345 67 89"] {
        let f = CallFilter {
            number: typed.into(),
            ..Default::default()
        };
        assert_eq!(ids(&first.calls(&f).await?), vec![today.id, old.id], "{typed}");
    }
    let plumber = CallFilter {
        number: "8 917 000-00-01".into(),
        ..Default::default()
    };
    assert_eq!(ids(&first.calls(&plumber).await?), vec![to_plumber.id]);
    let extension = CallFilter {
        number: "2001".into(),
        ..Default::default()
    };
    assert_eq!(ids(&first.calls(&extension).await?), vec![today.id, old.id]);
    let nobody = CallFilter {
        number: "+7 900 000 00 00".into(),
        ..Default::default()
    };
    assert!(first.calls(&nobody).await?.is_empty());
    let words = CallFilter {
        number: "Петров".into(),
        ..Default::default()
    };
    assert!(matches!(
        first.calls(&words).await,
        Err(Error::Invalid { field: "number", .. })
    ));

    // Operator and direction, alone and together.
    let mine = CallFilter {
        operator_login: Some(first_login.clone()),
        ..Default::default()
    };
    assert_eq!(ids(&second.calls(&mine).await?), vec![to_plumber.id, old.id]);
    let outgoing = CallFilter {
        direction: Some(CallDirection::Outgoing),
        ..Default::default()
    };
    assert_eq!(ids(&first.calls(&outgoing).await?), vec![to_plumber.id]);
    let my_incoming = CallFilter {
        operator_login: Some(first_login),
        direction: Some(CallDirection::Incoming),
        ..Default::default()
    };
    assert_eq!(ids(&first.calls(&my_incoming).await?), vec![old.id]);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn recordings_registry_shows_a_manager_only_their_organization(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let ours = op.record_call(&call_to(city.plumber, city.plumber_phone, None)).await?;
    op.record_call(&call_to(city.plumber_b, "+79170000002", None)).await?;
    // Not about anyone's appeal or executor: no organization, so no manager sees it.
    op.record_call(&incoming_from("+79123456789", 1)).await?;
    assert_eq!(op.calls(&CallFilter::default()).await?.len(), 3);

    let (manager, _) = person(&city, StaffRole::Manager, Some(city.org_a)).await?;
    assert_eq!(ids(&manager.calls(&CallFilter::default()).await?), vec![ours.id]);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn recordings_registry_stops_at_the_limit_newest_first(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (_, login) = person(&city, StaffRole::Operator, None).await?;
    let mut newest = None;
    for i in 0..(dialog_core::files::CALLS_LIMIT + 3) {
        let mut c = incoming_from("+79123456789", 0);
        c.recording = None;
        c.recording_codec = None;
        c.started_at = Utc::now() - Duration::minutes(600 - i);
        c.answered_at = None;
        c.ended_at = Some(c.started_at);
        newest = Some(past_call(&city, &login, &c).await?.id);
    }
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let shown = op.calls(&CallFilter::default()).await?;
    assert_eq!(shown.len() as i64, dialog_core::files::CALLS_LIMIT);
    assert_eq!(Some(shown[0].id), newest);
    assert!(shown.windows(2).all(|w| w[0].started_at >= w[1].started_at));
    Ok(())
}

/// The database takes exactly the numbers the app and the phone may dial (one rule:
/// `dialog_sip::number`).
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn the_database_stores_what_may_be_dialled(pool: PgPool) -> TestResult {
    let def: String =
        sqlx::query_scalar("select pg_get_constraintdef(oid) from pg_constraint where conname = 'calls_numbers_check'")
            .fetch_one(&pool)
            .await?;
    let pattern = dialog_sip::number::DIALABLE_PATTERN;
    assert_eq!(def.matches(&format!("'{pattern}'")).count(), 2, "{def}");
    Ok(())
}
