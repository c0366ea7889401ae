//! The sans-IO user agent: registration, client/server transactions and call dialogs over one
//! reliable WebSocket flow (RFC 3261 with RFC 7118 transport rules).
//!
//! Transactions follow RFC 3261 §17 for a reliable transport: requests are never retransmitted,
//! Timers B and F (64·T1) still bound the wait for a final response, and the INVITE server keeps
//! retransmitting its 2xx (T1 doubling up to T2) until the ACK arrives (§13.3.1.4).

mod build;
mod call;
mod config;
mod events;
mod incoming;
mod outgoing;
mod register;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::msg::{self, HeaderAccess, Message, Method, Request};

pub use config::UaConfig;
pub use events::{CallId, EndReason, RegistrationState, UaError, UaEvent};

use call::Call;
use register::Registration;

/// RFC 3261 T1: round-trip estimate.
const T1: Duration = Duration::from_millis(500);
/// RFC 3261 T2: cap of the 2xx retransmission interval.
const T2: Duration = Duration::from_secs(4);
/// Timers B, F, H: 64·T1.
const TIMER_B: Duration = Duration::from_secs(32);

/// What a client transaction is for, to route its responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Register,
    Unregister,
    Invite(CallId),
    ReInvite(CallId),
    Bye,
    Cancel,
}

/// A client transaction (RFC 3261 §17.1) over a reliable transport: no retransmissions.
#[derive(Debug, Clone)]
struct ClientTx {
    branch: String,
    request: Request,
    purpose: Purpose,
    /// Timer B/F; cleared by a provisional response to INVITE.
    timeout: Option<Instant>,
    /// How many times credentials were already sent for this request.
    auth_tries: u8,
}

/// An ACK we sent for a 2xx, kept to answer 2xx retransmissions (RFC 3261 §13.2.2.4).
#[derive(Debug, Clone)]
struct SentAck {
    call_id: String,
    cseq: u32,
    to_tag: Option<String>,
    text: String,
    until: Instant,
}

/// The user agent. See the crate documentation for the driving loop.
pub struct UserAgent {
    cfg: UaConfig,
    rng: StdRng,
    /// Our `<random>.invalid` host for Via and Contact (RFC 7118 §5.2).
    host: String,
    transport_up: bool,
    reg: Registration,
    calls: BTreeMap<CallId, Call>,
    next_call: u64,
    txs: Vec<ClientTx>,
    acks: Vec<SentAck>,
    out: VecDeque<String>,
    events: VecDeque<UaEvent>,
}

impl fmt::Debug for UserAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserAgent")
            .field("cfg", &self.cfg)
            .field("host", &self.host)
            .field("transport_up", &self.transport_up)
            .field("registration", &self.reg.state)
            .field("calls", &self.calls.len())
            .field("transactions", &self.txs.len())
            .finish_non_exhaustive()
    }
}

impl UserAgent {
    /// A user agent with nothing sent yet; call [`transport_up`](Self::transport_up) once the
    /// WebSocket is open.
    pub fn new(cfg: UaConfig, now: Instant) -> Self {
        let _ = now;
        let mut rng = StdRng::from_entropy();
        let host = format!("{}.invalid", build::token(&mut rng, 12).to_ascii_lowercase());
        let reg = Registration::new(build::token(&mut rng, 24), cfg.register_expires);
        Self {
            cfg,
            rng,
            host,
            transport_up: false,
            reg,
            calls: BTreeMap::new(),
            next_call: 1,
            txs: Vec::new(),
            acks: Vec::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The WebSocket is (re)connected: (re)REGISTER unless [`unregister`](Self::unregister) was
    /// called. After a reconnect the driver should re-INVITE established calls so the peer learns
    /// the new flow (our Contact is rewritten by the proxy per connection).
    pub fn transport_up(&mut self, now: Instant) {
        self.transport_up = true;
        if self.reg.wanted {
            self.send_register(now, false);
        }
    }

    /// The WebSocket is gone: pending transactions fail, unanswered calls end with
    /// [`EndReason::TransportLost`], established calls are kept (an answered call still waiting
    /// for its ACK counts as established), registration becomes `Unregistered`. Queued output is
    /// dropped.
    pub fn transport_down(&mut self, now: Instant) {
        let _ = now;
        self.transport_up = false;
        self.out.clear();
        self.acks.clear();
        for tx in std::mem::take(&mut self.txs) {
            match tx.purpose {
                Purpose::Invite(call) => self.end_call(call, Some(EndReason::TransportLost)),
                Purpose::ReInvite(call) => self.emit(UaEvent::ReInviteFailed {
                    call,
                    code: 503,
                    reason: "Transport lost".to_owned(),
                }),
                Purpose::Register | Purpose::Unregister | Purpose::Bye | Purpose::Cancel => {}
            }
        }
        let ringing: Vec<CallId> = self
            .calls
            .iter()
            .filter(|(_, c)| c.is_unanswered_incoming())
            .map(|(id, _)| *id)
            .collect();
        for call in ringing {
            self.end_call(call, Some(EndReason::TransportLost));
        }
        self.settle_answered_calls();
        self.reg.refresh_at = None;
        if self.reg.state != RegistrationState::Unregistered {
            self.set_registration(RegistrationState::Unregistered);
        }
    }

    /// Feeds one received WebSocket message. Unparseable input yields a [`UaEvent::Warning`].
    pub fn handle_message(&mut self, now: Instant, data: &[u8]) {
        match msg::parse(data) {
            Ok(Message::Request(request)) => self.on_request(now, request),
            Ok(Message::Response(response)) => self.on_response(now, response),
            Err(e) => self.emit(UaEvent::Warning(format!("ignored unparseable SIP message: {e}"))),
        }
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let (expired, kept): (Vec<ClientTx>, Vec<ClientTx>) = std::mem::take(&mut self.txs)
            .into_iter()
            .partition(|tx| tx.timeout.is_some_and(|t| t <= now));
        self.txs = kept;
        for tx in expired {
            self.on_transaction_timeout(now, tx);
        }
        self.call_timers(now);
        if self.reg.refresh_at.is_some_and(|t| t <= now) {
            self.reg.refresh_at = None;
            if self.reg.wanted && self.transport_up {
                self.send_register(now, false);
            }
        }
        self.acks.retain(|a| a.until > now);
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let txs = self.txs.iter().filter_map(|tx| tx.timeout);
        let calls = self.calls.values().filter_map(Call::next_timer);
        txs.chain(calls).chain(self.reg.refresh_at).min()
    }

    /// The next message to send on the WebSocket (one message per WebSocket frame).
    pub fn poll_transmit(&mut self) -> Option<String> {
        self.out.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<UaEvent> {
        self.events.pop_front()
    }

    /// Removes our binding (REGISTER with Expires: 0), e.g. on exit; no re-registration follows
    /// until [`register`](Self::register).
    pub fn unregister(&mut self, now: Instant) {
        self.reg.wanted = false;
        self.reg.refresh_at = None;
        let active = matches!(
            self.reg.state,
            RegistrationState::Registered { .. } | RegistrationState::Registering
        );
        if self.transport_up && active {
            self.send_register(now, true);
        } else {
            self.txs
                .retain(|tx| !matches!(tx.purpose, Purpose::Register | Purpose::Unregister));
            if self.reg.state != RegistrationState::Unregistered {
                self.set_registration(RegistrationState::Unregistered);
            }
        }
    }

    /// Registers again after [`unregister`](Self::unregister) (or retries after a failure).
    pub fn register(&mut self, now: Instant) {
        self.reg.wanted = true;
        if self.transport_up {
            self.send_register(now, false);
        }
    }

    /// The SIP Call-ID of a call (the PBX's record of the call names it too).
    pub fn sip_call_id(&self, call: CallId) -> Option<&str> {
        self.calls.get(&call).map(|c| c.d.call_id.as_str())
    }

    /// The current registration state.
    pub fn registration(&self) -> RegistrationState {
        self.reg.state.clone()
    }

    fn emit(&mut self, event: UaEvent) {
        self.events.push_back(event);
    }

    fn transmit(&mut self, text: String) {
        if self.transport_up {
            self.out.push_back(text);
        }
    }

    fn new_call_id(&mut self) -> CallId {
        let id = CallId(self.next_call);
        self.next_call += 1;
        id
    }

    fn on_request(&mut self, now: Instant, request: Request) {
        match request.method {
            Method::Invite if request.to().and_then(|t| t.tag().map(str::to_owned)).is_some() => {
                self.on_reinvite(now, request)
            }
            Method::Invite => self.on_new_invite(now, request),
            Method::Ack => self.on_ack(now, request),
            Method::Bye => self.on_bye(request),
            Method::Cancel => self.on_cancel(request),
            Method::Options => {
                let mut response = self.response(&request, 200, None);
                self.add_capabilities(&mut response.headers);
                response.headers.push("Accept", "application/sdp");
                self.transmit(response.to_string());
            }
            Method::Info | Method::Update => {
                let code = match self.find_dialog(&request) {
                    None => 481,
                    // We do not take offers in UPDATE (not in our Allow); bare refreshes are fine.
                    Some(_) if !request.body.is_empty() => 488,
                    Some(_) => 200,
                };
                self.reply(&request, code);
            }
            // Unsolicited NOTIFY (message waiting) from Asterisk: acknowledge and ignore.
            Method::Notify => self.reply(&request, 200),
            Method::Register | Method::Subscribe | Method::Message | Method::Prack | Method::Refer => {
                let mut response = self.response(&request, 405, None);
                response.headers.push("Allow", build::ALLOW);
                self.transmit(response.to_string());
            }
            Method::Other(_) => self.reply(&request, 501),
        }
    }

    fn on_response(&mut self, now: Instant, response: msg::Response) {
        let (Some(via), Some(cseq)) = (response.top_via(), response.cseq()) else {
            return;
        };
        let branch = via.branch().unwrap_or_default();
        let found = self
            .txs
            .iter()
            .position(|tx| tx.branch == branch && tx.request.method == cseq.method);
        let Some(index) = found else {
            if cseq.method == Method::Invite && (200..300).contains(&response.code) {
                self.on_stray_2xx(now, &response, cseq.seq);
            }
            return;
        };
        if response.code >= 200 {
            let tx = self.txs.remove(index);
            self.on_final_response(now, tx, response);
        } else if let Some(tx) = self.txs.get_mut(index) {
            if matches!(tx.purpose, Purpose::Invite(_) | Purpose::ReInvite(_)) {
                tx.timeout = None;
            }
            let purpose = tx.purpose;
            if let Purpose::Invite(call) = purpose {
                self.on_invite_provisional(now, call, &response);
            }
        }
    }

    fn on_final_response(&mut self, now: Instant, tx: ClientTx, response: msg::Response) {
        match tx.purpose {
            Purpose::Register | Purpose::Unregister => self.on_register_response(now, tx, &response),
            Purpose::Invite(call) => self.on_invite_final(now, call, tx, &response),
            Purpose::ReInvite(call) => self.on_reinvite_final(now, call, tx, &response),
            Purpose::Bye | Purpose::Cancel => {
                if matches!(response.code, 401 | 407) && tx.purpose == Purpose::Bye {
                    self.retry_with_auth(now, &tx, &response);
                }
            }
        }
    }

    fn on_transaction_timeout(&mut self, now: Instant, tx: ClientTx) {
        match tx.purpose {
            Purpose::Register => {
                self.registration_failed(now, 408, "Request Timeout");
            }
            Purpose::Unregister => self.set_registration(RegistrationState::Unregistered),
            Purpose::Invite(call) => {
                let reason = match self.calls.get(&call) {
                    Some(c) if c.hangup_requested => EndReason::Cancelled,
                    _ => EndReason::Timeout,
                };
                self.end_call(call, Some(reason));
            }
            Purpose::ReInvite(call) => {
                self.emit(UaEvent::ReInviteFailed {
                    call,
                    code: 408,
                    reason: "Request Timeout".to_owned(),
                });
                // RFC 3261 §14.1: a timed-out re-INVITE ends the dialog.
                self.send_bye(now, call);
                self.end_call(call, Some(EndReason::Timeout));
            }
            Purpose::Bye | Purpose::Cancel => {}
        }
    }

    /// Removes a call and its re-INVITE transactions, emitting `Ended` unless it was already
    /// reported (a local hangup waiting for the ACK before its BYE).
    fn end_call(&mut self, call: CallId, reason: Option<EndReason>) {
        let Some(removed) = self.calls.remove(&call) else {
            return;
        };
        self.txs.retain(|tx| tx.purpose != Purpose::ReInvite(call));
        if let (Some(reason), false) = (reason, removed.ended) {
            self.emit(UaEvent::Ended { call, reason });
        }
    }
}
