//! Saved passwords in the operating system's keyring (Secret Service — GNOME Keyring,
//! KWallet — or else the kernel's keyutils). Where neither works the password is not saved
//! and the person is told so; it never goes to a file.

use std::sync::{Arc, OnceLock};

use keyring_core::{CredentialStore, Entry};

const SERVICE: &str = "ru.dialog.operator";

/// Why a password could not be saved, in words for the login screen.
pub const NO_KEYRING: &str =
    "Пароль не сохранён: на этом компьютере не работает хранилище паролей (связка ключей). Вводите пароль при каждом входе";

/// The first store that answers a real request. A store that cannot be reached (no session
/// bus) fails at creation; a locked one fails at the first read — probe both ways.
fn store() -> Option<&'static Arc<CredentialStore>> {
    static STORE: OnceLock<Option<Arc<CredentialStore>>> = OnceLock::new();
    STORE
        .get_or_init(|| {
            let usable = |s: Arc<CredentialStore>| {
                let probe = Entry::new_in_store(&s, SERVICE, "probe").ok()?;
                match probe.get_password() {
                    Ok(_) | Err(keyring_core::Error::NoEntry) => Some(s),
                    Err(e) => {
                        tracing::info!(error = %e, "keyring store unusable");
                        None
                    }
                }
            };
            let secret_service = zbus_secret_service_keyring_store::Store::new()
                .ok()
                .and_then(|s| usable(s));
            secret_service.or_else(|| linux_keyutils_keyring_store::Store::new().ok().and_then(|s| usable(s)))
        })
        .as_ref()
}

fn entry(server: &str, login: &str) -> Option<Entry> {
    Entry::new_in_store(store()?, SERVICE, &format!("{login}@{server}")).ok()
}

/// Saves the password; `Err` says why it could not be.
pub fn save(server: &str, login: &str, password: &str) -> Result<(), String> {
    let e = entry(server, login).ok_or_else(|| NO_KEYRING.to_owned())?;
    e.set_password(password).map_err(|err| {
        tracing::warn!(error = %err, "password not saved");
        NO_KEYRING.to_owned()
    })
}

/// The saved password, if any.
pub fn load(server: &str, login: &str) -> Option<String> {
    entry(server, login)?.get_password().ok()
}

/// Forgets a saved password.
pub fn forget(server: &str, login: &str) {
    if let Some(e) = entry(server, login) {
        let _ = e.delete_credential();
    }
}
