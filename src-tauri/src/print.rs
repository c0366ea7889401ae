//! Printing appeal cards: PDF made by `dialog-print`, saved in the person's documents (so
//! "save as PDF" always works) and opened in the system's viewer, whose print dialog sends it
//! to a printer.

use std::path::PathBuf;
use std::sync::OnceLock;

use dialog_print::{appeal_cards, CardData, Fonts};
use tauri::{AppHandle, Manager, State};
use uuid::Uuid;

use crate::error::{AppError, CmdResult};
use crate::state::AppState;

/// The fonts, parsed once.
pub(crate) fn fonts() -> CmdResult<&'static Fonts> {
    static FONTS: OnceLock<Result<Fonts, String>> = OnceLock::new();
    FONTS
        .get_or_init(|| Fonts::load().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(AppError::internal)
}

/// Where printed cards are kept: `~/Documents/Диалог` (or the home folder's `Диалог`).
fn folder(app: &AppHandle) -> PathBuf {
    let base = app
        .path()
        .document_dir()
        .or_else(|_| app.path().home_dir())
        .unwrap_or_else(|_| std::env::temp_dir());
    base.join("Диалог")
}

/// Renders the cards of the given appeals into one PDF, saves it, opens it in the system's
/// viewer (unless `open` is false) and returns its path.
#[tauri::command]
pub async fn print_cards(app: AppHandle, state: State<'_, AppState>, ids: Vec<Uuid>, open: bool) -> CmdResult<String> {
    let store = state.store().await?;
    let orgs = store.organizations().await?;
    let mut cards = Vec::with_capacity(ids.len());
    for id in &ids {
        let appeal = store.appeal(*id).await?;
        let history = store.history(*id).await?;
        let mut card = CardData::from_appeal(&appeal, &history, &chrono::Local);
        card.organization = appeal
            .organization_id
            .and_then(|o| orgs.iter().find(|x| x.id == o))
            .map(|o| o.name.clone());
        cards.push(card);
    }
    let name = match cards.as_slice() {
        [one] => format!("Обращение {}.pdf", one.number),
        many => format!(
            "Обращения {} шт. {}.pdf",
            many.len(),
            chrono::Local::now().format("%Y-%m-%d %H-%M-%S")
        ),
    };
    let pdf = tauri::async_runtime::spawn_blocking(move || -> CmdResult<Vec<u8>> {
        appeal_cards(&cards, fonts()?).map_err(|e| AppError::internal(e.to_string()))
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))??;
    save_and_open(&app, &name, &pdf, open.then_some("application/pdf"))
}

/// Saves a file in Documents/Диалог and, given its type in `open_as`, opens it in the
/// desktop's application for that type (a PDF viewer's print dialog is the system's). Returns
/// the path.
pub(crate) fn save_and_open(app: &AppHandle, name: &str, bytes: &[u8], open_as: Option<&str>) -> CmdResult<String> {
    let dir = folder(app);
    let path = dir.join(name);
    std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::write(&path, bytes))
        .map_err(|e| AppError::internal(format!("Не удалось сохранить файл в {}: {e}", dir.display())))?;
    if open_as.is_some_and(has_application) {
        if let Err(e) = std::process::Command::new("xdg-open").arg(&path).spawn() {
            tracing::warn!(error = %e, "no application for the file");
        }
    }
    Ok(path.display().to_string())
}

/// Whether the desktop names an application for files of this type (without one, `xdg-open`
/// would guess at browsers; the file is saved either way).
fn has_application(mime: &str) -> bool {
    std::process::Command::new("xdg-mime")
        .args(["query", "default", mime])
        .output()
        .map(|o| o.status.success() && !o.stdout.trim_ascii().is_empty())
        .unwrap_or(false)
}
