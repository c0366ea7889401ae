//! Media of a call: WebRTC (ICE, DTLS-SRTP), codecs, audio I/O and the recorder.
//!
//! One [`MediaSession`] is one call's media. Its SDP goes to and comes from the PBX through
//! SIP (offer/answer with full candidates, no trickle). Audio moves in 20 ms frames of 48 kHz
//! mono `i16` between an [`AudioSource`], the network and an [`AudioSink`]; a per-call media
//! clock paces it and feeds the recorder with both directions mixed.
//!
//! What a call's media is set up with is in [`MediaOptions`]; what it went through, in
//! [`MediaStats`] and [`MediaFailure`]; what it leaves, a [`Recording`].

mod analysis;
mod audio;
mod clock;
pub mod devices;
mod diagnosis;
mod dtmf;
mod engine;
mod error;
mod g711;
mod options;
mod receive;
mod recorder;
mod sdp;
mod session;
mod shared;
mod status;
mod track;
mod wav;

pub use analysis::{dominant_frequency, rms, tone_level};
pub use audio::{
    AudioSink, AudioSource, CaptureHandle, CaptureSink, NullSink, SilenceSource, ToneSource, FRAME_DURATION,
    FRAME_SAMPLES, SAMPLE_RATE,
};
pub use devices::{DeviceSink, DeviceSource, Devices};
pub use error::MediaError;
pub use options::{Codec, IceServer, MediaOptions, SdpFilter};
pub use recorder::{decode_recording, Recording, RECORDING_MIME};
pub use session::MediaSession;
pub use status::{DtlsState, IceState, MediaEvent, MediaFailure, MediaStats, TransportState};
pub use wav::{wav_bytes, WavEncoding, WavSink, WavSource};
