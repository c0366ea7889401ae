//! The line as others see it: every change of the phone goes to the window at once
//! ("phone-state"), and the line's figures go to the database for the supervisor's dashboard
//! by a task of their own, so a slow database never holds a ringing call off the screen.

use std::collections::HashSet;
use std::sync::Arc;

use dialog_core::phone::{LineReport, LINE_HEARTBEAT};
use dialog_core::Store;
use dialog_phone::phone::{Direction, LineState, Phone, PhoneStatus};
use tauri::{AppHandle, Emitter};
use tokio::sync::watch;
use uuid::Uuid;

use super::directory::Directory;
use super::{view, PHONE_STATE};

fn report(s: &PhoneStatus) -> LineReport {
    let small = |n: usize| u8::try_from(n).unwrap_or(u8::MAX).min(100);
    LineReport {
        extension: s.extension.clone(),
        registered: s.line == LineState::Registered,
        ringing: small(s.waiting()),
        talking: small(s.calls.iter().filter(|c| c.answered_at.is_some()).count()),
    }
}

/// Starts the two tasks; both end when the phone is shut down.
pub(super) fn spawn(
    app: &AppHandle,
    phone: &Phone,
    store: &Store,
    directory: &Arc<Directory>,
) -> [tauri::async_runtime::JoinHandle<()>; 2] {
    let (reports_tx, reports) = watch::channel(None);
    let naming = Naming {
        phone: phone.clone(),
        store: store.clone(),
        directory: directory.clone(),
        asked: HashSet::new(),
    };
    [
        tauri::async_runtime::spawn(show(app.clone(), phone.status(), reports_tx, naming)),
        tauri::async_runtime::spawn(send_reports(store.clone(), reports)),
    ]
}

/// Callers the directory in memory did not name when their call came in: the numbers are read
/// again (not more often than every few seconds) and the call is named if one is found now.
/// The screen has shown the call meanwhile.
struct Naming {
    phone: Phone,
    store: Store,
    directory: Arc<Directory>,
    asked: HashSet<Uuid>,
}

impl Naming {
    fn look_again(&mut self, s: &PhoneStatus) {
        self.asked.retain(|id| s.calls.iter().any(|c| c.id == *id));
        for c in &s.calls {
            let unknown = c.direction == Direction::Incoming && c.context.executor_id.is_none();
            if !unknown || !self.asked.insert(c.id) {
                continue;
            }
            let (phone, store, directory) = (self.phone.clone(), self.store.clone(), self.directory.clone());
            let (id, number) = (c.id, c.number.clone());
            tauri::async_runtime::spawn(async move {
                directory.refresh_unless_fresh(&store).await;
                let found = directory.identify(&number);
                if found.executor_id.is_some() {
                    phone.identify(id, found);
                }
            });
        }
    }
}

async fn show(
    app: AppHandle,
    mut status: watch::Receiver<PhoneStatus>,
    reports: watch::Sender<Option<LineReport>>,
    mut naming: Naming,
) {
    loop {
        let now = status.borrow_and_update().clone();
        let _ = app.emit(PHONE_STATE, view::status(&now));
        reports.send_replace(Some(report(&now)));
        naming.look_again(&now);
        if status.changed().await.is_err() {
            return;
        }
    }
}

async fn send_reports(store: Store, mut reports: watch::Receiver<Option<LineReport>>) {
    let mut heartbeat = tokio::time::interval(LINE_HEARTBEAT);
    let mut sent: Option<LineReport> = None;
    loop {
        let wanted = reports.borrow_and_update().clone();
        if let Some(wanted) = wanted.filter(|w| sent.as_ref() != Some(w)) {
            match store.report_line(&wanted).await {
                Ok(()) => sent = Some(wanted),
                Err(e) => tracing::debug!(error = %e, "the line is not reported yet"),
            }
        }
        tokio::select! {
            changed = reports.changed() => if changed.is_err() { return },
            _ = heartbeat.tick() => sent = None,
        }
    }
}
