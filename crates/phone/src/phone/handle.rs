//! The handle on the running phone: commands go to its driver, the state comes back on a
//! watch channel, finished calls on their own channel.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use super::{driver, CallContext, CallRecord, PhoneConfig, PhoneError, PhoneStatus};
use crate::media::{MediaFailure, MediaStats};
use crate::transport::{Transport, TransportConfig};

/// What the handle asks of the driver.
pub(super) enum Command {
    Call {
        number: String,
        context: CallContext,
        reply: oneshot::Sender<Result<Uuid, PhoneError>>,
    },
    Link {
        id: Uuid,
        appeal_id: Uuid,
        reply: oneshot::Sender<Result<(), PhoneError>>,
    },
    Identify {
        id: Uuid,
        context: CallContext,
    },
    Answer {
        id: Uuid,
        reply: oneshot::Sender<Result<(), PhoneError>>,
    },
    Reject {
        id: Uuid,
        reply: oneshot::Sender<Result<(), PhoneError>>,
    },
    Hangup {
        id: Uuid,
        reply: oneshot::Sender<Result<(), PhoneError>>,
    },
    Hold {
        id: Uuid,
        on: bool,
        reply: oneshot::Sender<Result<(), PhoneError>>,
    },
    Dtmf {
        id: Uuid,
        digit: char,
        reply: oneshot::Sender<Result<(), PhoneError>>,
    },
    Stats {
        id: Uuid,
        reply: oneshot::Sender<Option<MediaStats>>,
    },
    MediaFailure {
        id: Uuid,
        reply: oneshot::Sender<Option<MediaFailure>>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// A handle on the running phone; clone it freely.
#[derive(Clone)]
pub struct Phone {
    commands: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<PhoneStatus>,
}

impl Phone {
    /// Starts the phone: connects, registers and keeps the line up until [`Phone::shutdown`]
    /// (or until the last handle is dropped). Finished calls arrive on the returned channel.
    ///
    /// The phone runs on a thread of its own with a single-threaded runtime: its signalling,
    /// its calls' media clocks and the WebRTC stack's many small tasks wake each other there
    /// without crossing threads, which costs noticeably less CPU per call than spreading them
    /// over the caller's worker threads.
    pub fn start(config: PhoneConfig) -> Result<(Self, mpsc::UnboundedReceiver<CallRecord>), PhoneError> {
        let (status_tx, status) = watch::channel(PhoneStatus::starting(&config));
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (records_tx, records) = mpsc::unbounded_channel();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("phone-{}", config.extension))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = started_tx.send(Err(PhoneError::Config(format!("телефон не запустился: {e}"))));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let transport = Transport::start(TransportConfig {
                        url: config.server.clone(),
                        ca_file: config.ca_file.clone(),
                    });
                    let (transport, transport_events) = match transport {
                        Ok(t) => t,
                        Err(e) => {
                            let _ = started_tx.send(Err(PhoneError::Config(e.to_string())));
                            return;
                        }
                    };
                    let _ = started_tx.send(Ok(()));
                    driver::run(config, transport, transport_events, commands_rx, status_tx, records_tx).await;
                });
            });
        if let Err(e) = thread {
            return Err(PhoneError::Config(format!("телефон не запустился: {e}")));
        }
        match started_rx.recv() {
            Ok(Ok(())) => Ok((Self { commands, status }, records)),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(PhoneError::Config("телефон не запустился".into())),
        }
    }

    /// The phone's state now; `.changed().await` on the receiver to follow it.
    pub fn status(&self) -> watch::Receiver<PhoneStatus> {
        self.status.clone()
    }

    /// Waits until the state satisfies `pred`, at most `timeout`; returns the state then.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&PhoneStatus) -> bool,
    ) -> Result<PhoneStatus, PhoneStatus> {
        let mut rx = self.status.clone();
        let waited = tokio::time::timeout(timeout, rx.wait_for(|s| pred(s))).await;
        match waited {
            Ok(Ok(s)) => Ok(s.clone()),
            _ => Err(self.status.borrow().clone()),
        }
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, PhoneError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).map_err(|_| PhoneError::Stopped)?;
        rx.await.map_err(|_| PhoneError::Stopped)
    }

    /// Calls a number (or an extension); returns the call's identity once the INVITE is sent.
    pub async fn call(&self, number: &str) -> Result<Uuid, PhoneError> {
        self.call_about(number, CallContext::default()).await
    }

    /// Calls a number about something: the context is on the call from its first state on, and
    /// on its record when it ends.
    pub async fn call_about(&self, number: &str, context: CallContext) -> Result<Uuid, PhoneError> {
        let number = number.trim().to_owned();
        self.ask(|reply| Command::Call { number, context, reply }).await?
    }

    /// Names the other party of a call in progress when [`PhoneConfig::identify`] could not
    /// at once (say, an executor added to the directory since it was last read). A call that
    /// already names its executor keeps it.
    pub fn identify(&self, id: Uuid, context: CallContext) {
        let _ = self.commands.send(Command::Identify { id, context });
    }

    /// Links a call in progress to an appeal; its record will carry the link.
    /// [`PhoneError::NoSuchCall`] when the call has ended: its record has gone out without it.
    pub async fn link(&self, id: Uuid, appeal_id: Uuid) -> Result<(), PhoneError> {
        self.ask(|reply| Command::Link { id, appeal_id, reply }).await?
    }

    /// Answers a ringing incoming call.
    pub async fn answer(&self, id: Uuid) -> Result<(), PhoneError> {
        self.ask(|reply| Command::Answer { id, reply }).await?
    }

    /// Rejects a ringing incoming call (the caller hears busy).
    pub async fn reject(&self, id: Uuid) -> Result<(), PhoneError> {
        self.ask(|reply| Command::Reject { id, reply }).await?
    }

    /// Hangs up: cancels an outgoing call still ringing, ends a call in progress.
    pub async fn hangup(&self, id: Uuid) -> Result<(), PhoneError> {
        self.ask(|reply| Command::Hangup { id, reply }).await?
    }

    /// Puts a call on hold or takes it off.
    pub async fn hold(&self, id: Uuid, on: bool) -> Result<(), PhoneError> {
        self.ask(|reply| Command::Hold { id, on, reply }).await?
    }

    /// Sends a DTMF digit (0–9, *, #, A–D) in the call's audio (RFC 4733).
    pub async fn dtmf(&self, id: Uuid, digit: char) -> Result<(), PhoneError> {
        self.ask(|reply| Command::Dtmf { id, digit, reply }).await?
    }

    /// The media figures of a call in progress.
    pub async fn stats(&self, id: Uuid) -> Option<MediaStats> {
        self.ask(|reply| Command::Stats { id, reply }).await.ok().flatten()
    }

    /// Why a call in progress has no audio: the first of ICE, DTLS, SRTP and RTP that did not
    /// work; `None` when audio arrives (or there is no such call).
    pub async fn media_failure(&self, id: Uuid) -> Option<MediaFailure> {
        self.ask(|reply| Command::MediaFailure { id, reply })
            .await
            .ok()
            .flatten()
    }

    /// Hangs up every call, unregisters and closes the connection (waits at most ~2 s).
    pub async fn shutdown(&self) {
        let _ = self.ask(|reply| Command::Shutdown { reply }).await;
    }
}
