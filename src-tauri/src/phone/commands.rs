//! What the window calls: the line's state, calls and their buttons, links to appeals, the
//! settings and «Проверить связь».

use std::time::Duration;

use dialog_core::softphone::{AudioDevices, PhoneSettings, PhoneSettingsInput, PhoneStatus, TestCallResult};
use dialog_phone::media::devices;
use dialog_phone::phone::{CallContext, PhoneError};
use dialog_phone::probe::{self, Stage};
use tauri::{AppHandle, State};
use uuid::Uuid;

use super::{settings, view, PhoneHub};
use crate::error::{AppError, CmdResult};

/// The line and the calls in progress.
#[tauri::command]
pub async fn phone_status(hub: State<'_, PhoneHub>) -> CmdResult<PhoneStatus> {
    Ok(match hub.running.lock().await.as_ref().and_then(|r| r.phone.as_ref()) {
        Some(phone) => view::status(&phone.status().borrow()),
        None => PhoneStatus::off("телефон не настроен"),
    })
}

/// Calls a number, optionally about an appeal and to one of its executors: the call carries
/// both from its first state to its record.
#[tauri::command]
pub async fn phone_call(
    hub: State<'_, PhoneHub>,
    number: String,
    appeal_id: Option<Uuid>,
    executor_id: Option<Uuid>,
) -> CmdResult<Uuid> {
    let phone = hub.phone().await?;
    let context = CallContext {
        appeal_id,
        executor_id,
        executor_name: None,
    };
    Ok(phone.call_about(&number, context).await?)
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

/// Links a call to an appeal (say, the incoming call the appeal was registered from), during
/// the call or after it: a call in progress carries the link to its record; one that has
/// ended gets it wherever it is on its way to the database.
#[tauri::command]
pub async fn phone_link_call(
    hub: State<'_, PhoneHub>,
    state: State<'_, crate::state::AppState>,
    call_id: Uuid,
    appeal_id: Uuid,
) -> CmdResult<()> {
    let (phone, book) = match hub.running.lock().await.as_ref() {
        Some(r) => (r.phone.clone(), Some((r.book.clone(), r.store.clone()))),
        None => (None, None),
    };
    if let Some(phone) = phone {
        match phone.link(call_id, appeal_id).await {
            Ok(()) => return Ok(()),
            Err(PhoneError::NoSuchCall | PhoneError::Stopped) => {}
            Err(e) => return Err(e.into()),
        }
    }
    match book {
        Some((book, store)) => {
            book.link_ended(&store, call_id, appeal_id).await?;
        }
        None => state.store().await?.link_call(call_id, appeal_id).await?,
    }
    Ok(())
}

/// The saved phone settings.
#[tauri::command]
pub async fn phone_settings(app: AppHandle) -> CmdResult<PhoneSettings> {
    let mut s = settings::load(&app);
    s.has_password = !s.server.is_empty() && settings::password(&s).await.is_some();
    Ok(s)
}

/// Saves the settings (the password to the keyring) and restarts the line.
#[tauri::command]
pub async fn phone_save_settings(
    app: AppHandle,
    hub: State<'_, PhoneHub>,
    settings: PhoneSettingsInput,
) -> CmdResult<PhoneStatus> {
    self::settings::save(&app, settings).await?;
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
        setup_ms: check.setup.map(|d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX)),
        message,
    })
}
