//! State shared by a session, its media clock and its receivers.

use std::collections::VecDeque;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use dialog_sip::sdp::Fingerprint;
use tokio::sync::broadcast;

use super::receive::Playout;
use super::sdp::PayloadKind;
use super::{Codec, DtlsState, IceState, MediaEvent, TransportState};

/// What negotiation decided, read by the clock every tick.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SendPlan {
    /// Codec and payload type to send with.
    pub(crate) send: Option<(Codec, u8)>,
    /// telephone-event payload type and clock rate.
    pub(crate) dtmf: Option<(u8, u32)>,
    /// We hold the call: send nothing.
    pub(crate) local_hold: bool,
    /// The peer's SDP says it receives (not sendonly/inactive, port not 0).
    pub(crate) remote_receives: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Status {
    pub(crate) connected_at: Option<Instant>,
    pub(crate) first_audio_at: Option<Instant>,
    pub(crate) ice: IceState,
    pub(crate) ice_connected_at: Option<Instant>,
    pub(crate) transport: TransportState,
    pub(crate) dtls: DtlsState,
    /// Bytes the ICE transport had received when DTLS connected (what came after is SRTP).
    pub(crate) bytes_at_dtls: Option<u64>,
    /// The `a=fingerprint` lines of the peer's last SDP.
    pub(crate) remote_fingerprints: Vec<Fingerprint>,
    pub(crate) remote_hold: bool,
    pub(crate) dtmf_received: String,
}

/// State shared by the session, its clock and its receivers.
pub(crate) struct Shared {
    pub(crate) started_at: Instant,
    pub(crate) plan: Mutex<SendPlan>,
    /// Payload types we may receive and what they carry.
    pub(crate) recv: Mutex<Vec<(u8, PayloadKind)>>,
    pub(crate) dtmf_queue: Mutex<VecDeque<u8>>,
    playout: Mutex<Playout>,
    pub(crate) status: Mutex<Status>,
    pub(crate) packets_sent: AtomicU64,
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) packets_received: AtomicU64,
    pub(crate) bytes_received: AtomicU64,
    pub(crate) events: broadcast::Sender<MediaEvent>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new() -> Self {
        Shared {
            started_at: Instant::now(),
            plan: Mutex::new(SendPlan::default()),
            recv: Mutex::new(Vec::new()),
            dtmf_queue: Mutex::new(VecDeque::new()),
            playout: Mutex::new(Playout::default()),
            status: Mutex::new(Status::default()),
            packets_sent: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            packets_received: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            events: broadcast::channel(64).0,
        }
    }

    pub(crate) fn send_plan(&self) -> SendPlan {
        *lock(&self.plan)
    }

    pub(crate) fn playout(&self) -> MutexGuard<'_, Playout> {
        lock(&self.playout)
    }

    pub(crate) fn payload_kind(&self, pt: u8) -> Option<PayloadKind> {
        lock(&self.recv).iter().find(|(p, _)| *p == pt).map(|(_, k)| *k)
    }

    pub(crate) fn next_dtmf(&self) -> Option<u8> {
        lock(&self.dtmf_queue).pop_front()
    }

    pub(crate) fn clear_dtmf_queue(&self) {
        let mut q = lock(&self.dtmf_queue);
        if !q.is_empty() {
            tracing::debug!(
                dropped = q.len(),
                "DTMF keys dropped: not sending (hold or peer not receiving)"
            );
            q.clear();
        }
    }

    pub(crate) fn first_audio_seen(&self) -> bool {
        lock(&self.status).first_audio_at.is_some()
    }

    pub(crate) fn note_first_audio(&self, now: Instant) {
        let mut status = lock(&self.status);
        if status.first_audio_at.is_none() {
            status.first_audio_at = Some(now);
            drop(status);
            let _ = self.events.send(MediaEvent::FirstAudio);
        }
    }
}
