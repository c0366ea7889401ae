//! The bits of SDP (RFC 8866, RFC 3264) the phone reads itself: the audio section's formats
//! and direction, and fix-ups of peer SDP before it goes to the WebRTC stack.
//!
//! Line-based on purpose: it only looks at `m=`, `a=mid`, `a=rtpmap` and direction
//! attributes and never fails, so unknown or odd lines from a PBX pass through untouched.

use super::Codec;

/// Media direction of a section (RFC 3264 §5.1); sendrecv when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    /// Whether the side that wrote this SDP wants to receive.
    pub(crate) fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }
}

/// What an RTP payload type carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PayloadKind {
    Audio(Codec),
    /// RFC 4733 events at this clock rate.
    Dtmf(u32),
}

/// The first `m=audio` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AudioSection {
    pub(crate) port: u16,
    pub(crate) formats: Vec<u8>,
    pub(crate) rtpmap: Vec<(u8, String, u32)>,
    pub(crate) direction: Direction,
}

impl AudioSection {
    /// Encoding name and clock rate of a payload type: from `a=rtpmap`, or the static
    /// assignment of RFC 3551 for 0 and 8.
    pub(crate) fn encoding(&self, pt: u8) -> Option<(&str, u32)> {
        if let Some((_, name, rate)) = self.rtpmap.iter().find(|(p, _, _)| *p == pt) {
            return Some((name.as_str(), *rate));
        }
        match pt {
            0 => Some(("PCMU", 8000)),
            8 => Some(("PCMA", 8000)),
            _ => None,
        }
    }

    /// What a payload type of this section carries, if it is something we handle.
    pub(crate) fn kind(&self, pt: u8) -> Option<PayloadKind> {
        let (name, rate) = self.encoding(pt)?;
        if name.eq_ignore_ascii_case("telephone-event") {
            return Some(PayloadKind::Dtmf(rate));
        }
        [Codec::Opus, Codec::Pcmu, Codec::Pcma]
            .into_iter()
            .find(|c| name.eq_ignore_ascii_case(c.encoding_name()) && rate == c.clock_rate())
            .map(PayloadKind::Audio)
    }

    /// The codec to send with: the first format of this (answer) section that is enabled
    /// here. Both sides sending the answer's first common format keeps the call symmetric.
    pub(crate) fn send_codec(&self, enabled: &[Codec]) -> Option<(Codec, u8)> {
        self.formats.iter().find_map(|&pt| match self.kind(pt) {
            Some(PayloadKind::Audio(c)) if enabled.contains(&c) => Some((c, pt)),
            _ => None,
        })
    }

    /// The telephone-event payload type and its clock rate, preferring 8 kHz.
    pub(crate) fn dtmf(&self) -> Option<(u8, u32)> {
        let events = || {
            self.formats.iter().filter_map(|&pt| match self.kind(pt) {
                Some(PayloadKind::Dtmf(rate)) => Some((pt, rate)),
                _ => None,
            })
        };
        events().find(|&(_, rate)| rate == 8000).or_else(|| events().next())
    }
}

fn lines(sdp: &str) -> impl Iterator<Item = &str> {
    sdp.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty())
}

/// Parses the first audio section; `None` when there is none.
pub(crate) fn audio_section(sdp: &str) -> Option<AudioSection> {
    let mut section: Option<AudioSection> = None;
    let mut session_direction = None;
    let mut section_direction = None;
    for line in lines(sdp) {
        if let Some(m) = line.strip_prefix("m=") {
            if section.is_some() {
                break;
            }
            let mut parts = m.split_whitespace();
            if parts.next() == Some("audio") {
                let port = parts
                    .next()
                    .and_then(|p| p.split('/').next()?.parse().ok())
                    .unwrap_or(0);
                let _proto = parts.next();
                let formats = parts.filter_map(|f| f.parse().ok()).collect();
                section = Some(AudioSection {
                    port,
                    formats,
                    rtpmap: Vec::new(),
                    direction: Direction::SendRecv,
                });
            } else {
                // A non-audio section before the audio one: skip its attributes.
                section_direction = None;
                continue;
            }
            continue;
        }
        let direction = match line {
            "a=sendrecv" => Some(Direction::SendRecv),
            "a=sendonly" => Some(Direction::SendOnly),
            "a=recvonly" => Some(Direction::RecvOnly),
            "a=inactive" => Some(Direction::Inactive),
            _ => None,
        };
        match section.as_mut() {
            None => {
                if direction.is_some() && section_direction.is_none() {
                    session_direction = direction;
                }
            }
            Some(s) => {
                if direction.is_some() {
                    section_direction = direction;
                } else if let Some(map) = line.strip_prefix("a=rtpmap:") {
                    if let Some(entry) = parse_rtpmap(map) {
                        s.rtpmap.push(entry);
                    }
                }
            }
        }
    }
    let mut s = section?;
    s.direction = section_direction.or(session_direction).unwrap_or(Direction::SendRecv);
    Some(s)
}

/// `96 opus/48000/2` → (96, "opus", 48000).
fn parse_rtpmap(map: &str) -> Option<(u8, String, u32)> {
    let (pt, rest) = map.split_once(' ')?;
    let mut enc = rest.trim().split('/');
    let name = enc.next()?.to_owned();
    let rate = enc.next()?.parse().ok()?;
    Some((pt.trim().parse().ok()?, name, rate))
}

/// The `a=mid` of each media section, in order ("" where absent).
/// The SDP with an `a=group:BUNDLE` of all its sections' mids, after the `t=` line.
pub(crate) fn with_bundle_group(sdp: &str) -> String {
    let group = format!("a=group:BUNDLE {}", mids(sdp).join(" "));
    let mut out = String::with_capacity(sdp.len() + group.len() + 2);
    let mut added = false;
    for line in lines(sdp) {
        if !added && line.starts_with("m=") {
            out.push_str(&group);
            out.push_str("\r\n");
            added = true;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out
}

/// The SDP without its `a=group:BUNDLE` line.
pub(crate) fn without_bundle_group(sdp: &str) -> String {
    let mut out = String::with_capacity(sdp.len());
    for line in lines(sdp).filter(|l| !l.starts_with("a=group:BUNDLE")) {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out
}

pub(crate) fn mids(sdp: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in lines(sdp) {
        if line.starts_with("m=") {
            out.push(String::new());
        } else if let (Some(mid), Some(last)) = (line.strip_prefix("a=mid:"), out.last_mut()) {
            *last = mid.trim().to_owned();
        }
    }
    out
}

/// Makes peer SDP acceptable to the WebRTC stack without changing its meaning:
/// - media sections without `a=mid` (plain RFC 3264 peers; rtpengine adds one only with
///   `generate-mid`) get the mid of our section at the same index (RFC 3264 §6 pairs
///   sections by position), or the index itself;
/// - static payload types 0 and 8 listed without `a=rtpmap` get one (RFC 3551 §6);
/// - candidates of RTCP component 2 are dropped (we always multiplex RTCP, RFC 5761);
/// - the hash name of `a=fingerprint` is written in lower case: it is case-insensitive
///   (RFC 8122 §5, RFC 5234 §2.3) and Asterisk writes `SHA-256`, but the WebRTC stack
///   compares it with `sha-256` as written and would end the DTLS handshake with an alert.
pub(crate) fn prepare_remote(sdp: &str, local_mids: &[String]) -> String {
    let sections = mids(sdp);
    let mut out = String::with_capacity(sdp.len() + 128);
    let mut index: Option<usize> = None;
    let mut pending_static: Vec<u8> = Vec::new();
    let all: Vec<&str> = lines(sdp).collect();
    let flush_static = |out: &mut String, pending: &mut Vec<u8>| {
        for pt in pending.drain(..) {
            let name = if pt == 0 { "PCMU" } else { "PCMA" };
            out.push_str(&format!("a=rtpmap:{pt} {name}/8000\r\n"));
        }
    };
    for (n, line) in all.iter().enumerate() {
        if let Some(m) = line.strip_prefix("m=") {
            flush_static(&mut out, &mut pending_static);
            let i = index.map_or(0, |i| i + 1);
            index = Some(i);
            out.push_str(line);
            out.push_str("\r\n");
            if sections.get(i).is_some_and(String::is_empty) {
                let mid = local_mids
                    .get(i)
                    .filter(|m| !m.is_empty())
                    .cloned()
                    .unwrap_or_else(|| i.to_string());
                out.push_str(&format!("a=mid:{mid}\r\n"));
            }
            // Which static types lack an rtpmap in this section?
            let section_lines = all[n + 1..].iter().take_while(|l| !l.starts_with("m="));
            let mapped: Vec<&str> = section_lines.filter_map(|l| l.strip_prefix("a=rtpmap:")).collect();
            if m.starts_with("audio ") {
                for pt in m.split_whitespace().skip(3).filter_map(|f| f.parse::<u8>().ok()) {
                    let has = mapped
                        .iter()
                        .any(|r| r.split(' ').next().and_then(|p| p.parse::<u8>().ok()) == Some(pt));
                    if (pt == 0 || pt == 8) && !has {
                        pending_static.push(pt);
                    }
                }
            }
            continue;
        }
        if is_rtcp_candidate(line) {
            continue;
        }
        if let Some(fingerprint) = line.strip_prefix("a=fingerprint:") {
            let (hash, value) = fingerprint.split_once(' ').unwrap_or((fingerprint, ""));
            out.push_str("a=fingerprint:");
            out.push_str(&hash.to_ascii_lowercase());
            if !value.is_empty() {
                out.push(' ');
                out.push_str(value);
            }
            out.push_str("\r\n");
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    flush_static(&mut out, &mut pending_static);
    out
}

/// The `a=fingerprint` attributes (hash name, value) of an SDP, session and media level.
pub(crate) fn fingerprints(sdp: &str) -> Vec<(String, String)> {
    lines(sdp)
        .filter_map(|l| l.strip_prefix("a=fingerprint:"))
        .filter_map(|f| f.trim().split_once(' '))
        .map(|(hash, value)| (hash.to_owned(), value.trim().to_owned()))
        .collect()
}

/// An ICE candidate for a separate RTCP component: useless with rtcp-mux, which we always
/// use (rtpengine offers them alongside `a=rtcp-mux`).
fn is_rtcp_candidate(line: &str) -> bool {
    line.strip_prefix("a=candidate:")
        .and_then(|c| c.split_whitespace().nth(1))
        .is_some_and(|comp| comp != "1")
}

/// The `o=` line we own: one session id for the call, a version that grows whenever our
/// SDP changes (RFC 3264 §8: Asterisk ignores a re-offer whose version did not change).
#[derive(Debug)]
pub(crate) struct Origin {
    id: u64,
    version: u64,
    last_body: String,
}

impl Origin {
    pub(crate) fn new() -> Self {
        // Keep ids within i63 like other stacks do; some parsers read them as signed.
        Origin {
            id: rand::random::<u64>() >> 1,
            version: 1,
            last_body: String::new(),
        }
    }
}

/// Makes our SDP (from the WebRTC stack) right for a SIP peer:
/// - `o=` with a stable session id and a version bumped on every change;
/// - the default candidate in `m=` port and `c=` (RFC 8839 §4.2.1.2) instead of
///   `9`/`0.0.0.0`: Asterisk takes `c=IN IP4 0.0.0.0` for hold (RFC 2543 style).
pub(crate) fn finish_local(sdp: &str, origin: &mut Origin) -> String {
    let all: Vec<&str> = lines(sdp).collect();
    let mut body = String::with_capacity(sdp.len() + 64);
    let mut origin_at = None;
    let mut address = String::from("127.0.0.1");
    let mut first_section = true;
    let mut n = 0;
    while n < all.len() {
        let line = all[n];
        if line.starts_with("o=") {
            origin_at = Some(body.len());
        } else if line.starts_with("m=") {
            let end = all[n + 1..]
                .iter()
                .position(|l| l.starts_with("m="))
                .map_or(all.len(), |p| n + 1 + p);
            let section = &all[n..end];
            let default = default_candidate(section);
            if let (true, Some((ip, _))) = (first_section, default) {
                address = ip.to_owned();
            }
            first_section = false;
            for l in section {
                match default {
                    Some((_, port)) if l.starts_with("m=") => {
                        // m=audio 9 PROTO FMTS → the default candidate's port.
                        let mut parts: Vec<String> = l.split(' ').map(str::to_owned).collect();
                        if parts.len() > 1 && parts[1] == "9" {
                            parts[1] = port.to_string();
                        }
                        body.push_str(&parts.join(" "));
                    }
                    Some((ip, _)) if *l == "c=IN IP4 0.0.0.0" => body.push_str(&format!("c=IN IP4 {ip}")),
                    _ => body.push_str(l),
                }
                body.push_str("\r\n");
            }
            n = end;
            continue;
        } else {
            body.push_str(line);
            body.push_str("\r\n");
        }
        n += 1;
    }
    if body != origin.last_body {
        if !origin.last_body.is_empty() {
            origin.version += 1;
        }
        origin.last_body = body.clone();
    }
    let o = format!("o=- {} {} IN IP4 {address}\r\n", origin.id, origin.version);
    match origin_at {
        Some(at) => body.insert_str(at, &o),
        None => {
            let at = body.find("\r\n").map_or(0, |p| p + 2);
            body.insert_str(at, &o);
        }
    }
    body
}

/// (address, port) of the best component-1 UDP IPv4 candidate: relay, then server
/// reflexive, then host, as the one most likely to work for a peer without ICE.
fn default_candidate<'a>(section: &[&'a str]) -> Option<(&'a str, u16)> {
    let rank = |typ: &str| match typ {
        "relay" => 0,
        "srflx" | "prflx" => 1,
        _ => 2,
    };
    section
        .iter()
        .filter_map(|l| {
            let c: Vec<&str> = l.strip_prefix("a=candidate:")?.split_whitespace().collect();
            // foundation component transport priority address port typ type
            if c.len() < 8 || c[1] != "1" || !c[2].eq_ignore_ascii_case("udp") || c[6] != "typ" {
                return None;
            }
            c[4].parse::<std::net::Ipv4Addr>().ok()?;
            Some((rank(c[7]), c[4], c[5].parse().ok()?))
        })
        .min_by_key(|(r, _, _)| *r)
        .map(|(_, ip, port)| (ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RTPENGINE_ANSWER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
        m=audio 30000 UDP/TLS/RTP/SAVPF 0 101\r\na=rtpmap:101 telephone-event/8000\r\n\
        a=fmtp:101 0-15\r\na=recvonly\r\na=rtcp-mux\r\na=setup:active\r\n";

    #[test]
    fn reads_the_audio_section() {
        let s = audio_section(RTPENGINE_ANSWER).expect("audio");
        assert_eq!(s.port, 30000);
        assert_eq!(s.formats, vec![0, 101]);
        assert_eq!(s.direction, Direction::RecvOnly);
        assert_eq!(s.send_codec(&[Codec::Opus, Codec::Pcmu]), Some((Codec::Pcmu, 0)));
        assert_eq!(s.send_codec(&[Codec::Pcma]), None);
        assert_eq!(s.dtmf(), Some((101, 8000)));
        assert_eq!(s.kind(0), Some(PayloadKind::Audio(Codec::Pcmu)));
    }

    #[test]
    fn adds_mid_and_static_rtpmap() {
        let fixed = prepare_remote(RTPENGINE_ANSWER, &["0".to_owned()]);
        assert!(
            fixed.contains("m=audio 30000 UDP/TLS/RTP/SAVPF 0 101\r\na=mid:0\r\n"),
            "{fixed}"
        );
        assert!(fixed.contains("a=rtpmap:0 PCMU/8000\r\n"), "{fixed}");
        assert_eq!(mids(&fixed), vec!["0".to_owned()]);
        // Idempotent: nothing more is added the second time.
        assert_eq!(prepare_remote(&fixed, &[]), fixed);
    }

    #[test]
    fn keeps_existing_mid_and_session_direction() {
        let sdp =
            "v=0\r\na=sendonly\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:audio\r\na=rtpmap:111 opus/48000/2\r\n";
        let fixed = prepare_remote(sdp, &[]);
        assert_eq!(mids(&fixed), vec!["audio".to_owned()]);
        let s = audio_section(sdp).expect("audio");
        assert_eq!(s.direction, Direction::SendOnly);
        assert_eq!(s.send_codec(&[Codec::Opus]), Some((Codec::Opus, 111)));
    }

    #[test]
    fn local_sdp_gets_default_candidate_and_growing_version() {
        let ours = "v=0\r\no=- 99 5 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n\
            c=IN IP4 0.0.0.0\r\na=candidate:1 1 udp 2130706431 192.168.1.5 40000 typ host\r\n\
            a=candidate:2 1 udp 1694498815 203.0.113.7 40001 typ srflx raddr 0.0.0.0 rport 40000\r\na=sendrecv\r\n";
        let mut origin = Origin::new();
        let first = finish_local(ours, &mut origin);
        assert!(
            first.contains("m=audio 40001 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 203.0.113.7\r\n"),
            "{first}"
        );
        let o = |s: &str| s.lines().find(|l| l.starts_with("o=")).map(str::to_owned);
        assert_eq!(o(&first), Some(format!("o=- {} 1 IN IP4 203.0.113.7", origin.id)));
        assert_eq!(
            finish_local(ours, &mut origin),
            first,
            "unchanged SDP keeps its version"
        );
        let held = finish_local(&ours.replace("a=sendrecv", "a=sendonly"), &mut origin);
        assert_eq!(o(&held), Some(format!("o=- {} 2 IN IP4 203.0.113.7", origin.id)));
    }

    #[test]
    fn drops_rtcp_candidates() {
        let sdp = "m=audio 1 RTP/AVP 0\r\na=candidate:1 1 UDP 1 127.0.0.1 30000 typ host\r\n\
            a=candidate:1 2 UDP 1 127.0.0.1 30001 typ host\r\n";
        let fixed = prepare_remote(sdp, &[]);
        assert!(fixed.contains(" 30000 ") && !fixed.contains(" 30001 "), "{fixed}");
    }

    #[test]
    fn asterisks_upper_case_fingerprint_hash_is_lowered_for_the_webrtc_stack() {
        let asterisk = include_str!("../../tests/data/asterisk-answer.sdp");
        assert!(asterisk.contains("a=fingerprint:SHA-256 78:2E:BB"));
        let fixed = prepare_remote(asterisk, &["0".to_owned()]);
        assert!(
            fixed.contains("\r\na=fingerprint:sha-256 78:2E:BB:0B:1C:50:EB:BA:FA:99:88:2A:34:D9:74:F2:73:D3:49:91:8D:8D:BC:21:3D:70:0B:19:A9:95:C2:98\r\n"),
            "{fixed}"
        );
        assert_eq!(fixed.matches("a=fingerprint:").count(), 1);
        // The value and every other line stay as they were.
        assert_eq!(
            fixed.replace("sha-256", "SHA-256"),
            prepare_remote(&fixed.replace("sha-256", "SHA-256"), &[]).replace("sha-256", "SHA-256")
        );
        assert_eq!(
            fingerprints(asterisk),
            vec![(
                "SHA-256".to_owned(),
                "78:2E:BB:0B:1C:50:EB:BA:FA:99:88:2A:34:D9:74:F2:73:D3:49:91:8D:8D:BC:21:3D:70:0B:19:A9:95:C2:98"
                    .to_owned()
            )]
        );
        let s = audio_section(asterisk).expect("audio");
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
        ] {
            let _ = audio_section(junk);
            let _ = prepare_remote(junk, &[]);
            let _ = mids(junk);
            let _ = finish_local(junk, &mut Origin::new());
        }
    }
}
