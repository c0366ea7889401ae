//! What the phone makes of SDP, on `dialog_sip`'s model ([`dialog_sip::sdp`]): the audio
//! section's payloads and direction, the fix-ups that make a PBX's SDP acceptable to the WebRTC
//! stack, and the finishing touches that make the stack's SDP right for a SIP peer.

use dialog_sip::sdp::{self, Candidate, Direction, LocalOrigin, SdpLine, SessionDescription};

use super::{Codec, MediaError};

/// What an RTP payload type carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PayloadKind {
    Audio(Codec),
    /// RFC 4733 events at this clock rate.
    Dtmf(u32),
}

impl PayloadKind {
    /// What the phone can do with a codec of the SDP, if anything.
    fn of(codec: &sdp::Codec) -> Option<PayloadKind> {
        if codec.name.eq_ignore_ascii_case("telephone-event") {
            return Some(PayloadKind::Dtmf(codec.clock_rate));
        }
        [Codec::Opus, Codec::Pcmu, Codec::Pcma]
            .into_iter()
            .find(|c| codec.is(c.encoding_name(), c.clock_rate()))
            .map(PayloadKind::Audio)
    }
}

/// The first `m=audio` section, as far as the phone is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AudioSection {
    pub(crate) port: u16,
    /// The payload types we handle, in the order of the `m=` line.
    pub(crate) payloads: Vec<(u8, PayloadKind)>,
    /// Its effective direction (its own, else the session's; RFC 3264 §5.1).
    pub(crate) direction: Direction,
}

impl AudioSection {
    /// The first audio section of `sdp`; `None` when there is none.
    pub(crate) fn of(sdp: &SessionDescription) -> Option<AudioSection> {
        let (index, media) = sdp.audio()?;
        Some(AudioSection {
            port: media.port,
            payloads: media
                .codecs()
                .iter()
                .filter_map(|c| Some((c.payload_type, PayloadKind::of(c)?)))
                .collect(),
            direction: sdp.media_direction(index).unwrap_or(Direction::SendRecv),
        })
    }

    /// The codec to send with: the first format of this (answer) section that is enabled
    /// here. Both sides sending the answer's first common format keeps the call symmetric.
    pub(crate) fn send_codec(&self, enabled: &[Codec]) -> Option<(Codec, u8)> {
        self.payloads.iter().find_map(|&(pt, kind)| match kind {
            PayloadKind::Audio(c) if enabled.contains(&c) => Some((c, pt)),
            _ => None,
        })
    }

    /// The telephone-event payload type and its clock rate, preferring 8 kHz.
    pub(crate) fn dtmf(&self) -> Option<(u8, u32)> {
        let events = || {
            self.payloads.iter().filter_map(|&(pt, kind)| match kind {
                PayloadKind::Dtmf(rate) => Some((pt, rate)),
                PayloadKind::Audio(_) => None,
            })
        };
        events().find(|&(_, rate)| rate == 8000).or_else(|| events().next())
    }
}

/// Parses SDP from the peer or the WebRTC stack.
pub(crate) fn parse(text: &str) -> Result<SessionDescription, MediaError> {
    sdp::parse(text).map_err(|e| MediaError::Sdp(e.to_string()))
}

/// The mids of our own description's sections ("" where absent); none before we have one.
pub(crate) fn local_mids(local: &str) -> Vec<String> {
    sdp::parse(local)
        .map(|l| l.mids().into_iter().map(|m| m.unwrap_or_default().to_owned()).collect())
        .unwrap_or_default()
}

/// Makes the peer's SDP acceptable to the WebRTC stack without changing its meaning:
/// - media sections without `a=mid` (plain RFC 3264 peers; rtpengine adds one only with
///   `generate-mid`) get the mid of our section at the same index (RFC 3264 §6 pairs
///   sections by position), or the index itself;
/// - static payload types 0 and 8 listed without `a=rtpmap` get one (RFC 3551 §6);
/// - candidates of RTCP component 2 are dropped (we always multiplex RTCP, RFC 5761);
/// - the hash name of `a=fingerprint` is written in lower case: it is case-insensitive
///   (RFC 8122 §5, RFC 5234 §2.3) and Asterisk writes `SHA-256`, but the WebRTC stack
///   compares it with `sha-256` as written and would end the DTLS handshake with an alert.
pub(crate) fn prepare_remote(remote: &mut SessionDescription, local_mids: &[String]) {
    lower_fingerprint_hashes(&mut remote.lines);
    for (i, media) in remote.media.iter_mut().enumerate() {
        if media.mid().is_none() {
            let mid = local_mids
                .get(i)
                .filter(|m| !m.is_empty())
                .cloned()
                .unwrap_or_else(|| i.to_string());
            media.set_mid(&mid);
        }
        if media.kind == "audio" {
            for (pt, name) in [(0, "PCMU"), (8, "PCMA")] {
                if media.payload_types().any(|p| p == pt) && !media.has_rtpmap(pt) {
                    media
                        .lines
                        .push(SdpLine::attribute("rtpmap", Some(&format!("{pt} {name}/8000"))));
                }
            }
        }
        media.lines.retain(|l| match l.as_attribute() {
            Some(("candidate", c)) => Candidate::parse(c).is_none_or(|c| c.component == 1),
            _ => true,
        });
        lower_fingerprint_hashes(&mut media.lines);
    }
}

fn lower_fingerprint_hashes(lines: &mut [SdpLine]) {
    for line in lines {
        if let Some(("fingerprint", value)) = line.as_attribute() {
            if let Some(print) = sdp::Fingerprint::parse(value) {
                let lowered = format!("{} {}", print.hash.to_ascii_lowercase(), print.value);
                *line = SdpLine::attribute("fingerprint", Some(&lowered));
            }
        }
    }
}

/// Makes our SDP (from the WebRTC stack) right for a SIP peer: the default candidate in the
/// `m=` port and `c=` of each section instead of `9`/`0.0.0.0` (RFC 8839 §4.2.1.2; Asterisk takes
/// `c=IN IP4 0.0.0.0` for hold), then our `o=` with a stable session id and a version bumped on
/// every change (RFC 3264 §8: Asterisk ignores a re-offer whose version did not change).
pub(crate) fn finish_local(mut local: SessionDescription, origin: &mut LocalOrigin) -> String {
    let mut address = None;
    for media in &mut local.media {
        let shown = media.show_default_candidate();
        address = address.or(shown);
    }
    let address = address.map_or_else(|| "127.0.0.1".to_owned(), |a| a.to_string());
    origin.stamp(&mut local, &address);
    local.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RTPENGINE_ANSWER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
        m=audio 30000 UDP/TLS/RTP/SAVPF 0 101\r\na=rtpmap:101 telephone-event/8000\r\n\
        a=fmtp:101 0-15\r\na=recvonly\r\na=rtcp-mux\r\na=setup:active\r\n";

    fn section(text: &str) -> AudioSection {
        AudioSection::of(&parse(text).expect("parse")).expect("audio")
    }

    fn prepared(text: &str, local_mids: &[&str]) -> String {
        let mut remote = parse(text).expect("parse");
        let mids: Vec<String> = local_mids.iter().map(|m| (*m).to_owned()).collect();
        prepare_remote(&mut remote, &mids);
        remote.to_string()
    }

    #[test]
    fn reads_the_audio_section() {
        let s = section(RTPENGINE_ANSWER);
        assert_eq!(s.port, 30000);
        assert_eq!(
            s.payloads,
            vec![(0, PayloadKind::Audio(Codec::Pcmu)), (101, PayloadKind::Dtmf(8000))]
        );
        assert_eq!(s.direction, Direction::RecvOnly);
        assert_eq!(s.send_codec(&[Codec::Opus, Codec::Pcmu]), Some((Codec::Pcmu, 0)));
        assert_eq!(s.send_codec(&[Codec::Pcma]), None);
        assert_eq!(s.dtmf(), Some((101, 8000)));
    }

    #[test]
    fn adds_mid_and_static_rtpmap() {
        let fixed = prepared(RTPENGINE_ANSWER, &["0"]);
        assert!(
            fixed.contains("m=audio 30000 UDP/TLS/RTP/SAVPF 0 101\r\na=mid:0\r\n"),
            "{fixed}"
        );
        assert!(fixed.contains("a=rtpmap:0 PCMU/8000\r\n"), "{fixed}");
        // Idempotent: nothing more is added the second time.
        assert_eq!(prepared(&fixed, &[]), fixed);
        // Without a section of ours to pair with, the index is the mid.
        assert!(prepared(RTPENGINE_ANSWER, &[]).contains("\r\na=mid:0\r\n"));
    }

    #[test]
    fn keeps_existing_mid_and_session_direction() {
        let sdp =
            "v=0\r\na=sendonly\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:audio\r\na=rtpmap:111 opus/48000/2\r\n";
        let fixed = parse(&prepared(sdp, &["0"])).expect("parse");
        assert_eq!(fixed.mids(), vec![Some("audio")]);
        let s = section(sdp);
        assert_eq!(s.direction, Direction::SendOnly);
        assert_eq!(s.send_codec(&[Codec::Opus]), Some((Codec::Opus, 111)));
    }

    #[test]
    fn local_sdp_gets_default_candidate_and_growing_version() {
        let ours = "v=0\r\no=- 99 5 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n\
            c=IN IP4 0.0.0.0\r\na=candidate:1 1 udp 2130706431 192.168.1.5 40000 typ host\r\n\
            a=candidate:2 1 udp 1694498815 203.0.113.7 40001 typ srflx raddr 0.0.0.0 rport 40000\r\na=sendrecv\r\n";
        let mut origin = LocalOrigin::new(4242);
        let finish = |text: &str, origin: &mut LocalOrigin| finish_local(parse(text).expect("parse"), origin);
        let first = finish(ours, &mut origin);
        assert!(
            first.contains("m=audio 40001 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 203.0.113.7\r\n"),
            "{first}"
        );
        let o = |s: &str| s.lines().find(|l| l.starts_with("o=")).map(str::to_owned);
        assert_eq!(o(&first).as_deref(), Some("o=- 4242 1 IN IP4 203.0.113.7"));
        assert_eq!(finish(ours, &mut origin), first, "unchanged SDP keeps its version");
        let held = finish(&ours.replace("a=sendrecv", "a=sendonly"), &mut origin);
        assert_eq!(o(&held).as_deref(), Some("o=- 4242 2 IN IP4 203.0.113.7"));
    }

    #[test]
    fn drops_rtcp_candidates() {
        let sdp = "v=0\r\nm=audio 1 RTP/AVP 0\r\na=candidate:1 1 UDP 1 127.0.0.1 30000 typ host\r\n\
            a=candidate:1 2 UDP 1 127.0.0.1 30001 typ host\r\n";
        let fixed = prepared(sdp, &[]);
        assert!(fixed.contains(" 30000 ") && !fixed.contains(" 30001 "), "{fixed}");
    }

    #[test]
    fn asterisks_upper_case_fingerprint_hash_is_lowered_for_the_webrtc_stack() {
        let asterisk = include_str!("../../tests/data/asterisk-answer.sdp");
        assert!(asterisk.contains("a=fingerprint:SHA-256 78:2E:BB"));
        let fixed = prepared(asterisk, &["0"]);
        assert!(
            fixed.contains("\r\na=fingerprint:sha-256 78:2E:BB:0B:1C:50:EB:BA:FA:99:88:2A:34:D9:74:F2:73:D3:49:91:8D:8D:BC:21:3D:70:0B:19:A9:95:C2:98\r\n"),
            "{fixed}"
        );
        assert_eq!(fixed.matches("a=fingerprint:").count(), 1);
        // Every other line stays as it was.
        assert_eq!(
            fixed.replace("sha-256", "SHA-256"),
            parse(asterisk).expect("parse").to_string(),
            "only the hash name changed"
        );
        let parsed = parse(asterisk).expect("parse");
        let prints = parsed.fingerprints();
        assert_eq!(prints.len(), 1);
        assert_eq!(prints[0].hash, "SHA-256");
        let s = AudioSection::of(&parsed).expect("audio");
        assert_eq!(s.send_codec(&[Codec::Pcmu, Codec::Pcma]), Some((Codec::Pcmu, 0)));
        assert_eq!(s.dtmf(), Some((101, 8000)));
        assert_eq!(s.direction, Direction::SendRecv);
    }

    #[test]
    fn never_panics_on_junk() {
        for junk in [
            "",
            "m=",
            "m=audio",
            "m=audio x y 1 2 300\na=rtpmap:\na=rtpmap:1",
            "\r\n\r\nm=video 0\r\n",
            "v=0\r\nm=audio 0 RTP/AVP 300 x 0\r\na=rtpmap:\r\na=rtpmap:1\r\na=candidate:\r\na=fingerprint:\r\n",
            "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF\r\na=candidate:1 2\r\nm=audio 1 RTP/AVP 8\r\n",
        ] {
            let _ = local_mids(junk);
            let Ok(mut remote) = parse(junk) else { continue };
            let _ = AudioSection::of(&remote).map(|s| (s.send_codec(&[Codec::Pcmu]), s.dtmf()));
            prepare_remote(&mut remote, &[]);
            let _ = finish_local(remote, &mut LocalOrigin::new(1));
        }
    }
}
