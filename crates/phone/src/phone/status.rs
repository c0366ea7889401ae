//! What the phone shows and hands over: the line, the calls in progress, finished calls, and
//! what went wrong with a command.

use std::time::{Duration, SystemTime};

use uuid::Uuid;

use super::PhoneConfig;
use crate::media::Recording;

/// The line as the header's indicator shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineState {
    /// Not configured or switched off.
    Off,
    /// Connecting or registering.
    Connecting,
    /// Registered: calls can be made and taken.
    Registered,
    /// The PBX refused the registration (wrong password, unknown extension).
    Failed,
}

/// Who called whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The center was called.
    Incoming,
    /// The center called out.
    Outgoing,
}

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// Outgoing, the PBX has not answered yet.
    Dialing,
    /// Incoming, waiting for the operator.
    Ringing,
    /// Outgoing, the far end is ringing.
    Early,
    /// Connected.
    Talking,
    /// Connected and on hold.
    Held,
}

/// What a call is about: given when it is placed, found when it comes in, linked while it lasts.
/// It travels with the call to its [`CallRecord`], so the record is stored with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallContext {
    /// The appeal the call is about.
    pub appeal_id: Option<Uuid>,
    /// The executor called, or the executor calling.
    pub executor_id: Option<Uuid>,
    /// The executor's name, for the call bar.
    pub executor_name: Option<String>,
}

/// One call in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct CallInfo {
    /// The call's identity (also its row in the database).
    pub id: Uuid,
    /// Incoming or outgoing.
    pub direction: Direction,
    /// The other party's number.
    pub number: String,
    /// The other party's name, when the PBX sent one.
    pub display_name: Option<String>,
    /// Where the call is.
    pub state: CallState,
    /// When it started ringing or was dialled.
    pub started_at: SystemTime,
    /// When it was answered.
    pub answered_at: Option<SystemTime>,
    /// What it is about.
    pub context: CallContext,
}

/// The phone's state.
#[derive(Debug, Clone, PartialEq)]
pub struct PhoneStatus {
    /// The line.
    pub line: LineState,
    /// The line in words (Russian), for the indicator's tooltip.
    pub message: String,
    /// The extension.
    pub extension: String,
    /// The calls in progress, oldest first.
    pub calls: Vec<CallInfo>,
}

impl PhoneStatus {
    /// Before the first connection.
    pub(crate) fn starting(config: &PhoneConfig) -> Self {
        PhoneStatus {
            line: LineState::Connecting,
            message: format!("подключение к {}", config.server),
            extension: config.extension.clone(),
            calls: Vec::new(),
        }
    }

    /// Incoming calls waiting to be answered.
    pub fn waiting(&self) -> usize {
        self.calls.iter().filter(|c| c.state == CallState::Ringing).count()
    }
}

/// A finished call, with its recording, ready to be stored.
#[derive(Debug)]
pub struct CallRecord {
    /// The call's identity.
    pub id: Uuid,
    /// Incoming or outgoing.
    pub direction: Direction,
    /// Our extension.
    pub local: String,
    /// The other party's number.
    pub remote: String,
    /// When it started.
    pub started_at: SystemTime,
    /// When it was answered.
    pub answered_at: Option<SystemTime>,
    /// When it ended.
    pub ended_at: SystemTime,
    /// How it ended, in words.
    pub end: String,
    /// Both directions mixed; `None` for calls never answered.
    pub recording: Option<Recording>,
    /// INVITE sent (or answer given) until the first audio arrived.
    pub setup: Option<Duration>,
    /// Its SIP Call-ID: the PBX's record of the same call names it.
    pub sip_call_id: Option<String>,
    /// What it was about when it ended.
    pub context: CallContext,
}

/// What went wrong with a command.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PhoneError {
    /// The line is not registered.
    #[error("линия не подключена: проверьте настройки телефона")]
    NotRegistered,
    /// The call is over or never was.
    #[error("звонок уже завершён")]
    NoSuchCall,
    /// The number is empty or malformed.
    #[error("неверный номер: наберите номер цифрами")]
    BadNumber,
    /// Audio or media failed.
    #[error("не удалось подключить звук: {0}")]
    Media(String),
    /// The SIP layer refused.
    #[error("ошибка телефонии: {0}")]
    Sip(String),
    /// The phone has been shut down.
    #[error("телефон выключен")]
    Stopped,
    /// The configuration is unusable.
    #[error("{0}")]
    Config(String),
}
