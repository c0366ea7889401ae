//! What the user agent reports to its driver, and its errors.

use std::fmt;
use std::time::Instant;

#[cfg(doc)]
use super::UserAgent;

/// Handle of one call, unique within a [`UserAgent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub(super) u64);

impl CallId {
    /// The numeric value (for logs and UI keys).
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call-{}", self.0)
    }
}

/// Registration status as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationState {
    /// Not registered (initially, after [`UserAgent::unregister`], or after losing the transport).
    Unregistered,
    /// A REGISTER is in flight and we were not registered before it.
    Registering,
    /// The registrar accepted us until `expires_at`; a refresh is scheduled before then.
    Registered {
        /// When the binding lapses unless refreshed.
        expires_at: Instant,
    },
    /// The registrar refused (wrong password: 401/403) or did not answer (408).
    Failed {
        /// SIP status code (408 for our own timeout).
        code: u16,
        /// Reason phrase.
        reason: String,
    },
}

/// Why a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    /// We hung up (or rejected an incoming call).
    LocalHangup,
    /// The peer sent BYE.
    RemoteHangup,
    /// Cancelled before answer, by us (CANCEL) or by the caller.
    Cancelled,
    /// The callee declined: 486, 600, 603.
    Rejected {
        /// Status code.
        code: u16,
        /// Reason phrase.
        reason: String,
    },
    /// Any other final failure (404, 480, 488, 503, ...), or 481/408 to a re-INVITE.
    Failed {
        /// Status code.
        code: u16,
        /// Reason phrase.
        reason: String,
    },
    /// The WebSocket went down before the call was established.
    TransportLost,
    /// No final response within Timer B, or no ACK for our 2xx.
    Timeout,
}

/// Something the driver should act on or show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UaEvent {
    /// Registration status changed (or was refreshed).
    Registration(RegistrationState),
    /// A new incoming call; we already answered 180 Ringing.
    IncomingCall {
        /// Handle.
        call: CallId,
        /// Caller number: user part of P-Asserted-Identity, else of From (tel: number as is).
        from_user: String,
        /// Caller display name.
        from_display: Option<String>,
        /// SDP offer, absent for a late-offer INVITE.
        sdp_offer: Option<String>,
    },
    /// Our outgoing call rings (first 180/183).
    Ringing {
        /// Handle.
        call: CallId,
    },
    /// A provisional response to our outgoing call carried SDP (early media, e.g. 183).
    EarlyMedia {
        /// Handle.
        call: CallId,
        /// The SDP answer in the provisional response.
        sdp: String,
    },
    /// Our outgoing call was answered; the ACK is already queued.
    Answered {
        /// Handle.
        call: CallId,
        /// SDP answer (from the 2xx, else from early media).
        sdp_answer: String,
    },
    /// The ACK for our 2xx to an incoming call arrived.
    Confirmed {
        /// Handle.
        call: CallId,
    },
    /// The peer sent a re-INVITE (hold, unhold, session refresh); reply with
    /// [`UserAgent::answer_reinvite`] (or [`UserAgent::reject_reinvite`]).
    ReInvite {
        /// Handle.
        call: CallId,
        /// The offer (empty when the peer asks us to offer: not supported, reject it).
        sdp_offer: String,
    },
    /// Our re-INVITE was accepted.
    ReInviteAnswered {
        /// Handle.
        call: CallId,
        /// SDP answer.
        sdp_answer: String,
    },
    /// Our re-INVITE was refused (491 glare: retry later if still wanted). The previous session
    /// stays in force unless an `Ended` follows (481, 408).
    ReInviteFailed {
        /// Handle.
        call: CallId,
        /// Status code (503 when the transport was lost).
        code: u16,
        /// Reason phrase.
        reason: String,
    },
    /// The call is over; the handle is no longer valid.
    Ended {
        /// Handle.
        call: CallId,
        /// Why.
        reason: EndReason,
    },
    /// Input we ignored (unparseable message and the like), for the log.
    Warning(String),
}

/// Misuse of the call API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UaError {
    /// The call does not exist or has already ended.
    #[error("call {0} does not exist or has ended")]
    UnknownCall(CallId),
    /// The call exists but the action does not fit its state (e.g. answering an outgoing call).
    #[error("cannot {action} call {call} in its current state")]
    InvalidState {
        /// Handle.
        call: CallId,
        /// What was attempted.
        action: &'static str,
    },
    /// There is no connection to the PBX.
    #[error("no connection to the PBX")]
    TransportDown,
}
