//! Building requests and responses, sending client transactions, and digest retries.

use std::time::Instant;

use rand::distributions::Alphanumeric;
use rand::Rng;

use super::{ClientTx, Purpose, SentAck, UserAgent, TIMER_B};
use crate::auth::{select_challenge, DigestRequest};
use crate::msg::{reason_phrase, HeaderAccess, Headers, Message, Method, Request, Response, Uri};

/// Methods we accept (UPDATE, PRACK, REFER deliberately absent).
pub(super) const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY";
/// Extensions we support. `outbound`: we keep one flow and re-register on it (RFC 5626 spirit).
const SUPPORTED: &str = "outbound";
/// Credentials are sent at most this many times per request (stale nonces included).
const MAX_AUTH_TRIES: u8 = 3;

/// A random alphanumeric string.
pub(super) fn token(rng: &mut impl Rng, len: usize) -> String {
    rng.sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

/// Turns what an operator types into a Request-URI: `2002` → `sip:2002@domain`,
/// `+7 (912) 345-67-89` → `sip:+79123456789@domain`, `tel:+7912...` → `sip:+7912...@domain`,
/// `2002@host` → `sip:2002@host`, full `sip:`/`sips:` URIs as they are.
pub(super) fn target_uri(target: &str, domain: &str) -> Option<Uri> {
    let target = target.trim();
    let lower = target.to_ascii_lowercase();
    if lower.starts_with("sip:") || lower.starts_with("sips:") {
        return Uri::parse(target).ok();
    }
    let target = target.strip_prefix("tel:").unwrap_or(target);
    let (user, host) = match target.split_once('@') {
        Some((user, host)) => (user.to_owned(), host),
        None => {
            let phone_like = target.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
            let user = if phone_like {
                target.chars().filter(|c| !" -().".contains(*c)).collect()
            } else {
                target.to_owned()
            };
            (user, domain)
        }
    };
    if user.is_empty() || user.contains(|c: char| c.is_whitespace() || "<>\"@;?:".contains(c)) {
        return None;
    }
    Uri::parse(&format!("sip:{user}@{host}")).ok()
}

impl UserAgent {
    pub(super) fn token(&mut self, len: usize) -> String {
        token(&mut self.rng, len)
    }

    fn transport_param(&self) -> &'static str {
        if self.cfg.secure {
            "wss"
        } else {
            "ws"
        }
    }

    /// Our Contact (RFC 7118 §5.2: `<random>.invalid` host, `transport=ws`).
    pub(super) fn contact(&self) -> String {
        format!(
            "<sip:{}@{};transport={}>",
            self.cfg.aor_user,
            self.host,
            self.transport_param()
        )
    }

    /// Our address of record as a name-addr (without tag).
    pub(super) fn aor(&self) -> crate::msg::NameAddr {
        crate::msg::NameAddr {
            display: self.cfg.display_name.clone(),
            uri: Uri::sip(Some(&self.cfg.aor_user), &self.cfg.domain),
            params: Default::default(),
        }
    }

    pub(super) fn add_capabilities(&self, headers: &mut Headers) {
        headers.push("Allow", ALLOW);
        headers.push("Supported", SUPPORTED);
    }

    /// A request with the headers every request carries, except Via (added when sent).
    pub(super) fn base_request(
        &self,
        method: Method,
        uri: Uri,
        from: &str,
        to: &str,
        call_id: &str,
        cseq: u32,
    ) -> Request {
        let mut request = Request::new(method.clone(), uri);
        request.headers.push("Max-Forwards", "70");
        request.headers.push("From", from);
        request.headers.push("To", to);
        request.headers.push("Call-ID", call_id);
        request.headers.push("CSeq", format!("{cseq} {method}"));
        request.headers.push("User-Agent", self.cfg.user_agent.as_str());
        request
    }

    /// A response copying Via, From, To, Call-ID and CSeq (RFC 3261 §8.2.6.2), adding `to_tag`
    /// (or a fresh tag) to To when the request had none.
    pub(super) fn response(&mut self, request: &Request, code: u16, to_tag: Option<&str>) -> Response {
        let mut response = Response::new(code, reason_phrase(code));
        for via in request.headers.get_all("Via") {
            response.headers.push("Via", via);
        }
        response
            .headers
            .push("From", request.headers.get("From").unwrap_or_default());
        let to = request.headers.get("To").unwrap_or_default().to_owned();
        let has_tag = request.to().is_some_and(|t| t.tag().is_some());
        let to = if has_tag || code == 100 {
            to
        } else {
            let tag = to_tag.map_or_else(|| self.token(10), str::to_owned);
            format!("{to};tag={tag}")
        };
        response.headers.push("To", to);
        response
            .headers
            .push("Call-ID", request.headers.get("Call-ID").unwrap_or_default());
        response
            .headers
            .push("CSeq", request.headers.get("CSeq").unwrap_or_default());
        response
    }

    /// Sends a bare response.
    pub(super) fn reply(&mut self, request: &Request, code: u16) {
        let response = self.response(request, code, None);
        self.transmit(response.to_string());
    }

    /// Starts a client transaction with a fresh branch; returns the branch.
    pub(super) fn send_request(&mut self, now: Instant, request: Request, purpose: Purpose, auth_tries: u8) -> String {
        let branch = format!("z9hG4bK{}", self.token(16));
        self.send_with_branch(now, request, purpose, auth_tries, branch.clone());
        branch
    }

    /// Starts a client transaction on `branch` (CANCEL reuses the INVITE's, RFC 3261 §9.1).
    pub(super) fn send_with_branch(
        &mut self,
        now: Instant,
        mut request: Request,
        purpose: Purpose,
        auth_tries: u8,
        branch: String,
    ) {
        request.headers.remove("Via");
        let transport = if self.cfg.secure { "WSS" } else { "WS" };
        request.headers.push_front(
            "Via",
            format!("SIP/2.0/{transport} {};branch={branch};rport", self.host),
        );
        self.transmit(request.to_string());
        let timeout = now.checked_add(TIMER_B);
        self.txs.push(ClientTx {
            branch,
            request,
            purpose,
            timeout,
            auth_tries,
        });
    }

    /// Answers a 401/407 by resending `tx`'s request with credentials: same Call-ID and tags,
    /// CSeq + 1, new branch (RFC 3261 §22.2). Returns the new branch, or `None` when the challenge
    /// is unusable or our credentials were already refused (a non-stale challenge after we sent
    /// them: wrong password).
    pub(super) fn retry_with_auth(&mut self, now: Instant, tx: &ClientTx, response: &Response) -> Option<String> {
        let (challenge_header, auth_header) = match response.code {
            401 => ("WWW-Authenticate", "Authorization"),
            407 => ("Proxy-Authenticate", "Proxy-Authorization"),
            _ => return None,
        };
        let challenge = select_challenge(response.headers.get_all(challenge_header))?;
        if tx.auth_tries >= MAX_AUTH_TRIES || (tx.auth_tries > 0 && !challenge.stale) {
            return None;
        }
        let mut request = tx.request.clone();
        let old_seq = request.cseq().map_or(0, |c| c.seq);
        let seq = match tx.purpose {
            Purpose::Register | Purpose::Unregister => {
                self.reg.cseq = self.reg.cseq.max(old_seq).wrapping_add(1);
                self.reg.cseq
            }
            Purpose::Invite(call) | Purpose::ReInvite(call) => match self.calls.get_mut(&call) {
                Some(c) => {
                    c.d.local_cseq = c.d.local_cseq.max(old_seq).wrapping_add(1);
                    c.d.local_cseq
                }
                None => old_seq.wrapping_add(1),
            },
            Purpose::Bye | Purpose::Cancel => old_seq.wrapping_add(1),
        };
        request.headers.set("CSeq", format!("{seq} {}", request.method));
        let username = self.cfg.auth_user.clone().unwrap_or_else(|| self.cfg.aor_user.clone());
        let cnonce = self.token(16);
        let uri = request.uri.to_string();
        let digest = DigestRequest {
            username: &username,
            password: &self.cfg.password,
            method: request.method.as_str(),
            uri: &uri,
            body: &request.body,
            cnonce: &cnonce,
            nc: 1,
        };
        let value = challenge.authorization(&digest).ok()?;
        request.headers.remove(auth_header);
        request.headers.push(auth_header, value);
        Some(self.send_request(now, request, tx.purpose, tx.auth_tries + 1))
    }

    /// ACK for a non-2xx final response: part of the INVITE transaction, same branch and
    /// Request-URI, To from the response (RFC 3261 §17.1.1.3).
    pub(super) fn ack_non_2xx(&mut self, invite: &Request, response: &Response) {
        let mut ack = Request::new(Method::Ack, invite.uri.clone());
        if let Some(via) = invite.headers.get("Via") {
            ack.headers.push("Via", via);
        }
        ack.headers.push("Max-Forwards", "70");
        for route in invite.headers.get_all("Route") {
            ack.headers.push("Route", route);
        }
        ack.headers.push("From", invite.headers.get("From").unwrap_or_default());
        ack.headers.push("To", response.headers.get("To").unwrap_or_default());
        ack.headers
            .push("Call-ID", invite.headers.get("Call-ID").unwrap_or_default());
        let seq = invite.cseq().map_or(0, |c| c.seq);
        ack.headers.push("CSeq", format!("{seq} ACK"));
        self.transmit(ack.to_string());
    }

    /// Sends an ACK for a 2xx (its own transaction) and remembers it for retransmitted 2xx.
    pub(super) fn send_2xx_ack(&mut self, now: Instant, mut ack: Request, call_id: &str, cseq: u32) {
        let branch = format!("z9hG4bK{}", self.token(16));
        let transport = if self.cfg.secure { "WSS" } else { "WS" };
        ack.headers.remove("Via");
        ack.headers.push_front(
            "Via",
            format!("SIP/2.0/{transport} {};branch={branch};rport", self.host),
        );
        let to_tag = ack.to().and_then(|t| t.tag().map(str::to_owned));
        let text = ack.to_string();
        self.transmit(text.clone());
        let until = now.checked_add(TIMER_B).unwrap_or(now);
        self.acks.push(SentAck {
            call_id: call_id.to_owned(),
            cseq,
            to_tag,
            text,
            until,
        });
    }

    /// A 2xx to an INVITE whose transaction is over. A retransmission gets the same ACK again;
    /// a 2xx from another fork (another To tag) is ACKed and its dialog hung up at once
    /// (RFC 3261 §13.2.2.4): we talk to whoever answered first.
    pub(super) fn on_stray_2xx(&mut self, now: Instant, response: &Response, cseq: u32) {
        let call_id = response.call_id().unwrap_or_default().to_owned();
        let to_tag = response.to().and_then(|t| t.tag().map(str::to_owned));
        let same = |a: &&SentAck| a.call_id == call_id && a.cseq == cseq;
        if let Some(text) = self
            .acks
            .iter()
            .filter(same)
            .find(|a| a.to_tag == to_tag)
            .map(|a| a.text.clone())
        {
            self.transmit(text);
            return;
        }
        let Some(template) = self.acks.iter().find(same).map(|a| a.text.clone()) else {
            return;
        };
        let Ok(Message::Request(mut ack)) = crate::msg::parse(template.as_bytes()) else {
            return;
        };
        ack.headers.set("To", response.headers.get("To").unwrap_or_default());
        if let Some(contact) = response.contact() {
            ack.uri = contact.uri;
        }
        ack.headers.remove("Route");
        for route in response.headers.list("Record-Route").into_iter().rev() {
            ack.headers.push("Route", route);
        }
        self.send_2xx_ack(now, ack.clone(), &call_id, cseq);
        let mut bye = ack;
        bye.method = Method::Bye;
        bye.headers.set("CSeq", format!("{} BYE", cseq.wrapping_add(1)));
        bye.headers.remove("Authorization");
        bye.headers.remove("Proxy-Authorization");
        self.send_request(now, bye, Purpose::Bye, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = |s: &str| target_uri(s, "pbx.example.ru").map(|u| u.to_string());
        assert_eq!(t("2002").as_deref(), Some("sip:2002@pbx.example.ru"));
        assert_eq!(
            t(" +7 (912) 345-67-89 ").as_deref(),
            Some("sip:+79123456789@pbx.example.ru")
        );
        assert_eq!(
            t("tel:+79123456789").as_deref(),
            Some("sip:+79123456789@pbx.example.ru")
        );
        assert_eq!(t("2002@10.0.0.1:5060").as_deref(), Some("sip:2002@10.0.0.1:5060"));
        assert_eq!(
            t("sip:echo@127.0.0.1;transport=ws").as_deref(),
            Some("sip:echo@127.0.0.1;transport=ws")
        );
        for bad in ["", "  ", "a b", "<sip:x>", "sip:", "x@"] {
            assert_eq!(t(bad), None, "{bad:?}");
        }
    }
}
