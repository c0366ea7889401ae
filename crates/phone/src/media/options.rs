//! How a call's media is set up: the codecs, the ICE servers, recording.

use std::time::Duration;

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
    /// Record the call (both directions mixed) into a µ-law WAV file returned by `close`.
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
