//! Registration (RFC 3261 §10): one Call-ID for the life of the agent, CSeq increasing,
//! refresh before expiry, retry after transient failures.

use std::time::{Duration, Instant};

use super::{ClientTx, Purpose, RegistrationState, UaEvent, UserAgent};
use crate::msg::{Method, NameAddr, Response, Uri};

/// Wait before retrying after a timeout or a 5xx/6xx (never after a credentials failure: that
/// would only lock the account on the PBX).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);
/// Longest binding we plan around, whatever the registrar grants.
const MAX_EXPIRES: u32 = 24 * 3600;

#[derive(Debug)]
pub(super) struct Registration {
    pub(super) call_id: String,
    pub(super) cseq: u32,
    pub(super) state: RegistrationState,
    /// False after `unregister()`: reconnects do not register.
    pub(super) wanted: bool,
    /// Requested lifetime (raised by a 423's Min-Expires).
    pub(super) expires: u32,
    /// Next refresh, or retry after a failure.
    pub(super) refresh_at: Option<Instant>,
}

impl Registration {
    pub(super) fn new(call_id: String, expires: u32) -> Self {
        Self {
            call_id,
            cseq: 0,
            state: RegistrationState::Unregistered,
            wanted: true,
            expires: expires.max(1),
            refresh_at: None,
        }
    }
}

/// When to refresh a binding granted for `granted` seconds: `granted - min(granted/2, 30)`.
fn refresh_delay(granted: u32) -> Duration {
    Duration::from_secs(u64::from(granted - (granted / 2).min(30)))
}

impl UserAgent {
    pub(super) fn set_registration(&mut self, state: RegistrationState) {
        self.reg.state = state.clone();
        self.emit(UaEvent::Registration(state));
    }

    /// Sends REGISTER (a new transaction replacing any pending one); `remove` sends Expires: 0.
    pub(super) fn send_register(&mut self, now: Instant, remove: bool) {
        self.txs
            .retain(|tx| !matches!(tx.purpose, Purpose::Register | Purpose::Unregister));
        self.reg.cseq = self.reg.cseq.wrapping_add(1);
        let aor = self.aor();
        let tag = self.token(10);
        let from = aor.with_tag(&tag).to_string();
        let to = NameAddr::new(aor.uri.clone()).to_string();
        let uri = Uri::sip(None, &self.cfg.domain);
        let (call_id, cseq) = (self.reg.call_id.clone(), self.reg.cseq);
        let mut request = self.base_request(Method::Register, uri, &from, &to, &call_id, cseq);
        request.headers.push("Contact", self.contact());
        let expires = if remove { 0 } else { self.reg.expires };
        request.headers.push("Expires", expires.to_string());
        self.add_capabilities(&mut request.headers);
        let purpose = if remove { Purpose::Unregister } else { Purpose::Register };
        self.send_request(now, request, purpose, 0);
        let registered = matches!(self.reg.state, RegistrationState::Registered { .. });
        if !remove && !registered && self.reg.state != RegistrationState::Registering {
            self.set_registration(RegistrationState::Registering);
        }
    }

    pub(super) fn on_register_response(&mut self, now: Instant, tx: ClientTx, response: &Response) {
        let removing = tx.purpose == Purpose::Unregister;
        match response.code {
            200..=299 if removing => self.set_registration(RegistrationState::Unregistered),
            200..=299 => {
                let granted = self.granted_expires(response).min(MAX_EXPIRES);
                let expires_at = now.checked_add(Duration::from_secs(granted.into())).unwrap_or(now);
                self.reg.refresh_at = now.checked_add(refresh_delay(granted));
                if self.reg.wanted {
                    self.set_registration(RegistrationState::Registered { expires_at });
                }
            }
            401 | 407 if self.retry_with_auth(now, &tx, response).is_some() => {}
            // RFC 3261 §10.2.8: retry with at least Min-Expires.
            423 if !removing => {
                let min = response
                    .headers
                    .get("Min-Expires")
                    .and_then(|v| v.trim().parse::<u32>().ok());
                match min {
                    Some(min) if min > self.reg.expires && min <= MAX_EXPIRES => {
                        self.reg.expires = min;
                        self.send_register(now, false);
                    }
                    _ => self.registration_failed(now, response.code, &response.reason),
                }
            }
            _ if removing => self.set_registration(RegistrationState::Unregistered),
            code => self.registration_failed(now, code, &response.reason),
        }
    }

    pub(super) fn registration_failed(&mut self, now: Instant, code: u16, reason: &str) {
        let transient = matches!(code, 408 | 480 | 500..=599 | 600..=699);
        self.reg.refresh_at = if transient && self.reg.wanted {
            now.checked_add(RETRY_AFTER_FAILURE)
        } else {
            None
        };
        self.set_registration(RegistrationState::Failed {
            code,
            reason: reason.to_owned(),
        });
    }

    /// The lifetime the registrar granted: our Contact's `expires`, else Expires, else what we
    /// asked for (RFC 3261 §10.2.4). Zero is treated as "what we asked for".
    fn granted_expires(&self, response: &Response) -> u32 {
        let ours = response
            .headers
            .list("Contact")
            .into_iter()
            .filter_map(|c| NameAddr::parse(c).ok())
            .find(|c| {
                c.uri.host.eq_ignore_ascii_case(&self.host) && c.uri.user.as_deref() == Some(self.cfg.aor_user.as_str())
            });
        ours.and_then(|c| c.params.get("expires").and_then(|e| e.trim().parse::<u32>().ok()))
            .or_else(|| {
                response
                    .headers
                    .get("Expires")
                    .and_then(|e| e.trim().parse::<u32>().ok())
            })
            .filter(|e| *e > 0)
            .unwrap_or(self.reg.expires)
    }
}

#[cfg(test)]
mod tests {
    use super::refresh_delay;
    use std::time::Duration;

    #[test]
    fn refresh_delay_leaves_a_margin() {
        assert_eq!(refresh_delay(600), Duration::from_secs(570));
        assert_eq!(refresh_delay(60), Duration::from_secs(30));
        assert_eq!(refresh_delay(10), Duration::from_secs(5));
        assert_eq!(refresh_delay(1), Duration::from_secs(1));
    }
}
