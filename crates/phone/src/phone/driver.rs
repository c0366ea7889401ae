//! The phone's driver: one task that owns the WebSocket [`Transport`], the timer, the media of
//! every call and the channels to the handle, and feeds the call logic ([`Calls`]). It is the
//! only place where the phone reads the clock.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use super::calls::{Calls, Effect, Now};
use super::handle::Command;
use super::{CallContext, CallRecord, PhoneConfig, PhoneError, PhoneStatus};
use crate::media::MediaSession;
use crate::transport::{Transport, TransportEvent};

/// The time now, for the call logic.
fn now() -> Now {
    Now {
        instant: Instant::now(),
        wall: SystemTime::now(),
    }
}

struct Driver {
    config: PhoneConfig,
    calls: Calls,
    media: HashMap<Uuid, Arc<MediaSession>>,
    transport: Option<Transport>,
    status: watch::Sender<PhoneStatus>,
    records: mpsc::UnboundedSender<CallRecord>,
}

/// Runs the phone until it is shut down, its handles are all dropped, or the connection is
/// closed for good.
pub(super) async fn run(
    config: PhoneConfig,
    transport: Transport,
    mut transport_events: mpsc::UnboundedReceiver<TransportEvent>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    status: watch::Sender<PhoneStatus>,
    records: mpsc::UnboundedSender<CallRecord>,
) {
    let mut driver = Driver {
        calls: Calls::new(&config, now()),
        config,
        media: HashMap::new(),
        transport: Some(transport),
        status,
        records,
    };
    loop {
        driver.pump().await;
        let deadline = driver.calls.poll_timeout().map(tokio::time::Instant::from_std);
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ev = transport_events.recv() => match ev {
                Some(TransportEvent::Up) => driver.calls.transport_up(now()),
                Some(TransportEvent::Down { reason, retry_in }) => driver.calls.transport_down(now(), &reason, retry_in),
                Some(TransportEvent::Message(m)) => driver.calls.handle_message(now(), &m),
                None => {
                    driver.calls.transport_closed();
                    driver.publish();
                    return;
                }
            },
            cmd = commands.recv() => match cmd {
                Some(Command::Shutdown { reply }) => {
                    driver.shutdown().await;
                    let _ = reply.send(());
                    return;
                }
                Some(cmd) => driver.command(cmd).await,
                None => {
                    driver.shutdown().await;
                    return;
                }
            },
            () = sleep => driver.calls.handle_timeout(now()),
        }
    }
}

impl Driver {
    /// Publishes the state, sends what the call logic wants sent and does its work, until it
    /// is quiet. The state goes out before each piece of work, so that (say) an ended call
    /// leaves the screen before its media is closed.
    async fn pump(&mut self) {
        loop {
            self.publish();
            while let Some(out) = self.calls.poll_transmit() {
                tracing::trace!(message = %dialog_sip::auth::redact_credentials(&out), "SIP out");
                if let Some(t) = &self.transport {
                    t.send(out);
                }
            }
            let Some(effect) = self.calls.poll_effect() else { return };
            self.effect(effect).await;
        }
    }

    fn publish(&mut self) {
        if let Some(status) = self.calls.take_status() {
            self.status.send_replace(status);
        }
    }

    async fn effect(&mut self, effect: Effect) {
        match effect {
            Effect::ApplyAnswer { id, sdp } => {
                if let Some(media) = self.media.get(&id).cloned() {
                    let applied = media.set_answer(&sdp).await.map_err(|e| e.to_string());
                    self.calls.answer_applied(now(), id, applied);
                }
            }
            Effect::ApplyReInviteAnswer { id, sdp } => {
                let applied = match self.media.get(&id).cloned() {
                    Some(media) => media
                        .set_answer(&sdp)
                        .await
                        .map_err(|e| PhoneError::Media(e.to_string())),
                    None => Err(PhoneError::NoSuchCall),
                };
                self.calls.reinvite_answer_applied(id, applied);
            }
            Effect::AnswerReInvite { id, offer } => {
                let answer = match self.media.get(&id).cloned() {
                    Some(media) => media.accept_offer(&offer).await.ok(),
                    None => None,
                };
                self.calls.reinvite_offer_answered(now(), id, answer);
            }
            Effect::Refresh { id, held } => {
                let Some(media) = self.media.get(&id).cloned() else {
                    return;
                };
                match media.hold_offer(held).await {
                    Ok(offer) => self.calls.refresh(now(), id, offer),
                    Err(e) => tracing::warn!(error = %e, "no offer for the re-INVITE after reconnection"),
                }
            }
            Effect::Ended { mut record, setup_from } => {
                if let Some(media) = self.media.remove(&record.id) {
                    record.setup = media
                        .stats()
                        .first_audio_at
                        .map(|t| t.saturating_duration_since(setup_from));
                    match media.close().await {
                        Ok(r) if record.answered_at.is_some() && !r.data.is_empty() => record.recording = Some(r),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "the recording could not be finished"),
                    }
                }
                let _ = self.records.send(*record);
            }
        }
    }

    async fn new_media(&self) -> Result<Arc<MediaSession>, PhoneError> {
        let (source, sink) = self.config.audio.open().map_err(PhoneError::Media)?;
        let media = MediaSession::new(self.config.media.clone(), source, sink)
            .await
            .map_err(|e| PhoneError::Media(e.to_string()))?;
        Ok(Arc::new(media))
    }

    /// Answers a command once what it did is published and sent: a caller that reads the state
    /// after the answer sees the call it placed, answered or linked.
    async fn reply<T>(&mut self, reply: oneshot::Sender<T>, value: T) {
        self.pump().await;
        let _ = reply.send(value);
    }

    async fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Call { number, context, reply } => {
                let placed = self.call(&number, context).await;
                self.reply(reply, placed).await;
            }
            Command::Identify { id, context } => self.calls.identify(id, context),
            Command::Link { id, appeal_id, reply } => {
                let linked = self.calls.link(id, appeal_id);
                self.reply(reply, linked).await;
            }
            Command::Answer { id, reply } => {
                let answered = self.answer(id).await;
                self.reply(reply, answered).await;
            }
            Command::Reject { id, reply } => {
                let rejected = self.calls.reject(now(), id);
                self.reply(reply, rejected).await;
            }
            Command::Hangup { id, reply } => {
                let hung_up = self.calls.hangup(now(), id);
                self.reply(reply, hung_up).await;
            }
            Command::Hold { id, on, reply } => {
                // Answered when the far end accepts the re-INVITE (or refuses it).
                let offer = match (self.calls.may_hold(id), self.media.get(&id).cloned()) {
                    (Err(e), _) => Err(e),
                    (Ok(()), None) => Err(PhoneError::NoSuchCall),
                    (Ok(()), Some(media)) => media.hold_offer(on).await.map_err(|e| PhoneError::Media(e.to_string())),
                };
                match offer {
                    Ok(offer) => self.calls.hold(now(), id, on, offer, reply),
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::Dtmf { id, digit, reply } => {
                let sent = match self.media.get(&id) {
                    Some(m) => m.send_dtmf(digit).map_err(|e| PhoneError::Media(e.to_string())),
                    None => Err(PhoneError::NoSuchCall),
                };
                let _ = reply.send(sent);
            }
            Command::Stats { id, reply } => {
                let _ = reply.send(self.media.get(&id).map(|m| m.stats()));
            }
            Command::MediaFailure { id, reply } => {
                let failure = match self.media.get(&id).cloned() {
                    Some(media) => media.failure().await,
                    None => None,
                };
                let _ = reply.send(failure);
            }
            Command::Shutdown { .. } => {}
        }
    }

    async fn call(&mut self, number: &str, context: CallContext) -> Result<Uuid, PhoneError> {
        let target = self.calls.dial_target(number)?;
        let media = self.new_media().await?;
        let offer = media
            .create_offer()
            .await
            .map_err(|e| PhoneError::Media(e.to_string()))?;
        let id = self.calls.place(now(), &target, offer, context);
        self.media.insert(id, media);
        Ok(id)
    }

    async fn answer(&mut self, id: Uuid) -> Result<(), PhoneError> {
        let offer = self.calls.offer_to_answer(now(), id)?;
        let media = match self.new_media().await {
            Ok(m) => m,
            Err(e) => {
                self.calls.refuse(now(), id, 500);
                return Err(e);
            }
        };
        let answer = match media.accept_offer(&offer).await {
            Ok(a) => a,
            Err(e) => {
                self.calls.refuse(now(), id, 488);
                let _ = media.close().await;
                return Err(PhoneError::Media(e.to_string()));
            }
        };
        self.calls.answer(now(), id, answer)?;
        self.media.insert(id, media);
        Ok(())
    }

    async fn shutdown(&mut self) {
        self.calls.shutdown(now());
        self.pump().await;
        // Give the PBX a moment to take the BYEs and the un-REGISTER.
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.calls.switched_off();
        for (_, media) in self.media.drain() {
            let _ = media.close().await;
        }
        if let Some(t) = self.transport.take() {
            t.close().await;
        }
        self.publish();
    }
}
