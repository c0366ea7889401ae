//! Media of a call: WebRTC (ICE, DTLS-SRTP), codecs, audio I/O and the recorder.
//!
//! One [`MediaSession`] is one call's media. Its SDP goes to and comes from the PBX through
//! SIP (offer/answer with full candidates, no trickle). Audio moves in 20 ms frames of 48 kHz
//! mono `i16` between an [`AudioSource`], the network and an [`AudioSink`]; a per-call media
//! clock paces it and feeds the recorder with both directions mixed.

mod analysis;
mod audio;
mod clock;
pub mod devices;
mod diagnosis;
mod dtmf;
mod engine;
mod g711;
mod receive;
mod recorder;
mod sdp;
mod session;
mod shared;
mod track;
mod wav;

use std::time::{Duration, Instant};

pub use analysis::{dominant_frequency, rms, tone_level};
pub use audio::{
    AudioSink, AudioSource, CaptureHandle, CaptureSink, NullSink, SilenceSource, ToneSource, FRAME_DURATION,
    FRAME_SAMPLES, SAMPLE_RATE,
};
pub use devices::{DeviceSink, DeviceSource, Devices};
pub use recorder::decode_recording;
pub use session::MediaSession;
pub use wav::{WavSink, WavSource};

/// An audio codec the phone can negotiate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// Opus, 48 kHz (sent mono, ~24 kbit/s, in-band FEC), payload type 111 when we offer.
    Opus,
    /// G.711 µ-law, 8 kHz, static payload type 0.
    Pcmu,
    /// G.711 A-law, 8 kHz, static payload type 8.
    Pcma,
}

impl Codec {
    /// The encoding name as written in `a=rtpmap` (e.g. `PCMU`).
    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Opus => "opus",
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// The RTP clock rate.
    pub fn clock_rate(self) -> u32 {
        match self {
            Codec::Opus => 48_000,
            Codec::Pcmu | Codec::Pcma => 8_000,
        }
    }
}

impl std::fmt::Display for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.encoding_name())
    }
}

/// A STUN or TURN server for ICE.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IceServer {
    /// `stun:host:port` or `turn:host:port?transport=udp` URLs.
    pub urls: Vec<String>,
    /// TURN user name (empty for STUN).
    pub username: String,
    /// TURN password (empty for STUN).
    pub credential: String,
}

/// Settings of one call's media.
#[derive(Debug, Clone)]
pub struct MediaOptions {
    /// Codecs in order of preference; the first one both sides have is used.
    pub codecs: Vec<Codec>,
    /// STUN/TURN servers; none on a LAN.
    pub ice_servers: Vec<IceServer>,
    /// Offer only loopback (127.0.0.1) candidates: for tests on a machine with other
    /// interfaces. In production all interfaces are used.
    pub loopback_only: bool,
    /// Record the call (both directions mixed) into an Ogg Opus file returned by `close`.
    pub record: bool,
    /// Upper bound on waiting for ICE gathering when producing SDP. Host candidates are
    /// gathered in milliseconds; this only matters with unreachable STUN/TURN servers.
    pub gather_timeout: Duration,
    /// Rewrites the peer's SDP before it is used; `None` in the product. Lets a test play a
    /// PBX whose SDP does not match its DTLS certificate.
    #[doc(hidden)]
    pub remote_sdp_filter: Option<SdpFilter>,
}

/// A rewrite of the peer's SDP (see [`MediaOptions::remote_sdp_filter`]).
#[derive(Clone)]
pub struct SdpFilter(pub std::sync::Arc<dyn Fn(&str) -> String + Send + Sync>);

impl std::fmt::Debug for SdpFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SdpFilter")
    }
}

impl Default for MediaOptions {
    fn default() -> Self {
        MediaOptions {
            codecs: vec![Codec::Opus, Codec::Pcmu, Codec::Pcma],
            ice_servers: Vec::new(),
            loopback_only: false,
            record: true,
            gather_timeout: Duration::from_secs(1),
            remote_sdp_filter: None,
        }
    }
}

/// Why a media operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The WebRTC stack refused an operation (bad state, bad SDP, transport failure).
    #[error("WebRTC error: {0}")]
    WebRtc(String),
    /// The peer's SDP could not be used.
    #[error("unusable SDP from the peer: {0}")]
    Sdp(String),
    /// The peer offered or answered no codec that is enabled here.
    #[error("no common audio codec with the peer (enabled here: {0})")]
    NoCommonCodec(String),
    /// DTMF was requested before media was negotiated.
    #[error("media is not negotiated yet")]
    NotNegotiated,
    /// The peer did not negotiate telephone-event, so RFC 4733 DTMF cannot be sent.
    #[error("the peer does not accept RFC 4733 DTMF (telephone-event)")]
    NoDtmf,
    /// Not a DTMF key.
    #[error("'{0}' is not a DTMF key (0-9, *, #, A-D)")]
    InvalidDtmfDigit(char),
    /// The session was closed already.
    #[error("the media session is closed")]
    Closed,
    /// An Opus encoder or decoder failed.
    #[error("Opus codec error: {0}")]
    Opus(String),
    /// Reading or writing an audio file failed.
    #[error("audio file I/O: {0}")]
    Io(#[from] std::io::Error),
    /// An audio file is not in a supported format.
    #[error("unsupported audio file: {0}")]
    AudioFile(String),
    /// There is no usable audio device (none present, or the named one is missing).
    #[error("no audio device: {0}; connect a headset or choose another device")]
    NoAudioDevice(String),
    /// The audio device exists but could not be opened or started.
    #[error("audio device failed: {0}")]
    AudioDevice(String),
    /// A recording could not be read.
    #[error("bad recording: {0}")]
    Recording(String),
}

impl From<webrtc::Error> for MediaError {
    fn from(e: webrtc::Error) -> Self {
        MediaError::WebRtc(e.to_string())
    }
}

impl From<opus::Error> for MediaError {
    fn from(e: opus::Error) -> Self {
        MediaError::Opus(e.to_string())
    }
}

/// ICE connectivity of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IceState {
    /// Not started.
    #[default]
    New,
    /// Checking candidate pairs.
    Checking,
    /// A pair works.
    Connected,
    /// Checks finished.
    Completed,
    /// Consent lost for a while; may recover.
    Disconnected,
    /// No pair works.
    Failed,
    /// Closed.
    Closed,
}

/// Secure transport (DTLS-SRTP over ICE) of the call, as the peer connection state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransportState {
    /// Not started.
    #[default]
    New,
    /// ICE or DTLS in progress.
    Connecting,
    /// DTLS done, SRTP keys in place: audio can flow.
    Connected,
    /// Temporarily lost.
    Disconnected,
    /// Failed for good: hang up or re-INVITE with an ICE restart.
    Failed,
    /// Closed.
    Closed,
}

/// The DTLS handshake of the call (the keys of its SRTP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DtlsState {
    /// Not started (ICE first).
    #[default]
    New,
    /// Handshake in progress.
    Connecting,
    /// Done, the peer's certificate matches its SDP: SRTP keys in place.
    Connected,
    /// The handshake finished, but the peer's certificate does not match the
    /// `a=fingerprint` of its SDP (or that fingerprint uses a hash other than SHA-256).
    FingerprintMismatch,
    /// The handshake failed (an alert, no certificate, a timeout).
    Failed,
    /// Closed with the call.
    Closed,
}

/// Why no audio arrives, stage by stage as media is set up: ICE, then DTLS, then SRTP,
/// then RTP itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaFailure {
    /// ICE found no working path: not one UDP packet went both ways.
    Ice,
    /// DTLS: the peer's certificate does not match the fingerprint in its SDP. `hash` is the
    /// hash name the SDP gave (only SHA-256 is checked).
    DtlsFingerprint {
        /// The `a=fingerprint` hash name of the peer's SDP, as written.
        hash: String,
    },
    /// DTLS: the handshake did not complete.
    DtlsHandshake,
    /// SRTP: packets arrive after DTLS but none can be decrypted.
    Srtp,
    /// Everything is connected, but the peer sends no audio packets.
    NoRtp,
}

/// Something that happened to the call's media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// Transport state changed.
    Transport(TransportState),
    /// The first audio packet from the peer was decoded.
    FirstAudio,
    /// The peer sent a DTMF key (RFC 4733), reported once per key press.
    Dtmf(char),
}

/// A snapshot of one call's media counters and states.
#[derive(Debug, Clone)]
pub struct MediaStats {
    /// The codec we send with, once negotiated.
    pub codec: Option<Codec>,
    /// When the session was created.
    pub started_at: Instant,
    /// When the transport first became connected.
    pub connected_at: Option<Instant>,
    /// When the first audio packet from the peer was decoded.
    pub first_audio_at: Option<Instant>,
    /// RTP packets sent (audio and DTMF).
    pub packets_sent: u64,
    /// RTP payload bytes sent.
    pub bytes_sent: u64,
    /// RTP packets received.
    pub packets_received: u64,
    /// RTP payload bytes received.
    pub bytes_received: u64,
    /// ICE state.
    pub ice: IceState,
    /// Transport (ICE + DTLS) state.
    pub transport: TransportState,
    /// When ICE first found a working path.
    pub ice_connected_at: Option<Instant>,
    /// DTLS state.
    pub dtls: DtlsState,
    /// We hold the call (send no audio).
    pub on_hold: bool,
    /// The peer put us on hold (its SDP is sendonly or inactive).
    pub remote_hold: bool,
    /// DTMF keys received from the peer, in order.
    pub dtmf_received: String,
}

/// A finished call recording.
#[derive(Debug, Clone)]
pub struct Recording {
    /// An Ogg Opus file, both directions mixed, mono (encoded from 16 kHz; decodes at 48 kHz).
    pub data: Vec<u8>,
    /// MIME type of `data`.
    pub codec: &'static str,
    /// Length of the recorded audio.
    pub duration: Duration,
}

/// MIME type of recordings.
pub const RECORDING_MIME: &str = "audio/ogg; codecs=opus";
