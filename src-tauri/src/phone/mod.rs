//! The softphone in the app. The line goes up when a person with saved phone settings logs in
//! and down when they log out. Each call carries what it is about (appeal, executor) from the
//! moment it is placed, rings or is linked; the window is shown the phone's state as it
//! changes, without a database lookup on the way; every call that ends is kept on disk and
//! stored with its recording and links (`dialog_core::callbook`).
//!
//! - `settings`: the phone settings and the SIP password in the keyring;
//! - `directory`: executors' numbers in memory, to name an incoming caller at once;
//! - `line`: the window's "phone-state" event and the line reports for the dashboard;
//! - `records`: finished calls kept, stored, linked;
//! - `view`: the phone's state in the UI's types;
//! - `commands`: what the window calls.

mod commands;
mod directory;
mod line;
mod records;
mod settings;
mod view;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use commands::*;
use dialog_core::callbook::CallBook;
use dialog_core::softphone::PhoneStatus;
use dialog_core::Store;
use dialog_phone::media::{AudioSink, AudioSource, DeviceSink, DeviceSource, NullSink, SilenceSource};
use dialog_phone::phone::{AudioFactory, AudioPair, Phone, PhoneConfig};
use tauri::{AppHandle, Emitter, Manager};
use tokio::sync::Mutex as AsyncMutex;

use crate::error::{AppError, CmdResult};
use crate::state::AppState;

/// The event the header listens to.
pub const PHONE_STATE: &str = "phone-state";
/// A finished call has been stored; the payload is its id.
pub const CALL_STORED: &str = "call-stored";

/// One person's session of the phone.
struct Running {
    /// `None` when the phone is not configured (or has no password): calls kept from an
    /// earlier session are still stored.
    phone: Option<Phone>,
    store: Store,
    book: Arc<CallBook>,
    tasks: Vec<tauri::async_runtime::JoinHandle<()>>,
    records: Option<tauri::async_runtime::JoinHandle<()>>,
}

/// The app's phone: off until a person logs in.
#[derive(Default)]
pub struct PhoneHub {
    running: AsyncMutex<Option<Running>>,
    directory: Arc<directory::Directory>,
}

fn device_audio(input: Option<String>, output: Option<String>) -> Arc<dyn AudioFactory> {
    Arc::new(move || -> Result<AudioPair, String> {
        let source: Box<dyn AudioSource> = match DeviceSource::open(input.as_deref()) {
            Ok(s) => Box::new(s),
            Err(e) => {
                tracing::warn!(error = %e, "no microphone: the call goes on without one");
                Box::new(SilenceSource)
            }
        };
        let sink: Box<dyn AudioSink> = match DeviceSink::open(output.as_deref()) {
            Ok(s) => Box::new(s),
            Err(e) => {
                tracing::warn!(error = %e, "no speaker: the call goes on without one");
                Box::new(NullSink)
            }
        };
        Ok((source, sink))
    })
}

/// The folder of a person's calls not yet stored, in the app's data folder.
fn book_dir(app: &AppHandle, login: &str) -> Option<PathBuf> {
    let safe: String = login
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    app.path().app_data_dir().ok().map(|d| d.join("calls").join(safe))
}

impl PhoneHub {
    async fn phone(&self) -> CmdResult<Phone> {
        self.running
            .lock()
            .await
            .as_ref()
            .and_then(|r| r.phone.clone())
            .ok_or_else(|| AppError::internal("Телефон не настроен: укажите АТС, номер и пароль в настройках телефона"))
    }

    /// Stops the line (logout, exit, new settings): calls in progress are hung up, and every
    /// call that ended is kept and, if the database takes it now, stored.
    pub async fn stop(&self, app: &AppHandle) {
        let Some(r) = self.running.lock().await.take() else {
            return;
        };
        if let Some(phone) = &r.phone {
            phone.shutdown().await;
        }
        for t in r.tasks {
            t.abort();
        }
        // The records task ends by itself once the phone is gone and its last calls are kept;
        // without a phone it only retries, and what it has not stored waits on disk.
        if let Some(records) = r.records {
            if r.phone.is_none() {
                records.abort();
            }
            let _ = tokio::time::timeout(Duration::from_secs(10), records).await;
        }
        if r.phone.is_some() {
            let _ = r.store.clear_line().await;
        }
        self.directory.clear();
        let _ = app.emit(PHONE_STATE, PhoneStatus::off("телефон выключен"));
    }

    /// Starts the person's phone session: stores the calls kept from earlier, and puts the line
    /// up with the saved settings, if there are any.
    pub async fn start_saved(&self, app: &AppHandle) {
        self.stop(app).await;
        let Ok(store) = app.state::<AppState>().store().await else {
            return;
        };
        let Some(me) = store.me().cloned() else {
            return;
        };
        let book = match book_dir(app, &me.login).map(CallBook::open) {
            Some(Ok(b)) => Arc::new(b),
            Some(Err(e)) => {
                tracing::error!(error = %e, "the folder of unsaved calls cannot be opened");
                let _ = app.emit(
                    PHONE_STATE,
                    PhoneStatus::off(&format!("нет доступа к папке звонков: {e}")),
                );
                return;
            }
            None => {
                let _ = app.emit(PHONE_STATE, PhoneStatus::off("нет папки данных приложения"));
                return;
            }
        };
        let (phone, records) = match self.start_line(app, &store, &me.full_name).await {
            Ok((phone, records)) => (Some(phone), Some(records)),
            Err(status) => {
                let _ = app.emit(PHONE_STATE, status);
                (None, None)
            }
        };
        let mut tasks = vec![tauri::async_runtime::spawn(directory_refresh(
            self.directory.clone(),
            store.clone(),
        ))];
        if let Some(phone) = &phone {
            tasks.extend(line::spawn(app, phone, &store, &self.directory));
        }
        let records = tauri::async_runtime::spawn(records::run(app.clone(), store.clone(), book.clone(), records));
        *self.running.lock().await = Some(Running {
            phone,
            store,
            book,
            tasks,
            records: Some(records),
        });
    }

    async fn start_line(
        &self,
        app: &AppHandle,
        store: &Store,
        display_name: &str,
    ) -> Result<
        (
            Phone,
            tokio::sync::mpsc::UnboundedReceiver<dialog_phone::phone::CallRecord>,
        ),
        PhoneStatus,
    > {
        let saved = settings::load(app);
        if saved.server.is_empty() || saved.extension.is_empty() {
            return Err(PhoneStatus::off("телефон не настроен"));
        }
        let Some(password) = settings::password(&saved).await else {
            return Err(PhoneStatus::off(
                "пароль телефона не сохранён: введите его в настройках телефона",
            ));
        };
        // The executors' numbers are read before the line goes up, so the first call is named.
        if let Err(e) = self.directory.refresh(store).await {
            tracing::warn!(error = %e, "executors' numbers not read; incoming calls go unnamed for now");
        }
        let mut config = PhoneConfig::new(
            &saved.server,
            &saved.extension,
            &password,
            device_audio(saved.input.clone(), saved.output.clone()),
        );
        config.ca_file = saved.ca_file.clone().filter(|c| !c.is_empty()).map(PathBuf::from);
        config.display_name = Some(display_name.to_owned());
        let directory = self.directory.clone();
        config.identify = Some(Arc::new(move |number: &str| directory.identify(number)));
        Phone::start(config).map_err(|e| PhoneStatus::off(&e.to_string()))
    }
}

async fn directory_refresh(directory: Arc<directory::Directory>, store: Store) {
    loop {
        tokio::time::sleep(directory::REFRESH).await;
        if let Err(e) = directory.refresh(&store).await {
            tracing::warn!(error = %e, "executors' numbers not read again");
        }
    }
}
