//! Logging in and out.

use dialog_core::certificate::{fetch_server_certificate, ServerCertificate};
use dialog_core::connect::LoginOutcome;
use dialog_core::{ConnectOptions, LoginRequest, Person};
use tauri::{AppHandle, Manager, State};

use crate::error::{AppError, CmdResult};
use crate::state::AppState;

/// Logs in as a person; the app then works as them until logout. With `remember`, the
/// password goes to the system keyring (and without it, any saved one is forgotten). A server
/// whose certificate the person chose to trust is verified against that certificate.
#[tauri::command]
pub async fn login(
    app: AppHandle,
    state: State<'_, AppState>,
    request: LoginRequest,
    remember: bool,
) -> CmdResult<LoginOutcome> {
    let mut opts = request.options()?;
    if let (dialog_core::TlsMode::VerifyFull { ca_file: None }, Some(pinned)) = (
        &opts.tls,
        pinned_certificate(&app, &opts.host, opts.port).filter(|p| p.exists()),
    ) {
        opts.tls = dialog_core::TlsMode::Pinned { cert_file: pinned };
    }
    let store = dialog_core::Store::connect(&opts).await?;
    let person = store
        .me()
        .cloned()
        .ok_or_else(|| dialog_core::ConnectError::NotAPerson(request.login.clone()))?;
    state.end().await;
    state.begin(app.clone(), store).await;
    // The line goes up with the person's session, in the background.
    let phone_app = app.clone();
    tauri::async_runtime::spawn(async move {
        phone_app
            .state::<crate::phone::PhoneHub>()
            .start_saved(&phone_app)
            .await;
    });
    // The keyring may block on D-Bus (or an unlock prompt): never on the UI thread.
    let keyring = tauri::async_runtime::spawn_blocking(move || {
        if remember {
            crate::secrets::save(&request.server, &request.login, &request.password).err()
        } else {
            crate::secrets::forget(&request.server, &request.login);
            None
        }
    })
    .await
    .unwrap_or_else(|_| Some(crate::secrets::NO_KEYRING.to_owned()));
    Ok(LoginOutcome { person, keyring })
}

/// The password saved for this server and login, if any.
#[tauri::command]
pub async fn saved_password(server: String, login: String) -> CmdResult<Option<String>> {
    Ok(
        tauri::async_runtime::spawn_blocking(move || crate::secrets::load(&server, &login))
            .await
            .unwrap_or(None),
    )
}

/// Logs out and closes the connections.
#[tauri::command]
pub async fn logout(
    app: AppHandle,
    state: State<'_, AppState>,
    phone: State<'_, crate::phone::PhoneHub>,
) -> CmdResult<()> {
    // Calls in progress are hung up and stored before the session closes.
    phone.stop(&app).await;
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

fn pinned_certificate(app: &AppHandle, host: &str, port: u16) -> Option<std::path::PathBuf> {
    let name: String = format!("{host}_{port}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Some(
        app.path()
            .app_config_dir()
            .ok()?
            .join("trusted")
            .join(format!("{name}.pem")),
    )
}

/// The certificate the server presents, to show its fingerprint before trusting it.
#[tauri::command]
pub async fn server_certificate(server: String) -> CmdResult<ServerCertificate> {
    let opts = ConnectOptions::for_server(&server, "", "", dialog_core::TlsMode::Prefer)?;
    tauri::async_runtime::spawn_blocking(move || fetch_server_certificate(&opts.host, opts.port))
        .await
        .map_err(|e| AppError::internal(e.to_string()))?
        .map_err(AppError::from)
}

/// Trusts this one certificate for this server from now on (the person compared its
/// fingerprint). The certificate is public; it is kept in the app's configuration folder.
#[tauri::command]
pub async fn trust_certificate(app: AppHandle, server: String, pem: String) -> CmdResult<()> {
    let opts = ConnectOptions::for_server(&server, "", "", dialog_core::TlsMode::Prefer)?;
    let path =
        pinned_certificate(&app, &opts.host, opts.port).ok_or_else(|| AppError::internal("Нет папки настроек"))?;
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, pem.as_bytes())
    };
    write().map_err(|e| AppError::internal(format!("Сертификат не сохранён: {e}")))
}
