//! The appeal card.

use dialog_core::appeals::{Appeal, AppealChanges, HistoryEntry, NewAppeals, VersionedId};
use dialog_core::desk::Problems;
use dialog_core::files::{openable, Attachment, Call, CallFilter, FileContent, NewAttachment, SavedFile};
use dialog_core::model::AppealStatus;
use tauri::{AppHandle, State};
use uuid::Uuid;

use crate::error::CmdResult;
use crate::state::AppState;

/// Registers a card: one appeal per reason.
#[tauri::command]
pub async fn create_appeals(state: State<'_, AppState>, new: NewAppeals) -> CmdResult<Vec<Appeal>> {
    Ok(state.store().await?.create_appeals(&new).await?)
}

/// One appeal with its executors.
#[tauri::command]
pub async fn get_appeal(state: State<'_, AppState>, id: Uuid) -> CmdResult<Appeal> {
    Ok(state.store().await?.appeal(id).await?)
}

/// Saves the card of an appeal read at `version`.
#[tauri::command]
pub async fn save_appeal(
    state: State<'_, AppState>,
    id: Uuid,
    version: i32,
    changes: AppealChanges,
) -> CmdResult<Appeal> {
    Ok(state.store().await?.save_appeal(id, version, &changes).await?)
}

/// Moves several appeals to a status at once (all or none).
#[tauri::command]
pub async fn change_status_many(
    state: State<'_, AppState>,
    appeals: Vec<VersionedId>,
    status: AppealStatus,
) -> CmdResult<Vec<Appeal>> {
    let pairs: Vec<(Uuid, i32)> = appeals.iter().map(|a| (a.id, a.version)).collect();
    Ok(state.store().await?.change_status_many(&pairs, status).await?)
}

/// Joins an appeal to another (or unjoins with `to: null`).
#[tauri::command]
pub async fn join_appeal(state: State<'_, AppState>, id: Uuid, version: i32, to: Option<Uuid>) -> CmdResult<Appeal> {
    Ok(state.store().await?.join_appeal(id, version, to).await?)
}

/// The live appeal a new one of this kind at this building should join.
#[tauri::command]
pub async fn suggest_join(
    state: State<'_, AppState>,
    kind_id: Uuid,
    building_id: Uuid,
    except: Option<Uuid>,
) -> CmdResult<Option<Appeal>> {
    Ok(state.store().await?.suggest_join(kind_id, building_id, except).await?)
}

/// The join group of an appeal.
#[tauri::command]
pub async fn joined_group(state: State<'_, AppState>, id: Uuid) -> CmdResult<Vec<Appeal>> {
    Ok(state.store().await?.joined_group(id).await?)
}

/// Adds a comment.
#[tauri::command]
pub async fn add_comment(state: State<'_, AppState>, id: Uuid, text: String) -> CmdResult<()> {
    Ok(state.store().await?.add_comment(id, &text).await?)
}

/// The history of an appeal.
#[tauri::command]
pub async fn appeal_history(state: State<'_, AppState>, id: Uuid) -> CmdResult<Vec<HistoryEntry>> {
    Ok(state.store().await?.history(id).await?)
}

/// The «проблемы» tab.
#[tauri::command]
pub async fn problems(
    state: State<'_, AppState>,
    building_id: Option<Uuid>,
    identifier: Option<String>,
) -> CmdResult<Problems> {
    Ok(state
        .store()
        .await?
        .problems(building_id, identifier.as_deref())
        .await?)
}

/// The files of an appeal.
#[tauri::command]
pub async fn attachments(state: State<'_, AppState>, id: Uuid) -> CmdResult<Vec<Attachment>> {
    Ok(state.store().await?.attachments(id).await?)
}

/// Attaches a file.
#[tauri::command]
pub async fn add_attachment(state: State<'_, AppState>, file: NewAttachment) -> CmdResult<Attachment> {
    let bytes = file.bytes()?;
    Ok(state
        .store()
        .await?
        .add_attachment(file.appeal_id, &file.file_name, &file.mime, &bytes)
        .await?)
}

/// The content of an attached file.
#[tauri::command]
pub async fn attachment_content(state: State<'_, AppState>, id: Uuid, mime: String) -> CmdResult<FileContent> {
    let bytes = state.store().await?.attachment_content(id).await?;
    Ok(FileContent::new(mime, &bytes))
}

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
    let name = safe_file_name(&file_name);
    let open = openable(&name, &bytes);
    let path = crate::print::save_and_open(&app, &name, &bytes, open.as_ref().ok().copied())?;
    Ok(SavedFile {
        path,
        opened: open.is_ok(),
        not_opened: open.err(),
    })
}

/// A file name as it may be written in a folder: its last part, without characters that would
/// leave the folder, hide the extension or upset a file manager.
fn safe_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    match dialog_core::files::safe_file_name(last).as_str() {
        "" => "файл".to_owned(),
        s => s.to_owned(),
    }
}

/// Calls about an appeal.
#[tauri::command]
pub async fn appeal_calls(state: State<'_, AppState>, id: Uuid) -> CmdResult<Vec<Call>> {
    Ok(state.store().await?.appeal_calls(id).await?)
}

/// The recordings registry: calls matching the filter, newest first.
#[tauri::command]
pub async fn calls(state: State<'_, AppState>, filter: CallFilter) -> CmdResult<Vec<Call>> {
    Ok(state.store().await?.calls(&filter).await?)
}

/// A call's recording.
#[tauri::command]
pub async fn recording(state: State<'_, AppState>, call_id: Uuid) -> CmdResult<FileContent> {
    let (bytes, codec) = state.store().await?.recording(call_id).await?;
    Ok(FileContent::new(codec, &bytes))
}

#[cfg(test)]
mod tests {
    use super::safe_file_name;

    #[test]
    fn attached_file_names_stay_in_their_folder() {
        assert_eq!(safe_file_name("акт осмотра.pdf"), "акт осмотра.pdf");
        assert_eq!(safe_file_name("../../.bashrc"), ".bashrc");
        assert_eq!(safe_file_name("C:\\фото\\труба.jpg"), "труба.jpg");
        assert_eq!(safe_file_name("a\nb.txt"), "a_b.txt");
        assert_eq!(safe_file_name("счёт\u{202e}fdp.exe"), "счёт_fdp.exe");
        assert_eq!(safe_file_name(".."), "файл");
        assert_eq!(safe_file_name(""), "файл");
    }
}
