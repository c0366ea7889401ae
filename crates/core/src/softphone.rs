//! The softphone as the window sees it: what the desktop app sends its UI about the line and
//! the calls, and what the phone settings screen sends back. The UI's types are generated from
//! these (`ui/src/generated`), so a state the app never sends cannot appear there.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The line, as the header's indicator shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum LineState {
    /// Not configured, no password saved, or logged out.
    Off,
    /// Connecting or registering.
    Connecting,
    /// Registered: calls can be made and taken.
    Registered,
    /// The PBX refused the registration or cannot be reached.
    Failed,
}

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum PhoneCallState {
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

/// Who called whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "lowercase")]
pub enum PhoneCallDirection {
    /// The center was called.
    In,
    /// The center called out.
    Out,
}

/// One call in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct PhoneCall {
    /// The call's identity; its row in the database once it has ended.
    pub id: Uuid,
    /// Incoming or outgoing.
    pub direction: PhoneCallDirection,
    /// The other party's number.
    pub number: String,
    /// The other party's name, when the PBX sent one.
    pub display_name: Option<String>,
    /// Where it is.
    pub state: PhoneCallState,
    /// When it rang or was dialled.
    pub started_at: DateTime<Utc>,
    /// When it was answered.
    pub answered_at: Option<DateTime<Utc>>,
    /// The appeal it is about: given when it was placed or linked since.
    pub appeal_id: Option<Uuid>,
    /// The executor called, or the executor calling (found by number).
    pub executor_id: Option<Uuid>,
    /// That executor's name.
    pub executor_name: Option<String>,
}

/// The line and the calls in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct PhoneStatus {
    /// The line.
    pub line: LineState,
    /// The line in words, e.g. «линия подключена: 2001», or what is wrong and what to do.
    pub message: String,
    /// The extension, when the phone is configured.
    pub extension: Option<String>,
    /// The calls in progress, oldest first.
    pub calls: Vec<PhoneCall>,
    /// Incoming calls ringing at this phone, not yet answered.
    pub waiting: u32,
}

impl PhoneStatus {
    /// The phone is off, and why.
    pub fn off(message: &str) -> Self {
        Self {
            line: LineState::Off,
            message: message.to_owned(),
            extension: None,
            calls: Vec::new(),
            waiting: 0,
        }
    }
}

/// The phone settings as saved (the password lives in the keyring).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
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
    /// The microphone (the system's default when `None`).
    pub input: Option<String>,
    /// The speaker (the system's default when `None`).
    pub output: Option<String>,
}

/// The phone settings as the settings screen sends them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
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

/// The microphones and speakers of this computer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct AudioDevices {
    /// Microphones.
    pub inputs: Vec<String>,
    /// Speakers.
    pub outputs: Vec<String>,
}

/// What «Проверить связь» found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct TestCallResult {
    /// The number answered.
    pub answered: bool,
    /// Audio came back.
    pub audio_back: bool,
    /// From the INVITE to the first audio, in milliseconds.
    pub setup_ms: Option<u32>,
    /// The verdict in words, naming the stage that failed and what to do.
    pub message: String,
}
