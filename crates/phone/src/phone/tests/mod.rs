//! The call logic in virtual time: the test plays the PBX with SIP messages and the driver
//! with media results, and moves the clock itself.

mod incoming;
mod outgoing;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use dialog_sip::msg::{self, reason_phrase, HeaderAccess, Message, Request, Response};

use super::calls::{Calls, Effect, Now};
use super::{AudioPair, CallContext, CallInfo, CallRecord, CallState, LineState, PhoneConfig, PhoneError};

pub(super) const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                                m=audio 30000 RTP/AVP 0\r\na=sendrecv\r\n";
pub(super) const HELD_OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                                     m=audio 30000 RTP/AVP 0\r\na=sendonly\r\n";
pub(super) const ANSWER: &str = "v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                                 m=audio 30002 RTP/AVP 0\r\na=sendrecv\r\n";

pub(super) fn config() -> PhoneConfig {
    let audio = Arc::new(|| -> Result<AudioPair, String> { Err("no audio in the call logic's tests".into()) });
    PhoneConfig::new("ws://127.0.0.1:8088/ws", "2001", "secret", audio)
}

/// The call logic with its clock in the test's hands.
pub(super) struct Line {
    pub calls: Calls,
    pub now: Now,
    start: Now,
}

impl Line {
    /// Connected and registered as 2001.
    pub fn registered() -> Self {
        Self::registered_with(config())
    }

    pub fn registered_with(config: PhoneConfig) -> Self {
        let start = Now {
            instant: std::time::Instant::now(),
            // A fixed wall clock: the records' times are exactly what the test says.
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        };
        let mut line = Line {
            calls: Calls::new(&config, start),
            now: start,
            start,
        };
        line.calls.transport_up(line.now);
        let register = line.request();
        line.feed(&reply(&register, 200, Some("reg"), &[], ""));
        assert_eq!(line.calls.status().line, LineState::Registered);
        assert!(line.effects().is_empty());
        line
    }

    /// The wall clock `seconds` after the start.
    pub fn at(&self, seconds: u64) -> SystemTime {
        self.start.wall + Duration::from_secs(seconds)
    }

    /// Moves the clock on and runs the timers due.
    pub fn advance(&mut self, by: Duration) {
        self.now.instant += by;
        self.now.wall += by;
        self.calls.handle_timeout(self.now);
    }

    pub fn feed(&mut self, text: &str) {
        self.calls.handle_message(self.now, text.as_bytes());
    }

    pub fn sent(&mut self) -> Vec<Message> {
        std::iter::from_fn(|| self.calls.poll_transmit())
            .map(|text| msg::parse(text.as_bytes()).expect("we send parseable SIP"))
            .collect()
    }

    /// Exactly one message was sent and it is a request.
    pub fn request(&mut self) -> Request {
        let mut sent = self.sent();
        assert_eq!(sent.len(), 1, "expected one message, got {sent:#?}");
        match sent.pop() {
            Some(Message::Request(r)) => r,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    /// Exactly one message was sent and it is a response.
    pub fn response(&mut self) -> Response {
        let mut sent = self.sent();
        assert_eq!(sent.len(), 1, "expected one message, got {sent:#?}");
        match sent.pop() {
            Some(Message::Response(r)) => r,
            other => panic!("expected a response, got {other:?}"),
        }
    }

    pub fn effects(&mut self) -> Vec<Effect> {
        std::iter::from_fn(|| self.calls.poll_effect()).collect()
    }

    /// The only effect is the end of a call: its record, and when its setup time counts from.
    pub fn ended(&mut self) -> (CallRecord, std::time::Instant) {
        let mut effects = self.effects();
        assert_eq!(effects.len(), 1, "expected the end of a call, got {effects:#?}");
        match effects.pop() {
            Some(Effect::Ended { record, setup_from }) => (*record, setup_from),
            other => panic!("expected the end of a call, got {other:?}"),
        }
    }

    /// The call as the screen shows it.
    pub fn call(&self, id: uuid::Uuid) -> CallInfo {
        let status = self.calls.status();
        status
            .calls
            .iter()
            .find(|c| c.id == id)
            .cloned()
            .unwrap_or_else(|| panic!("call {id} is not shown: {status:#?}"))
    }
}

/// A response to `request` as Kamailio would relay it.
pub(super) fn reply(request: &Request, code: u16, to_tag: Option<&str>, extra: &[(&str, &str)], body: &str) -> String {
    let mut response = Response::new(code, reason_phrase(code));
    for via in request.headers.get_all("Via") {
        response.headers.push("Via", via);
    }
    response
        .headers
        .push("From", request.headers.get("From").expect("From"));
    let to = request.headers.get("To").expect("To");
    match to_tag {
        Some(tag) if !to.contains("tag=") => response.headers.push("To", format!("{to};tag={tag}")),
        _ => response.headers.push("To", to),
    }
    response.headers.push("Call-ID", request.call_id().expect("Call-ID"));
    response
        .headers
        .push("CSeq", request.headers.get("CSeq").expect("CSeq"));
    for (name, value) in extra {
        response.headers.push(*name, *value);
    }
    if !body.is_empty() {
        response.headers.push("Content-Type", "application/sdp");
    }
    response.body = body.to_owned();
    response.to_string()
}

pub(super) fn is_hold_error(r: &Result<(), PhoneError>, words: &str) -> bool {
    matches!(r, Err(PhoneError::Sip(m)) if m.contains(words))
}

pub(super) fn context(appeal: Option<u128>, executor: Option<(u128, &str)>) -> CallContext {
    CallContext {
        appeal_id: appeal.map(uuid::Uuid::from_u128),
        executor_id: executor.map(|(id, _)| uuid::Uuid::from_u128(id)),
        executor_name: executor.map(|(_, name)| name.to_owned()),
    }
}

pub(super) fn state(line: &Line, id: uuid::Uuid) -> CallState {
    line.call(id).state
}
