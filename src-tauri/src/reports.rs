//! Reports and the supervisor's dashboard. A report being built can be cancelled: the
//! running query is then cancelled on the server too.

use dialog_core::dashboard::Dashboard;
use dialog_core::reports::{Report, ReportKindTitle, ReportRequest};
use dialog_print::{report_csv, report_pdf, ReportData};
use tauri::{AppHandle, State};
use tokio::sync::oneshot;

use crate::error::{AppError, CmdResult};
use crate::state::AppState;

/// The report kinds and their titles.
#[tauri::command]
pub fn report_kinds() -> Vec<ReportKindTitle> {
    dialog_core::reports::ReportKind::titles()
}

/// Builds a report; `cancel_report` stops it.
#[tauri::command]
pub async fn build_report(state: State<'_, AppState>, request: ReportRequest) -> CmdResult<Report> {
    let store = state.store().await?;
    let (tx, rx) = oneshot::channel();
    if let Some(previous) = state.report_cancel.lock().await.replace(tx) {
        let _ = previous.send(());
    }
    tokio::select! {
        r = store.report(&request) => Ok(r?),
        _ = rx => Err(AppError(dialog_core::ErrorBody {
            kind: "cancelled".into(),
            message: "Построение отчёта отменено".into(),
            field: None,
            appeal: None,
        })),
    }
}

/// Cancels the report being built, if any.
#[tauri::command]
pub async fn cancel_report(state: State<'_, AppState>) -> CmdResult<()> {
    if let Some(tx) = state.report_cancel.lock().await.take() {
        let _ = tx.send(());
    }
    Ok(())
}

/// Saves a built report as PDF (with its chart) or CSV (UTF-8 with BOM, for Excel) in
/// Documents/Диалог, opens a PDF in the system's viewer, and returns the path.
#[tauri::command]
pub async fn export_report(app: AppHandle, report: Report, format: String) -> CmdResult<String> {
    let data = ReportData::from_report(&report, &chrono::Local);
    let (bytes, ext) = match format.as_str() {
        "pdf" => {
            let fonts = crate::print::fonts()?;
            (
                tauri::async_runtime::spawn_blocking(move || report_pdf(&data, fonts))
                    .await
                    .map_err(|e| AppError::internal(e.to_string()))?,
                "pdf",
            )
        }
        "csv" => (report_csv(&data), "csv"),
        other => return Err(AppError::internal(format!("Неизвестный формат {other}"))),
    };
    let name = format!(
        "{} {}–{}.{ext}",
        report.title.replace(['/', '«', '»'], ""),
        report.from.with_timezone(&chrono::Local).format("%Y-%m-%d"),
        (report.to - chrono::Duration::seconds(1))
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d"),
    );
    crate::print::save_and_open(&app, &name, &bytes, (ext == "pdf").then_some("application/pdf"))
}

/// The live dashboard.
#[tauri::command]
pub async fn dashboard(state: State<'_, AppState>) -> CmdResult<Dashboard> {
    Ok(state.store().await?.dashboard().await?)
}

/// The PBX's queues as its bridge reports them (empty where there is no bridge).
#[tauri::command]
pub async fn queue_state(state: State<'_, AppState>) -> CmdResult<Vec<dialog_core::pbx::QueueState>> {
    Ok(state.store().await?.queue_state().await?)
}
