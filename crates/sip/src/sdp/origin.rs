//! The `o=` line (RFC 8866 §5.2) and the version of the SDP we send (RFC 3264 §8).

use std::fmt;

use super::{SdpLine, SessionDescription};

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// User name, `-` when none.
    pub username: String,
    /// Session id: numeric, the same for the whole session.
    pub session_id: String,
    /// Session version: grows with every change of the description.
    pub version: u64,
    /// `IN IP4` or `IN IP6`: the network and address types as written.
    pub address_type: String,
    /// The address.
    pub address: String,
}

impl Origin {
    /// Parses the value of `o=`.
    pub fn parse(value: &str) -> Option<Origin> {
        let mut f = value.split_whitespace();
        Some(Origin {
            username: f.next()?.to_owned(),
            session_id: f.next()?.to_owned(),
            version: f.next()?.parse().ok()?,
            address_type: format!("{} {}", f.next()?, f.next()?),
            address: f.next()?.to_owned(),
        })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {}",
            self.username, self.session_id, self.version, self.address_type, self.address
        )
    }
}

impl SessionDescription {
    /// The `o=` line, if it has one that parses.
    pub fn origin(&self) -> Option<Origin> {
        self.line('o').and_then(Origin::parse)
    }

    /// Writes `o=`: in place of the present one, or right after `v=`.
    pub fn set_origin(&mut self, origin: &Origin) {
        let line = SdpLine {
            kind: 'o',
            value: origin.to_string(),
        };
        match self.lines.iter_mut().find(|l| l.kind == 'o') {
            Some(existing) => *existing = line,
            None => {
                let at = usize::from(!self.lines.is_empty());
                self.lines.insert(at, line);
            }
        }
    }
}

/// The `o=` line of the SDP we send in one session: one session id throughout, and a version
/// that grows whenever the description changes and only then (RFC 3264 §8; Asterisk ignores a
/// re-offer whose version did not change, and a repeated one with a new version is a change).
#[derive(Debug, Clone)]
pub struct LocalOrigin {
    session_id: u64,
    version: u64,
    last: Option<SessionDescription>,
}

impl LocalOrigin {
    /// A session with id `session_id`: keep it within 63 bits, as other stacks do (some parsers
    /// read it as signed).
    pub fn new(session_id: u64) -> Self {
        LocalOrigin {
            session_id,
            version: 1,
            last: None,
        }
    }

    /// The session id.
    pub fn session_id(&self) -> u64 {
        self.session_id
    }

    /// Writes our `o=` (with `address`) into `sdp`, its version bumped if `sdp` differs from the
    /// last description stamped.
    pub fn stamp(&mut self, sdp: &mut SessionDescription, address: &str) {
        let origin = |version| Origin {
            username: "-".to_owned(),
            session_id: self.session_id.to_string(),
            version,
            address_type: "IN IP4".to_owned(),
            address: address.to_owned(),
        };
        sdp.set_origin(&origin(self.version));
        if self.last.as_ref().is_some_and(|last| last != sdp) {
            self.version += 1;
            sdp.set_origin(&origin(self.version));
        }
        self.last = Some(sdp.clone());
    }
}
