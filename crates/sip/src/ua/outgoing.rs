//! Calls we place: the INVITE client side (RFC 3261 §13.2, §17.1.1), CANCEL (§9.1) and our
//! re-INVITEs (§14.1).

use std::time::Instant;

use super::build::target_uri;
use super::call::{Call, CallState, Dialog};
use super::{CallId, ClientTx, EndReason, Purpose, UaEvent, UserAgent, TIMER_B};
use crate::msg::{HeaderAccess, Method, NameAddr, Request, Response};

impl UserAgent {
    /// Places a call. `target` is an extension (`2002`), a phone number, or a `sip:` URI.
    /// Always returns a handle; failures arrive as [`UaEvent::Ended`].
    pub fn invite(&mut self, now: Instant, target: &str, sdp_offer: String) -> CallId {
        let id = self.new_call_id();
        let Some(uri) = target_uri(target, &self.cfg.domain) else {
            let reason = EndReason::Failed {
                code: 484,
                reason: "Address Incomplete".to_owned(),
            };
            self.emit(UaEvent::Ended { call: id, reason });
            return id;
        };
        if !self.transport_up {
            self.emit(UaEvent::Ended {
                call: id,
                reason: EndReason::TransportLost,
            });
            return id;
        }
        let tag = self.token(10);
        let d = Dialog {
            call_id: self.token(24),
            local: self.aor().with_tag(&tag),
            remote: NameAddr::new(uri.clone()),
            local_cseq: 1,
            remote_cseq: 0,
            route_set: Vec::new(),
            remote_target: uri,
        };
        let mut request = self.dialog_request(&d, Method::Invite, 1);
        request.headers.push("Contact", self.contact());
        self.add_capabilities(&mut request.headers);
        self.add_sdp(&mut request.headers, &sdp_offer);
        request.body = sdp_offer;
        self.calls.insert(id, Call::new(true, CallState::Calling, d));
        self.send_request(now, request, Purpose::Invite(id), 0);
        id
    }

    /// CANCEL for our pending INVITE (RFC 3261 §9.1): same branch, Request-URI, From, To, Route.
    pub(super) fn send_cancel(&mut self, now: Instant, call: CallId) {
        let Some(tx) = self.txs.iter_mut().find(|tx| tx.purpose == Purpose::Invite(call)) else {
            return;
        };
        // No final response within 64·T1 after CANCEL: give up (RFC 3261 §9.1).
        tx.timeout = now.checked_add(TIMER_B);
        let invite = tx.request.clone();
        let branch = tx.branch.clone();
        let mut cancel = Request::new(Method::Cancel, invite.uri.clone());
        cancel.headers.push("Max-Forwards", "70");
        for route in invite.headers.get_all("Route") {
            cancel.headers.push("Route", route);
        }
        for name in ["From", "To", "Call-ID"] {
            cancel.headers.push(name, invite.headers.get(name).unwrap_or_default());
        }
        let seq = invite.cseq().map_or(0, |c| c.seq);
        cancel.headers.push("CSeq", format!("{seq} CANCEL"));
        cancel.headers.push("User-Agent", self.cfg.user_agent.as_str());
        self.send_with_branch(now, cancel, Purpose::Cancel, 0, branch);
        if let Some(c) = self.calls.get_mut(&call) {
            c.cancel_sent = true;
        }
    }

    pub(super) fn on_invite_provisional(&mut self, now: Instant, call: CallId, response: &Response) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        c.got_provisional = true;
        if c.hangup_requested && !c.cancel_sent {
            self.send_cancel(now, call);
            return;
        }
        if response.code == 100 || c.hangup_requested {
            return;
        }
        c.state = CallState::Early;
        let mut events = Vec::new();
        if !c.ringing_reported {
            c.ringing_reported = true;
            events.push(UaEvent::Ringing { call });
        }
        if !response.body.is_empty() && c.early_sdp.is_none() {
            c.early_sdp = Some(response.body.clone());
            events.push(UaEvent::EarlyMedia {
                call,
                sdp: response.body.clone(),
            });
        }
        events.into_iter().for_each(|e| self.emit(e));
    }

    pub(super) fn on_invite_final(&mut self, now: Instant, call: CallId, tx: ClientTx, response: &Response) {
        if (200..300).contains(&response.code) {
            self.on_invite_2xx(now, call, &tx, response);
            return;
        }
        self.ack_non_2xx(&tx.request, response);
        let hangup_requested = self.calls.get(&call).is_some_and(|c| c.hangup_requested);
        if !hangup_requested && self.retry_with_auth(now, &tx, response).is_some() {
            return;
        }
        let (code, reason) = (response.code, response.reason.clone());
        let end = match code {
            _ if hangup_requested => EndReason::Cancelled,
            487 => EndReason::Cancelled,
            486 | 600 | 603 => EndReason::Rejected { code, reason },
            _ => EndReason::Failed { code, reason },
        };
        self.end_call(call, Some(end));
    }

    pub(super) fn on_invite_2xx(&mut self, now: Instant, call: CallId, tx: &ClientTx, response: &Response) {
        let Some(c) = self.calls.get_mut(&call) else { return };
        if let Some(tag) = response.to().and_then(|t| t.tag().map(str::to_owned)) {
            c.d.remote = c.d.remote.with_tag(&tag);
        }
        // RFC 3261 §12.1.2: the UAC's route set is the Record-Route list reversed.
        c.d.route_set = response
            .headers
            .list("Record-Route")
            .into_iter()
            .rev()
            .map(str::to_owned)
            .collect();
        if let Some(contact) = response.contact() {
            c.d.remote_target = contact.uri;
        }
        c.state = CallState::Confirmed;
        let seq = response.cseq().map_or(0, |s| s.seq);
        let d = c.d.clone();
        let hangup_requested = c.hangup_requested;
        let answer = if response.body.is_empty() {
            c.early_sdp.clone().unwrap_or_default()
        } else {
            response.body.clone()
        };
        let mut ack = self.dialog_request(&d, Method::Ack, seq);
        // RFC 3261 §13.2.2.4: the ACK carries the INVITE's credentials.
        for name in ["Authorization", "Proxy-Authorization"] {
            for value in tx.request.headers.get_all(name) {
                ack.headers.push(name, value);
            }
        }
        self.send_2xx_ack(now, ack, &d.call_id, seq);
        if hangup_requested {
            // The 200 crossed our CANCEL: the call was answered, so end it with BYE.
            self.send_bye(now, call);
            self.end_call(call, Some(EndReason::Cancelled));
        } else {
            self.emit(UaEvent::Answered {
                call,
                sdp_answer: answer,
            });
        }
    }

    pub(super) fn on_reinvite_final(&mut self, now: Instant, call: CallId, tx: ClientTx, response: &Response) {
        let code = response.code;
        if (200..300).contains(&code) {
            let Some(c) = self.calls.get_mut(&call) else { return };
            if let Some(contact) = response.contact() {
                c.d.remote_target = contact.uri;
            }
            let d = c.d.clone();
            let seq = response.cseq().map_or(0, |s| s.seq);
            let ack = self.dialog_request(&d, Method::Ack, seq);
            self.send_2xx_ack(now, ack, &d.call_id, seq);
            self.emit(UaEvent::ReInviteAnswered {
                call,
                sdp_answer: response.body.clone(),
            });
            return;
        }
        self.ack_non_2xx(&tx.request, response);
        if self.retry_with_auth(now, &tx, response).is_some() {
            return;
        }
        let reason = response.reason.clone();
        self.emit(UaEvent::ReInviteFailed {
            call,
            code,
            reason: reason.clone(),
        });
        // RFC 3261 §14.1: 481 and 408 mean the dialog is gone.
        if matches!(code, 408 | 481) {
            if code == 408 {
                self.send_bye(now, call);
            }
            self.end_call(call, Some(EndReason::Failed { code, reason }));
        }
    }
}
