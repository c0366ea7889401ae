//! «Письма без обращения»: letters the mail intake could not turn into an appeal.

use dialog_core::mail::{LetterAppeal, MailLetter};
use tauri::State;
use uuid::Uuid;

use crate::error::CmdResult;
use crate::state::AppState;

/// Letters waiting (or, with `resolved`, those dealt with), newest first.
#[tauri::command]
pub async fn mail_letters(state: State<'_, AppState>, resolved: bool) -> CmdResult<Vec<MailLetter>> {
    Ok(state.store().await?.mail_letters(resolved).await?)
}

/// Registers an appeal from a letter; returns its id.
#[tauri::command]
pub async fn register_from_letter(state: State<'_, AppState>, appeal: LetterAppeal) -> CmdResult<Uuid> {
    Ok(state.store().await?.register_from_letter(&appeal).await?)
}

/// Puts a letter aside: it is not an appeal.
#[tauri::command]
pub async fn dismiss_letter(state: State<'_, AppState>, id: Uuid) -> CmdResult<()> {
    Ok(state.store().await?.dismiss_letter(id).await?)
}
