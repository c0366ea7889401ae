//! The line as others see it: every change of the phone goes to the window at once
//! ("phone-state"), and the line's figures go to the database for the supervisor's dashboard
//! by a task of their own, so a slow database never holds a ringing call off the screen.

use dialog_core::phone::{LineReport, LINE_HEARTBEAT};
use dialog_core::Store;
use dialog_phone::phone::{LineState, Phone, PhoneStatus};
use tauri::{AppHandle, Emitter};
use tokio::sync::watch;

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
pub(super) fn spawn(app: &AppHandle, phone: &Phone, store: &Store) -> [tauri::async_runtime::JoinHandle<()>; 2] {
    let (reports_tx, reports) = watch::channel(None);
    [
        tauri::async_runtime::spawn(show(app.clone(), phone.status(), reports_tx)),
        tauri::async_runtime::spawn(send_reports(store.clone(), reports)),
    ]
}

async fn show(app: AppHandle, mut status: watch::Receiver<PhoneStatus>, reports: watch::Sender<Option<LineReport>>) {
    loop {
        let now = status.borrow_and_update().clone();
        let _ = app.emit(PHONE_STATE, view::status(&now));
        reports.send_replace(Some(report(&now)));
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
