//! What the app holds between commands: the logged-in person's store and the task that
//! forwards the database's change events to the window.

use dialog_core::events::Change;
use dialog_core::Store;
use futures_util::StreamExt;
use tauri::{AppHandle, Emitter};
use tokio::sync::RwLock;

use crate::error::{AppError, CmdResult};

/// The event the UI listens to for live updates.
pub const APPEAL_CHANGED: &str = "appeal-changed";
/// Sent when the event stream broke and screens should reload what they show.
pub const EVENTS_RESYNC: &str = "events-resync";
/// The PBX's queue changed.
pub const QUEUE_CHANGED: &str = "queue-changed";

/// A logged-in session.
pub struct Session {
    /// The person's store.
    pub store: Store,
    events: tauri::async_runtime::JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.events.abort();
    }
}

/// The app's state.
#[derive(Default)]
pub struct AppState {
    session: RwLock<Option<Session>>,
    /// The report being built, which building another or logging out cancels.
    pub reports: dialog_commands::ReportSlot,
}

impl AppState {
    /// The store of the person logged in.
    pub async fn store(&self) -> CmdResult<Store> {
        self.session
            .read()
            .await
            .as_ref()
            .map(|s| s.store.clone())
            .ok_or_else(AppError::not_logged_in)
    }

    /// Starts a session: keeps the store and forwards change events to the window.
    pub async fn begin(&self, app: AppHandle, store: Store) {
        let events = tauri::async_runtime::spawn(forward_events(app, store.clone()));
        *self.session.write().await = Some(Session { store, events });
    }

    /// Ends the session and closes its connections.
    pub async fn end(&self) {
        if let Some(s) = self.session.write().await.take() {
            s.store.pool().close().await;
        }
    }
}

async fn forward_events(app: AppHandle, store: Store) {
    loop {
        match store.changes().await {
            Ok(stream) => {
                let mut stream = Box::pin(stream);
                while let Some(e) = stream.next().await {
                    match e {
                        Ok(Change::Appeal(e)) => {
                            let _ = app.emit(APPEAL_CHANGED, e);
                        }
                        Ok(Change::Queue) => {
                            let _ = app.emit(QUEUE_CHANGED, ());
                        }
                        // The listener reconnects by itself; what happened meanwhile is unknown.
                        Err(_) => {
                            let _ = app.emit(EVENTS_RESYNC, ());
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "change events unavailable"),
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let _ = app.emit(EVENTS_RESYNC, ());
    }
}
