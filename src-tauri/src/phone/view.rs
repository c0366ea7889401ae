//! The phone's state as the window shows it (`dialog_core::softphone`, whose types the UI's
//! are generated from).

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use dialog_core::softphone::{LineState, PhoneCall, PhoneCallDirection, PhoneCallState, PhoneStatus};
use dialog_phone::phone as sip;

pub(crate) fn to_utc(t: SystemTime) -> DateTime<Utc> {
    DateTime::<Utc>::from(t)
}

/// The line and its calls, each with what it is about. Made from the phone's state alone:
/// nothing on the way from a ringing call to the screen waits for the database.
pub(crate) fn status(s: &sip::PhoneStatus) -> PhoneStatus {
    PhoneStatus {
        line: match s.line {
            sip::LineState::Off => LineState::Off,
            sip::LineState::Connecting => LineState::Connecting,
            sip::LineState::Registered => LineState::Registered,
            sip::LineState::Failed => LineState::Failed,
        },
        message: s.message.clone(),
        extension: Some(s.extension.clone()),
        waiting: u32::try_from(s.waiting()).unwrap_or(u32::MAX),
        calls: s.calls.iter().map(call).collect(),
    }
}

fn call(c: &sip::CallInfo) -> PhoneCall {
    PhoneCall {
        id: c.id,
        direction: match c.direction {
            sip::Direction::Incoming => PhoneCallDirection::In,
            sip::Direction::Outgoing => PhoneCallDirection::Out,
        },
        number: c.number.clone(),
        display_name: c.display_name.clone(),
        state: match c.state {
            sip::CallState::Dialing => PhoneCallState::Dialing,
            sip::CallState::Ringing => PhoneCallState::Ringing,
            sip::CallState::Early => PhoneCallState::Early,
            sip::CallState::Talking => PhoneCallState::Talking,
            sip::CallState::Held => PhoneCallState::Held,
        },
        started_at: to_utc(c.started_at),
        answered_at: c.answered_at.map(to_utc),
        appeal_id: c.context.appeal_id,
        executor_id: c.context.executor_id,
        executor_name: c.context.executor_name.clone(),
    }
}
