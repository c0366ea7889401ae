//! Support shared by the phone's integration tests: `mod common;` in a test file.
//!
//! - [`rig`]: the telephony test rig (`scripts/sip-rig.sh`): where Kamailio listens, the
//!   test users, the baresip far-end phones (control, events, recordings), cutting and
//!   restoring the WebSocket.
//! - [`asterisk`]: a real Asterisk (`scripts/asterisk.sh`), configured as the guide says.
//! - [`wav`]: reading the phones' WAV recordings and checking the tone in them.

// Each test binary uses a different part of this module.
#![allow(dead_code, unused_imports)]

pub mod asterisk;
pub mod rig;
pub mod wav;

pub use asterisk::Asterisk;
pub use rig::{Baresip, Event, Phone, PhoneInfo, Phones, Recording, Rig};
pub use wav::Wav;
