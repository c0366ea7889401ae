//! Telling why a call has no audio: the DTLS outcome (with the peer's certificate checked
//! against its SDP ourselves, so a fingerprint mismatch is told apart from a failed
//! handshake), the bytes that reach the ICE transport, and what was decoded.

use std::sync::{Arc, Weak};

use dialog_sip::sdp::Fingerprint;
use sha2::{Digest, Sha256};
use webrtc::dtls_transport::dtls_transport_state::RTCDtlsTransportState;
use webrtc::dtls_transport::RTCDtlsTransport;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::stats::StatsReportType;

use super::shared::{lock, Shared};
use super::{DtlsState, MediaFailure};

/// More than a DTLS handshake's retransmits: what arrives beyond it after DTLS is SRTP.
const SRTP_BYTES: u64 = 1_000;

/// Follows the DTLS transport's state into `shared`; on failure, tells a certificate that does
/// not match the peer's SDP from a handshake that failed.
pub(crate) fn watch_dtls(dtls: &Arc<RTCDtlsTransport>, pc: Weak<RTCPeerConnection>, shared: Arc<Shared>) {
    let weak = Arc::downgrade(dtls);
    dtls.on_state_change(Box::new(move |state| {
        let (shared, weak, pc) = (Arc::clone(&shared), weak.clone(), pc.clone());
        Box::pin(async move {
            let dtls_state = match state {
                RTCDtlsTransportState::Connecting => DtlsState::Connecting,
                RTCDtlsTransportState::Connected => DtlsState::Connected,
                RTCDtlsTransportState::Closed => DtlsState::Closed,
                RTCDtlsTransportState::Failed => {
                    let certificate = match weak.upgrade() {
                        Some(d) => d.get_remote_certificate().await,
                        None => Default::default(),
                    };
                    let fingerprints = lock(&shared.status).remote_fingerprints.clone();
                    if !certificate.is_empty() && !certificate_matches(&certificate, &fingerprints) {
                        DtlsState::FingerprintMismatch
                    } else {
                        DtlsState::Failed
                    }
                }
                _ => DtlsState::New,
            };
            match dtls_state {
                DtlsState::FingerprintMismatch => tracing::warn!(
                    fingerprints = ?lock(&shared.status).remote_fingerprints,
                    "DTLS: the peer's certificate does not match the fingerprint of its SDP"
                ),
                DtlsState::Failed => tracing::warn!("DTLS handshake failed"),
                _ => tracing::debug!(%state, "DTLS state"),
            }
            lock(&shared.status).dtls = dtls_state;
            if dtls_state == DtlsState::Connected {
                if let Some(pc) = pc.upgrade() {
                    let bytes = transport_bytes_received(&pc).await;
                    lock(&shared.status).bytes_at_dtls = bytes;
                }
            }
        })
    }));
}

/// Whether the certificate's SHA-256 is one of the SDP's fingerprints (hash names compared
/// without case, RFC 8122 §5).
pub(crate) fn certificate_matches(certificate: &[u8], fingerprints: &[Fingerprint]) -> bool {
    let digest = Sha256::digest(certificate);
    let ours: Vec<String> = digest.iter().map(|b| format!("{b:02x}")).collect();
    let ours = ours.join(":");
    fingerprints
        .iter()
        .any(|f| f.hash_is("sha-256") && f.value.eq_ignore_ascii_case(&ours))
}

/// Bytes the ICE transport received (DTLS and SRTP; STUN not counted).
pub(crate) async fn transport_bytes_received(pc: &RTCPeerConnection) -> Option<u64> {
    let report = pc.get_stats().await;
    report.reports.values().find_map(|r| match r {
        StatsReportType::Transport(t) => Some(t.bytes_received as u64),
        _ => None,
    })
}

/// Why no audio arrived, or `None` when it did (or the call's media is not set up yet).
pub(crate) async fn failure(pc: &RTCPeerConnection, shared: &Shared) -> Option<MediaFailure> {
    let (first_audio, ice_connected, dtls, bytes_at_dtls, hash) = {
        let s = lock(&shared.status);
        (
            s.first_audio_at.is_some(),
            s.ice_connected_at.is_some(),
            s.dtls,
            s.bytes_at_dtls,
            s.remote_fingerprints
                .first()
                .map(|f| f.hash.clone())
                .unwrap_or_default(),
        )
    };
    if first_audio {
        return None;
    }
    let packets = shared.packets_received.load(std::sync::atomic::Ordering::Relaxed);
    Some(match dtls {
        DtlsState::FingerprintMismatch => MediaFailure::DtlsFingerprint { hash },
        DtlsState::Failed => MediaFailure::DtlsHandshake,
        _ if !ice_connected => MediaFailure::Ice,
        DtlsState::New | DtlsState::Connecting => MediaFailure::DtlsHandshake,
        DtlsState::Connected | DtlsState::Closed => {
            let now = transport_bytes_received(pc).await.unwrap_or(0);
            let after_dtls = now.saturating_sub(bytes_at_dtls.unwrap_or(now));
            if packets == 0 && after_dtls > SRTP_BYTES {
                MediaFailure::Srtp
            } else {
                MediaFailure::NoRtp
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_matches_its_fingerprint_in_any_case() {
        let cert = b"not really DER, but hashed all the same";
        let hex: Vec<String> = Sha256::digest(cert).iter().map(|b| format!("{b:02X}")).collect();
        let upper = hex.join(":");
        let print = |hash: &str, value: &str| {
            vec![Fingerprint {
                hash: hash.into(),
                value: value.into(),
            }]
        };
        assert!(certificate_matches(cert, &print("SHA-256", &upper)));
        assert!(certificate_matches(cert, &print("sha-256", &upper.to_lowercase())));
        let mut tampered = upper.clone();
        tampered.replace_range(0..1, if upper.starts_with('0') { "1" } else { "0" });
        assert!(!certificate_matches(cert, &print("sha-256", &tampered)));
        assert!(!certificate_matches(cert, &print("sha-1", &upper)));
    }
}
