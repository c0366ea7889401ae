//! One call's media: the peer connection and the offer/answer steps.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use dialog_sip::sdp::{LocalOrigin, SessionDescription};
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtp_transceiver::rtp_transceiver_direction::RTCRtpTransceiverDirection;
use webrtc::rtp_transceiver::RTCRtpTransceiver;

use super::audio::{AudioSink, AudioSource};
use super::clock::Clock;
use super::engine::{self, ice_state, transport_state};
use super::receive::read_track;
use super::sdp::{self, AudioSection, PayloadKind};
use super::shared::{lock, Shared};
use super::track::AudioTrack;
use super::{
    diagnosis, dtmf, Codec, IceState, MediaError, MediaEvent, MediaFailure, MediaOptions, MediaStats, Recording,
    TransportState,
};

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
    negotiation: tokio::sync::Mutex<LocalOrigin>,
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

        let pc = Arc::new(engine::peer_connection(&opts).await?);

        let shared = Arc::new(Shared::new());
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::new(Mutex::new(Vec::new()));

        let track = Arc::new(AudioTrack::new());
        let sender = pc.add_track(Arc::clone(&track) as _).await?;
        diagnosis::watch_dtls(&sender.transport(), Arc::downgrade(&pc), Arc::clone(&shared));
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
            let mut status = lock(&s.status);
            status.ice = ice_state(state);
            if matches!(status.ice, IceState::Connected | IceState::Completed) && status.ice_connected_at.is_none() {
                status.ice_connected_at = Some(Instant::now());
            }
            drop(status);
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
            // Within 63 bits, as other stacks keep it: some parsers read it as signed.
            negotiation: tokio::sync::Mutex::new(LocalOrigin::new(rand::random::<u64>() >> 1)),
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
        Ok(sdp::finish_local(sdp::parse(&local)?, &mut origin))
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
        let remote = self.prepare_remote(sdp, &local)?;
        let answer = AudioSection::of(&remote).ok_or_else(|| MediaError::Sdp("no audio section".into()))?;
        self.pc
            .set_remote_description(RTCSessionDescription::answer(remote.to_string())?)
            .await?;
        self.apply(&local, &answer, &answer)
    }

    /// Answers the peer's offer (incoming INVITE or re-INVITE); returns our answer SDP.
    /// Fails with [`MediaError::NoCommonCodec`] when nothing matches (reply 488).
    pub async fn accept_offer(&self, sdp: &str) -> Result<String, MediaError> {
        self.ensure_open()?;
        let mut origin = self.negotiation.lock().await;
        let local_before = self.pc.local_description().await.map(|d| d.sdp).unwrap_or_default();
        let mut remote = self.prepare_remote(sdp, &local_before)?;
        // The WebRTC stack rejects (port 0) every section outside the offer's BUNDLE group, and
        // plain RFC 3264 offers (rtpengine, Asterisk without BUNDLE) have no group at all: give it
        // a group of the offer's own sections, and take it out of the answer again (RFC 8843
        // §7.3.1: no BUNDLE in an answer to an offer without it).
        let offered_bundle = remote.bundle_group().is_some();
        if !offered_bundle {
            remote.set_bundle_group();
        }
        let offer = AudioSection::of(&remote).ok_or_else(|| MediaError::Sdp("no audio section".into()))?;
        if offer.send_codec(&self.opts.codecs).is_none() {
            return Err(self.no_common_codec());
        }
        self.pc
            .set_remote_description(RTCSessionDescription::offer(remote.to_string())?)
            .await?;
        let answer = self.pc.create_answer(None).await?;
        let local = self.set_local_and_gather(answer).await?;
        let mut answer = sdp::parse(&local)?;
        let ours = AudioSection::of(&answer).ok_or_else(|| MediaError::Sdp("our answer has no audio".into()))?;
        self.apply(&local, &offer, &ours)?;
        if !offered_bundle {
            answer.remove_bundle_group();
        }
        Ok(sdp::finish_local(answer, &mut origin))
    }

    /// The peer's SDP made acceptable to the WebRTC stack ([`sdp::prepare_remote`]); its
    /// fingerprints are kept to tell a certificate mismatch from a failed handshake.
    fn prepare_remote(&self, sdp: &str, local: &str) -> Result<SessionDescription, MediaError> {
        let filtered;
        let sdp = match &self.opts.remote_sdp_filter {
            Some(filter) => {
                filtered = (filter.0)(sdp);
                filtered.as_str()
            }
            None => sdp,
        };
        let mut remote = sdp::parse(sdp)?;
        lock(&self.shared.status).remote_fingerprints = remote.fingerprints();
        sdp::prepare_remote(&mut remote, &sdp::local_mids(local));
        Ok(remote)
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
        let local = sdp::parse(local_sdp).ok().and_then(|l| AudioSection::of(&l));
        let mut recv: Vec<(u8, PayloadKind)> = Vec::new();
        for section in local.iter().chain(std::iter::once(remote)) {
            for &(pt, kind) in &section.payloads {
                if !recv.iter().any(|(p, _)| *p == pt) {
                    recv.push((pt, kind));
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
            ice_connected_at: status.ice_connected_at,
            transport: status.transport,
            dtls: status.dtls,
            on_hold: plan.local_hold,
            remote_hold: status.remote_hold,
            dtmf_received: status.dtmf_received.clone(),
        }
    }

    /// Why no audio has arrived — the first stage of ICE, DTLS, SRTP and RTP that did not
    /// work — or `None` when audio arrives.
    pub async fn failure(&self) -> Option<MediaFailure> {
        diagnosis::failure(&self.pc, &self.shared).await
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
