//! Typed attributes: ICE candidates (RFC 8839) and DTLS fingerprints (RFC 8122).

use std::net::Ipv4Addr;

use super::{MediaDescription, SdpLine};

/// One `a=candidate` (RFC 8839 §5.1): `foundation component transport priority address port
/// typ type [extensions]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Foundation.
    pub foundation: String,
    /// Component: 1 for RTP, 2 for a separate RTCP.
    pub component: u16,
    /// Transport as written (`udp`, `UDP`, `tcp`).
    pub transport: String,
    /// Priority.
    pub priority: u32,
    /// Connection address (an IP address, or an mDNS name).
    pub address: String,
    /// Port.
    pub port: u16,
    /// Candidate type: `host`, `srflx`, `prflx`, `relay`.
    pub typ: String,
}

impl Candidate {
    /// Parses the value of `a=candidate:`; `None` when it is not a candidate.
    pub fn parse(value: &str) -> Option<Candidate> {
        let mut f = value.split_whitespace();
        let candidate = Candidate {
            foundation: f.next()?.to_owned(),
            component: f.next()?.parse().ok()?,
            transport: f.next()?.to_owned(),
            priority: f.next()?.parse().ok()?,
            address: f.next()?.to_owned(),
            port: f.next()?.parse().ok()?,
            typ: {
                if f.next()? != "typ" {
                    return None;
                }
                f.next()?.to_owned()
            },
        };
        Some(candidate)
    }

    /// Whether this is a UDP candidate (the transport is case-insensitive, RFC 8839 §5.1).
    pub fn is_udp(&self) -> bool {
        self.transport.eq_ignore_ascii_case("udp")
    }
}

/// One `a=fingerprint` (RFC 8122 §5): a hash name and the certificate's hash in hex pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The hash function's name as written (`sha-256`, or `SHA-256` as Asterisk writes it).
    pub hash: String,
    /// Upper-case hex pairs separated by colons, as written.
    pub value: String,
}

impl Fingerprint {
    /// Parses the value of `a=fingerprint:`.
    pub fn parse(value: &str) -> Option<Fingerprint> {
        let (hash, value) = value.trim().split_once(' ')?;
        Some(Fingerprint {
            hash: hash.to_owned(),
            value: value.trim().to_owned(),
        })
    }

    /// Whether the hash is `name`: hash names are case-insensitive tokens (RFC 8122 §5, RFC
    /// 5234 §2.3).
    pub fn hash_is(&self, name: &str) -> bool {
        self.hash.eq_ignore_ascii_case(name)
    }
}

impl MediaDescription {
    /// The default candidate (RFC 8839 §4.2.1.2): the component-1 UDP IPv4 candidate most
    /// likely to work for a peer without ICE, relay before server reflexive before host.
    pub fn default_candidate(&self) -> Option<(Ipv4Addr, u16)> {
        let rank = |typ: &str| match typ {
            "relay" => 0,
            "srflx" | "prflx" => 1,
            _ => 2,
        };
        self.candidates()
            .filter(|c| c.component == 1 && c.is_udp())
            .filter_map(|c| Some((rank(&c.typ), c.address.parse::<Ipv4Addr>().ok()?, c.port)))
            .min_by_key(|(rank, _, _)| *rank)
            .map(|(_, ip, port)| (ip, port))
    }

    /// Writes the default candidate into the `m=` port and this section's `c=` where they say
    /// "see ICE" (port 9, `0.0.0.0`, RFC 8839 §4.2.1.2), as a peer without ICE needs them (and
    /// as Asterisk does: it takes `c=IN IP4 0.0.0.0` for hold, RFC 2543 style). Returns the
    /// address used.
    pub fn show_default_candidate(&mut self) -> Option<Ipv4Addr> {
        let (ip, port) = self.default_candidate()?;
        if self.port == 9 {
            self.port = port;
        }
        for line in self.lines.iter_mut().filter(|l| l.kind == 'c') {
            if line.value.trim() == "IN IP4 0.0.0.0" {
                *line = SdpLine {
                    kind: 'c',
                    value: format!("IN IP4 {ip}"),
                };
            }
        }
        Some(ip)
    }
}
