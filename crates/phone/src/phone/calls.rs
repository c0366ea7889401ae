//! The phone's call logic, without IO and without a clock: the user agent, the calls in
//! progress (their states, what they are about, a hold waiting for the far end, how they end),
//! the line, and the record of every finished call. Every input carries the time its driver
//! read ([`Now`]); what needs media (offers, answers, closing a call's media) comes out as an
//! [`Effect`] for the driver to carry out and report back, as SIP text comes out of
//! [`Calls::poll_transmit`].

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dialog_sip::ua::{CallId as UaCallId, EndReason, RegistrationState, UaEvent, UserAgent};
use tokio::sync::oneshot;
use uuid::{ContextV7, Timestamp, Uuid};

use super::{
    CallContext, CallInfo, CallRecord, CallState, Direction, Identify, LineState, PhoneConfig, PhoneError, PhoneStatus,
};

/// A moment as the driver read it: the monotonic clock for durations and timers, the wall
/// clock for what people read (when a call started, was answered, ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Now {
    pub(crate) instant: Instant,
    pub(crate) wall: SystemTime,
}

/// Where the answer to a hold (or unhold) goes once the far end has answered the re-INVITE.
pub(crate) type HoldReply = oneshot::Sender<Result<(), PhoneError>>;

/// Work for the driver: media steps, and the end of a call.
#[derive(Debug)]
pub(crate) enum Effect {
    /// The far end answered our INVITE: apply its SDP to the call's media, then report with
    /// [`Calls::answer_applied`].
    ApplyAnswer { id: Uuid, sdp: String },
    /// The far end answered our re-INVITE: apply its SDP, then report with
    /// [`Calls::reinvite_answer_applied`].
    ApplyReInviteAnswer { id: Uuid, sdp: String },
    /// The far end sent a re-INVITE with this offer: answer it with the call's media, then
    /// report with [`Calls::reinvite_offer_answered`].
    AnswerReInvite { id: Uuid, offer: String },
    /// The connection is back: the call's dialog must follow it, with a fresh offer (on hold
    /// or not) reported with [`Calls::refresh`].
    Refresh { id: Uuid, held: bool },
    /// The call is over: close its media, add the recording and the setup time (first audio
    /// since `setup_from`) to the record, and hand it over.
    Ended {
        record: Box<CallRecord>,
        setup_from: Instant,
    },
}

struct Slot {
    ua: UaCallId,
    /// Its SIP Call-ID, kept from when it was placed or came in.
    sip_call_id: Option<String>,
    info: CallInfo,
    /// The offer of an incoming INVITE, answered when the operator answers.
    offer: Option<String>,
    /// INVITE sent or the answer given.
    setup_from: Instant,
    end_reason: Option<String>,
    /// The media was last told to hold (it sends no audio then).
    local_hold: bool,
    /// A hold or unhold waiting for the far end's answer to our re-INVITE.
    pending_hold: Option<(bool, HoldReply)>,
}

/// The call logic: see the module's documentation.
pub(crate) struct Calls {
    ua: UserAgent,
    extension: String,
    identify: Option<Identify>,
    slots: HashMap<Uuid, Slot>,
    by_ua: HashMap<UaCallId, Uuid>,
    /// Oldest first.
    order: Vec<Uuid>,
    status: PhoneStatus,
    status_changed: bool,
    effects: VecDeque<Effect>,
    /// Keeps the calls' ids in order within one millisecond.
    ids: ContextV7,
}

impl Calls {
    pub(crate) fn new(config: &PhoneConfig, now: Now) -> Self {
        Calls {
            ua: UserAgent::new(config.ua_config(), now.instant),
            extension: config.extension.clone(),
            identify: config.identify.clone(),
            slots: HashMap::new(),
            by_ua: HashMap::new(),
            order: Vec::new(),
            status: PhoneStatus::starting(config),
            status_changed: false,
            effects: VecDeque::new(),
            ids: ContextV7::new(),
        }
    }

    /// A new call's id: a UUIDv7 of the moment given, so ids sort as the calls began.
    fn new_id(&self, now: Now) -> Uuid {
        let since = now.wall.duration_since(UNIX_EPOCH).unwrap_or_default();
        Uuid::new_v7(Timestamp::from_unix(&self.ids, since.as_secs(), since.subsec_nanos()))
    }

    // ------------------------------------------------------------------ output

    /// The phone's state now.
    #[cfg(test)]
    pub(crate) fn status(&self) -> &PhoneStatus {
        &self.status
    }

    /// The state, if it changed since the last call.
    pub(crate) fn take_status(&mut self) -> Option<PhoneStatus> {
        std::mem::take(&mut self.status_changed).then(|| self.status.clone())
    }

    /// The next SIP message to send.
    pub(crate) fn poll_transmit(&mut self) -> Option<String> {
        self.ua.poll_transmit()
    }

    /// The next piece of work for the driver.
    pub(crate) fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next run.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.ua.poll_timeout()
    }

    // ------------------------------------------------------------------ input: the network

    /// The WebSocket is open (again): register, and move every call in progress onto it.
    pub(crate) fn transport_up(&mut self, now: Now) {
        self.ua.transport_up(now.instant);
        self.drain(now);
        // After a reconnection the PBX reaches us over a new connection: every call in progress
        // sends a re-INVITE so that its dialog (and media) follow (otherwise audio can stay
        // one-way and the far end's BYE cannot reach us).
        for id in &self.order {
            if let Some(slot) = self.slots.get(id) {
                if matches!(slot.info.state, CallState::Talking | CallState::Held) {
                    self.effects.push_back(Effect::Refresh {
                        id: *id,
                        held: slot.info.state == CallState::Held,
                    });
                }
            }
        }
    }

    /// The WebSocket dropped; it is tried again in `retry_in`.
    pub(crate) fn transport_down(&mut self, now: Now, reason: &str, retry_in: Duration) {
        self.ua.transport_down(now.instant);
        self.drain(now);
        self.set_line(
            LineState::Connecting,
            format!("{reason}; повтор через {} с", retry_in.as_secs().max(1)),
        );
    }

    /// The connection is closed for good.
    pub(crate) fn transport_closed(&mut self) {
        self.set_line(LineState::Off, "соединение закрыто".into());
    }

    /// One WebSocket message.
    pub(crate) fn handle_message(&mut self, now: Now, data: &[u8]) {
        self.ua.handle_message(now.instant, data);
        self.drain(now);
    }

    /// Timers due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Now) {
        self.ua.handle_timeout(now.instant);
        self.drain(now);
    }

    // ------------------------------------------------------------------ input: the operator

    /// Where a call to `number` goes, if it may be placed now.
    pub(crate) fn dial_target(&self, number: &str) -> Result<String, PhoneError> {
        let target = if number.starts_with("sip:") {
            number.to_owned()
        } else {
            dialog_sip::number::dialable(number).ok_or(PhoneError::BadNumber)?
        };
        if !matches!(self.ua.registration(), RegistrationState::Registered { .. }) {
            return Err(PhoneError::NotRegistered);
        }
        Ok(target)
    }

    /// Sends the INVITE of a call to `target` (from [`dial_target`](Self::dial_target)) with
    /// our `offer`; the call is shown from now on, with what it is about.
    pub(crate) fn place(&mut self, now: Now, target: &str, offer: String, context: CallContext) -> Uuid {
        let ua = self.ua.invite(now.instant, target, offer);
        let number = target
            .trim_start_matches("sip:")
            .split('@')
            .next()
            .unwrap_or_default()
            .to_owned();
        let id = self.new_id(now);
        self.insert(Slot {
            ua,
            sip_call_id: None,
            info: CallInfo {
                id,
                direction: Direction::Outgoing,
                number,
                display_name: None,
                state: CallState::Dialing,
                started_at: now.wall,
                answered_at: None,
                context,
            },
            offer: None,
            setup_from: now.instant,
            end_reason: None,
            local_hold: false,
            pending_hold: None,
        });
        self.drain(now);
        id
    }

    /// Names the other party of a call in progress, unless the call already names its
    /// executor; a call that has ended is left as its record went out.
    pub(crate) fn identify(&mut self, id: Uuid, context: CallContext) {
        let Ok(slot) = self.slot(id) else { return };
        let known = &mut slot.info.context;
        if known.executor_id.is_none() && context.executor_id.is_some() {
            known.executor_id = context.executor_id;
            known.executor_name = context.executor_name;
            self.publish_calls();
        }
    }

    /// Links a call to an appeal.
    pub(crate) fn link(&mut self, id: Uuid, appeal_id: Uuid) -> Result<(), PhoneError> {
        self.slot(id)?.info.context.appeal_id = Some(appeal_id);
        self.publish_calls();
        Ok(())
    }

    /// The offer a ringing call is to be answered to. A call without one (late offer, not
    /// supported by WebRTC gateways either) is refused with 488.
    pub(crate) fn offer_to_answer(&mut self, now: Now, id: Uuid) -> Result<String, PhoneError> {
        let slot = self.slot(id)?;
        if slot.info.state != CallState::Ringing {
            return Err(PhoneError::NoSuchCall);
        }
        let (ua, offer) = (slot.ua, slot.offer.clone());
        match offer {
            Some(offer) => Ok(offer),
            None => {
                let _ = self.ua.reject(now.instant, ua, 488);
                self.drain(now);
                Err(PhoneError::Sip(
                    "вызов без описания звука (SDP) не поддерживается".into(),
                ))
            }
        }
    }

    /// A ringing call could not be answered here (`code`: 500 no audio, 488 no common codec).
    pub(crate) fn refuse(&mut self, now: Now, id: Uuid, code: u16) {
        if let Ok(ua) = self.slot(id).map(|s| s.ua) {
            let _ = self.ua.reject(now.instant, ua, code);
            self.drain(now);
        }
    }

    /// Answers a ringing call with our SDP `answer`.
    pub(crate) fn answer(&mut self, now: Now, id: Uuid, answer: String) -> Result<(), PhoneError> {
        let ua = self.slot(id)?.ua;
        let answered = self
            .ua
            .answer(now.instant, ua, answer)
            .map_err(|e| PhoneError::Sip(e.to_string()));
        if answered.is_ok() {
            if let Ok(slot) = self.slot(id) {
                slot.setup_from = now.instant;
                slot.info.state = CallState::Talking;
                slot.info.answered_at = Some(now.wall);
            }
            self.publish_calls();
        }
        self.drain(now);
        answered
    }

    /// Rejects a ringing call: the caller hears busy.
    pub(crate) fn reject(&mut self, now: Now, id: Uuid) -> Result<(), PhoneError> {
        let ua = self.slot(id)?.ua;
        let rejected = self
            .ua
            .reject(now.instant, ua, 486)
            .map_err(|e| PhoneError::Sip(e.to_string()));
        if rejected.is_ok() {
            if let Ok(slot) = self.slot(id) {
                slot.end_reason = Some("отклонён оператором".into());
            }
        }
        self.drain(now);
        rejected
    }

    /// Hangs up: cancels an outgoing call still ringing, ends a call in progress.
    pub(crate) fn hangup(&mut self, now: Now, id: Uuid) -> Result<(), PhoneError> {
        let ua = self.slot(id)?.ua;
        let hung_up = self
            .ua
            .hangup(now.instant, ua)
            .map_err(|e| PhoneError::Sip(e.to_string()));
        self.drain(now);
        hung_up
    }

    /// Whether the call may be put on hold (or taken off it) now.
    pub(crate) fn may_hold(&mut self, id: Uuid) -> Result<(), PhoneError> {
        let slot = self.slot(id)?;
        if !matches!(slot.info.state, CallState::Talking | CallState::Held) {
            return Err(PhoneError::NoSuchCall);
        }
        if slot.pending_hold.is_some() {
            return Err(PhoneError::Sip(
                "удержание ещё не подтверждено АТС: подождите секунду".into(),
            ));
        }
        Ok(())
    }

    /// Sends the re-INVITE of a hold (`on`) or unhold with our `offer` (the media already
    /// holds, or not, since it made it). `reply` is answered when the far end answers.
    pub(crate) fn hold(&mut self, now: Now, id: Uuid, on: bool, offer: String, reply: HoldReply) {
        if let Err(e) = self.may_hold(id) {
            let _ = reply.send(Err(e));
            return;
        }
        let Ok(slot) = self.slot(id) else { return };
        slot.local_hold = on;
        let ua = slot.ua;
        match self.ua.reinvite(now.instant, ua, offer) {
            Ok(()) => {
                if let Ok(slot) = self.slot(id) {
                    slot.pending_hold = Some((on, reply));
                }
            }
            Err(e) => {
                let _ = reply.send(Err(PhoneError::Sip(e.to_string())));
            }
        }
        self.drain(now);
    }

    /// Hangs up every call and removes the registration.
    pub(crate) fn shutdown(&mut self, now: Now) {
        let calls: Vec<UaCallId> = self
            .order
            .iter()
            .filter_map(|id| self.slots.get(id))
            .map(|s| s.ua)
            .collect();
        for ua in calls {
            let _ = self.ua.hangup(now.instant, ua);
        }
        self.ua.unregister(now.instant);
        self.drain(now);
    }

    /// The phone is off: every call left is dropped from the state (its media is the driver's).
    pub(crate) fn switched_off(&mut self) {
        self.order.clear();
        self.slots.clear();
        self.by_ua.clear();
        self.publish_calls();
        self.set_line(LineState::Off, "линия отключена".into());
    }

    // ------------------------------------------------------------------ input: media results

    /// The far end's answer to our INVITE was applied to the media (or refused: the call is
    /// hung up, and its record says why).
    pub(crate) fn answer_applied(&mut self, now: Now, id: Uuid, applied: Result<(), String>) {
        let Err(e) = applied else { return };
        tracing::warn!(error = %e, "the answer's SDP was refused; hanging up");
        let Ok(slot) = self.slot(id) else { return };
        slot.end_reason = Some(format!("звук не подключился: {e}"));
        let ua = slot.ua;
        let _ = self.ua.hangup(now.instant, ua);
        self.drain(now);
    }

    /// The far end's answer to our re-INVITE was applied (or refused): a hold waiting for it is
    /// done.
    pub(crate) fn reinvite_answer_applied(&mut self, id: Uuid, applied: Result<(), PhoneError>) {
        let Ok(slot) = self.slot(id) else { return };
        if let Some((on, reply)) = slot.pending_hold.take() {
            if applied.is_ok() {
                slot.info.state = if on { CallState::Held } else { CallState::Talking };
            }
            let _ = reply.send(applied);
        } else if let Err(e) = applied {
            tracing::warn!(error = %e, "the answer to our re-INVITE was refused");
        }
        self.publish_calls();
    }

    /// Our answer to the far end's re-INVITE, or `None` when its offer was unusable (488).
    pub(crate) fn reinvite_offer_answered(&mut self, now: Now, id: Uuid, answer: Option<String>) {
        let Ok(ua) = self.slot(id).map(|s| s.ua) else { return };
        match answer {
            Some(answer) => {
                let _ = self.ua.answer_reinvite(now.instant, ua, answer);
            }
            None => {
                tracing::warn!("re-INVITE refused: no usable offer");
                let _ = self.ua.reject_reinvite(now.instant, ua, 488);
            }
        }
        self.drain(now);
    }

    /// The fresh offer for a call's re-INVITE after a reconnection.
    pub(crate) fn refresh(&mut self, now: Now, id: Uuid, offer: String) {
        let Ok(ua) = self.slot(id).map(|s| s.ua) else { return };
        if let Err(e) = self.ua.reinvite(now.instant, ua, offer) {
            tracing::warn!(error = %e, "re-INVITE after reconnection not sent");
        }
        self.drain(now);
    }

    // ------------------------------------------------------------------ the user agent's events

    /// Acts on everything the user agent reports.
    fn drain(&mut self, now: Now) {
        while let Some(event) = self.ua.poll_event() {
            self.ua_event(now, event);
        }
    }

    fn ua_event(&mut self, now: Now, event: UaEvent) {
        match event {
            UaEvent::Registration(state) => self.registration(&state),
            UaEvent::IncomingCall {
                call,
                from_user,
                from_display,
                sdp_offer,
            } => {
                let id = self.new_id(now);
                let context = self
                    .identify
                    .as_ref()
                    .map(|identify| identify(&from_user))
                    .unwrap_or_default();
                self.insert(Slot {
                    ua: call,
                    sip_call_id: None,
                    info: CallInfo {
                        id,
                        direction: Direction::Incoming,
                        number: from_user,
                        display_name: from_display,
                        state: CallState::Ringing,
                        started_at: now.wall,
                        answered_at: None,
                        context,
                    },
                    offer: sdp_offer,
                    setup_from: now.instant,
                    end_reason: None,
                    local_hold: false,
                    pending_hold: None,
                });
            }
            // The far end's ringback is not played: the call bar shows the ringing state.
            UaEvent::Ringing { call } | UaEvent::EarlyMedia { call, .. } => {
                if let Some(slot) = self.by_ua_mut(call) {
                    slot.info.state = CallState::Early;
                }
                self.publish_calls();
            }
            UaEvent::Answered { call, sdp_answer } => {
                let Some(slot) = self.by_ua_mut(call) else { return };
                slot.info.state = CallState::Talking;
                slot.info.answered_at = Some(now.wall);
                let id = slot.info.id;
                self.publish_calls();
                self.effects.push_back(Effect::ApplyAnswer { id, sdp: sdp_answer });
            }
            UaEvent::Confirmed { .. } => {}
            UaEvent::ReInviteFailed { call, code, reason } => {
                tracing::warn!(code, %reason, "re-INVITE refused");
                let Some(slot) = self.by_ua_mut(call) else { return };
                // The call shows what its media does: holding since the offer was made.
                slot.info.state = if slot.local_hold {
                    CallState::Held
                } else {
                    CallState::Talking
                };
                if let Some((_, reply)) = slot.pending_hold.take() {
                    let _ = reply.send(Err(PhoneError::Sip(format!(
                        "АТС не приняла удержание: {code} {reason}"
                    ))));
                }
                self.publish_calls();
            }
            UaEvent::ReInvite { call, sdp_offer } => match self.by_ua.get(&call) {
                Some(&id) if !sdp_offer.trim().is_empty() => {
                    self.effects.push_back(Effect::AnswerReInvite { id, offer: sdp_offer });
                }
                _ => {
                    tracing::warn!("re-INVITE refused: no usable offer");
                    let _ = self.ua.reject_reinvite(now.instant, call, 488);
                }
            },
            UaEvent::ReInviteAnswered { call, sdp_answer } => {
                if let Some(&id) = self.by_ua.get(&call) {
                    self.effects
                        .push_back(Effect::ApplyReInviteAnswer { id, sdp: sdp_answer });
                }
            }
            UaEvent::Ended { call, reason } => self.ended(now, call, &reason),
            UaEvent::Warning(w) => tracing::warn!(warning = %w, "SIP"),
        }
    }

    fn registration(&mut self, state: &RegistrationState) {
        let (line, message) = match state {
            RegistrationState::Registered { .. } => {
                (LineState::Registered, format!("линия подключена: {}", self.extension))
            }
            RegistrationState::Registering => (LineState::Connecting, "регистрация на АТС…".to_owned()),
            RegistrationState::Unregistered => (LineState::Connecting, "линия не зарегистрирована".to_owned()),
            RegistrationState::Failed { code, reason } => (
                LineState::Failed,
                match code {
                    401 | 403 | 407 => format!(
                        "АТС отклонила регистрацию ({code} {reason}): проверьте номер и пароль телефона в настройках"
                    ),
                    _ => format!("АТС отклонила регистрацию: {code} {reason}"),
                },
            ),
        };
        self.set_line(line, message);
    }

    fn ended(&mut self, now: Now, call: UaCallId, reason: &EndReason) {
        let Some(id) = self.by_ua.remove(&call) else { return };
        self.order.retain(|o| *o != id);
        let Some(mut slot) = self.slots.remove(&id) else { return };
        self.publish_calls();
        if let Some((_, reply)) = slot.pending_hold.take() {
            let _ = reply.send(Err(PhoneError::NoSuchCall));
        }
        let record = CallRecord {
            id,
            direction: slot.info.direction,
            local: self.extension.clone(),
            remote: slot.info.number,
            started_at: slot.info.started_at,
            answered_at: slot.info.answered_at,
            ended_at: now.wall,
            end: slot.end_reason.unwrap_or_else(|| describe_end(reason)),
            recording: None,
            setup: None,
            sip_call_id: slot.sip_call_id,
            context: slot.info.context,
        };
        self.effects.push_back(Effect::Ended {
            record: Box::new(record),
            setup_from: slot.setup_from,
        });
    }

    // ------------------------------------------------------------------ bookkeeping

    fn insert(&mut self, mut slot: Slot) {
        let id = slot.info.id;
        slot.sip_call_id = self.ua.sip_call_id(slot.ua).map(str::to_owned);
        self.by_ua.insert(slot.ua, id);
        self.slots.insert(id, slot);
        self.order.push(id);
        self.publish_calls();
    }

    fn slot(&mut self, id: Uuid) -> Result<&mut Slot, PhoneError> {
        self.slots.get_mut(&id).ok_or(PhoneError::NoSuchCall)
    }

    fn by_ua_mut(&mut self, call: UaCallId) -> Option<&mut Slot> {
        self.by_ua.get(&call).and_then(|id| self.slots.get_mut(id))
    }

    fn set_line(&mut self, line: LineState, message: String) {
        self.status.line = line;
        self.status.message = message;
        self.status_changed = true;
    }

    fn publish_calls(&mut self) {
        self.status.calls = self
            .order
            .iter()
            .filter_map(|id| self.slots.get(id))
            .map(|slot| slot.info.clone())
            .collect();
        self.status_changed = true;
    }
}

/// How a call ended, in words. The status code decides, whether the user agent counts it as
/// the callee's refusal (486, 600, 603) or as another failure (404, 480, ...).
fn describe_end(reason: &EndReason) -> String {
    let (code, phrase, refused) = match reason {
        EndReason::LocalHangup => return "завершён оператором".into(),
        EndReason::RemoteHangup => return "завершён собеседником".into(),
        EndReason::Cancelled => return "отменён до ответа".into(),
        EndReason::TransportLost => return "связь с АТС потеряна".into(),
        EndReason::Timeout => return "нет ответа".into(),
        EndReason::Rejected { code, reason } => (*code, reason, true),
        EndReason::Failed { code, reason } => (*code, reason, false),
    };
    match code {
        486 | 600 => "занято".into(),
        603 => "отклонён".into(),
        404 | 484 | 604 => "номер не найден".into(),
        480 => "абонент недоступен".into(),
        _ if refused => format!("отклонён: {code} {phrase}"),
        _ => format!("не удался: {code} {phrase}"),
    }
}
