//! Printing appeal cards: PDF made by `dialog-print`, saved in the person's documents (so
//! "save as PDF" always works) and opened in the system's viewer, whose print dialog sends it
//! to a printer.

use std::path::PathBuf;

use tauri::{AppHandle, Manager, State};
use uuid::Uuid;

use crate::error::{AppError, CmdResult};
use crate::state::AppState;

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
    let file = dialog_commands::cards_pdf(&store, &ids).await.map_err(AppError)?;
    save_and_open(&app, &file.name, &file.bytes, open.then_some("application/pdf"))
}

/// Saves a file in Documents/Диалог under a name no other file there has (`акт (2).pdf`) and,
/// given its type in `open_as`, opens it in the desktop's application for that type (a PDF
/// viewer's print dialog is the system's). Returns the path.
pub(crate) fn save_and_open(app: &AppHandle, name: &str, bytes: &[u8], open_as: Option<&str>) -> CmdResult<String> {
    let dir = folder(app);
    std::fs::create_dir_all(&dir)
        .map_err(|e| AppError::internal(format!("Не удалось создать папку {}: {e}", dir.display())))?;
    let path = write_new(&dir, name, bytes)
        .map_err(|e| AppError::internal(format!("Не удалось сохранить файл в {}: {e}", dir.display())))?;
    if open_as.is_some_and(has_application) {
        if let Err(e) = std::process::Command::new("xdg-open").arg(&path).spawn() {
            tracing::warn!(error = %e, "no application for the file");
        }
    }
    Ok(path.display().to_string())
}

/// Writes `bytes` as a new file in `dir`: `name`, or `name (2)`, `name (3)`… before its
/// extension when that is taken. Never replaces a file.
fn write_new(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    use std::io::Write;
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s, format!(".{e}")),
        _ => (name, String::new()),
    };
    for n in 1..10_000 {
        let candidate = if n == 1 {
            dir.join(name)
        } else {
            dir.join(format!("{stem} ({n}){ext}"))
        };
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(mut f) => {
                f.write_all(bytes)?;
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("слишком много файлов с таким именем"))
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

#[cfg(test)]
mod tests {
    use super::write_new;

    #[test]
    fn a_saved_file_never_replaces_another() -> std::io::Result<()> {
        let dir = std::env::temp_dir().join(format!("dialog-save-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let first = write_new(&dir, "акт.pdf", b"one")?;
        let second = write_new(&dir, "акт.pdf", b"two")?;
        let third = write_new(&dir, "без расширения", b"three")?;
        let fourth = write_new(&dir, "без расширения", b"four")?;
        assert_eq!(first.file_name().and_then(|n| n.to_str()), Some("акт.pdf"));
        assert_eq!(second.file_name().and_then(|n| n.to_str()), Some("акт (2).pdf"));
        assert_eq!(fourth.file_name().and_then(|n| n.to_str()), Some("без расширения (2)"));
        assert_eq!(std::fs::read(&first)?, b"one");
        assert_eq!(std::fs::read(&third)?, b"three");
        std::fs::remove_dir_all(&dir)
    }
}
