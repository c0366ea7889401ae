//! No parser and no UA input path may panic: arbitrary bytes and mutated real messages.
//! `PROPTEST_CASES=100000 cargo test -p dialog-sip --test fuzz` for a longer run.

use std::time::{Duration, Instant};

use dialog_sip::auth::Challenge;
use dialog_sip::msg::{self, HeaderAccess, Message, Request, Response};
use dialog_sip::sdp;
use dialog_sip::ua::{UaConfig, UaEvent, UserAgent};
use proptest::prelude::*;

const INVITE: &str = "INVITE sip:2001@df7jal23ls0d.invalid;transport=ws SIP/2.0\r
Record-Route: <sip:127.0.0.1:8088;transport=ws;r2=on;lr>\r
Record-Route: <sip:127.0.0.1;r2=on;lr>\r
Via: SIP/2.0/WS 127.0.0.1:8088;branch=z9hG4bKcydzigwkX\r
Via: SIP/2.0/UDP 127.0.0.1:5070;received=127.0.0.1;branch=z9hG4bK8f5c;rport=5070\r
Max-Forwards: 69\r
Contact: <sip:2002@127.0.0.1:5070;transport=udp>\r
To: <sip:2001@127.0.0.1>\r
From: \"Dispatcher 2\" <sip:2002@127.0.0.1>;tag=caller\r
P-Asserted-Identity: \"Иван\" <tel:+79123456789>\r
Call-ID: fuzz-call\r
CSeq: 100 INVITE\r
Content-Type: application/sdp\r
Content-Length: 126\r
\r
v=0\r
o=- 1 2 IN IP4 127.0.0.1\r
s=-\r
c=IN IP4 127.0.0.1\r
t=0 0\r
m=audio 30000 RTP/AVP 0 101\r
a=rtpmap:0 PCMU/8000\r
a=sendrecv\r
";

const CANCEL: &str = "CANCEL sip:2001@df7jal23ls0d.invalid;transport=ws SIP/2.0\r
Via: SIP/2.0/WS 127.0.0.1:8088;branch=z9hG4bKcydzigwkX\r
From: \"Dispatcher 2\" <sip:2002@127.0.0.1>;tag=caller\r
To: <sip:2001@127.0.0.1>\r
Call-ID: fuzz-call\r
CSeq: 100 CANCEL\r
l: 0\r
\r
";

const COMPACT_180: &str = "SIP/2.0 180 Ringing\r
v: SIP/2.0/WS x.invalid;branch=z9hG4bKabc;rport=1;received=127.0.0.1\r
f: <sip:2001@127.0.0.1>;tag=1\r
t: <sip:2002@127.0.0.1>;tag=2\r
i: cid\r
CSeq: 2 INVITE\r
m: <sip:2002@127.0.0.1:5070>\r
l: 0\r
\r
";

const CHALLENGE: &str =
    "Digest realm=\"asterisk\",nonce=\"1700000000/5a1e\",opaque=\"2c3d\",algorithm=SHA-256,qop=\"auth,auth-int\",stale=TRUE";

const SDP: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\na=sendonly\r\n";

/// Insert, delete, overwrite with a SIP-significant byte, flip a bit, truncate, or duplicate.
fn mutate(seed: &[u8], edits: &[(u8, usize, u8)]) -> Vec<u8> {
    const SPECIAL: &[u8] = b"\r\n:;,<>\"@= \t\0\xff\xd0\\/";
    let mut data = seed.to_vec();
    for &(kind, pos, byte) in edits {
        let at = if data.is_empty() { 0 } else { pos % (data.len() + 1) };
        match kind % 6 {
            0 => data.insert(at, byte),
            1 if at < data.len() => {
                data.remove(at);
            }
            2 if at < data.len() => data[at] = SPECIAL[usize::from(byte) % SPECIAL.len()],
            3 if at < data.len() => data[at] ^= 1 << (byte % 8),
            4 => data.truncate(at),
            5 => {
                let end = (at + usize::from(byte)).min(data.len());
                let chunk = data[at..end].to_vec();
                data.splice(at..at, chunk);
            }
            _ => {}
        }
    }
    data
}

fn edits() -> impl Strategy<Value = Vec<(u8, usize, u8)>> {
    prop::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..8)
}

fn check_all_parsers(data: &[u8]) {
    if let Ok(message) = msg::parse(data) {
        // Whatever parses must print as something that parses again to the same message.
        let printed = message.to_string();
        assert_eq!(msg::parse(printed.as_bytes()).as_ref(), Ok(&message), "{printed:?}");
        let _ = message.headers().list("Via");
        if let Message::Request(r) = &message {
            let _ = (r.from(), r.to(), r.contact(), r.top_via(), r.cseq());
        }
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(mut session) = sdp::parse(&text) {
        for media in &session.media {
            let _ = (
                media.codecs(),
                media.direction(),
                media.mid(),
                media.default_candidate(),
            );
            let _ = media.candidates().count();
        }
        let _ = (
            session.fingerprints(),
            session.bundle_group(),
            session.origin(),
            session.audio(),
        );
        let printed = session.to_string();
        assert_eq!(sdp::parse(&printed).as_ref(), Ok(&session), "{printed:?}");
        // What the phone does to SDP it sends keeps it parseable.
        for media in &mut session.media {
            let _ = media.show_default_candidate();
            media.set_mid("0");
        }
        session.set_bundle_group();
        sdp::LocalOrigin::new(1).stamp(&mut session, "127.0.0.1");
        let printed = session.to_string();
        assert_eq!(sdp::parse(&printed).as_ref(), Ok(&session), "{printed:?}");
    }
    let _ = Challenge::parse(&text);
}

fn user_agent(now: Instant) -> UserAgent {
    let cfg = UaConfig {
        aor_user: "2001".into(),
        domain: "127.0.0.1".into(),
        password: "secret".into(),
        ..UaConfig::default()
    };
    UserAgent::new(cfg, now)
}

fn reply(request: &Request, code: u16, extra: &[(&str, &str)], body: &str) -> String {
    let mut response = Response::new(code, "Fuzz");
    for via in request.headers.get_all("Via") {
        response.headers.push("Via", via);
    }
    for name in ["From", "Call-ID", "CSeq"] {
        response
            .headers
            .push(name, request.headers.get(name).unwrap_or_default());
    }
    response.headers.push(
        "To",
        format!("{};tag=far", request.headers.get("To").unwrap_or_default()),
    );
    for (name, value) in extra {
        response.headers.push(*name, *value);
    }
    response.body = body.to_owned();
    response.to_string()
}

fn sent_requests(ua: &mut UserAgent) -> Vec<Request> {
    std::iter::from_fn(|| ua.poll_transmit())
        .filter_map(|t| match msg::parse(t.as_bytes()) {
            Ok(Message::Request(r)) => Some(r),
            _ => None,
        })
        .collect()
}

/// `default` cases unless `PROPTEST_CASES` asks for more.
fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default);
    // No regression files written into the source tree; failures print the minimal input.
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(cases(3000))]

    #[test]
    fn arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..1500)) {
        check_all_parsers(&data);
        let now = Instant::now();
        let mut ua = user_agent(now);
        ua.transport_up(now);
        ua.handle_message(now, &data);
    }

    #[test]
    fn mutated_real_messages(seed in 0usize..6, edits in edits()) {
        let seeds: [&[u8]; 6] =
            [INVITE.as_bytes(), CANCEL.as_bytes(), COMPACT_180.as_bytes(), CHALLENGE.as_bytes(), SDP.as_bytes(), b"\r\n\r\n"];
        let data = mutate(seeds[seed % seeds.len()], &edits);
        check_all_parsers(&data);
    }
}

proptest! {
    #![proptest_config(cases(1000))]

    /// A UA with a registration, an outgoing and an incoming call in flight gets mutated
    /// responses and requests that really match its transactions, then timers and API calls.
    #[test]
    fn user_agent_survives_mutated_dialogs(
        script in prop::collection::vec((0usize..9, edits(), 0u8..6), 1..8),
    ) {
        let mut now = Instant::now();
        let mut ua = user_agent(now);
        ua.transport_up(now);
        let register = sent_requests(&mut ua).pop().expect("REGISTER");
        let out_call = ua.invite(now, "2002", SDP.to_owned());
        let invite = sent_requests(&mut ua).pop().expect("INVITE");
        let challenge = [("WWW-Authenticate", CHALLENGE)];
        let contact = [("Contact", "<sip:2002@127.0.0.1:5070>"), ("Record-Route", "<sip:127.0.0.1;lr>")];
        let seeds = [
            reply(&register, 401, &challenge, ""),
            reply(&register, 200, &[("Expires", "60")], ""),
            reply(&invite, 180, &contact, ""),
            reply(&invite, 200, &contact, SDP),
            reply(&invite, 407, &[("Proxy-Authenticate", CHALLENGE)], ""),
            INVITE.to_owned(),
            CANCEL.to_owned(),
            INVITE.replace("To: <sip:2001@127.0.0.1>", "To: <sip:2001@127.0.0.1>;tag=x").replace("INVITE", "BYE"),
            reply(&register, 423, &[("Min-Expires", "3600")], ""),
        ];
        let mut calls = vec![out_call];
        for (seed, edits, action) in script {
            let data = mutate(seeds[seed % seeds.len()].as_bytes(), &edits);
            ua.handle_message(now, &data);
            // Unmutated too, so that later steps reach deeper states.
            ua.handle_message(now, seeds[seed % seeds.len()].as_bytes());
            while let Some(event) = ua.poll_event() {
                if let UaEvent::IncomingCall { call, .. } = event {
                    calls.push(call);
                }
            }
            for &call in &calls {
                let _ = match action {
                    0 => ua.answer(now, call, SDP.to_owned()),
                    1 => ua.hangup(now, call),
                    2 => ua.reinvite(now, call, SDP.to_owned()),
                    3 => ua.reject(now, call, 603),
                    4 => ua.answer_reinvite(now, call, SDP.to_owned()),
                    _ => Ok(()),
                };
            }
            now += Duration::from_secs(u64::from(action) * 7);
            ua.handle_timeout(now);
            if action == 5 {
                ua.transport_down(now);
                ua.transport_up(now);
            }
            while ua.poll_transmit().is_some() {}
        }
    }
}
