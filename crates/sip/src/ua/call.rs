//! Calls: dialog state and the call API (answer, reject, hangup, re-INVITE). The message
//! handling lives in `outgoing` (we are UAC) and `incoming` (we are UAS).

use std::time::{Duration, Instant};

use super::{CallId, EndReason, Purpose, UaError, UaEvent, UserAgent};
use crate::msg::{HeaderAccess, Method, NameAddr, Request, Uri};

/// Dialog state (RFC 3261 §12). Tags live in the name-addrs' `tag` parameters.
#[derive(Debug, Clone)]
pub(super) struct Dialog {
    pub(super) call_id: String,
    /// Our side (From of our requests), with our tag.
    pub(super) local: NameAddr,
    /// Their side, with their tag once known.
    pub(super) remote: NameAddr,
    pub(super) local_cseq: u32,
    pub(super) remote_cseq: u32,
    /// Route set, in the order to put in Route headers.
    pub(super) route_set: Vec<String>,
    pub(super) remote_target: Uri,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CallState {
    /// Outgoing: INVITE sent, no provisional yet.
    Calling,
    /// Outgoing: a provisional arrived.
    Early,
    /// Incoming: 180 sent, waiting for `answer`.
    Ringing,
    /// Incoming: 200 sent, waiting for the ACK.
    Answered,
    /// Established.
    Confirmed,
}

/// A 2xx we retransmit until its ACK (RFC 3261 §13.3.1.4).
#[derive(Debug, Clone)]
pub(super) struct Retransmit {
    pub(super) text: String,
    pub(super) cseq: u32,
    pub(super) next: Instant,
    pub(super) interval: Duration,
    pub(super) give_up: Instant,
}

#[derive(Debug)]
pub(super) struct Call {
    pub(super) outgoing: bool,
    pub(super) state: CallState,
    pub(super) d: Dialog,
    /// Outgoing: the user hung up before a final response (CANCEL sent or waiting for a 1xx).
    pub(super) hangup_requested: bool,
    pub(super) cancel_sent: bool,
    pub(super) got_provisional: bool,
    pub(super) ringing_reported: bool,
    pub(super) early_sdp: Option<String>,
    /// Incoming: the initial INVITE, to answer it.
    pub(super) server_invite: Option<Request>,
    /// An incoming re-INVITE the driver has not answered yet.
    pub(super) remote_reinvite: Option<Request>,
    pub(super) retransmit: Option<Retransmit>,
    /// `Ended` already emitted (local hangup before the ACK): BYE once the ACK arrives.
    pub(super) ended: bool,
}

impl Call {
    pub(super) fn new(outgoing: bool, state: CallState, d: Dialog) -> Self {
        Self {
            outgoing,
            state,
            d,
            hangup_requested: false,
            cancel_sent: false,
            got_provisional: false,
            ringing_reported: false,
            early_sdp: None,
            server_invite: None,
            remote_reinvite: None,
            retransmit: None,
            ended: false,
        }
    }

    pub(super) fn is_unanswered_incoming(&self) -> bool {
        !self.outgoing && self.state == CallState::Ringing
    }

    pub(super) fn next_timer(&self) -> Option<Instant> {
        self.retransmit.as_ref().map(|r| r.next.min(r.give_up))
    }

    pub(super) fn is_live(&self) -> bool {
        !self.ended && !self.hangup_requested
    }
}

pub(super) fn branch_of(request: &Request) -> Option<String> {
    request.top_via().and_then(|v| v.branch().map(str::to_owned))
}

impl UserAgent {
    pub(super) fn live_call(&mut self, call: CallId) -> Result<&mut Call, UaError> {
        self.calls
            .get_mut(&call)
            .filter(|c| c.is_live())
            .ok_or(UaError::UnknownCall(call))
    }

    /// The call whose dialog `request` belongs to (Call-ID and both tags, RFC 3261 §12.2.2).
    pub(super) fn find_dialog(&self, request: &Request) -> Option<CallId> {
        let call_id = request.call_id()?;
        let to = request.to()?;
        let from = request.from()?;
        self.calls
            .iter()
            .find(|(_, c)| c.d.call_id == call_id && c.d.local.tag() == to.tag() && c.d.remote.tag() == from.tag())
            .map(|(id, _)| *id)
    }

    /// An in-dialog request (RFC 3261 §12.2.1.1): remote target, route set, tags, Call-ID.
    pub(super) fn dialog_request(&self, d: &Dialog, method: Method, cseq: u32) -> Request {
        let mut request = self.base_request(
            method,
            d.remote_target.clone(),
            &d.local.to_string(),
            &d.remote.to_string(),
            &d.call_id,
            cseq,
        );
        for route in &d.route_set {
            request.headers.push("Route", route.as_str());
        }
        request
    }

    pub(super) fn add_sdp(&self, request_headers: &mut crate::msg::Headers, body: &str) {
        if !body.is_empty() {
            request_headers.push("Content-Type", "application/sdp");
        }
    }

    /// Answers a ringing incoming call with our SDP (200 OK, retransmitted until the ACK).
    pub fn answer(&mut self, now: Instant, call: CallId, sdp_answer: String) -> Result<(), UaError> {
        let c = self.live_call(call)?;
        if !c.is_unanswered_incoming() {
            return Err(UaError::InvalidState { call, action: "answer" });
        }
        let invite = c
            .server_invite
            .clone()
            .ok_or(UaError::InvalidState { call, action: "answer" })?;
        let response = self.invite_response(call, &invite, 200, sdp_answer);
        let seq = invite.cseq().map_or(0, |s| s.seq);
        self.start_2xx(now, call, response, seq);
        if let Some(c) = self.calls.get_mut(&call) {
            c.state = CallState::Answered;
        }
        Ok(())
    }

    /// Declines a ringing incoming call with `code` (486 Busy Here, 603 Decline, any 4xx–6xx).
    pub fn reject(&mut self, now: Instant, call: CallId, code: u16) -> Result<(), UaError> {
        let _ = now;
        let c = self.live_call(call)?;
        if !c.is_unanswered_incoming() {
            return Err(UaError::InvalidState { call, action: "reject" });
        }
        let invite = c
            .server_invite
            .clone()
            .ok_or(UaError::InvalidState { call, action: "reject" })?;
        let code = if (400..700).contains(&code) { code } else { 603 };
        let response = self.invite_response(call, &invite, code, String::new());
        self.transmit(response.to_string());
        self.end_call(call, Some(EndReason::LocalHangup));
        Ok(())
    }

    /// Ends a call the right way for its state: CANCEL (outgoing, before a final response; sent
    /// once a provisional has arrived, RFC 3261 §9.1), 486 (incoming, unanswered), BYE (answered).
    /// `Ended` follows: at once for BYE and 486, on the 487 for CANCEL.
    pub fn hangup(&mut self, now: Instant, call: CallId) -> Result<(), UaError> {
        let c = self.live_call(call)?;
        match c.state {
            CallState::Calling | CallState::Early => {
                c.hangup_requested = true;
                if c.got_provisional {
                    self.send_cancel(now, call);
                }
            }
            CallState::Ringing => {
                let invite = c.server_invite.clone().ok_or(UaError::InvalidState {
                    call,
                    action: "hang up",
                })?;
                let response = self.invite_response(call, &invite, 486, String::new());
                self.transmit(response.to_string());
                self.end_call(call, Some(EndReason::LocalHangup));
            }
            CallState::Answered => {
                // RFC 3261 §15: no BYE before the ACK arrives (or the 2xx times out).
                c.ended = true;
                self.emit(UaEvent::Ended {
                    call,
                    reason: EndReason::LocalHangup,
                });
            }
            CallState::Confirmed => {
                self.send_bye(now, call);
                self.end_call(call, Some(EndReason::LocalHangup));
            }
        }
        Ok(())
    }

    /// Sends a re-INVITE with a new offer (hold: `a=sendonly`, unhold: `a=sendrecv`; also after a
    /// reconnect, to refresh our Contact). The result is `ReInviteAnswered` or `ReInviteFailed`.
    pub fn reinvite(&mut self, now: Instant, call: CallId, sdp_offer: String) -> Result<(), UaError> {
        if !self.transport_up {
            return Err(UaError::TransportDown);
        }
        let pending = self.txs.iter().any(|tx| tx.purpose == Purpose::ReInvite(call));
        let c = self.live_call(call)?;
        if c.state != CallState::Confirmed || pending || c.remote_reinvite.is_some() {
            return Err(UaError::InvalidState {
                call,
                action: "re-INVITE",
            });
        }
        c.d.local_cseq = c.d.local_cseq.wrapping_add(1);
        let d = c.d.clone();
        let mut request = self.dialog_request(&d, Method::Invite, d.local_cseq);
        request.headers.push("Contact", self.contact());
        self.add_capabilities(&mut request.headers);
        self.add_sdp(&mut request.headers, &sdp_offer);
        request.body = sdp_offer;
        self.send_request(now, request, Purpose::ReInvite(call), 0);
        Ok(())
    }

    /// Accepts the peer's pending re-INVITE with our SDP answer.
    pub fn answer_reinvite(&mut self, now: Instant, call: CallId, sdp_answer: String) -> Result<(), UaError> {
        let c = self.live_call(call)?;
        let request = c.remote_reinvite.take().ok_or(UaError::InvalidState {
            call,
            action: "answer re-INVITE of",
        })?;
        let mut response = self.response(&request, 200, None);
        response.headers.push("Contact", self.contact());
        self.add_capabilities(&mut response.headers);
        self.add_sdp(&mut response.headers, &sdp_answer);
        response.body = sdp_answer;
        let seq = request.cseq().map_or(0, |s| s.seq);
        self.start_2xx(now, call, response, seq);
        Ok(())
    }

    /// Refuses the peer's pending re-INVITE (e.g. 488 Not Acceptable Here); the old session stays.
    pub fn reject_reinvite(&mut self, now: Instant, call: CallId, code: u16) -> Result<(), UaError> {
        let _ = now;
        let c = self.live_call(call)?;
        let request = c.remote_reinvite.take().ok_or(UaError::InvalidState {
            call,
            action: "reject re-INVITE of",
        })?;
        let code = if (400..700).contains(&code) { code } else { 488 };
        self.reply(&request, code);
        Ok(())
    }

    pub(super) fn send_bye(&mut self, now: Instant, call: CallId) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        c.d.local_cseq = c.d.local_cseq.wrapping_add(1);
        let d = c.d.clone();
        let request = self.dialog_request(&d, Method::Bye, d.local_cseq);
        self.send_request(now, request, Purpose::Bye, 0);
    }
}
