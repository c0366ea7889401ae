//! The softphone in the app: settings (the SIP password in the keyring), the line started at
//! login and stopped at logout, call commands, the "phone-state" event for the header, and
//! every finished call stored with its recording, linked to its appeal and executor.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use dialog_core::files::NewCall;
use dialog_core::model::CallDirection;
use dialog_core::phone::LineReport;
use dialog_phone::media::{devices, AudioSink, AudioSource, DeviceSink, DeviceSource, NullSink, SilenceSource};
use dialog_phone::phone::{AudioPair, CallRecord, CallState, Direction, LineState, Phone, PhoneConfig, PhoneStatus};
use dialog_phone::probe::{self, Stage};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager, State};
use tokio::sync::Mutex as AsyncMutex;
use uuid::Uuid;

use crate::error::{AppError, CmdResult};
use crate::state::AppState;

/// The event the header listens to.
pub const PHONE_STATE: &str = "phone-state";
const SETTINGS_FILE: &str = "phone.json";

/// Phone settings as saved (the password lives in the keyring).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct PhoneSettings {
    /// `wss://pbx.example.ru:8089/ws`.
    pub server: String,
    /// The extension.
    pub extension: String,
    /// Whether a password is saved.
    pub has_password: bool,
    /// A PEM file with the PBX's CA.
    pub ca_file: Option<String>,
    /// The microphone (default when `None`).
    pub input: Option<String>,
    /// The speaker (default when `None`).
    pub output: Option<String>,
}

/// Settings as the settings screen sends them.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneSettingsInput {
    /// `wss://…/ws`.
    pub server: String,
    /// The extension.
    pub extension: String,
    /// A new password; `None` keeps the saved one.
    pub password: Option<String>,
    /// A PEM file with the PBX's CA.
    pub ca_file: Option<String>,
    /// The microphone.
    pub input: Option<String>,
    /// The speaker.
    pub output: Option<String>,
}

/// One call as the UI shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PhoneCallDto {
    id: Uuid,
    direction: &'static str,
    number: String,
    display_name: Option<String>,
    state: &'static str,
    started_at: DateTime<Utc>,
    answered_at: Option<DateTime<Utc>>,
    appeal_id: Option<Uuid>,
    executor_id: Option<Uuid>,
    executor_name: Option<String>,
}

/// The phone as the UI shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PhoneStatusDto {
    line: &'static str,
    message: String,
    extension: Option<String>,
    calls: Vec<PhoneCallDto>,
    waiting: usize,
}

/// The microphones and speakers found.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AudioDevices {
    inputs: Vec<String>,
    outputs: Vec<String>,
}

/// What the test call found.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestCallResult {
    answered: bool,
    audio_back: bool,
    setup_ms: Option<u64>,
    message: String,
}

#[derive(Debug, Clone, Default)]
struct Links {
    appeal_id: Option<Uuid>,
    executor_id: Option<Uuid>,
    executor_name: Option<String>,
}

#[derive(Default)]
struct Shared {
    links: HashMap<Uuid, Links>,
    stored: HashSet<Uuid>,
}

struct Running {
    phone: Phone,
    status_task: tauri::async_runtime::JoinHandle<()>,
    records_task: tauri::async_runtime::JoinHandle<()>,
}

/// The app's phone: off until a person with saved phone settings logs in.
#[derive(Default)]
pub struct PhoneHub {
    running: AsyncMutex<Option<Running>>,
    shared: Arc<Mutex<Shared>>,
}

fn to_utc(t: SystemTime) -> DateTime<Utc> {
    DateTime::<Utc>::from(t)
}

fn settings_path(app: &AppHandle) -> Option<PathBuf> {
    app.path().app_config_dir().ok().map(|d| d.join(SETTINGS_FILE))
}

fn load_settings(app: &AppHandle) -> PhoneSettings {
    let mut s: PhoneSettings = settings_path(app)
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

fn sip_secret_key(server: &str) -> String {
    format!("sip:{server}")
}

async fn password_for(settings: &PhoneSettings) -> Option<String> {
    let (server, ext) = (settings.server.clone(), settings.extension.clone());
    tauri::async_runtime::spawn_blocking(move || crate::secrets::load(&sip_secret_key(&server), &ext))
        .await
        .ok()
        .flatten()
}

fn device_audio(input: Option<String>, output: Option<String>) -> Arc<dyn dialog_phone::phone::AudioFactory> {
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

impl PhoneHub {
    fn dto(&self, s: &PhoneStatus, configured: bool) -> PhoneStatusDto {
        let shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        let line = match s.line {
            LineState::Off => "off",
            LineState::Connecting => "connecting",
            LineState::Registered => "registered",
            LineState::Failed => "failed",
        };
        PhoneStatusDto {
            line,
            message: s.message.clone(),
            extension: configured.then(|| s.extension.clone()),
            waiting: s.waiting(),
            calls: s
                .calls
                .iter()
                .map(|c| {
                    let l = shared.links.get(&c.id).cloned().unwrap_or_default();
                    PhoneCallDto {
                        id: c.id,
                        direction: if c.direction == Direction::Incoming {
                            "in"
                        } else {
                            "out"
                        },
                        number: c.number.clone(),
                        display_name: c.display_name.clone(),
                        state: match c.state {
                            CallState::Dialing => "dialing",
                            CallState::Ringing => "ringing",
                            CallState::Early => "early",
                            CallState::Talking => "talking",
                            CallState::Held => "held",
                        },
                        started_at: to_utc(c.started_at),
                        answered_at: c.answered_at.map(to_utc),
                        appeal_id: l.appeal_id,
                        executor_id: l.executor_id,
                        executor_name: l.executor_name,
                    }
                })
                .collect(),
        }
    }

    fn off(message: &str) -> PhoneStatusDto {
        PhoneStatusDto {
            line: "off",
            message: message.to_owned(),
            extension: None,
            calls: Vec::new(),
            waiting: 0,
        }
    }

    async fn phone(&self) -> CmdResult<Phone> {
        self.running
            .lock()
            .await
            .as_ref()
            .map(|r| r.phone.clone())
            .ok_or_else(|| AppError::internal("Телефон не настроен: укажите АТС, номер и пароль в настройках телефона"))
    }

    /// Stops the line (logout, exit, new settings).
    pub async fn stop(&self, app: &AppHandle) {
        if let Some(r) = self.running.lock().await.take() {
            r.phone.shutdown().await;
            // Both tasks end by themselves once the phone is gone: the last line report and the
            // calls hung up just now are written before the line is cleared below.
            let _ = tokio::time::timeout(Duration::from_secs(5), r.status_task).await;
            let _ = tokio::time::timeout(Duration::from_secs(10), r.records_task).await;
            if let Ok(store) = app.state::<AppState>().store().await {
                let _ = store.clear_line().await;
            }
        }
    }

    /// Starts the line with the saved settings, if there are any.
    pub async fn start_saved(&self, app: &AppHandle) {
        self.stop(app).await;
        let settings = load_settings(app);
        if settings.server.is_empty() || settings.extension.is_empty() {
            let _ = app.emit(PHONE_STATE, Self::off("телефон не настроен"));
            return;
        }
        let Some(password) = password_for(&settings).await else {
            let _ = app.emit(
                PHONE_STATE,
                Self::off("пароль телефона не сохранён: введите его в настройках телефона"),
            );
            return;
        };
        let mut config = PhoneConfig::new(
            &settings.server,
            &settings.extension,
            &password,
            device_audio(settings.input.clone(), settings.output.clone()),
        );
        config.ca_file = settings.ca_file.clone().filter(|c| !c.is_empty()).map(PathBuf::from);
        if let Some(me) = app.state::<AppState>().store().await.ok().and_then(|s| s.me().cloned()) {
            config.display_name = Some(me.full_name);
        }
        let (phone, mut records) = match Phone::start(config) {
            Ok(p) => p,
            Err(e) => {
                let _ = app.emit(PHONE_STATE, Self::off(&e.to_string()));
                return;
            }
        };
        let (app1, mut status) = (app.clone(), phone.status());
        let status_task = tauri::async_runtime::spawn(async move {
            let mut heartbeat = tokio::time::interval(dialog_core::phone::LINE_HEARTBEAT);
            let mut reported: Option<LineReport> = None;
            loop {
                let now = status.borrow_and_update().clone();
                let hub = app1.state::<PhoneHub>();
                hub.note_new_calls(&app1, &now).await;
                let _ = app1.emit(PHONE_STATE, hub.dto(&now, true));
                // The supervisor's dashboard counts lines and ringing calls from these reports.
                let report = LineReport {
                    extension: now.extension.clone(),
                    registered: now.line == LineState::Registered,
                    ringing: u8::try_from(now.waiting()).unwrap_or(u8::MAX).min(100),
                    talking: u8::try_from(now.calls.iter().filter(|c| c.answered_at.is_some()).count())
                        .unwrap_or(u8::MAX)
                        .min(100),
                };
                if reported.as_ref() != Some(&report) {
                    if let Ok(store) = app1.state::<AppState>().store().await {
                        if store.report_line(&report).await.is_ok() {
                            reported = Some(report);
                        }
                    }
                }
                tokio::select! {
                    changed = status.changed() => if changed.is_err() { return },
                    _ = heartbeat.tick() => reported = None,
                }
            }
        });
        let app2 = app.clone();
        let records_task = tauri::async_runtime::spawn(async move {
            while let Some(record) = records.recv().await {
                app2.state::<PhoneHub>().store_record(&app2, record).await;
            }
        });
        *self.running.lock().await = Some(Running {
            phone,
            status_task,
            records_task,
        });
    }

    /// Looks up new incoming calls' numbers among the executors.
    async fn note_new_calls(&self, app: &AppHandle, s: &PhoneStatus) {
        let fresh: Vec<(Uuid, String)> = {
            let shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
            s.calls
                .iter()
                .filter(|c| c.direction == Direction::Incoming && !shared.links.contains_key(&c.id))
                .map(|c| (c.id, c.number.clone()))
                .collect()
        };
        if fresh.is_empty() {
            return;
        }
        let store = app.state::<AppState>().store().await.ok();
        for (id, number) in fresh {
            let mut links = Links::default();
            if let (Some(store), Some(phone)) = (&store, dialog_core::phone::normalize_phone(&number)) {
                if let Ok(Some(e)) = store.executor_by_phone(&phone).await {
                    links.executor_id = Some(e.id);
                    links.executor_name = Some(e.full_name.clone());
                }
            }
            self.shared
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .links
                .insert(id, links);
        }
    }

    async fn store_record(&self, app: &AppHandle, r: CallRecord) {
        let links = self
            .shared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .links
            .get(&r.id)
            .cloned()
            .unwrap_or_default();
        // An anonymous or unreadable caller is stored as "00": the database takes only what
        // may be dialled.
        let number = |n: &str| dialog_sip::number::dialable(n).unwrap_or_else(|| "00".to_owned());
        let (from, to) = match r.direction {
            Direction::Incoming => (number(&r.remote), number(&r.local)),
            Direction::Outgoing => (number(&r.local), number(&r.remote)),
        };
        let (recording, codec) = match r.recording {
            Some(rec) => (Some(rec.data), Some(rec.codec.to_owned())),
            None => (None, None),
        };
        let call = NewCall {
            id: r.id,
            direction: if r.direction == Direction::Incoming {
                CallDirection::Incoming
            } else {
                CallDirection::Outgoing
            },
            from_number: from,
            to_number: to,
            started_at: to_utc(r.started_at),
            answered_at: r.answered_at.map(to_utc),
            ended_at: Some(to_utc(r.ended_at)),
            appeal_id: links.appeal_id,
            executor_id: links.executor_id,
            recording,
            recording_codec: codec,
            sip_call_id: r.sip_call_id.clone(),
        };
        let Ok(store) = app.state::<AppState>().store().await else {
            tracing::error!(call = %r.id, "a call ended after logout; it is not stored");
            return;
        };
        // The database may be briefly unreachable: a call is never dropped for that.
        for attempt in 0..5u32 {
            match store.record_call(&call).await {
                Ok(_) => {
                    self.shared
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .stored
                        .insert(r.id);
                    let _ = app.emit("call-stored", r.id);
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "the call is not stored yet");
                    tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
                }
            }
        }
        tracing::error!(call = %r.id, "the call could not be stored");
    }
}

/// The line and the calls in progress.
#[tauri::command]
pub async fn phone_status(hub: State<'_, PhoneHub>) -> CmdResult<PhoneStatusDto> {
    Ok(match hub.running.lock().await.as_ref() {
        Some(r) => hub.dto(&r.phone.status().borrow(), true),
        None => PhoneHub::off("телефон не настроен"),
    })
}

/// Calls a number, optionally about an appeal and to one of its executors.
#[tauri::command]
pub async fn phone_call(
    hub: State<'_, PhoneHub>,
    number: String,
    appeal_id: Option<Uuid>,
    executor_id: Option<Uuid>,
) -> CmdResult<Uuid> {
    let phone = hub.phone().await?;
    let id = phone.call(&number).await?;
    hub.shared.lock().unwrap_or_else(|p| p.into_inner()).links.insert(
        id,
        Links {
            appeal_id,
            executor_id,
            executor_name: None,
        },
    );
    Ok(id)
}

/// Answers a ringing call.
#[tauri::command]
pub async fn phone_answer(hub: State<'_, PhoneHub>, call_id: Uuid) -> CmdResult<()> {
    Ok(hub.phone().await?.answer(call_id).await?)
}

/// Rejects a ringing call.
#[tauri::command]
pub async fn phone_reject(hub: State<'_, PhoneHub>, call_id: Uuid) -> CmdResult<()> {
    Ok(hub.phone().await?.reject(call_id).await?)
}

/// Hangs up.
#[tauri::command]
pub async fn phone_hangup(hub: State<'_, PhoneHub>, call_id: Uuid) -> CmdResult<()> {
    Ok(hub.phone().await?.hangup(call_id).await?)
}

/// Puts a call on hold or takes it off.
#[tauri::command]
pub async fn phone_hold(hub: State<'_, PhoneHub>, call_id: Uuid, on: bool) -> CmdResult<()> {
    Ok(hub.phone().await?.hold(call_id, on).await?)
}

/// Sends a DTMF digit.
#[tauri::command]
pub async fn phone_dtmf(hub: State<'_, PhoneHub>, call_id: Uuid, digit: String) -> CmdResult<()> {
    let d = digit
        .chars()
        .next()
        .ok_or_else(|| AppError::internal("Нажмите цифру"))?;
    Ok(hub.phone().await?.dtmf(call_id, d).await?)
}

/// Links a call to an appeal (the incoming call that created it); works during and after the call.
#[tauri::command]
pub async fn phone_link_call(
    hub: State<'_, PhoneHub>,
    state: State<'_, AppState>,
    call_id: Uuid,
    appeal_id: Uuid,
) -> CmdResult<()> {
    let stored = {
        let mut shared = hub.shared.lock().unwrap_or_else(|p| p.into_inner());
        shared.links.entry(call_id).or_default().appeal_id = Some(appeal_id);
        shared.stored.contains(&call_id)
    };
    if stored {
        state.store().await?.link_call(call_id, appeal_id).await?;
    }
    Ok(())
}

/// The saved phone settings.
#[tauri::command]
pub async fn phone_settings(app: AppHandle) -> CmdResult<PhoneSettings> {
    let mut s = load_settings(&app);
    s.has_password = !s.server.is_empty() && password_for(&s).await.is_some();
    Ok(s)
}

/// Saves the settings (the password to the keyring) and restarts the line.
#[tauri::command]
pub async fn phone_save_settings(
    app: AppHandle,
    hub: State<'_, PhoneHub>,
    settings: PhoneSettingsInput,
) -> CmdResult<PhoneStatusDto> {
    let server = settings.server.trim().to_owned();
    if !(server.starts_with("wss://") || server.starts_with("ws://")) {
        return Err(AppError(dialog_core::ErrorBody {
            kind: "invalid".into(),
            message: "Адрес АТС должен начинаться с wss:// (или ws://), например wss://pbx.example.ru:8089/ws".into(),
            field: Some("server".into()),
        }));
    }
    let extension = settings.extension.trim().to_owned();
    if extension.is_empty()
        || !extension
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-_.".contains(c))
    {
        return Err(AppError(dialog_core::ErrorBody {
            kind: "invalid".into(),
            message: "Укажите внутренний номер телефона (например, 2001)".into(),
            field: Some("extension".into()),
        }));
    }
    let ca_file = settings.ca_file.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    if let Some(ca) = &ca_file {
        if !std::path::Path::new(ca).is_file() {
            return Err(AppError(dialog_core::ErrorBody {
                kind: "invalid".into(),
                message: format!("Файл сертификата {ca} не найден: укажите путь к файлу .pem или оставьте поле пустым"),
                field: Some("caFile".into()),
            }));
        }
    }
    if let Some(pw) = settings.password.filter(|p| !p.is_empty()) {
        let (key, ext) = (sip_secret_key(&server), extension.clone());
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
        input: settings.input.filter(|s| !s.is_empty()),
        output: settings.output.filter(|s| !s.is_empty()),
    };
    let path = settings_path(&app).ok_or_else(|| AppError::internal("Нет папки настроек"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| AppError::internal(e.to_string()))?;
    }
    let json = serde_json::to_vec_pretty(&saved).map_err(|e| AppError::internal(e.to_string()))?;
    std::fs::write(&path, json).map_err(|e| AppError::internal(format!("Настройки не сохранены: {e}")))?;
    hub.start_saved(&app).await;
    phone_status(hub).await
}

/// The microphones and speakers of this computer.
#[tauri::command]
pub async fn phone_devices() -> CmdResult<AudioDevices> {
    let d = tauri::async_runtime::spawn_blocking(devices::list)
        .await
        .map_err(|e| AppError::internal(e.to_string()))?;
    Ok(AudioDevices {
        inputs: d.inputs,
        outputs: d.outputs,
    })
}

/// Calls a number for a few seconds and says whether it was answered and audio came back;
/// when not, which stage failed (ICE, DTLS, SRTP, RTP) and what to do.
#[tauri::command]
pub async fn phone_test_call(hub: State<'_, PhoneHub>, number: String) -> CmdResult<TestCallResult> {
    let phone = hub.phone().await?;
    let id = match phone.call(&number).await {
        Ok(id) => id,
        Err(e) => {
            return Ok(TestCallResult {
                answered: false,
                audio_back: false,
                setup_ms: None,
                message: e.to_string(),
            })
        }
    };
    let check = probe::check_call(&phone, id, Duration::from_secs(3), Duration::from_secs(20)).await;
    let message = if !check.answered {
        format!("{number} не ответил: {}", Stage::Answer.advice())
    } else if let Some(failure) = check.failure {
        let stage = Stage::from(failure);
        tracing::warn!(stage = stage.name(), "the test call has no audio");
        format!("{number} ответил, но звук не пришёл. {}", stage.explain())
    } else {
        format!("связь есть: {number} ответил, звук идёт в обе стороны")
    };
    Ok(TestCallResult {
        answered: check.answered,
        audio_back: check.audio_arrived,
        setup_ms: check.setup.map(|d| d.as_millis() as u64),
        message,
    })
}
