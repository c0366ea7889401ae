//! Finished calls: each is kept on disk as it ends, then stored with its recording and what it
//! was about; while the database cannot be reached they wait, and are tried again.

use std::sync::Arc;
use std::time::Duration;

use dialog_core::callbook::CallBook;
use dialog_core::files::NewCall;
use dialog_core::model::CallDirection;
use dialog_core::Store;
use dialog_phone::phone::{CallRecord, Direction};
use tauri::{AppHandle, Emitter};
use tokio::sync::mpsc::UnboundedReceiver;

use super::view::to_utc;
use super::CALL_STORED;

/// The longest pause between two attempts while the database is away.
const RETRY_AT_MOST: Duration = Duration::from_secs(30);

/// The call as the database takes it.
pub(super) fn new_call(r: CallRecord) -> NewCall {
    // An anonymous or unreadable caller is stored as "00": the database takes only what may
    // be dialled.
    let number = |n: &str| dialog_sip::number::dialable(n).unwrap_or_else(|| "00".to_owned());
    let (from, to) = match r.direction {
        Direction::Incoming => (number(&r.remote), number(&r.local)),
        Direction::Outgoing => (number(&r.local), number(&r.remote)),
    };
    let (recording, codec) = match r.recording {
        Some(rec) => (Some(rec.data), Some(rec.codec.to_owned())),
        None => (None, None),
    };
    NewCall {
        id: r.id,
        direction: match r.direction {
            Direction::Incoming => CallDirection::Incoming,
            Direction::Outgoing => CallDirection::Outgoing,
        },
        from_number: from,
        to_number: to,
        started_at: to_utc(r.started_at),
        answered_at: r.answered_at.map(to_utc),
        ended_at: Some(to_utc(r.ended_at)),
        appeal_id: r.context.appeal_id,
        executor_id: r.context.executor_id,
        recording,
        recording_codec: codec,
        sip_call_id: r.sip_call_id,
    }
}

/// Keeps and stores calls until the phone is gone (`records` closed) or, without a phone,
/// until the session ends; first stores what earlier sessions kept.
pub(super) async fn run(
    app: AppHandle,
    store: Store,
    book: Arc<CallBook>,
    mut records: Option<UnboundedReceiver<CallRecord>>,
) {
    let mut pause = Duration::from_secs(1);
    let mut waiting = drain(&app, &store, &book).await;
    loop {
        let next = async {
            match records.as_mut() {
                Some(r) => r.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            record = next => match record {
                Some(record) => keep(&store, &book, new_call(record)).await,
                None => {
                    // The phone is gone: what it handed over is kept; store what can be stored.
                    drain(&app, &store, &book).await;
                    return;
                }
            },
            () = tokio::time::sleep(pause), if waiting => {
                pause = (pause * 2).min(RETRY_AT_MOST);
            }
        }
        let still = drain(&app, &store, &book).await;
        if !still {
            pause = Duration::from_secs(1);
        }
        waiting = still;
    }
}

/// Keeps a call on disk; when even that fails (a full disk), stores it straight away.
async fn keep(store: &Store, book: &CallBook, call: NewCall) {
    if let Err(e) = book.keep(&call) {
        tracing::error!(call = %call.id, error = %e, "the call cannot be kept on disk; storing it now");
        if let Err(e) = store.record_call(&call).await {
            tracing::error!(call = %call.id, error = %e, "the call is lost: neither kept nor stored");
        }
    }
}

/// Stores the kept calls; whether some still wait for the database.
async fn drain(app: &AppHandle, store: &Store, book: &CallBook) -> bool {
    let done = book.drain(store).await;
    for id in &done.stored {
        let _ = app.emit(CALL_STORED, id);
    }
    done.waiting > 0
}
