//! The appeal card's files as the desktop keeps them: saved into the person's documents and
//! opened in the desktop's application only when safe. The card's other commands are the
//! store's (`dialog-commands`).

use dialog_core::files::{openable, SavedFile};
use tauri::{AppHandle, State};
use uuid::Uuid;

use crate::error::CmdResult;
use crate::state::AppState;

/// Saves an attached file in Documents/Диалог (never over another file) and opens it in the
/// desktop's application when its content is a document, picture or recording and its name
/// says so; a program, a script or a file whose name hides what it is, is only saved.
#[tauri::command]
pub async fn save_attachment(
    app: AppHandle,
    state: State<'_, AppState>,
    id: Uuid,
    file_name: String,
) -> CmdResult<SavedFile> {
    let bytes = state.store().await?.attachment_content(id).await?;
    let name = dialog_commands::file_name_to_save(&file_name);
    let open = openable(&name, &bytes);
    let path = crate::print::save_and_open(&app, &name, &bytes, open.as_ref().ok().copied())?;
    Ok(SavedFile {
        path,
        opened: open.is_ok(),
        not_opened: open.err(),
    })
}
