//! Why a media operation failed.

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
