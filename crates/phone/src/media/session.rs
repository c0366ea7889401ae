//! One call's media: the WebRTC peer connection, offer/answer, and the state shared with
//! the media clock and the receivers.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;
use webrtc::api::interceptor_registry::configure_rtcp_reports;
use webrtc::api::media_engine::{
    MediaEngine, MIME_TYPE_OPUS, MIME_TYPE_PCMA, MIME_TYPE_PCMU, MIME_TYPE_TELEPHONE_EVENT,
};
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::APIBuilder;
use webrtc::ice::mdns::MulticastDnsMode;
use webrtc::ice::network_type::NetworkType;
use webrtc::ice_transport::ice_connection_state::RTCIceConnectionState;
use webrtc::ice_transport::ice_server::RTCIceServer;
use webrtc::interceptor::registry::Registry;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtp_transceiver::rtp_codec::{RTCRtpCodecCapability, RTCRtpCodecParameters, RTPCodecType};
use webrtc::rtp_transceiver::rtp_transceiver_direction::RTCRtpTransceiverDirection;
use webrtc::rtp_transceiver::RTCRtpTransceiver;

use super::audio::{AudioSink, AudioSource};
use super::clock::Clock;
use super::receive::{read_track, Playout};
use super::sdp::{self, AudioSection, PayloadKind};
use super::track::AudioTrack;
use super::{dtmf, Codec, IceState, MediaError, MediaEvent, MediaOptions, MediaStats, Recording, TransportState};

/// Payload type of telephone-event in our offers (the common choice of Asterisk and others).
const DTMF_PT: u8 = 101;

/// What negotiation decided, read by the clock every tick.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SendPlan {
    /// Codec and payload type to send with.
    pub(crate) send: Option<(Codec, u8)>,
    /// telephone-event payload type and clock rate.
    pub(crate) dtmf: Option<(u8, u32)>,
    /// We hold the call: send nothing.
    pub(crate) local_hold: bool,
    /// The peer's SDP says it receives (not sendonly/inactive, port not 0).
    pub(crate) remote_receives: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Status {
    pub(crate) connected_at: Option<Instant>,
    pub(crate) first_audio_at: Option<Instant>,
    pub(crate) ice: IceState,
    pub(crate) transport: TransportState,
    pub(crate) remote_hold: bool,
    pub(crate) dtmf_received: String,
}

/// State shared by the session, its clock and its receivers.
pub(crate) struct Shared {
    started_at: Instant,
    plan: Mutex<SendPlan>,
    /// Payload types we may receive and what they carry.
    recv: Mutex<Vec<(u8, PayloadKind)>>,
    dtmf_queue: Mutex<VecDeque<u8>>,
    playout: Mutex<Playout>,
    pub(crate) status: Mutex<Status>,
    pub(crate) packets_sent: AtomicU64,
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) packets_received: AtomicU64,
    pub(crate) bytes_received: AtomicU64,
    pub(crate) events: broadcast::Sender<MediaEvent>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn send_plan(&self) -> SendPlan {
        *lock(&self.plan)
    }

    pub(crate) fn playout(&self) -> MutexGuard<'_, Playout> {
        lock(&self.playout)
    }

    pub(crate) fn payload_kind(&self, pt: u8) -> Option<PayloadKind> {
        lock(&self.recv).iter().find(|(p, _)| *p == pt).map(|(_, k)| *k)
    }

    pub(crate) fn next_dtmf(&self) -> Option<u8> {
        lock(&self.dtmf_queue).pop_front()
    }

    pub(crate) fn clear_dtmf_queue(&self) {
        let mut q = lock(&self.dtmf_queue);
        if !q.is_empty() {
            tracing::debug!(
                dropped = q.len(),
                "DTMF keys dropped: not sending (hold or peer not receiving)"
            );
            q.clear();
        }
    }

    pub(crate) fn first_audio_seen(&self) -> bool {
        lock(&self.status).first_audio_at.is_some()
    }

    pub(crate) fn note_first_audio(&self, now: Instant) {
        let mut status = lock(&self.status);
        if status.first_audio_at.is_none() {
            status.first_audio_at = Some(now);
            drop(status);
            let _ = self.events.send(MediaEvent::FirstAudio);
        }
    }
}

/// One call's media. `Send + Sync`; all methods take `&self`.
///
/// Signalling drives it with SDP strings: [`create_offer`](Self::create_offer) then
/// [`set_answer`](Self::set_answer) for an outgoing INVITE (or one without SDP), or
/// [`accept_offer`](Self::accept_offer) for an incoming INVITE or re-INVITE. SDP carries
/// all candidates (no trickle), `a=setup:actpass` in offers, rtcp-mux.
pub struct MediaSession {
    pc: Arc<RTCPeerConnection>,
    transceiver: Arc<RTCRtpTransceiver>,
    shared: Arc<Shared>,
    opts: MediaOptions,
    /// Serialises offer/answer steps; holds our `o=` line.
    negotiation: tokio::sync::Mutex<sdp::Origin>,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    clock: tokio::sync::Mutex<Option<JoinHandle<Recording>>>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl std::fmt::Debug for MediaSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaSession")
            .field("codecs", &self.opts.codecs)
            .finish_non_exhaustive()
    }
}

fn capability(codec: Codec) -> RTCRtpCodecCapability {
    match codec {
        Codec::Opus => RTCRtpCodecCapability {
            mime_type: MIME_TYPE_OPUS.to_owned(),
            clock_rate: 48_000,
            channels: 2,
            sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
            rtcp_feedback: vec![],
        },
        Codec::Pcmu | Codec::Pcma => RTCRtpCodecCapability {
            mime_type: if codec == Codec::Pcmu {
                MIME_TYPE_PCMU
            } else {
                MIME_TYPE_PCMA
            }
            .to_owned(),
            clock_rate: 8000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        },
    }
}

fn payload_type(codec: Codec) -> u8 {
    match codec {
        Codec::Opus => 111,
        Codec::Pcmu => 0,
        Codec::Pcma => 8,
    }
}

fn ice_state(s: RTCIceConnectionState) -> IceState {
    match s {
        RTCIceConnectionState::Checking => IceState::Checking,
        RTCIceConnectionState::Connected => IceState::Connected,
        RTCIceConnectionState::Completed => IceState::Completed,
        RTCIceConnectionState::Disconnected => IceState::Disconnected,
        RTCIceConnectionState::Failed => IceState::Failed,
        RTCIceConnectionState::Closed => IceState::Closed,
        _ => IceState::New,
    }
}

fn transport_state(s: RTCPeerConnectionState) -> TransportState {
    match s {
        RTCPeerConnectionState::Connecting => TransportState::Connecting,
        RTCPeerConnectionState::Connected => TransportState::Connected,
        RTCPeerConnectionState::Disconnected => TransportState::Disconnected,
        RTCPeerConnectionState::Failed => TransportState::Failed,
        RTCPeerConnectionState::Closed => TransportState::Closed,
        _ => TransportState::New,
    }
}

impl MediaSession {
    /// Prepares a call's media: codecs, ICE settings, audio in and out. The media clock starts
    /// now (reading `source`, writing silence to `sink`); nothing is sent before negotiation.
    pub async fn new(
        opts: MediaOptions,
        source: Box<dyn AudioSource>,
        sink: Box<dyn AudioSink>,
    ) -> Result<Self, MediaError> {
        let mut codecs: Vec<Codec> = Vec::new();
        for c in &opts.codecs {
            if !codecs.contains(c) {
                codecs.push(*c);
            }
        }
        if codecs.is_empty() {
            return Err(MediaError::NoCommonCodec("none".into()));
        }
        let opts = MediaOptions { codecs, ..opts };

        let mut media = MediaEngine::default();
        for &c in &opts.codecs {
            let params = RTCRtpCodecParameters {
                capability: capability(c),
                payload_type: payload_type(c),
                ..Default::default()
            };
            media.register_codec(params, RTPCodecType::Audio)?;
        }
        media.register_codec(
            RTCRtpCodecParameters {
                capability: RTCRtpCodecCapability {
                    mime_type: MIME_TYPE_TELEPHONE_EVENT.to_owned(),
                    clock_rate: 8000,
                    channels: 0,
                    sdp_fmtp_line: "0-16".to_owned(),
                    rtcp_feedback: vec![],
                },
                payload_type: DTMF_PT,
                ..Default::default()
            },
            RTPCodecType::Audio,
        )?;

        let mut settings = SettingEngine::default();
        settings.set_ice_multicast_dns_mode(MulticastDnsMode::Disabled);
        settings.set_network_types(vec![NetworkType::Udp4]);
        // Fingerprint in the media section, where browsers put it and every PBX looks.
        settings.set_sdp_media_level_fingerprints(true);
        if opts.loopback_only {
            settings.set_include_loopback_candidate(true);
            settings.set_ip_filter(Box::new(|ip| ip.is_loopback()));
        }
        // Only RTCP sender/receiver reports: PBXs and monitoring read them; NACK, TWCC and
        // the rest are for video.
        let interceptors = configure_rtcp_reports(Registry::new());
        let api = APIBuilder::new()
            .with_media_engine(media)
            .with_setting_engine(settings)
            .with_interceptor_registry(interceptors)
            .build();
        let config = RTCConfiguration {
            ice_servers: opts
                .ice_servers
                .iter()
                .map(|s| RTCIceServer {
                    urls: s.urls.clone(),
                    username: s.username.clone(),
                    credential: s.credential.clone(),
                })
                .collect(),
            ..Default::default()
        };
        let pc = Arc::new(api.new_peer_connection(config).await?);

        let (events, _) = broadcast::channel(64);
        let shared = Arc::new(Shared {
            started_at: Instant::now(),
            plan: Mutex::new(SendPlan::default()),
            recv: Mutex::new(Vec::new()),
            dtmf_queue: Mutex::new(VecDeque::new()),
            playout: Mutex::new(Playout::default()),
            status: Mutex::new(Status::default()),
            packets_sent: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            packets_received: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            events,
        });
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::new(Mutex::new(Vec::new()));

        let track = Arc::new(AudioTrack::new());
        let sender = pc.add_track(Arc::clone(&track) as _).await?;
        // Incoming RTCP must be read or it piles up in the sender's buffer.
        lock(&tasks).push(tokio::spawn(async move {
            let mut buf = vec![0u8; 1500];
            while sender.read(&mut buf).await.is_ok() {}
        }));
        let transceiver = pc
            .get_transceivers()
            .await
            .into_iter()
            .next()
            .ok_or_else(|| MediaError::WebRtc("no transceiver after adding the audio track".into()))?;

        let (s, t) = (Arc::clone(&shared), Arc::clone(&tasks));
        pc.on_track(Box::new(move |track, _, _| {
            let handle = tokio::spawn(read_track(Arc::clone(&s), track));
            lock(&t).push(handle);
            Box::pin(async {})
        }));
        let s = Arc::clone(&shared);
        pc.on_ice_connection_state_change(Box::new(move |state| {
            tracing::debug!(%state, "ICE state");
            lock(&s.status).ice = ice_state(state);
            Box::pin(async {})
        }));
        let s = Arc::clone(&shared);
        pc.on_peer_connection_state_change(Box::new(move |state| {
            tracing::debug!(%state, "transport state");
            let state = transport_state(state);
            {
                let mut status = lock(&s.status);
                status.transport = state;
                if state == TransportState::Connected && status.connected_at.is_none() {
                    status.connected_at = Some(Instant::now());
                }
            }
            let _ = s.events.send(MediaEvent::Transport(state));
            Box::pin(async {})
        }));

        let (stop_tx, stop_rx) = oneshot::channel();
        let clock = Clock {
            shared: Arc::clone(&shared),
            track,
            source,
            sink,
            record: opts.record,
        };
        let clock = tokio::spawn(clock.run(stop_rx));

        Ok(MediaSession {
            pc,
            transceiver,
            shared,
            opts,
            negotiation: tokio::sync::Mutex::new(sdp::Origin::new()),
            stop: Mutex::new(Some(stop_tx)),
            clock: tokio::sync::Mutex::new(Some(clock)),
            tasks,
        })
    }

    fn ensure_open(&self) -> Result<(), MediaError> {
        if lock(&self.stop).is_none() {
            return Err(MediaError::Closed);
        }
        Ok(())
    }

    /// An SDP offer with all host candidates (for an INVITE, a re-INVITE, or the 200 OK to
    /// an INVITE without SDP). Returns as soon as gathering completes: milliseconds without
    /// STUN/TURN; at most `MediaOptions::gather_timeout` with them.
    pub async fn create_offer(&self) -> Result<String, MediaError> {
        self.ensure_open()?;
        let mut origin = self.negotiation.lock().await;
        let offer = self.pc.create_offer(None).await?;
        let local = self.set_local_and_gather(offer).await?;
        Ok(sdp::finish_local(&local, &mut origin))
    }

    async fn set_local_and_gather(&self, desc: RTCSessionDescription) -> Result<String, MediaError> {
        let mut gathered = self.pc.gathering_complete_promise().await;
        self.pc.set_local_description(desc).await?;
        if tokio::time::timeout(self.opts.gather_timeout, gathered.recv())
            .await
            .is_err()
        {
            tracing::warn!(timeout = ?self.opts.gather_timeout, "ICE gathering not complete; sending the candidates found so far");
        }
        let local = self.pc.local_description().await.ok_or(MediaError::NotNegotiated)?;
        Ok(local.sdp)
    }

    /// Applies the peer's answer to our last offer (from a 200 OK, or the ACK of an INVITE
    /// we answered with an offer). Accepts `a=setup:active` or `passive`, ICE lite, and
    /// sections without `a=mid`.
    pub async fn set_answer(&self, sdp: &str) -> Result<(), MediaError> {
        self.ensure_open()?;
        let _guard = self.negotiation.lock().await;
        let local = self.pc.local_description().await.ok_or(MediaError::NotNegotiated)?.sdp;
        let remote = sdp::prepare_remote(sdp, &sdp::mids(&local));
        let answer = sdp::audio_section(&remote).ok_or_else(|| MediaError::Sdp("no audio section".into()))?;
        self.pc
            .set_remote_description(RTCSessionDescription::answer(remote.clone())?)
            .await?;
        self.apply(&local, &answer, &answer)
    }

    /// Answers the peer's offer (incoming INVITE or re-INVITE); returns our answer SDP.
    /// Fails with [`MediaError::NoCommonCodec`] when nothing matches (reply 488).
    pub async fn accept_offer(&self, sdp: &str) -> Result<String, MediaError> {
        self.ensure_open()?;
        let mut origin = self.negotiation.lock().await;
        let local_before = self.pc.local_description().await.map(|d| d.sdp).unwrap_or_default();
        let remote = sdp::prepare_remote(sdp, &sdp::mids(&local_before));
        // The WebRTC stack rejects (port 0) every section outside the offer's BUNDLE group, and
        // plain RFC 3264 offers (rtpengine, Asterisk without BUNDLE) have no group at all: give it
        // a group of the offer's own sections, and take it out of the answer again (RFC 8843
        // §7.3.1: no BUNDLE in an answer to an offer without it).
        let offered_bundle = sdp.lines().any(|l| l.starts_with("a=group:BUNDLE"));
        let remote = if offered_bundle {
            remote
        } else {
            sdp::with_bundle_group(&remote)
        };
        let offer = sdp::audio_section(&remote).ok_or_else(|| MediaError::Sdp("no audio section".into()))?;
        if offer.send_codec(&self.opts.codecs).is_none() {
            return Err(self.no_common_codec());
        }
        self.pc
            .set_remote_description(RTCSessionDescription::offer(remote)?)
            .await?;
        let answer = self.pc.create_answer(None).await?;
        let local = self.set_local_and_gather(answer).await?;
        let ours = sdp::audio_section(&local).ok_or_else(|| MediaError::Sdp("our answer has no audio".into()))?;
        self.apply(&local, &offer, &ours)?;
        let answer = sdp::finish_local(&local, &mut origin);
        Ok(if offered_bundle {
            answer
        } else {
            sdp::without_bundle_group(&answer)
        })
    }

    /// A re-INVITE offer that puts the call on hold (`a=sendonly`) or takes it off hold
    /// (`a=sendrecv`); complete it with [`set_answer`](Self::set_answer). While on hold no
    /// audio is sent (from this call on).
    pub async fn hold_offer(&self, hold: bool) -> Result<String, MediaError> {
        self.ensure_open()?;
        lock(&self.shared.plan).local_hold = hold;
        let direction = if hold {
            RTCRtpTransceiverDirection::Sendonly
        } else {
            RTCRtpTransceiverDirection::Sendrecv
        };
        self.transceiver.set_direction(direction).await;
        self.create_offer().await
    }

    /// Records the outcome of an offer/answer exchange for the clock and receivers.
    /// `remote` is the peer's audio section, `answer` the answer's (ours or theirs).
    fn apply(&self, local_sdp: &str, remote: &AudioSection, answer: &AudioSection) -> Result<(), MediaError> {
        let send = answer
            .send_codec(&self.opts.codecs)
            .ok_or_else(|| self.no_common_codec())?;
        let local = sdp::audio_section(local_sdp);
        let mut recv: Vec<(u8, PayloadKind)> = Vec::new();
        for section in local.iter().chain(std::iter::once(remote)) {
            for &pt in &section.formats {
                if let Some(kind) = section.kind(pt) {
                    if !recv.iter().any(|(p, _)| *p == pt) {
                        recv.push((pt, kind));
                    }
                }
            }
        }
        *lock(&self.shared.recv) = recv;
        let remote_receives = remote.port != 0 && remote.direction.receives();
        {
            let mut plan = lock(&self.shared.plan);
            plan.send = Some(send);
            plan.dtmf = answer.dtmf();
            plan.remote_receives = remote_receives;
        }
        lock(&self.shared.status).remote_hold = !remote.direction.receives();
        tracing::debug!(codec = %send.0, pt = send.1, dtmf = ?answer.dtmf(), remote_receives, "media negotiated");
        Ok(())
    }

    fn no_common_codec(&self) -> MediaError {
        let enabled: Vec<&str> = self.opts.codecs.iter().map(|c| c.encoding_name()).collect();
        MediaError::NoCommonCodec(enabled.join(", "))
    }

    /// Queues one DTMF key (0-9, *, #, A-D) to be sent as RFC 4733 events on the negotiated
    /// telephone-event payload type: 100 ms of tone, then a 60 ms pause before the next.
    pub fn send_dtmf(&self, digit: char) -> Result<(), MediaError> {
        self.ensure_open()?;
        let code = dtmf::event_code(digit).ok_or(MediaError::InvalidDtmfDigit(digit))?;
        let plan = self.shared.send_plan();
        if plan.send.is_none() {
            return Err(MediaError::NotNegotiated);
        }
        if plan.dtmf.is_none() {
            return Err(MediaError::NoDtmf);
        }
        lock(&self.shared.dtmf_queue).push_back(code);
        Ok(())
    }

    /// Media events (transport changes, first audio, DTMF received) from now on.
    pub fn events(&self) -> broadcast::Receiver<MediaEvent> {
        self.shared.events.subscribe()
    }

    /// A snapshot of counters and states.
    pub fn stats(&self) -> MediaStats {
        let s = &self.shared;
        let plan = s.send_plan();
        let status = lock(&s.status);
        MediaStats {
            codec: plan.send.map(|(c, _)| c),
            started_at: s.started_at,
            connected_at: status.connected_at,
            first_audio_at: status.first_audio_at,
            packets_sent: s.packets_sent.load(Ordering::Relaxed),
            bytes_sent: s.bytes_sent.load(Ordering::Relaxed),
            packets_received: s.packets_received.load(Ordering::Relaxed),
            bytes_received: s.bytes_received.load(Ordering::Relaxed),
            ice: status.ice,
            transport: status.transport,
            on_hold: plan.local_hold,
            remote_hold: status.remote_hold,
            dtmf_received: status.dtmf_received.clone(),
        }
    }

    /// Ends the call's media: stops the clock (and so the source and sink), closes the peer
    /// connection and returns the recording. A second call fails with [`MediaError::Closed`].
    pub async fn close(&self) -> Result<Recording, MediaError> {
        let stop = lock(&self.stop).take().ok_or(MediaError::Closed)?;
        let _ = stop.send(());
        let clock = self.clock.lock().await.take();
        let recording = match clock {
            Some(handle) => handle
                .await
                .map_err(|e| MediaError::WebRtc(format!("media clock task: {e}")))?,
            None => return Err(MediaError::Closed),
        };
        let closed = self.pc.close().await;
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
        closed?;
        Ok(recording)
    }
}

impl Drop for MediaSession {
    fn drop(&mut self) {
        // Dropped without close(): stop the clock and release the network in the background.
        if lock(&self.stop).take().is_some() {
            for task in lock(&self.tasks).drain(..) {
                task.abort();
            }
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let pc = Arc::clone(&self.pc);
                rt.spawn(async move {
                    let _ = pc.close().await;
                });
            }
        }
    }
}
