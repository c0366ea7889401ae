//! The phone: a cloneable [`Phone`] handle whose commands go to one task, the driver, which owns
//! the WebSocket, the timer and the media of every call, and feeds the call logic. The call
//! logic (the SIP user agent [`dialog_sip::ua::UserAgent`], the calls' states, what each is
//! about, their records) reads no clock and does no IO: it is given the time with every input,
//! so it is tested in virtual time. The state is published on a watch channel; finished calls
//! (with their recordings) come out of a separate channel so the app can store them.

mod calls;
mod config;
mod driver;
mod handle;
mod status;
#[cfg(test)]
mod tests;

pub use config::{AudioFactory, AudioPair, Identify, PhoneConfig};
pub use handle::Phone;
pub use status::{CallContext, CallInfo, CallRecord, CallState, Direction, LineState, PhoneError, PhoneStatus};
