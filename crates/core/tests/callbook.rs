//! Finished calls on their way from the phone to the database (`dialog_core::callbook`), against
//! the real database: a crash of the app loses no call, a call stored late keeps its own time,
//! a refused call is set aside with its reason, and a link to an appeal made at any moment of
//! the call's way reaches the database.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{Duration, Utc};
use common::*;
use dialog_core::callbook::{CallBook, Linked};
use dialog_core::files::NewCall;
use dialog_core::model::{CallDirection, StaffRole};
use sqlx::PgPool;
use uuid::Uuid;

/// A folder of its own, removed when dropped.
struct Folder(PathBuf);

impl Folder {
    fn new() -> Self {
        Self(std::env::temp_dir().join(format!("dialog-calls-{}", Uuid::now_v7().simple())))
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An answered incoming call that ended `minutes_ago`, with a recording.
fn ended_call(minutes_ago: i64) -> NewCall {
    let ended = Utc::now() - Duration::minutes(minutes_ago);
    NewCall {
        id: Uuid::now_v7(),
        direction: CallDirection::Incoming,
        from_number: "+79123456789".into(),
        to_number: "2001".into(),
        started_at: ended - Duration::seconds(70),
        answered_at: Some(ended - Duration::seconds(60)),
        ended_at: Some(ended),
        appeal_id: None,
        executor_id: None,
        recording: Some(format!("OggS {minutes_ago}").into_bytes()),
        recording_codec: Some("audio/wav".into()),
        sip_call_id: None,
    }
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn calls_kept_before_a_crash_of_the_app_are_stored_once_with_their_lengths(pool: PgPool) -> TestResult {
    let city = city(pool.clone()).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let folder = Folder::new();
    let (early, now) = (ended_call(45), ended_call(0));
    {
        let book = CallBook::open(&folder.0)?;
        book.keep(&early)?;
        book.keep(&now)?;
        // The app dies here: nothing reached the database.
    }
    let mode = std::fs::metadata(&folder.0)?.permissions();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.mode() & 0o077, 0, "recordings readable by others");

    let book = CallBook::open(&folder.0)?;
    assert_eq!(book.kept(), vec![early.id, now.id]);
    let done = book.drain(&op).await;
    assert_eq!(done.stored, vec![early.id, now.id]);
    assert_eq!((done.waiting, done.refused.len()), (0, 0));
    assert!(book.kept().is_empty());
    // Once more (a second drain, a second app on the same folder): nothing doubles.
    book.keep(&early)?;
    assert_eq!(book.drain(&op).await.stored, vec![early.id]);
    let stored = sqlx::query!(
        r#"select id, started_at, answered_at as "answered_at!", ended_at as "ended_at!", recording as "recording!"
           from calls order by id"#
    )
    .fetch_all(&pool)
    .await?;
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert_eq!(stored[0].id, early.id);
    assert_eq!(stored[0].recording, early.recording.clone().unwrap_or_default());
    for c in &stored {
        // The times are the server's: a workstation's clock, or its claim that a call ended
        // long ago, dates nothing (only the PBX's record of the leg could); the lengths of
        // ringing and talk are the phone's.
        let off = (c.ended_at - Utc::now()).num_seconds().abs();
        assert!(off <= 5, "call {} ends {off} s off the server's clock", c.id);
        assert_eq!(
            (
                (c.answered_at - c.started_at).num_seconds(),
                (c.ended_at - c.answered_at).num_seconds()
            ),
            (10, 60)
        );
    }
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn a_call_the_database_refuses_is_set_aside_with_its_reason(pool: PgPool) -> TestResult {
    let city = city(pool.clone()).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let folder = Folder::new();
    let book = CallBook::open(&folder.0)?;
    let mut future = ended_call(0);
    future.ended_at = Some(Utc::now() + Duration::hours(2));
    let fine = ended_call(1);
    book.keep(&future)?;
    book.keep(&fine)?;
    let done = book.drain(&op).await;
    assert_eq!(done.stored, vec![fine.id], "a refused call held up the rest");
    assert_eq!(done.refused.len(), 1);
    assert_eq!(done.refused[0].0, future.id);
    assert!(
        done.refused[0].1.contains("позже текущего времени"),
        "{:?}",
        done.refused
    );
    assert!(book.kept().is_empty(), "a refused call is tried again forever");
    let why = std::fs::read_to_string(folder.0.join("refused").join(format!("{}.txt", future.id)))?;
    assert!(why.contains("Проверьте часы"), "{why}");
    assert!(folder.0.join("refused").join(format!("{}.audio", future.id)).exists());
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn a_link_made_at_any_moment_of_the_calls_way_reaches_the_database(pool: PgPool) -> TestResult {
    let city = city(pool.clone()).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let appeal = op
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?[0]
        .id;
    let folder = Folder::new();
    let book = CallBook::open(&folder.0)?;

    // Before the call reaches the book (its record is on its way from the phone).
    let before = ended_call(0);
    assert_eq!(book.link_ended(&op, before.id, appeal).await?, Linked::WithTheCall);
    book.keep(&before)?;
    // Kept, not yet stored: the link goes into the kept call.
    let kept = ended_call(0);
    book.keep(&kept)?;
    assert_eq!(book.link_ended(&op, kept.id, appeal).await?, Linked::WithTheCall);
    assert_eq!(book.drain(&op).await.stored.len(), 2);
    // Stored: the link goes to the database.
    let after = ended_call(0);
    book.keep(&after)?;
    book.drain(&op).await;
    assert_eq!(book.link_ended(&op, after.id, appeal).await?, Linked::Stored);

    // While being stored: many calls stored by one task and linked by another at the same time.
    let book = Arc::new(book);
    let calls: Vec<NewCall> = (0..60).map(|_| ended_call(0)).collect();
    let linker = {
        let (book, op, ids) = (book.clone(), op.clone(), calls.iter().map(|c| c.id).collect::<Vec<_>>());
        tokio::spawn(async move {
            for id in ids {
                book.link_ended(&op, id, appeal).await?;
                tokio::task::yield_now().await;
            }
            anyhow::Ok(())
        })
    };
    for c in &calls {
        book.keep(c)?;
        book.drain(&op).await;
    }
    linker.await??;
    book.drain(&op).await;

    let unlinked: Vec<Uuid> = sqlx::query_scalar("select id from calls where appeal_id is distinct from $1")
        .bind(appeal)
        .fetch_all(&pool)
        .await?;
    assert!(unlinked.is_empty(), "calls lost their link: {unlinked:?}");
    let linked: i64 = sqlx::query_scalar("select count(*) from calls where appeal_id = $1")
        .bind(appeal)
        .fetch_one(&pool)
        .await?;
    assert_eq!(linked, 63);
    // Each link is in the appeal's history once.
    let history: i64 =
        sqlx::query_scalar("select count(*) from appeal_history where appeal_id = $1 and action = 'call'")
            .bind(appeal)
            .fetch_one(&pool)
            .await?;
    assert_eq!(history, 63);
    Ok(())
}
