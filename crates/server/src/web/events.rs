//! Live changes for a session's pages, as Server-Sent Events: the same events the desktop app's
//! window gets — `appeal-changed` (the appeal's id, number, version, what happened),
//! `queue-changed`, and `events-resync` when changes may have been missed and the pages must
//! read again what they show. The session's change stream (`Store::changes`, on the
//! connection kept for it) runs while at least one of its pages listens.

use std::convert::Infallible;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use dialog_core::events::Change;
use dialog_core::Store;
use futures_util::{Stream, StreamExt};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

/// One event for the pages, as the SSE text to send.
pub type Event = Bytes;

/// How often a quiet stream says it is alive (proxies close silent connections).
const KEEPALIVE: Duration = Duration::from_secs(20);

/// A session's live changes.
pub struct Hub {
    store: Store,
    tx: Mutex<Option<broadcast::Sender<Event>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

fn sse(name: &str, data: &str) -> Event {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

fn resync() -> Event {
    sse("events-resync", "null")
}

impl Hub {
    /// A hub for the session's store; nothing runs until a page listens.
    pub fn new(store: Store) -> Self {
        let (tx, _) = broadcast::channel(256);
        Self {
            store,
            tx: Mutex::new(Some(tx)),
            task: Mutex::new(None),
        }
    }

    /// A page listens: its stream of SSE text. `None` once the session has ended.
    pub fn subscribe(&self) -> Option<impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static> {
        let tx = self.tx.lock().ok()?.clone()?;
        let rx = tx.subscribe();
        if let Ok(mut task) = self.task.lock() {
            if task.as_ref().is_none_or(|t| t.is_finished()) {
                *task = Some(tokio::spawn(forward(self.store.clone(), tx)));
            }
        }
        // The browser reconnects by itself after 3 s when the stream breaks.
        let first = futures_util::stream::once(async { Ok(Bytes::from_static(b"retry: 3000\n: connected\n\n")) });
        let rest = futures_util::stream::unfold(rx, |mut rx| async move {
            let next = match tokio::time::timeout(KEEPALIVE, rx.recv()).await {
                Ok(Ok(e)) => e,
                // This page fell behind: it reads everything again.
                Ok(Err(broadcast::error::RecvError::Lagged(_))) => resync(),
                // The session ended.
                Ok(Err(broadcast::error::RecvError::Closed)) => return None,
                Err(_) => Bytes::from_static(b": alive\n\n"),
            };
            Some((Ok(next), rx))
        });
        Some(first.chain(rest))
    }

    /// The session ended: its pages' streams end and the change stream stops (and gives its
    /// connection back).
    pub async fn stop(&self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = task {
            t.abort();
            let _ = t.await;
        }
    }
}

/// Forwards the session's change stream to its pages while any listens, reopening it after
/// a break (the pages then read again).
async fn forward(store: Store, tx: broadcast::Sender<Event>) {
    let mut check = tokio::time::interval(Duration::from_secs(10));
    loop {
        match store.changes().await {
            Ok(stream) => {
                let mut stream = Box::pin(stream);
                loop {
                    tokio::select! {
                        item = stream.next() => match item {
                            Some(Ok(Change::Appeal(e))) => {
                                let data = serde_json::to_string(&e).unwrap_or_else(|_| "null".into());
                                let _ = tx.send(sse("appeal-changed", &data));
                            }
                            Some(Ok(Change::Queue)) => {
                                let _ = tx.send(sse("queue-changed", "null"));
                            }
                            // The listener reconnects by itself; what happened meanwhile is unknown.
                            Some(Err(_)) => {
                                let _ = tx.send(resync());
                            }
                            None => break,
                        },
                        _ = check.tick() => {
                            if tx.receiver_count() == 0 {
                                return;
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "change events unavailable"),
        }
        if tx.receiver_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        let _ = tx.send(resync());
    }
}
