//! The message parser. Every step uses checked indexing: no input may panic it.

use super::headers::is_token_byte;
use super::{same_name, snippet, CSeq, Headers, Message, Method, ParseError, Request, Response, Uri, Via};

/// Largest accepted message. WebRTC SDP offers run to ~10 KB; this leaves ample room.
pub const MAX_MESSAGE_SIZE: usize = 128 * 1024;

/// Most header fields accepted in one message.
pub const MAX_HEADERS: usize = 256;

/// Parses one SIP message (one WebSocket message, RFC 7118 §5).
///
/// Leading CRLFs (keep-alives) are skipped. The head must end with an empty line. A
/// `Content-Length` cuts the body (extra bytes are ignored); a body shorter than declared is an
/// error. Without `Content-Length` the rest of the message is the body.
pub fn parse(data: &[u8]) -> Result<Message, ParseError> {
    if data.len() > MAX_MESSAGE_SIZE {
        return Err(ParseError::TooLarge(data.len()));
    }
    let start = data
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .ok_or(ParseError::Empty)?;
    let data = data.get(start..).unwrap_or_default();
    let (head_end, body_start) = find_head_end(data).ok_or(ParseError::Unterminated)?;
    let head = String::from_utf8_lossy(data.get(..head_end).unwrap_or_default());
    let rest = data.get(body_start..).unwrap_or_default();

    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start_line = lines.next().ok_or(ParseError::Empty)?;
    let mut headers = Headers::new();
    let mut content_length: Option<usize> = None;
    let mut folded: Option<(String, String)> = None;
    let mut count = 0usize;
    for line in lines {
        if line.starts_with([' ', '\t']) {
            // Obsolete line folding (RFC 3261 §7.3.1): join with one space.
            let (_, value) = folded.as_mut().ok_or_else(|| ParseError::HeaderLine(snippet(line)))?;
            value.push(' ');
            value.push_str(line.trim());
            continue;
        }
        if let Some((name, value)) = folded.take() {
            store(&mut headers, &mut content_length, name, value)?;
        }
        count += 1;
        if count > MAX_HEADERS {
            return Err(ParseError::TooManyHeaders);
        }
        let colon = line.find(':').ok_or_else(|| ParseError::HeaderLine(snippet(line)))?;
        let name = line.get(..colon).unwrap_or_default().trim_end();
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(ParseError::HeaderLine(snippet(line)));
        }
        folded = Some((
            name.to_owned(),
            line.get(colon + 1..).unwrap_or_default().trim().to_owned(),
        ));
    }
    if let Some((name, value)) = folded.take() {
        store(&mut headers, &mut content_length, name, value)?;
    }

    let body = match content_length {
        Some(declared) => {
            let bytes = rest.get(..declared).ok_or(ParseError::Truncated {
                declared,
                actual: rest.len(),
            })?;
            String::from_utf8_lossy(bytes).into_owned()
        }
        None => String::from_utf8_lossy(rest).into_owned(),
    };

    let message = parse_start_line(start_line, headers, body)?;
    check_mandatory(&message)?;
    Ok(message)
}

/// Finds the empty line ending the head: returns (end of head, start of body).
fn find_head_end(data: &[u8]) -> Option<(usize, usize)> {
    data.iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .find_map(|(i, _)| match (data.get(i + 1), data.get(i + 2)) {
            (Some(b'\n'), _) => Some((i, i + 2)),
            (Some(b'\r'), Some(b'\n')) => Some((i, i + 3)),
            _ => None,
        })
}

fn store(
    headers: &mut Headers,
    content_length: &mut Option<usize>,
    name: String,
    value: String,
) -> Result<(), ParseError> {
    // Folding onto an empty first line leaves a leading space.
    let value = value.trim().to_owned();
    if !same_name(&name, "Content-Length") {
        headers.push(name, value);
        return Ok(());
    }
    let bad = || ParseError::header("Content-Length", &value);
    if value.is_empty() || value.len() > 7 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let length: usize = value.parse().map_err(|_| bad())?;
    match content_length {
        Some(previous) if *previous != length => Err(bad()),
        _ => {
            *content_length = Some(length);
            Ok(())
        }
    }
}

fn parse_start_line(line: &str, headers: Headers, body: String) -> Result<Message, ParseError> {
    let bad = || ParseError::StartLine(snippet(line));
    let is_version = |v: &str| v.eq_ignore_ascii_case("SIP/2.0");
    if line.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("SIP/")) {
        let mut parts = line.splitn(3, ' ');
        let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
            return Err(bad());
        };
        if !is_version(version) || code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let code: u16 = code.parse().map_err(|_| bad())?;
        if !(100..=699).contains(&code) {
            return Err(bad());
        }
        let reason = parts.next().unwrap_or_default().trim().to_owned();
        return Ok(Message::Response(Response {
            code,
            reason,
            headers,
            body,
        }));
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if method.is_empty() || !method.bytes().all(is_token_byte) || !is_version(version) {
        return Err(bad());
    }
    Ok(Message::Request(Request {
        method: Method::from_token(method),
        uri: Uri::parse(uri)?,
        headers,
        body,
    }))
}

/// RFC 3261 §8.1.1: To, From, CSeq, Call-ID, Max-Forwards (not checked: we are no proxy) and Via.
fn check_mandatory(message: &Message) -> Result<(), ParseError> {
    let headers = message.headers();
    for name in ["From", "To", "Call-ID"] {
        if headers.get(name).is_none_or(str::is_empty) {
            return Err(ParseError::MissingHeader(name));
        }
    }
    let cseq = CSeq::parse(headers.get("CSeq").ok_or(ParseError::MissingHeader("CSeq"))?)?;
    let top_via = *headers.list("Via").first().ok_or(ParseError::MissingHeader("Via"))?;
    Via::parse(top_via)?;
    if let Message::Request(request) = message {
        if cseq.method != request.method {
            return Err(ParseError::header("CSeq", &cseq.to_string()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::HeaderAccess;

    fn crlf(s: &str) -> String {
        s.replace('\n', "\r\n")
    }

    const KAMAILIO_401: &str = "SIP/2.0 401 Unauthorized
Via: SIP/2.0/WS 8kq2v3n1b7aa.invalid;branch=z9hG4bK5837223;rport=40566;received=127.0.0.1
From: <sip:2001@127.0.0.1>;tag=lf7ajq5i6p
To: <sip:2001@127.0.0.1>;tag=b27e1a1d33761e85846fc98f5f3a7e58.8f1d
Call-ID: 4b0p5s8gkr0mv2cdfmo1
CSeq: 1 REGISTER
WWW-Authenticate: Digest realm=\"127.0.0.1\", nonce=\"ZgX7R2YF+hs8Txi0tqAWsRuFYqQ2gR2B\", qop=\"auth\"
Server: kamailio (5.6.3 (x86_64/linux))
Content-Length: 0

";

    /// An INVITE as Kamailio relays it from baresip to a WebSocket client.
    pub(crate) const KAMAILIO_INVITE: &str = "INVITE sip:2001@df7jal23ls0d.invalid;transport=ws SIP/2.0
Record-Route: <sip:127.0.0.1:8088;transport=ws;r2=on;lr>
Record-Route: <sip:127.0.0.1;r2=on;lr>
Via: SIP/2.0/WS 127.0.0.1:8088;branch=z9hG4bKcydzigwkX
Via: SIP/2.0/UDP 127.0.0.1:5070;received=127.0.0.1;branch=z9hG4bK8f5c1e0a3a2b;rport=5070
Max-Forwards: 69
Contact: <sip:2002-0x55d1@127.0.0.1:5070;transport=udp>
To: <sip:2001@127.0.0.1>
From: \"Dispatcher 2\" <sip:2002@127.0.0.1>;tag=7b2b7c8e0e6a4b26
Call-ID: 9d2e7c2b0a1f3b4c
CSeq: 29383 INVITE
User-Agent: baresip v1.0.0 (x86_64/Linux)
Allow: INVITE,ACK,BYE,CANCEL,OPTIONS,NOTIFY,SUBSCRIBE,INFO,MESSAGE,UPDATE
Supported: replaces,norefersub
Content-Type: application/sdp
Content-Length: 126

v=0
o=- 1 2 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 30000 RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=sendrecv
";

    #[test]
    fn kamailio_challenge() {
        let Message::Response(r) = parse(crlf(KAMAILIO_401).as_bytes()).expect("parse") else {
            panic!("not a response")
        };
        assert_eq!((r.code, r.reason.as_str()), (401, "Unauthorized"));
        let via = r.top_via().expect("via");
        assert_eq!(via.branch(), Some("z9hG4bK5837223"));
        assert_eq!(via.rport(), Some(Some(40566)));
        assert_eq!(r.cseq().expect("cseq").method, Method::Register);
        assert_eq!(r.to().expect("to").tag(), Some("b27e1a1d33761e85846fc98f5f3a7e58.8f1d"));
        assert!(r
            .headers
            .get("www-authenticate")
            .expect("challenge")
            .starts_with("Digest realm"));
        assert!(r.body.is_empty());
        assert!(r.headers.get("Content-Length").is_none());
    }

    #[test]
    fn relayed_invite_with_record_route_and_two_vias() {
        let raw = crlf(KAMAILIO_INVITE);
        let Message::Request(r) = parse(raw.as_bytes()).expect("parse") else {
            panic!("not a request")
        };
        assert_eq!(r.method, Method::Invite);
        assert_eq!(r.uri.params.get("transport"), Some("ws"));
        let rr = r.headers.list("Record-Route");
        assert_eq!(
            rr,
            vec!["<sip:127.0.0.1:8088;transport=ws;r2=on;lr>", "<sip:127.0.0.1;r2=on;lr>"]
        );
        assert_eq!(r.headers.list("Via").len(), 2);
        assert_eq!(r.from().expect("from").display.as_deref(), Some("Dispatcher 2"));
        assert_eq!(r.body.len(), 126);
        assert!(r.body.ends_with("a=sendrecv\r\n"));
        // Printing and parsing again gives the same message.
        assert_eq!(parse(r.to_string().as_bytes()).expect("reparse"), Message::Request(r));
    }

    #[test]
    fn compact_forms_lf_only_and_keepalive_prefix() {
        let raw = "\r\n\r\nSIP/2.0 180 Ringing\nv: SIP/2.0/WS x.invalid;branch=z9hG4bKabc\nf: <sip:2001@pbx>;tag=1\n\
                   t: <sip:2002@pbx>;tag=2\ni: cid\nCSeq: 2 INVITE\nm: <sip:2002@127.0.0.1:5070>\nl: 0\n\n";
        let Message::Response(r) = parse(raw.as_bytes()).expect("parse") else {
            panic!("not a response")
        };
        assert_eq!(r.call_id(), Some("cid"));
        assert_eq!(r.contact().expect("contact").uri.port, Some(5070));
        assert_eq!(r.to().expect("to").tag(), Some("2"));
    }

    #[test]
    fn asterisk_ok_with_comma_joined_lists_and_folding() {
        let raw = crlf(
            "SIP/2.0 200 OK
Via: SIP/2.0/WSS abc.invalid;rport=53211;received=10.0.0.5;branch=z9hG4bKPj1, SIP/2.0/WSS second.invalid;branch=z9hG4bK2
Record-Route: <sip:10.0.0.1;lr>, <sip:10.0.0.2;transport=ws;lr>
Call-ID: 0f4a2c
From: \"Оператор\" <sip:2001@pbx.example.ru>;tag=aa
To: <sip:2002@pbx.example.ru>;tag=e1b7a5a4-4d3a-4b6e
CSeq: 2 INVITE
Server: Asterisk PBX 23.4.1
Contact: <sip:10.0.0.1:8089;transport=wss>
Allow: OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, INVITE, ACK, BYE, CANCEL, UPDATE, PRACK, MESSAGE, REFER
Subject: a folded
  header value
Content-Type: application/sdp
Content-Length: 0

",
        );
        let Message::Response(r) = parse(raw.as_bytes()).expect("parse") else {
            panic!("not a response")
        };
        assert_eq!(r.headers.list("Via").len(), 2);
        assert_eq!(r.headers.list("Record-Route").len(), 2);
        assert_eq!(r.headers.list("Allow").len(), 13);
        assert_eq!(r.headers.get("Subject"), Some("a folded header value"));
        assert_eq!(r.from().expect("from").display.as_deref(), Some("Оператор"));
    }

    #[test]
    fn content_length_cuts_and_checks_the_body() {
        let base = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/WS h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n\
                    To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n";
        let long = format!("{base}Content-Length: 3\r\n\r\nabcdef");
        assert_eq!(parse(long.as_bytes()).expect("parse").body(), "abc");
        let short = format!("{base}Content-Length: 10\r\n\r\nabc");
        assert_eq!(
            parse(short.as_bytes()),
            Err(ParseError::Truncated {
                declared: 10,
                actual: 3
            })
        );
        let absent = format!("{base}\r\nxyz");
        assert_eq!(parse(absent.as_bytes()).expect("parse").body(), "xyz");
        let conflicting = format!("{base}Content-Length: 1\r\nl: 2\r\n\r\nab");
        assert!(parse(conflicting.as_bytes()).is_err());
    }

    #[test]
    fn malformed_input_is_rejected() {
        let ok_headers =
            "Via: SIP/2.0/WS h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\n";
        let cases = [
            String::new(),
            "\r\n\r\n".to_owned(),
            format!("INVITE sip:a@b SIP/2.0\r\n{ok_headers}CSeq: 1 INVITE\r\n"),
            format!("INVITE sip:a@b SIP/3.0\r\n{ok_headers}CSeq: 1 INVITE\r\n\r\n"),
            format!("INVITE  sip:a@b SIP/2.0\r\n{ok_headers}CSeq: 1 INVITE\r\n\r\n"),
            format!("INVITE sip:a@b SIP/2.0\r\n{ok_headers}CSeq: 1 BYE\r\n\r\n"),
            format!("INVITE sip:a@b SIP/2.0\r\n{ok_headers}\r\n"),
            format!("SIP/2.0 99 Odd\r\n{ok_headers}CSeq: 1 INVITE\r\n\r\n"),
            format!("SIP/2.0 2000 OK\r\n{ok_headers}CSeq: 1 INVITE\r\n\r\n"),
            format!("SIP/2.0 200 OK\r\nno colon here\r\n{ok_headers}CSeq: 1 INVITE\r\n\r\n"),
            format!("SIP/2.0 200 OK\r\n folded first\r\n{ok_headers}CSeq: 1 INVITE\r\n\r\n"),
            "SIP/2.0 200 OK\r\nVia: garbage\r\nFrom: a\r\nTo: b\r\nCall-ID: x\r\nCSeq: 1 A\r\n\r\n".to_owned(),
            format!("INVITE sip:a@b SIP/2.0\r\n{ok_headers}CSeq: 1 INVITE\r\nContent-Length: -1\r\n\r\n"),
        ];
        for case in cases {
            assert!(parse(case.as_bytes()).is_err(), "accepted {case:?}");
        }
        assert_eq!(
            parse(&vec![b'a'; MAX_MESSAGE_SIZE + 1]),
            Err(ParseError::TooLarge(MAX_MESSAGE_SIZE + 1))
        );
        let many = format!("SIP/2.0 200 OK\r\n{}\r\n", "X: y\r\n".repeat(MAX_HEADERS + 1));
        assert_eq!(parse(many.as_bytes()), Err(ParseError::TooManyHeaders));
    }
}
