//! Logging in and out.

use dialog_core::{LoginRequest, Person};
use tauri::{AppHandle, State};

use crate::error::CmdResult;
use crate::state::AppState;

/// Logs in as a person; the app then works as them until logout.
#[tauri::command]
pub async fn login(app: AppHandle, state: State<'_, AppState>, request: LoginRequest) -> CmdResult<Person> {
    let opts = request.options()?;
    let store = dialog_core::Store::connect(&opts).await?;
    let me = store
        .me()
        .cloned()
        .ok_or_else(|| dialog_core::ConnectError::NotAPerson(request.login.clone()))?;
    state.end().await;
    state.begin(app, store).await;
    Ok(me)
}

/// Logs out and closes the connections.
#[tauri::command]
pub async fn logout(state: State<'_, AppState>) -> CmdResult<()> {
    state.end().await;
    Ok(())
}

/// The person logged in.
#[tauri::command]
pub async fn me(state: State<'_, AppState>) -> CmdResult<Option<Person>> {
    Ok(state.store().await.ok().and_then(|s| s.me().cloned()))
}

/// The server address to offer on the login screen when the person has not used one yet
/// (`DIALOG_SERVER`, set by `scripts/run.sh` for its private database).
#[tauri::command]
pub fn default_server() -> Option<String> {
    std::env::var("DIALOG_SERVER").ok().filter(|s| !s.trim().is_empty())
}
