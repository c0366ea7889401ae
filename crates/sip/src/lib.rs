//! Dialog's SIP core, sans-IO: message model and parser ([`msg`]), SDP ([`sdp`]), digest
//! authentication ([`auth`]) and a user agent ([`ua`]) with registration, transactions and calls,
//! for SIP over WebSocket (RFC 7118) to Kamailio or Asterisk.
//!
//! Nothing here does IO or reads the clock. The driver owns the WebSocket and the timer, and
//! feeds the core, in the style of quinn and str0m:
//!
//! ```
//! use std::time::Instant;
//! use dialog_sip::ua::{UaConfig, UaEvent, UserAgent};
//!
//! let cfg = UaConfig { aor_user: "2001".into(), domain: "127.0.0.1".into(), password: "secret".into(), ..UaConfig::default() };
//! let mut ua = UserAgent::new(cfg, Instant::now());
//! ua.transport_up(Instant::now()); // the WebSocket is open: this queues a REGISTER
//! loop {
//!     while let Some(text) = ua.poll_transmit() {
//!         // send `text` as one WebSocket text message
//!         # assert!(text.starts_with("REGISTER "));
//!     }
//!     while let Some(event) = ua.poll_event() {
//!         // update the UI, start media on UaEvent::Answered, ...
//!         # let _ = event;
//!     }
//!     // Then wait for whichever comes first: a WebSocket message (→ ua.handle_message(now, bytes)),
//!     // the deadline ua.poll_timeout() (→ ua.handle_timeout(now)), or a user action (→ ua.invite(...)).
//!     # break;
//! }
//! ```
//!
//! Every method takes `now`, so tests drive timers in virtual time (see `ua` tests).
//!
//! Fuzzing: [`msg::parse`], [`sdp::parse`], [`auth::Challenge::parse`] and
//! [`ua::UserAgent::handle_message`] must never panic. `tests/fuzz.rs` checks this with proptest
//! (arbitrary bytes and mutated real messages) on every `cargo test`; no `cargo fuzz` setup is
//! needed. Raise `PROPTEST_CASES` for a longer run.

pub mod auth;
pub mod msg;
pub mod number;
pub mod sdp;
pub mod ua;
