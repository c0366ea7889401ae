//! SDP (RFC 8866) as Dialog reads and writes it: one model of a session description for the
//! user agent, the phone's media and the fuzz tests. Unknown lines are kept in order, so
//! printing a parsed description gives back every line it had.
//!
//! Typed views of the attributes the phone acts on live beside the model: [`Candidate`]
//! (RFC 8839), [`Fingerprint`] (RFC 8122), `a=mid` and `a=group:BUNDLE` (RFC 5888, RFC 8843),
//! the `o=` line and its version ([`Origin`], [`LocalOrigin`], RFC 3264 §8).

mod attributes;
mod origin;
#[cfg(test)]
mod tests;

use std::fmt;

pub use attributes::{Candidate, Fingerprint};
pub use origin::{LocalOrigin, Origin};

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

impl SdpLine {
    /// `a=name` (a flag) or `a=name:value`.
    pub fn attribute(name: &str, value: Option<&str>) -> Self {
        let value = match value {
            Some(v) => format!("{name}:{v}"),
            None => name.to_owned(),
        };
        SdpLine { kind: 'a', value }
    }

    /// The attribute's name and value (`""` for a flag), if this is an `a=` line.
    pub fn as_attribute(&self) -> Option<(&str, &str)> {
        if self.kind != 'a' {
            return None;
        }
        Some(self.value.split_once(':').unwrap_or((self.value.as_str(), "")))
    }
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

    /// Whether the side that wrote this direction wants to receive media.
    pub fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
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

impl Codec {
    /// The static payload types of RFC 3551 §6 that need no `a=rtpmap`.
    pub fn static_payload(payload_type: u8) -> Option<Codec> {
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

    /// Whether this is `name/clock_rate` (the name compared without case, RFC 4855 §3).
    pub fn is(&self, name: &str, clock_rate: u32) -> bool {
        self.name.eq_ignore_ascii_case(name) && self.clock_rate == clock_rate
    }
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

/// Every `a=name` (`""`) or `a=name:value` (`value`) among `lines`.
fn find_attribute<'a, 'n>(lines: &'a [SdpLine], name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
    lines
        .iter()
        .filter_map(SdpLine::as_attribute)
        .filter(move |(n, _)| *n == name)
        .map(|(_, v)| v)
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

/// The mids of an `a=group:BUNDLE` value, if it is one.
fn bundle_mids(group: &str) -> Option<impl Iterator<Item = &str>> {
    let mut words = group.split_whitespace();
    words
        .next()
        .is_some_and(|semantics| semantics.eq_ignore_ascii_case("BUNDLE"))
        .then_some(words)
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
        if let Some(mut origin) = self.origin() {
            origin.version = origin.version.wrapping_add(1);
            self.set_origin(&origin);
        }
    }

    /// The index and section of the first `m=audio`.
    pub fn audio(&self) -> Option<(usize, &MediaDescription)> {
        self.media.iter().enumerate().find(|(_, m)| m.kind == "audio")
    }

    /// The `a=mid` of each media section, in order (`None` where absent).
    pub fn mids(&self) -> Vec<Option<&str>> {
        self.media.iter().map(MediaDescription::mid).collect()
    }

    /// The mids of the session's `a=group:BUNDLE`, if it has one (RFC 8843 §7).
    pub fn bundle_group(&self) -> Option<Vec<&str>> {
        find_attribute(&self.lines, "group").find_map(|g| bundle_mids(g).map(Iterator::collect))
    }

    /// Puts every media section in one `a=group:BUNDLE`, in place of any such group before.
    pub fn set_bundle_group(&mut self) {
        let mids: Vec<String> = self
            .mids()
            .into_iter()
            .map(|m| m.unwrap_or_default().to_owned())
            .collect();
        self.remove_bundle_group();
        self.lines
            .push(SdpLine::attribute("group", Some(&format!("BUNDLE {}", mids.join(" ")))));
    }

    /// Takes out the session's `a=group:BUNDLE` (other groups stay).
    pub fn remove_bundle_group(&mut self) {
        self.lines
            .retain(|l| !matches!(l.as_attribute(), Some(("group", g)) if bundle_mids(g).is_some()));
    }

    /// Every `a=fingerprint`, at session level and then in each media section.
    pub fn fingerprints(&self) -> Vec<Fingerprint> {
        let media = self.media.iter().flat_map(|m| m.lines.iter());
        self.lines
            .iter()
            .chain(media)
            .filter_map(|l| match l.as_attribute() {
                Some(("fingerprint", v)) => Fingerprint::parse(v),
                _ => None,
            })
            .collect()
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
        self.lines.push(SdpLine::attribute(direction.as_str(), None));
    }

    /// This section's `a=mid` (RFC 5888 §4).
    pub fn mid(&self) -> Option<&str> {
        self.attribute("mid").map(str::trim)
    }

    /// Gives this section the `a=mid` `mid`: first after its `m=` line, or in place of its own.
    pub fn set_mid(&mut self, mid: &str) {
        let line = SdpLine::attribute("mid", Some(mid));
        match self
            .lines
            .iter_mut()
            .find(|l| matches!(l.as_attribute(), Some(("mid", _))))
        {
            Some(existing) => *existing = line,
            None => self.lines.insert(0, line),
        }
    }

    /// The payload types of the `m=` line that are numbers.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse().ok())
    }

    /// Whether payload type `payload_type` has an `a=rtpmap`.
    pub fn has_rtpmap(&self, payload_type: u8) -> bool {
        self.attributes("rtpmap")
            .any(|v| v.split_whitespace().next().and_then(|p| p.parse().ok()) == Some(payload_type))
    }

    /// Codecs in format order, from `a=rtpmap` or the static payload table (RFC 3551 §6).
    pub fn codecs(&self) -> Vec<Codec> {
        self.payload_types()
            .filter_map(|payload_type| {
                let rtpmap = self.attributes("rtpmap").find_map(|v| {
                    let (pt, encoding) = v.trim().split_once(' ')?;
                    (pt.parse::<u8>().ok()? == payload_type).then_some(encoding.trim())
                });
                let Some(encoding) = rtpmap else {
                    return Codec::static_payload(payload_type);
                };
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
            })
            .collect()
    }

    /// The ICE candidates of this section that parse (RFC 8839 §5.1).
    pub fn candidates(&self) -> impl Iterator<Item = Candidate> + '_ {
        self.attributes("candidate").filter_map(Candidate::parse)
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
