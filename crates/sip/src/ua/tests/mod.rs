//! Scenario tests: the test plays registrar, proxy and far end with canned messages, in
//! virtual time.

mod calls;
mod incoming;
mod register;

use std::time::{Duration, Instant};

use super::*;
use crate::auth::{parse_params, Challenge, DigestRequest};
use crate::msg::{parse, reason_phrase, HeaderAccess, Message, Request, Response};

pub(super) const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                                m=audio 30000 RTP/AVP 0\r\na=sendrecv\r\n";
pub(super) const ANSWER: &str = "v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                                 m=audio 30002 RTP/AVP 0\r\na=sendrecv\r\n";

pub(super) struct Rig {
    pub ua: UserAgent,
    pub now: Instant,
}

impl Rig {
    /// A user agent for 2001@127.0.0.1, connected and registered (refresh due in 570 s).
    pub fn connected() -> Self {
        let mut rig = Self::new();
        rig.ua.transport_up(rig.now);
        let register = rig.request();
        assert_eq!(register.method, Method::Register);
        rig.feed(&reply(&register, 200, Some("reg"), &[], ""));
        rig.events();
        rig
    }

    /// True when no call or transaction timer is armed (only the registration refresh).
    pub fn only_refresh_timer(&self) -> bool {
        self.ua
            .poll_timeout()
            .is_none_or(|t| t >= self.now + Duration::from_secs(60))
    }

    pub fn new() -> Self {
        let cfg = UaConfig {
            aor_user: "2001".into(),
            domain: "127.0.0.1".into(),
            password: "secret".into(),
            display_name: Some("Оператор 1".into()),
            ..UaConfig::default()
        };
        let now = Instant::now();
        Self {
            ua: UserAgent::new(cfg, now),
            now,
        }
    }

    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.ua.handle_timeout(self.now);
    }

    /// Advances to the next timer.
    pub fn fire_timer(&mut self) {
        let at = self.ua.poll_timeout().expect("a timer is armed");
        self.now = self.now.max(at);
        self.ua.handle_timeout(self.now);
    }

    pub fn sent(&mut self) -> Vec<Message> {
        std::iter::from_fn(|| self.ua.poll_transmit())
            .map(|text| {
                assert!(text.contains("\r\nContent-Length: "), "no Content-Length in {text}");
                parse(text.as_bytes()).expect("we send parseable SIP")
            })
            .collect()
    }

    pub fn sent_raw(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.ua.poll_transmit()).collect()
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

    pub fn events(&mut self) -> Vec<UaEvent> {
        std::iter::from_fn(|| self.ua.poll_event()).collect()
    }

    pub fn feed(&mut self, text: &str) {
        self.ua.handle_message(self.now, text.as_bytes());
    }
}

/// A response to `request` as Kamailio would relay it: Via copied with received/rport added.
pub(super) fn reply(request: &Request, code: u16, to_tag: Option<&str>, extra: &[(&str, &str)], body: &str) -> String {
    let mut response = Response::new(code, reason_phrase(code));
    for (i, via) in request.headers.get_all("Via").enumerate() {
        let via = if i == 0 && !via.contains("rport=") {
            via.replace(";rport", ";rport=40566;received=127.0.0.1")
        } else {
            via.to_owned()
        };
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
    response.body = body.to_owned();
    response.to_string()
}

/// Checks the digest in `request`'s `header` against the password "secret".
pub(super) fn assert_digest(request: &Request, header: &str, challenge: &str) {
    let value = request
        .headers
        .get(header)
        .unwrap_or_else(|| panic!("no {header} in {request}"));
    let params = parse_params(value.strip_prefix("Digest").expect("Digest scheme")).expect("params");
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .expect(name)
    };
    let challenge = Challenge::parse(challenge).expect("challenge");
    let uri = request.uri.to_string();
    assert_eq!(get("uri"), uri);
    assert_eq!(get("username"), "2001");
    let expected = challenge
        .response(&DigestRequest {
            username: "2001",
            password: "secret",
            method: request.method.as_str(),
            uri: &uri,
            body: &request.body,
            cnonce: get("cnonce"),
            nc: 1,
        })
        .expect("response");
    assert_eq!(get("response"), expected, "digest mismatch in {value}");
}

pub(super) fn branch(request: &Request) -> String {
    request
        .top_via()
        .and_then(|v| v.branch().map(str::to_owned))
        .expect("branch")
}

pub(super) fn cseq(message: &impl HeaderAccess) -> (u32, Method) {
    let c = message.cseq().expect("CSeq");
    (c.seq, c.method)
}
