//! Reports as the desktop keeps them: saved into the person's documents. Building them, and
//! the dashboard, are the store's commands (`dialog-commands`).

use dialog_core::reports::Report;
use tauri::AppHandle;

use crate::error::{AppError, CmdResult};

/// Saves a built report as PDF (with its chart) or CSV (UTF-8 with BOM, for Excel) in
/// Documents/Диалог, opens a PDF in the system's viewer, and returns the path.
#[tauri::command]
pub async fn export_report(app: AppHandle, report: Report, format: String) -> CmdResult<String> {
    let file = dialog_commands::report_file(&report, &format).await.map_err(AppError)?;
    let open = (file.mime == "application/pdf").then_some("application/pdf");
    crate::print::save_and_open(&app, &file.name, &file.bytes, open)
}
