//! The phone: one task that owns the SIP user agent ([`dialog_sip::ua::UserAgent`]), the
//! WebSocket [`Transport`] and the media of every call, driven by commands from a cloneable
//! [`Phone`] handle. Its state is published on a watch channel; finished calls (with their
//! recordings) come out of a separate channel so the app can store them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use dialog_sip::ua::{CallId as UaCallId, EndReason, RegistrationState, UaConfig, UaEvent, UserAgent};
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use crate::media::{AudioSink, AudioSource, MediaOptions, MediaSession, Recording};
use crate::transport::{Transport, TransportConfig, TransportEvent};

/// One call's microphone and speaker (or their stand-ins).
pub type AudioPair = (Box<dyn AudioSource>, Box<dyn AudioSink>);

/// Opens the microphone and the speaker (or their stand-ins) for one call.
pub trait AudioFactory: Send + Sync {
    /// The source and the sink of a new call.
    fn open(&self) -> Result<AudioPair, String>;
}

impl<F> AudioFactory for F
where
    F: Fn() -> Result<AudioPair, String> + Send + Sync,
{
    fn open(&self) -> Result<AudioPair, String> {
        self()
    }
}

/// Names an incoming caller by number: see [`PhoneConfig::identify`].
pub type Identify = Arc<dyn Fn(&str) -> CallContext + Send + Sync>;

/// Everything the phone needs to go on the line.
#[derive(Clone)]
pub struct PhoneConfig {
    /// The PBX's WebSocket address: `wss://pbx.example.ru:8089/ws`.
    pub server: String,
    /// The extension (SIP user), e.g. `2001`.
    pub extension: String,
    /// The SIP password.
    pub password: String,
    /// The authentication user when it differs from the extension.
    pub auth_user: Option<String>,
    /// The SIP domain; the server's host when `None`.
    pub domain: Option<String>,
    /// A PEM file with the CA to trust for `wss://`.
    pub ca_file: Option<PathBuf>,
    /// The name shown to the people called.
    pub display_name: Option<String>,
    /// Codecs and ICE servers.
    pub media: MediaOptions,
    /// Microphone and speaker.
    pub audio: Arc<dyn AudioFactory>,
    /// The registration lifetime asked for, in seconds.
    pub register_expires: u32,
    /// Names an incoming caller before the call is first shown (say, an executor found by
    /// number in a directory held in memory). It must answer at once: it runs on the phone's
    /// own thread, between the INVITE and the ringing on the screen.
    pub identify: Option<Identify>,
}

impl std::fmt::Debug for PhoneConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneConfig")
            .field("server", &self.server)
            .field("extension", &self.extension)
            .field("domain", &self.domain)
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

impl PhoneConfig {
    /// A configuration with the defaults: codecs Opus, PCMU, PCMA; registration for 10 minutes.
    pub fn new(server: &str, extension: &str, password: &str, audio: Arc<dyn AudioFactory>) -> Self {
        Self {
            server: server.to_owned(),
            extension: extension.to_owned(),
            password: password.to_owned(),
            auth_user: None,
            domain: None,
            ca_file: None,
            display_name: None,
            media: MediaOptions::default(),
            audio,
            register_expires: 600,
            identify: None,
        }
    }

    fn domain(&self) -> String {
        if let Some(d) = &self.domain {
            return d.clone();
        }
        let rest = self.server.split_once("://").map_or(self.server.as_str(), |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or_default();
        let host = if let Some(v6) = authority.strip_prefix('[') {
            v6.split(']').next().unwrap_or_default()
        } else {
            authority.rsplit_once(':').map_or(authority, |(h, _)| h)
        };
        host.to_owned()
    }
}

/// The line as the header's indicator shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineState {
    /// Not configured or switched off.
    Off,
    /// Connecting or registering.
    Connecting,
    /// Registered: calls can be made and taken.
    Registered,
    /// The PBX refused the registration (wrong password, unknown extension).
    Failed,
}

/// Who called whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The center was called.
    Incoming,
    /// The center called out.
    Outgoing,
}

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// Outgoing, the PBX has not answered yet.
    Dialing,
    /// Incoming, waiting for the operator.
    Ringing,
    /// Outgoing, the far end is ringing.
    Early,
    /// Connected.
    Talking,
    /// Connected and on hold.
    Held,
}

/// What a call is about: given when it is placed, found when it comes in, linked while it lasts.
/// It travels with the call to its [`CallRecord`], so the record is stored with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallContext {
    /// The appeal the call is about.
    pub appeal_id: Option<Uuid>,
    /// The executor called, or the executor calling.
    pub executor_id: Option<Uuid>,
    /// The executor's name, for the call bar.
    pub executor_name: Option<String>,
}

/// One call in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct CallInfo {
    /// The call's identity (also its row in the database).
    pub id: Uuid,
    /// Incoming or outgoing.
    pub direction: Direction,
    /// The other party's number.
    pub number: String,
    /// The other party's name, when the PBX sent one.
    pub display_name: Option<String>,
    /// Where the call is.
    pub state: CallState,
    /// When it started ringing or was dialled.
    pub started_at: SystemTime,
    /// When it was answered.
    pub answered_at: Option<SystemTime>,
    /// What it is about.
    pub context: CallContext,
}

/// The phone's state.
#[derive(Debug, Clone, PartialEq)]
pub struct PhoneStatus {
    /// The line.
    pub line: LineState,
    /// The line in words (Russian), for the indicator's tooltip.
    pub message: String,
    /// The extension.
    pub extension: String,
    /// The calls in progress, oldest first.
    pub calls: Vec<CallInfo>,
}

impl PhoneStatus {
    /// Incoming calls waiting to be answered.
    pub fn waiting(&self) -> usize {
        self.calls.iter().filter(|c| c.state == CallState::Ringing).count()
    }
}

/// A finished call, with its recording, ready to be stored.
#[derive(Debug)]
pub struct CallRecord {
    /// The call's identity.
    pub id: Uuid,
    /// Incoming or outgoing.
    pub direction: Direction,
    /// Our extension.
    pub local: String,
    /// The other party's number.
    pub remote: String,
    /// When it started.
    pub started_at: SystemTime,
    /// When it was answered.
    pub answered_at: Option<SystemTime>,
    /// When it ended.
    pub ended_at: SystemTime,
    /// How it ended, in words.
    pub end: String,
    /// Both directions mixed; `None` for calls never answered.
    pub recording: Option<Recording>,
    /// INVITE sent (or answer given) until the first audio arrived.
    pub setup: Option<Duration>,
    /// Its SIP Call-ID: the PBX's record of the same call names it.
    pub sip_call_id: Option<String>,
    /// What it was about when it ended.
    pub context: CallContext,
}

/// What went wrong with a command.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PhoneError {
    /// The line is not registered.
    #[error("линия не подключена: проверьте настройки телефона")]
    NotRegistered,
    /// The call is over or never was.
    #[error("звонок уже завершён")]
    NoSuchCall,
    /// The number is empty or malformed.
    #[error("неверный номер: наберите номер цифрами")]
    BadNumber,
    /// Audio or media failed.
    #[error("не удалось подключить звук: {0}")]
    Media(String),
    /// The SIP layer refused.
    #[error("ошибка телефонии: {0}")]
    Sip(String),
    /// The phone has been shut down.
    #[error("телефон выключен")]
    Stopped,
    /// The configuration is unusable.
    #[error("{0}")]
    Config(String),
}

enum Command {
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
        reply: oneshot::Sender<Option<crate::media::MediaStats>>,
    },
    MediaFailure {
        id: Uuid,
        reply: oneshot::Sender<Option<crate::media::MediaFailure>>,
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
        let (status_tx, status) = watch::channel(PhoneStatus {
            line: LineState::Connecting,
            message: format!("подключение к {}", config.server),
            extension: config.extension.clone(),
            calls: Vec::new(),
        });
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
                    let ua = UserAgent::new(
                        UaConfig {
                            aor_user: config.extension.clone(),
                            domain: config.domain(),
                            auth_user: config.auth_user.clone(),
                            password: config.password.clone(),
                            display_name: config.display_name.clone(),
                            secure: config.server.starts_with("wss://"),
                            register_expires: config.register_expires,
                            user_agent: format!("Dialog/{}", env!("CARGO_PKG_VERSION")),
                        },
                        Instant::now(),
                    );
                    let actor = Actor {
                        config,
                        ua,
                        transport: Some(transport),
                        status: status_tx,
                        records: records_tx,
                        calls: HashMap::new(),
                        by_ua: HashMap::new(),
                        order: Vec::new(),
                    };
                    actor.run(transport_events, commands_rx).await;
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
    pub async fn stats(&self, id: Uuid) -> Option<crate::media::MediaStats> {
        self.ask(|reply| Command::Stats { id, reply }).await.ok().flatten()
    }

    /// Why a call in progress has no audio: the first of ICE, DTLS, SRTP and RTP that did not
    /// work; `None` when audio arrives (or there is no such call).
    pub async fn media_failure(&self, id: Uuid) -> Option<crate::media::MediaFailure> {
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

struct Slot {
    ua: UaCallId,
    /// Its SIP Call-ID, kept from when it was placed or came in.
    sip_call_id: Option<String>,
    info: CallInfo,
    media: Option<Arc<MediaSession>>,
    offer: Option<String>,
    /// INVITE sent or the answer given.
    setup_from: Instant,
    end_reason: Option<String>,
    /// A hold or unhold waiting for the far end's answer to our re-INVITE.
    pending_hold: Option<(bool, oneshot::Sender<Result<(), PhoneError>>)>,
}

struct Actor {
    config: PhoneConfig,
    ua: UserAgent,
    transport: Option<Transport>,
    status: watch::Sender<PhoneStatus>,
    records: mpsc::UnboundedSender<CallRecord>,
    calls: HashMap<Uuid, Slot>,
    by_ua: HashMap<UaCallId, Uuid>,
    order: Vec<Uuid>,
}

impl Actor {
    async fn run(
        mut self,
        mut transport_events: mpsc::UnboundedReceiver<TransportEvent>,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) {
        loop {
            self.pump().await;
            let deadline = self.ua.poll_timeout().map(tokio::time::Instant::from_std);
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                ev = transport_events.recv() => match ev {
                    Some(TransportEvent::Up) => {
                        self.ua.transport_up(Instant::now());
                        self.refresh_calls().await;
                    }
                    Some(TransportEvent::Down { reason, retry_in }) => {
                        self.ua.transport_down(Instant::now());
                        self.set_line(
                            LineState::Connecting,
                            format!("{reason}; повтор через {} с", retry_in.as_secs().max(1)),
                        );
                    }
                    Some(TransportEvent::Message(m)) => self.ua.handle_message(Instant::now(), &m),
                    None => {
                        self.set_line(LineState::Off, "соединение закрыто".into());
                        return;
                    }
                },
                cmd = commands.recv() => match cmd {
                    Some(Command::Shutdown { reply }) => {
                        self.shutdown().await;
                        let _ = reply.send(());
                        return;
                    }
                    Some(cmd) => self.command(cmd).await,
                    None => {
                        self.shutdown().await;
                        return;
                    }
                },
                () = sleep => self.ua.handle_timeout(Instant::now()),
            }
        }
    }

    /// Sends what the user agent wants sent and acts on what it reports, until it is quiet.
    async fn pump(&mut self) {
        loop {
            let mut busy = false;
            while let Some(out) = self.ua.poll_transmit() {
                busy = true;
                tracing::trace!(message = %dialog_sip::auth::redact_credentials(&out), "SIP out");
                if let Some(t) = &self.transport {
                    t.send(out);
                }
            }
            while let Some(ev) = self.ua.poll_event() {
                busy = true;
                self.ua_event(ev).await;
            }
            if !busy {
                return;
            }
        }
    }

    fn set_line(&mut self, line: LineState, message: String) {
        self.status.send_modify(|s| {
            s.line = line;
            s.message = message;
        });
    }

    fn publish_calls(&mut self) {
        let calls: Vec<CallInfo> = self
            .order
            .iter()
            .filter_map(|id| self.calls.get(id))
            .map(|slot| slot.info.clone())
            .collect();
        self.status.send_modify(|s| s.calls = calls);
    }

    fn slot(&mut self, id: Uuid) -> Result<&mut Slot, PhoneError> {
        self.calls.get_mut(&id).ok_or(PhoneError::NoSuchCall)
    }

    async fn new_media(&self) -> Result<Arc<MediaSession>, PhoneError> {
        let (source, sink) = self.config.audio.open().map_err(PhoneError::Media)?;
        let media = MediaSession::new(self.config.media.clone(), source, sink)
            .await
            .map_err(|e| PhoneError::Media(e.to_string()))?;
        Ok(Arc::new(media))
    }

    async fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Call { number, context, reply } => {
                let _ = reply.send(self.call(number, context).await);
            }
            Command::Identify { id, context } => {
                if let Some(slot) = self.calls.get_mut(&id) {
                    let known = &mut slot.info.context;
                    if known.executor_id.is_none() && context.executor_id.is_some() {
                        known.executor_id = context.executor_id;
                        known.executor_name = context.executor_name;
                        self.publish_calls();
                    }
                }
            }
            Command::Link { id, appeal_id, reply } => {
                let r = self.slot(id).map(|slot| slot.info.context.appeal_id = Some(appeal_id));
                if r.is_ok() {
                    self.publish_calls();
                }
                let _ = reply.send(r);
            }
            Command::Answer { id, reply } => {
                let _ = reply.send(self.answer(id).await);
            }
            Command::Reject { id, reply } => {
                let r = self.slot(id).map(|s| s.ua).and_then(|ua| {
                    self.ua
                        .reject(Instant::now(), ua, 486)
                        .map_err(|e| PhoneError::Sip(e.to_string()))
                });
                if r.is_ok() {
                    if let Ok(slot) = self.slot(id) {
                        slot.end_reason = Some("отклонён оператором".into());
                    }
                }
                let _ = reply.send(r);
            }
            Command::Hangup { id, reply } => {
                let r = self.slot(id).map(|s| s.ua).and_then(|ua| {
                    self.ua
                        .hangup(Instant::now(), ua)
                        .map_err(|e| PhoneError::Sip(e.to_string()))
                });
                let _ = reply.send(r);
            }
            Command::Hold { id, on, reply } => {
                // Answered when the far end accepts the re-INVITE (or refuses it).
                if let Err(e) = self.hold(id, on).await {
                    let _ = reply.send(Err(e));
                } else if let Some(slot) = self.calls.get_mut(&id) {
                    slot.pending_hold = Some((on, reply));
                }
            }
            Command::Dtmf { id, digit, reply } => {
                let r = match self.calls.get(&id).and_then(|s| s.media.clone()) {
                    Some(m) => m.send_dtmf(digit).map_err(|e| PhoneError::Media(e.to_string())),
                    None => Err(PhoneError::NoSuchCall),
                };
                let _ = reply.send(r);
            }
            Command::Stats { id, reply } => {
                let _ = reply.send(self.calls.get(&id).and_then(|s| s.media.as_ref()).map(|m| m.stats()));
            }
            Command::MediaFailure { id, reply } => {
                let failure = match self.calls.get(&id).and_then(|s| s.media.clone()) {
                    Some(media) => media.failure().await,
                    None => None,
                };
                let _ = reply.send(failure);
            }
            Command::Shutdown { .. } => {}
        }
    }

    async fn call(&mut self, number: String, context: CallContext) -> Result<Uuid, PhoneError> {
        let number = if number.starts_with("sip:") {
            number
        } else {
            dialog_sip::number::dialable(&number).ok_or(PhoneError::BadNumber)?
        };
        if !matches!(self.ua.registration(), RegistrationState::Registered { .. }) {
            return Err(PhoneError::NotRegistered);
        }
        let media = self.new_media().await?;
        let offer = media
            .create_offer()
            .await
            .map_err(|e| PhoneError::Media(e.to_string()))?;
        let ua = self.ua.invite(Instant::now(), &number, offer);
        let id = Uuid::now_v7();
        self.insert(Slot {
            sip_call_id: None,
            ua,
            info: CallInfo {
                id,
                direction: Direction::Outgoing,
                number: number
                    .trim_start_matches("sip:")
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                display_name: None,
                state: CallState::Dialing,
                started_at: SystemTime::now(),
                answered_at: None,
                context,
            },
            media: Some(media),
            offer: None,
            setup_from: Instant::now(),
            end_reason: None,
            pending_hold: None,
        });
        Ok(id)
    }

    fn insert(&mut self, mut slot: Slot) {
        let id = slot.info.id;
        slot.sip_call_id = self.ua.sip_call_id(slot.ua).map(str::to_owned);
        self.by_ua.insert(slot.ua, id);
        self.calls.insert(id, slot);
        self.order.push(id);
        self.publish_calls();
    }

    async fn answer(&mut self, id: Uuid) -> Result<(), PhoneError> {
        let slot = self.slot(id)?;
        if slot.info.state != CallState::Ringing {
            return Err(PhoneError::NoSuchCall);
        }
        let (ua, offer) = (slot.ua, slot.offer.clone());
        let Some(offer) = offer else {
            // Late offer (an INVITE without SDP) is not supported by WebRTC gateways either.
            let _ = self.ua.reject(Instant::now(), ua, 488);
            return Err(PhoneError::Sip(
                "вызов без описания звука (SDP) не поддерживается".into(),
            ));
        };
        let media = match self.new_media().await {
            Ok(m) => m,
            Err(e) => {
                let _ = self.ua.reject(Instant::now(), ua, 500);
                return Err(e);
            }
        };
        let answer = match media.accept_offer(&offer).await {
            Ok(a) => a,
            Err(e) => {
                let _ = self.ua.reject(Instant::now(), ua, 488);
                let _ = media.close().await;
                return Err(PhoneError::Media(e.to_string()));
            }
        };
        self.ua
            .answer(Instant::now(), ua, answer)
            .map_err(|e| PhoneError::Sip(e.to_string()))?;
        let slot = self.slot(id)?;
        slot.media = Some(media);
        slot.setup_from = Instant::now();
        slot.info.state = CallState::Talking;
        slot.info.answered_at = Some(SystemTime::now());
        self.publish_calls();
        Ok(())
    }

    async fn hold(&mut self, id: Uuid, on: bool) -> Result<(), PhoneError> {
        let slot = self.slot(id)?;
        let (ua, media) = (slot.ua, slot.media.clone());
        if !matches!(slot.info.state, CallState::Talking | CallState::Held) {
            return Err(PhoneError::NoSuchCall);
        }
        if slot.pending_hold.is_some() {
            return Err(PhoneError::Sip(
                "удержание ещё не подтверждено АТС: подождите секунду".into(),
            ));
        }
        let media = media.ok_or(PhoneError::NoSuchCall)?;
        let offer = media
            .hold_offer(on)
            .await
            .map_err(|e| PhoneError::Media(e.to_string()))?;
        self.ua
            .reinvite(Instant::now(), ua, offer)
            .map_err(|e| PhoneError::Sip(e.to_string()))
    }

    /// After a reconnection the PBX reaches us over a new connection: every call in progress
    /// sends a re-INVITE so that its dialog (and media) follow (otherwise audio can stay
    /// one-way and the far end's BYE cannot reach us).
    async fn refresh_calls(&mut self) {
        let live: Vec<(UaCallId, bool, Arc<MediaSession>)> = self
            .calls
            .values()
            .filter(|s| matches!(s.info.state, CallState::Talking | CallState::Held))
            .filter_map(|s| s.media.clone().map(|m| (s.ua, s.info.state == CallState::Held, m)))
            .collect();
        for (ua, held, media) in live {
            match media.hold_offer(held).await {
                Ok(offer) => {
                    if let Err(e) = self.ua.reinvite(Instant::now(), ua, offer) {
                        tracing::warn!(error = %e, "re-INVITE after reconnection not sent");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "no offer for the re-INVITE after reconnection"),
            }
        }
    }

    async fn ua_event(&mut self, ev: UaEvent) {
        match ev {
            UaEvent::Registration(state) => {
                let (line, message) = match state {
                    RegistrationState::Registered { .. } => {
                        (LineState::Registered, format!("линия подключена: {}", self.config.extension))
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
            UaEvent::IncomingCall {
                call,
                from_user,
                from_display,
                sdp_offer,
            } => {
                let context = self
                    .config
                    .identify
                    .as_ref()
                    .map(|identify| identify(&from_user))
                    .unwrap_or_default();
                self.insert(Slot {
                    sip_call_id: None,
                    ua: call,
                    info: CallInfo {
                        id: Uuid::now_v7(),
                        direction: Direction::Incoming,
                        number: from_user,
                        display_name: from_display,
                        state: CallState::Ringing,
                        started_at: SystemTime::now(),
                        answered_at: None,
                        context,
                    },
                    media: None,
                    offer: sdp_offer,
                    setup_from: Instant::now(),
                    end_reason: None,
                    pending_hold: None,
                });
            }
            UaEvent::Ringing { call } => {
                if let Some(slot) = self.by_ua.get(&call).and_then(|id| self.calls.get_mut(id)) {
                    slot.info.state = CallState::Early;
                }
                self.publish_calls();
            }
            UaEvent::Answered { call, sdp_answer } => {
                let Some(id) = self.by_ua.get(&call).copied() else {
                    return;
                };
                let media = self.calls.get(&id).and_then(|s| s.media.clone());
                if let Some(media) = media {
                    if let Err(e) = media.set_answer(&sdp_answer).await {
                        tracing::warn!(error = %e, "the answer's SDP was refused; hanging up");
                        if let Some(slot) = self.calls.get_mut(&id) {
                            slot.end_reason = Some(format!("звук не подключился: {e}"));
                        }
                        let _ = self.ua.hangup(Instant::now(), call);
                    }
                }
                if let Some(slot) = self.calls.get_mut(&id) {
                    slot.info.state = CallState::Talking;
                    slot.info.answered_at = Some(SystemTime::now());
                }
                self.publish_calls();
            }
            UaEvent::Confirmed { .. } => {}
            UaEvent::EarlyMedia { call, .. } => {
                // The far end's ringback is not played: the call bar shows the ringing state.
                if let Some(slot) = self.by_ua.get(&call).and_then(|id| self.calls.get_mut(id)) {
                    slot.info.state = CallState::Early;
                }
                self.publish_calls();
            }
            UaEvent::ReInviteFailed { call, code, reason } => {
                tracing::warn!(code, %reason, "re-INVITE refused");
                // Hold did not happen: show the call as it really is.
                let media = self
                    .by_ua
                    .get(&call)
                    .and_then(|id| self.calls.get(id))
                    .and_then(|s| s.media.clone());
                if let (Some(media), Some(slot)) = (media, self.by_ua.get(&call).and_then(|id| self.calls.get_mut(id)))
                {
                    slot.info.state = if media.stats().on_hold {
                        CallState::Held
                    } else {
                        CallState::Talking
                    };
                }
                self.publish_calls();
            }
            UaEvent::ReInvite { call, sdp_offer } => {
                let media = self
                    .by_ua
                    .get(&call)
                    .and_then(|id| self.calls.get(id))
                    .and_then(|s| s.media.clone());
                let answer = match media {
                    Some(media) if !sdp_offer.trim().is_empty() => media.accept_offer(&sdp_offer).await.ok(),
                    _ => None,
                };
                match answer {
                    Some(answer) => {
                        let _ = self.ua.answer_reinvite(Instant::now(), call, answer);
                    }
                    None => {
                        tracing::warn!("re-INVITE refused: no usable offer");
                        let _ = self.ua.reject_reinvite(Instant::now(), call, 488);
                    }
                }
            }
            UaEvent::ReInviteAnswered { call, sdp_answer } => {
                let media = self
                    .by_ua
                    .get(&call)
                    .and_then(|id| self.calls.get(id))
                    .and_then(|s| s.media.clone());
                let applied = match media {
                    Some(media) => media
                        .set_answer(&sdp_answer)
                        .await
                        .map_err(|e| PhoneError::Media(e.to_string())),
                    None => Err(PhoneError::NoSuchCall),
                };
                if let Some(slot) = self.by_ua.get(&call).and_then(|id| self.calls.get_mut(id)) {
                    if let Some((on, reply)) = slot.pending_hold.take() {
                        if applied.is_ok() {
                            slot.info.state = if on { CallState::Held } else { CallState::Talking };
                        }
                        let _ = reply.send(applied);
                    }
                }
                self.publish_calls();
            }
            UaEvent::Ended { call, reason } => self.ended(call, reason).await,
            UaEvent::Warning(w) => tracing::warn!(warning = %w, "SIP"),
        }
    }

    async fn ended(&mut self, call: UaCallId, reason: EndReason) {
        let Some(id) = self.by_ua.remove(&call) else { return };
        self.order.retain(|o| *o != id);
        let Some(slot) = self.calls.remove(&id) else { return };
        self.publish_calls();
        let mut recording = None;
        let mut setup = None;
        if let Some(media) = &slot.media {
            setup = media
                .stats()
                .first_audio_at
                .map(|t| t.saturating_duration_since(slot.setup_from));
            match media.close().await {
                Ok(r) if slot.info.answered_at.is_some() && !r.data.is_empty() => recording = Some(r),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the recording could not be finished"),
            }
        }
        let end = slot.end_reason.unwrap_or_else(|| describe_end(&reason));
        let (local, remote) = (self.config.extension.clone(), slot.info.number.clone());
        let _ = self.records.send(CallRecord {
            id,
            direction: slot.info.direction,
            local,
            remote,
            started_at: slot.info.started_at,
            answered_at: slot.info.answered_at,
            ended_at: SystemTime::now(),
            end,
            recording,
            setup,
            sip_call_id: slot.sip_call_id,
            context: slot.info.context,
        });
    }

    async fn shutdown(&mut self) {
        let now = Instant::now();
        let ids: Vec<UaCallId> = self.calls.values().map(|s| s.ua).collect();
        for ua in ids {
            let _ = self.ua.hangup(now, ua);
        }
        self.ua.unregister(now);
        self.pump().await;
        // Give the PBX a moment to take the BYEs and the un-REGISTER.
        let until = tokio::time::Instant::now() + Duration::from_millis(500);
        tokio::time::sleep_until(until).await;
        for (_, slot) in self.calls.drain() {
            if let Some(m) = slot.media {
                let _ = m.close().await;
            }
        }
        if let Some(t) = self.transport.take() {
            t.close().await;
        }
        self.set_line(LineState::Off, "линия отключена".into());
    }
}

fn describe_end(reason: &EndReason) -> String {
    match reason {
        EndReason::LocalHangup => "завершён оператором".into(),
        EndReason::RemoteHangup => "завершён собеседником".into(),
        EndReason::Cancelled => "отменён до ответа".into(),
        EndReason::Rejected { code, reason } => match code {
            486 | 600 => "занято".into(),
            603 => "отклонён".into(),
            404 | 484 | 604 => "номер не найден".into(),
            480 => "абонент недоступен".into(),
            _ => format!("отклонён: {code} {reason}"),
        },
        EndReason::Failed { code, reason } => format!("не удался: {code} {reason}"),
        EndReason::TransportLost => "связь с АТС потеряна".into(),
        EndReason::Timeout => "нет ответа".into(),
    }
}
