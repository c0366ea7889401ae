//! Minimal SDP (RFC 8866): enough to read codecs and to flip the direction attribute for hold
//! (RFC 6337 §5.3). Unknown lines are kept in order, so printing a parsed description keeps them.

use std::fmt;

/// Largest accepted description.
pub const MAX_SDP_SIZE: usize = 64 * 1024;

/// Why a description could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    /// Larger than [`MAX_SDP_SIZE`].
    #[error("SDP too large")]
    TooLarge,
    /// Does not start with `v=0`.
    #[error("SDP must start with v=0")]
    NoVersion,
    /// A line not of the form `x=value`.
    #[error("invalid SDP line: {0}")]
    Line(String),
    /// A malformed `m=` line.
    #[error("invalid media line: {0}")]
    Media(String),
}

/// One `x=value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpLine {
    /// Line type letter (`o`, `c`, `a`, ...).
    pub kind: char,
    /// Everything after `=`.
    pub value: String,
}

/// Media direction attribute (RFC 3264 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `a=sendrecv` (the default).
    SendRecv,
    /// `a=sendonly`: we hold the peer.
    SendOnly,
    /// `a=recvonly`: answer to a hold.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    fn from_attribute(value: &str) -> Option<Self> {
        match value {
            "sendrecv" => Some(Self::SendRecv),
            "sendonly" => Some(Self::SendOnly),
            "recvonly" => Some(Self::RecvOnly),
            "inactive" => Some(Self::Inactive),
            _ => None,
        }
    }
}

/// A codec from an `m=` line format and its `a=rtpmap` (or the RFC 3551 static table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codec {
    /// RTP payload type.
    pub payload_type: u8,
    /// Encoding name as written (`opus`, `PCMU`, `telephone-event`).
    pub name: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Channel count when given.
    pub channels: Option<u16>,
}

/// One media section: the `m=` line and the lines after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// Media type: `audio`, `video`, ...
    pub kind: String,
    /// Port (0 = rejected stream).
    pub port: u16,
    /// Number of ports after `/`, if given.
    pub port_count: Option<u16>,
    /// Transport protocol: `RTP/AVP`, `UDP/TLS/RTP/SAVPF`, ...
    pub proto: String,
    /// Formats (payload types for RTP).
    pub formats: Vec<String>,
    /// Lines of the section after `m=`, in order.
    pub lines: Vec<SdpLine>,
}

/// A session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// Session-level lines, `v=` included, in order.
    pub lines: Vec<SdpLine>,
    /// Media sections.
    pub media: Vec<MediaDescription>,
}

/// Parses a session description. Never panics.
pub fn parse(text: &str) -> Result<SessionDescription, SdpError> {
    if text.len() > MAX_SDP_SIZE {
        return Err(SdpError::TooLarge);
    }
    let mut session = SessionDescription {
        lines: Vec::new(),
        media: Vec::new(),
    };
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let mut chars = line.chars();
        let (Some(kind), Some('=')) = (chars.next(), chars.next()) else {
            return Err(SdpError::Line(crate::msg::snippet(line)));
        };
        if !kind.is_ascii_alphabetic() {
            return Err(SdpError::Line(crate::msg::snippet(line)));
        }
        let value = chars.as_str().to_owned();
        if session.lines.is_empty() && (kind != 'v' || value.trim() != "0") {
            return Err(SdpError::NoVersion);
        }
        if kind == 'm' {
            session.media.push(parse_media_line(&value)?);
        } else if let Some(media) = session.media.last_mut() {
            media.lines.push(SdpLine { kind, value });
        } else {
            session.lines.push(SdpLine { kind, value });
        }
    }
    if session.lines.is_empty() {
        return Err(SdpError::NoVersion);
    }
    Ok(session)
}

fn parse_media_line(value: &str) -> Result<MediaDescription, SdpError> {
    let bad = || SdpError::Media(crate::msg::snippet(value));
    let mut fields = value.split_whitespace();
    let (Some(kind), Some(port), Some(proto)) = (fields.next(), fields.next(), fields.next()) else {
        return Err(bad());
    };
    let (port, port_count) = match port.split_once('/') {
        Some((p, n)) => (p.parse().map_err(|_| bad())?, Some(n.parse().map_err(|_| bad())?)),
        None => (port.parse().map_err(|_| bad())?, None),
    };
    Ok(MediaDescription {
        kind: kind.to_owned(),
        port,
        port_count,
        proto: proto.to_owned(),
        formats: fields.map(str::to_owned).collect(),
        lines: Vec::new(),
    })
}

/// Finds `a=name` or `a=name:value` among `lines`: `Some("")` for a flag, `Some(value)` otherwise.
fn find_attribute<'a, 'n>(lines: &'a [SdpLine], name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
    lines
        .iter()
        .filter(|l| l.kind == 'a')
        .filter_map(move |l| match l.value.split_once(':') {
            Some((n, v)) if n == name => Some(v),
            None if l.value == name => Some(""),
            _ => None,
        })
}

fn direction_of(lines: &[SdpLine]) -> Option<Direction> {
    lines
        .iter()
        .filter(|l| l.kind == 'a')
        .find_map(|l| Direction::from_attribute(l.value.trim()))
}

fn remove_direction(lines: &mut Vec<SdpLine>) {
    lines.retain(|l| l.kind != 'a' || Direction::from_attribute(l.value.trim()).is_none());
}

impl SessionDescription {
    /// The first session-level line of `kind` (`o`, `s`, `c`, `t`).
    pub fn line(&self, kind: char) -> Option<&str> {
        self.lines.iter().find(|l| l.kind == kind).map(|l| l.value.as_str())
    }

    /// The first session-level attribute `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        find_attribute(&self.lines, name).next()
    }

    /// The session-level direction, `SendRecv` when absent.
    pub fn direction(&self) -> Direction {
        direction_of(&self.lines).unwrap_or(Direction::SendRecv)
    }

    /// The effective direction of media section `index` (its own attribute, else the session's).
    pub fn media_direction(&self, index: usize) -> Option<Direction> {
        let media = self.media.get(index)?;
        Some(direction_of(&media.lines).unwrap_or_else(|| self.direction()))
    }

    /// Sets `direction` on every media section (and drops session-level direction attributes).
    pub fn set_direction(&mut self, direction: Direction) {
        remove_direction(&mut self.lines);
        for media in &mut self.media {
            media.set_direction(direction);
        }
    }

    /// Increments the session version in `o=` (RFC 3264 §8: every new offer bumps it).
    pub fn bump_version(&mut self) {
        let Some(origin) = self.lines.iter_mut().find(|l| l.kind == 'o') else {
            return;
        };
        let mut fields: Vec<String> = origin.value.split_whitespace().map(str::to_owned).collect();
        if let Some(version) = fields.get_mut(2) {
            if let Ok(v) = version.parse::<u64>() {
                *version = v.wrapping_add(1).to_string();
                origin.value = fields.join(" ");
            }
        }
    }
}

impl MediaDescription {
    /// The first attribute `name` in this section.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        find_attribute(&self.lines, name).next()
    }

    /// Every attribute `name` in this section.
    pub fn attributes<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        find_attribute(&self.lines, name)
    }

    /// This section's own direction attribute.
    pub fn direction(&self) -> Option<Direction> {
        direction_of(&self.lines)
    }

    /// Replaces this section's direction attribute.
    pub fn set_direction(&mut self, direction: Direction) {
        remove_direction(&mut self.lines);
        self.lines.push(SdpLine {
            kind: 'a',
            value: direction.as_str().to_owned(),
        });
    }

    /// Codecs in format order, from `a=rtpmap` or the static payload table (RFC 3551 §6).
    pub fn codecs(&self) -> Vec<Codec> {
        self.formats
            .iter()
            .filter_map(|format| {
                let payload_type: u8 = format.parse().ok()?;
                let rtpmap = self.attributes("rtpmap").find_map(|v| {
                    let (pt, encoding) = v.trim().split_once(' ')?;
                    (pt.parse::<u8>().ok()? == payload_type).then_some(encoding.trim())
                });
                match rtpmap {
                    Some(encoding) => {
                        let mut parts = encoding.split('/');
                        let name = parts.next().filter(|n| !n.is_empty())?.to_owned();
                        let clock_rate = parts.next()?.parse().ok()?;
                        let channels = parts.next().and_then(|c| c.parse().ok());
                        Some(Codec {
                            payload_type,
                            name,
                            clock_rate,
                            channels,
                        })
                    }
                    None => {
                        let (name, clock_rate) = match payload_type {
                            0 => ("PCMU", 8000),
                            3 => ("GSM", 8000),
                            8 => ("PCMA", 8000),
                            9 => ("G722", 8000),
                            18 => ("G729", 8000),
                            _ => return None,
                        };
                        Some(Codec {
                            payload_type,
                            name: name.to_owned(),
                            clock_rate,
                            channels: None,
                        })
                    }
                }
            })
            .collect()
    }
}

impl fmt::Display for SdpLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}\r\n", self.kind, self.value)
    }
}

impl fmt::Display for MediaDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.kind, self.port)?;
        if let Some(count) = self.port_count {
            write!(f, "/{count}")?;
        }
        write!(f, " {}", self.proto)?;
        for format in &self.formats {
            write!(f, " {format}")?;
        }
        write!(f, "\r\n")?;
        self.lines.iter().try_for_each(|l| l.fmt(f))
    }
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.lines.iter().try_for_each(|l| l.fmt(f))?;
        self.media.iter().try_for_each(|m| m.fmt(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEBRTC_OFFER: &str = "v=0\r
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r
s=-\r
t=0 0\r
a=group:BUNDLE 0\r
a=msid-semantic: WMS\r
m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8 126\r
c=IN IP4 0.0.0.0\r
a=rtcp:9 IN IP4 0.0.0.0\r
a=ice-ufrag:EsAw\r
a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F\r
a=setup:actpass\r
a=mid:0\r
a=sendrecv\r
a=rtcp-mux\r
a=rtpmap:111 opus/48000/2\r
a=fmtp:111 minptime=10;useinbandfec=1\r
a=rtpmap:126 telephone-event/8000\r
";

    #[test]
    fn webrtc_offer_round_trips_and_lists_codecs() {
        let sdp = parse(WEBRTC_OFFER).expect("parse");
        assert_eq!(sdp.to_string(), WEBRTC_OFFER);
        assert_eq!(sdp.line('o'), Some("- 4611731400430051336 2 IN IP4 127.0.0.1"));
        assert_eq!(sdp.attribute("group"), Some("BUNDLE 0"));
        let audio = sdp.media.first().expect("audio");
        assert_eq!(
            (audio.kind.as_str(), audio.port, audio.proto.as_str()),
            ("audio", 9, "UDP/TLS/RTP/SAVPF")
        );
        let names: Vec<_> = audio
            .codecs()
            .into_iter()
            .map(|c| (c.payload_type, c.name, c.clock_rate, c.channels))
            .collect();
        assert_eq!(
            names,
            vec![
                (111, "opus".to_owned(), 48000, Some(2)),
                (0, "PCMU".to_owned(), 8000, None),
                (8, "PCMA".to_owned(), 8000, None),
                (126, "telephone-event".to_owned(), 8000, None),
            ]
        );
        assert_eq!(audio.attribute("setup"), Some("actpass"));
    }

    #[test]
    fn hold_sets_direction_and_bumps_version() {
        let mut sdp = parse(WEBRTC_OFFER).expect("parse");
        assert_eq!(sdp.media_direction(0), Some(Direction::SendRecv));
        sdp.set_direction(Direction::SendOnly);
        sdp.bump_version();
        let held = parse(&sdp.to_string()).expect("reparse");
        assert_eq!(held.media_direction(0), Some(Direction::SendOnly));
        assert_eq!(held.media.first().expect("audio").attributes("sendrecv").count(), 0);
        assert_eq!(held.line('o'), Some("- 4611731400430051336 3 IN IP4 127.0.0.1"));
    }

    #[test]
    fn session_level_direction_is_inherited() {
        let sdp =
            parse("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\na=inactive\nt=0 0\nm=audio 4000/2 RTP/AVP 0\n").expect("parse");
        assert_eq!(sdp.media_direction(0), Some(Direction::Inactive));
        assert_eq!(sdp.media.first().expect("m").port_count, Some(2));
        assert_eq!(sdp.media_direction(1), None);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "o=- 1 1 IN IP4 x\n",
            "v=1\n",
            "v=0\nnonsense\n",
            "v=0\nm=audio\n",
            "v=0\nm=audio x RTP/AVP 0\n",
            "v=0\n1=x\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
