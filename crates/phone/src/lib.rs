//! Dialog's softphone: SIP over WebSocket to the PBX, WebRTC media, audio and recording.

pub mod media;
pub mod phone;
pub mod probe;
pub mod transport;
