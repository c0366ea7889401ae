//! Calls we receive: the INVITE server side (RFC 3261 §13.3, §17.2.1), CANCEL and BYE from
//! the peer, its re-INVITEs (§14.2), and the 2xx retransmission timer (§13.3.1.4).

use std::time::Instant;

use super::call::{branch_of, Call, CallState, Dialog, Retransmit};
use super::{CallId, EndReason, Purpose, UaEvent, UserAgent, T1, T2, TIMER_B};
use crate::msg::{HeaderAccess, NameAddr, Request, Response};

impl UserAgent {
    /// A response to the initial incoming INVITE: our tag, Record-Route copied (RFC 3261
    /// §12.1.1), Contact on 1xx/2xx.
    pub(super) fn invite_response(&mut self, call: CallId, invite: &Request, code: u16, sdp: String) -> Response {
        let tag = self.calls.get(&call).and_then(|c| c.d.local.tag().map(str::to_owned));
        let mut response = self.response(invite, code, tag.as_deref());
        if code < 300 {
            for rr in invite.headers.get_all("Record-Route") {
                response.headers.push("Record-Route", rr);
            }
            response.headers.push("Contact", self.contact());
        }
        if (200..300).contains(&code) {
            self.add_capabilities(&mut response.headers);
        }
        self.add_sdp(&mut response.headers, &sdp);
        response.body = sdp;
        response
    }

    pub(super) fn start_2xx(&mut self, now: Instant, call: CallId, response: Response, cseq: u32) {
        let text = response.to_string();
        self.transmit(text.clone());
        if let Some(c) = self.calls.get_mut(&call) {
            c.retransmit = Some(Retransmit {
                text,
                cseq,
                next: now.checked_add(T1).unwrap_or(now),
                interval: T1,
                give_up: now.checked_add(TIMER_B).unwrap_or(now),
            });
        }
    }

    pub(super) fn on_new_invite(&mut self, now: Instant, request: Request) {
        let _ = now;
        let branch = branch_of(&request);
        // A second copy of an INVITE we are already handling: the first one's responses stand.
        if self
            .calls
            .values()
            .any(|c| c.server_invite.as_ref().is_some_and(|r| branch_of(r) == branch))
        {
            return;
        }
        let (Some(from), Some(to), Some(contact)) = (request.from(), request.to(), request.contact()) else {
            self.reply(&request, 400);
            return;
        };
        if let Some(require) = request.headers.get("Require") {
            let mut response = self.response(&request, 420, None);
            response.headers.push("Unsupported", require);
            self.transmit(response.to_string());
            return;
        }
        let content_type = request.headers.get("Content-Type").unwrap_or("application/sdp");
        if !request.body.is_empty() && !content_type.trim().to_ascii_lowercase().starts_with("application/sdp") {
            let mut response = self.response(&request, 415, None);
            response.headers.push("Accept", "application/sdp");
            self.transmit(response.to_string());
            return;
        }
        let call_id = request.call_id().unwrap_or_default().to_owned();
        // A merged request: same transaction arriving by another path (RFC 3261 §8.2.2.2).
        let remote_tag = from.tag();
        if self
            .calls
            .values()
            .any(|c| !c.outgoing && c.d.call_id == call_id && c.d.remote.tag() == remote_tag)
        {
            self.reply(&request, 482);
            return;
        }
        let tag = self.token(10);
        let d = Dialog {
            call_id,
            local: to.with_tag(&tag),
            remote: from.clone(),
            local_cseq: 0,
            remote_cseq: request.cseq().map_or(0, |c| c.seq),
            route_set: request
                .headers
                .list("Record-Route")
                .into_iter()
                .map(str::to_owned)
                .collect(),
            remote_target: contact.uri,
        };
        let id = self.new_call_id();
        let mut c = Call::new(false, CallState::Ringing, d);
        c.server_invite = Some(request.clone());
        self.calls.insert(id, c);
        let ringing = self.invite_response(id, &request, 180, String::new());
        self.transmit(ringing.to_string());

        let identity = request
            .headers
            .list("P-Asserted-Identity")
            .into_iter()
            .find_map(|v| NameAddr::parse(v).ok())
            .unwrap_or_else(|| from.clone());
        self.emit(UaEvent::IncomingCall {
            call: id,
            from_user: identity.uri.user_or_host().to_owned(),
            from_display: identity
                .display
                .clone()
                .or(from.display)
                .filter(|d| !d.trim().is_empty()),
            sdp_offer: (!request.body.is_empty()).then(|| request.body.clone()),
        });
    }

    pub(super) fn on_reinvite(&mut self, now: Instant, request: Request) {
        let _ = now;
        let Some(id) = self.find_dialog(&request) else {
            self.reply(&request, 481);
            return;
        };
        let local_pending = self.txs.iter().any(|tx| tx.purpose == Purpose::ReInvite(id));
        let Some(c) = self.calls.get_mut(&id) else { return };
        let seq = request.cseq().map_or(0, |s| s.seq);
        // RFC 3261 §14.2: glare → 491; a re-INVITE while another is open → 500 + Retry-After.
        let refuse = if local_pending || c.state != CallState::Confirmed || c.ended {
            Some(491)
        } else if c.remote_reinvite.is_some() || c.retransmit.is_some() || seq <= c.d.remote_cseq {
            Some(500)
        } else {
            None
        };
        if let Some(code) = refuse {
            let mut response = self.response(&request, code, None);
            if code == 500 {
                response.headers.push("Retry-After", "1");
            }
            self.transmit(response.to_string());
            return;
        }
        c.d.remote_cseq = seq;
        if let Some(contact) = request.contact() {
            c.d.remote_target = contact.uri;
        }
        c.remote_reinvite = Some(request.clone());
        self.emit(UaEvent::ReInvite {
            call: id,
            sdp_offer: request.body,
        });
    }

    pub(super) fn on_ack(&mut self, now: Instant, request: Request) {
        let Some(id) = self.find_dialog(&request) else { return };
        let seq = request.cseq().map_or(0, |s| s.seq);
        let now_ended = {
            let Some(c) = self.calls.get_mut(&id) else { return };
            if c.retransmit.as_ref().is_none_or(|r| r.cseq != seq) {
                return;
            }
            c.retransmit = None;
            if c.state != CallState::Answered {
                return;
            }
            c.state = CallState::Confirmed;
            c.ended
        };
        if now_ended {
            self.send_bye(now, id);
            self.end_call(id, None);
        } else {
            self.emit(UaEvent::Confirmed { call: id });
        }
    }

    pub(super) fn on_bye(&mut self, request: Request) {
        let Some(id) = self.find_dialog(&request) else {
            self.reply(&request, 481);
            return;
        };
        self.reply(&request, 200);
        let invite = self
            .calls
            .get(&id)
            .filter(|c| c.is_unanswered_incoming())
            .and_then(|c| c.server_invite.clone());
        if let Some(invite) = invite {
            let response = self.invite_response(id, &invite, 487, String::new());
            self.transmit(response.to_string());
        }
        self.end_call(id, Some(EndReason::RemoteHangup));
    }

    pub(super) fn on_cancel(&mut self, request: Request) {
        let branch = branch_of(&request);
        let call_id = request.call_id().unwrap_or_default();
        let found = self.calls.iter().find(|(_, c)| {
            !c.outgoing && c.d.call_id == call_id && c.server_invite.as_ref().is_some_and(|r| branch_of(r) == branch)
        });
        let Some((&id, c)) = found else {
            self.reply(&request, 481);
            return;
        };
        let tag = c.d.local.tag().map(str::to_owned);
        let invite = c.server_invite.clone().filter(|_| c.is_unanswered_incoming());
        let response = self.response(&request, 200, tag.as_deref());
        self.transmit(response.to_string());
        if let Some(invite) = invite {
            let terminated = self.invite_response(id, &invite, 487, String::new());
            self.transmit(terminated.to_string());
            self.end_call(id, Some(EndReason::Cancelled));
        }
    }

    /// 2xx retransmission and give-up timers.
    pub(super) fn call_timers(&mut self, now: Instant) {
        let mut give_up = Vec::new();
        let mut resend = Vec::new();
        for (id, c) in &mut self.calls {
            let Some(r) = c.retransmit.as_mut() else { continue };
            if r.give_up <= now {
                give_up.push(*id);
            } else if r.next <= now {
                r.interval = (r.interval * 2).min(T2);
                r.next = now.checked_add(r.interval).unwrap_or(now);
                resend.push(r.text.clone());
            }
        }
        resend.into_iter().for_each(|text| self.transmit(text));
        for id in give_up {
            // RFC 3261 §13.3.1.4: no ACK within 64·T1 → end the session with BYE.
            if let Some(c) = self.calls.get_mut(&id) {
                c.retransmit = None;
            }
            self.send_bye(now, id);
            self.end_call(id, Some(EndReason::Timeout));
        }
    }

    /// After the transport is lost no ACK can arrive for our 2xx: treat answered calls as
    /// confirmed (the peer normally did ACK; media runs outside the WebSocket) rather than time
    /// them out, and drop calls already hung up, whose BYE cannot be sent anyway.
    pub(super) fn settle_answered_calls(&mut self) {
        let mut confirmed = Vec::new();
        let mut dropped = Vec::new();
        for (id, c) in &mut self.calls {
            c.retransmit = None;
            if c.state == CallState::Answered {
                c.state = CallState::Confirmed;
                if c.ended {
                    dropped.push(*id)
                } else {
                    confirmed.push(*id)
                }
            }
        }
        dropped.into_iter().for_each(|id| self.end_call(id, None));
        confirmed
            .into_iter()
            .for_each(|call| self.emit(UaEvent::Confirmed { call }));
    }
}
