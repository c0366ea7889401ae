//! Where a call's media is: ICE, DTLS, the transport, what failed, its counters and events.

use std::time::Instant;

use super::Codec;

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
