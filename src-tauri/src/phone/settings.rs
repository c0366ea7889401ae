//! The phone settings: the PBX's address, the extension and the devices in a file of the app's
//! configuration, the SIP password in the keyring.

use std::path::PathBuf;

use dialog_core::softphone::{PhoneSettings, PhoneSettingsInput};
use tauri::{AppHandle, Manager};

use crate::error::{AppError, CmdResult};

const SETTINGS_FILE: &str = "phone.json";

fn path(app: &AppHandle) -> Option<PathBuf> {
    app.path().app_config_dir().ok().map(|d| d.join(SETTINGS_FILE))
}

/// The saved settings (`has_password` is not looked up here).
pub(crate) fn load(app: &AppHandle) -> PhoneSettings {
    let mut s: PhoneSettings = path(app)
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    // The installer may preset the workstation's line (not its password: that is typed once
    // in the phone settings and kept in the keyring).
    if s.server.is_empty() {
        if let (Ok(server), Ok(ext)) = (
            std::env::var("DIALOG_SIP_SERVER"),
            std::env::var("DIALOG_SIP_EXTENSION"),
        ) {
            s.server = server;
            s.extension = ext;
            s.ca_file = std::env::var("DIALOG_SIP_CA").ok();
        }
    }
    s
}

fn secret_key(server: &str) -> String {
    format!("sip:{server}")
}

/// The SIP password saved for these settings.
pub(crate) async fn password(settings: &PhoneSettings) -> Option<String> {
    let (server, ext) = (settings.server.clone(), settings.extension.clone());
    tauri::async_runtime::spawn_blocking(move || crate::secrets::load(&secret_key(&server), &ext))
        .await
        .ok()
        .flatten()
}

fn invalid(field: &str, message: String) -> AppError {
    AppError(dialog_core::ErrorBody {
        kind: "invalid".into(),
        message,
        field: Some(field.into()),
        appeal: None,
    })
}

/// Checks the settings and saves them, the password (when a new one is given) to the keyring.
/// Nothing is saved when a field is wrong.
pub(crate) async fn save(app: &AppHandle, input: PhoneSettingsInput) -> CmdResult<()> {
    let server = input.server.trim().to_owned();
    if !(server.starts_with("wss://") || server.starts_with("ws://")) {
        return Err(invalid(
            "server",
            "Адрес АТС должен начинаться с wss:// (или ws://), например wss://pbx.example.ru:8089/ws".into(),
        ));
    }
    let extension = input.extension.trim().to_owned();
    if extension.is_empty()
        || !extension
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-_.".contains(c))
    {
        return Err(invalid(
            "extension",
            "Укажите внутренний номер телефона (например, 2001)".into(),
        ));
    }
    let ca_file = input.ca_file.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    if let Some(ca) = &ca_file {
        if !std::path::Path::new(ca).is_file() {
            return Err(invalid(
                "caFile",
                format!("Файл сертификата {ca} не найден: укажите путь к файлу .pem или оставьте поле пустым"),
            ));
        }
    }
    if let Some(pw) = input.password.filter(|p| !p.is_empty()) {
        let (key, ext) = (secret_key(&server), extension.clone());
        let saved = tauri::async_runtime::spawn_blocking(move || crate::secrets::save(&key, &ext, &pw))
            .await
            .map_err(|e| AppError::internal(e.to_string()))?;
        saved.map_err(AppError::internal)?;
    }
    let saved = PhoneSettings {
        server,
        extension,
        has_password: false,
        ca_file,
        input: input.input.filter(|s| !s.is_empty()),
        output: input.output.filter(|s| !s.is_empty()),
    };
    let path = path(app).ok_or_else(|| AppError::internal("Нет папки настроек"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| AppError::internal(e.to_string()))?;
    }
    let json = serde_json::to_vec_pretty(&saved).map_err(|e| AppError::internal(e.to_string()))?;
    std::fs::write(&path, json).map_err(|e| AppError::internal(format!("Настройки не сохранены: {e}")))?;
    Ok(())
}
