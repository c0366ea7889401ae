//! The store's commands, answered through `dialog-commands` — the same dispatch the web uses,
//! so the window and a browser get the same commands with the same JSON. What only the desktop
//! can do (the phone, saving into Documents) stays in Tauri commands of its own.

use tauri::ipc::{Invoke, InvokeBody, InvokeError};
use tauri::{Manager, Runtime};

use crate::error::AppError;
use crate::state::AppState;

/// Answers an `invoke` that names one of the store's commands
/// ([`dialog_commands::is_command`]).
pub fn answer<R: Runtime>(invoke: Invoke<R>) {
    let name = invoke.message.command().to_owned();
    let args = match invoke.message.payload() {
        InvokeBody::Json(v) => v.clone(),
        InvokeBody::Raw(_) => serde_json::Value::Null,
    };
    let app = invoke.message.webview().app_handle().clone();
    invoke.resolver.respond_async(async move {
        let state = app.state::<AppState>();
        let store = state.store().await.map_err(InvokeError::from)?;
        dialog_commands::dispatch(&store, &state.reports, &name, args)
            .await
            .map_err(|e| InvokeError::from(AppError(e)))
    });
}
