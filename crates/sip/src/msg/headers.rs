//! Header storage, comma-list splitting, and the structured headers the UA needs (Via, CSeq).

use std::fmt;

use super::{host_port, Method, Params, ParseError};

/// Expands an RFC 3261 §7.3.3 (and later RFCs') compact header name to its full form.
fn expand(name: &str) -> &str {
    if name.len() != 1 {
        return name;
    }
    match name.as_bytes().first().map(u8::to_ascii_lowercase) {
        Some(b'a') => "Accept-Contact",
        Some(b'b') => "Referred-By",
        Some(b'c') => "Content-Type",
        Some(b'd') => "Request-Disposition",
        Some(b'e') => "Content-Encoding",
        Some(b'f') => "From",
        Some(b'i') => "Call-ID",
        Some(b'j') => "Reject-Contact",
        Some(b'k') => "Supported",
        Some(b'l') => "Content-Length",
        Some(b'm') => "Contact",
        Some(b'o') => "Event",
        Some(b'r') => "Refer-To",
        Some(b's') => "Subject",
        Some(b't') => "To",
        Some(b'u') => "Allow-Events",
        Some(b'v') => "Via",
        Some(b'x') => "Session-Expires",
        Some(b'y') => "Identity",
        _ => name,
    }
}

/// True when two header names denote the same header: case-insensitive, compact forms expanded.
pub fn same_name(a: &str, b: &str) -> bool {
    expand(a).eq_ignore_ascii_case(expand(b))
}

/// Header fields in the order they appeared, as `(name, value)` pairs.
///
/// Lookups are case-insensitive and treat compact forms (`v`, `f`, `i`, ...) as their full names.
/// `Content-Length` is never stored: it is framing, recomputed when a message is printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, String)>,
}

impl Headers {
    /// An empty header list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a header field.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.entries.push((name.into(), value.into()));
    }

    /// Inserts a header field before all others (used for Via).
    pub fn push_front(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.entries.insert(0, (name.into(), value.into()));
    }

    /// Replaces every field named `name` with one field, kept at the position of the first one.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.entries.iter().position(|(n, _)| same_name(n, name)) {
            Some(pos) => {
                if let Some(entry) = self.entries.get_mut(pos) {
                    entry.1 = value;
                }
                let mut index = 0;
                self.entries.retain(|(n, _)| {
                    let keep = index <= pos || !same_name(n, name);
                    index += 1;
                    keep
                });
            }
            None => self.push(name, value),
        }
    }

    /// Removes every field named `name`.
    pub fn remove(&mut self, name: &str) {
        self.entries.retain(|(n, _)| !same_name(n, name));
    }

    /// The value of the first field named `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).next()
    }

    /// The values of every field named `name`, in order, as written (not comma-split).
    pub fn get_all<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.entries
            .iter()
            .filter(move |(n, _)| same_name(n, name))
            .map(|(_, v)| v.as_str())
    }

    /// The values of a list header (Via, Route, Record-Route, Contact, Allow, Supported, ...),
    /// comma-split across all its fields. Do not use it for headers whose values may contain bare
    /// commas (WWW-Authenticate, Date).
    pub fn list(&self, name: &str) -> Vec<&str> {
        self.get_all(name).flat_map(split_list).collect()
    }

    /// True when a field named `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// All fields in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Splits a header value on the commas that separate list elements (RFC 3261 §7.3.1), ignoring
/// commas inside quoted strings and inside `<...>`. Empty elements are dropped.
pub fn split_list(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut in_quotes, mut escaped, mut in_angle) = (false, false, false);
    let mut start = 0;
    for (i, c) in value.char_indices() {
        if in_quotes {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_quotes = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_quotes = true,
            '<' => in_angle = true,
            '>' => in_angle = false,
            ',' if !in_angle => {
                parts.push(value.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(value.get(start..).unwrap_or_default());
    parts.into_iter().map(str::trim).filter(|p| !p.is_empty()).collect()
}

/// A parsed Via header value (RFC 3261 §20.42).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// Transport, upper-case as written: `WS`, `WSS`, `UDP`, `TCP`, `TLS`.
    pub transport: String,
    /// sent-by host.
    pub host: String,
    /// sent-by port.
    pub port: Option<u16>,
    /// Parameters: branch, received, rport, ...
    pub params: Params,
}

impl Via {
    /// Parses one Via value (one element of the comma list).
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::header("Via", value);
        let (head, params) = match value.find(';') {
            Some(i) => (value.get(..i).unwrap_or_default(), value.get(i..).unwrap_or_default()),
            None => (value, ""),
        };
        let mut parts = head.splitn(3, '/');
        let (name, version, rest) = (parts.next(), parts.next(), parts.next());
        let (Some(name), Some(version), Some(rest)) = (name, version, rest) else {
            return Err(bad());
        };
        if !name.trim().eq_ignore_ascii_case("SIP") || version.trim() != "2.0" {
            return Err(bad());
        }
        let rest = rest.trim_start();
        let split = rest.find(char::is_whitespace).ok_or_else(bad)?;
        let transport = rest.get(..split).unwrap_or_default();
        let sent_by = rest.get(split..).unwrap_or_default().trim();
        if transport.is_empty() || !transport.bytes().all(is_token_byte) {
            return Err(bad());
        }
        let (host, port) = host_port(sent_by).ok_or_else(bad)?;
        Ok(Self {
            transport: transport.to_owned(),
            host,
            port,
            params: Params::parse(params).ok_or_else(bad)?,
        })
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch")
    }

    /// The received parameter (RFC 3261 §18.2.1).
    pub fn received(&self) -> Option<&str> {
        self.params.get("received")
    }

    /// The rport parameter (RFC 3581): `None` when absent, `Some(None)` when present without a
    /// value, `Some(Some(port))` when the server filled it in.
    pub fn rport(&self) -> Option<Option<u16>> {
        if !self.params.contains("rport") {
            return None;
        }
        Some(self.params.get("rport").and_then(|p| p.parse().ok()))
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "{}", self.params)
    }
}

/// A parsed CSeq header (RFC 3261 §20.16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// Sequence number.
    pub seq: u32,
    /// Method.
    pub method: Method,
}

impl CSeq {
    /// Parses `"<number> <METHOD>"`.
    pub fn parse(value: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::header("CSeq", value);
        let mut parts = value.split_whitespace();
        let (Some(seq), Some(method), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        if seq.is_empty() || seq.len() > 10 || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let seq = seq.parse().map_err(|_| bad())?;
        if !method.bytes().all(is_token_byte) {
            return Err(bad());
        }
        Ok(Self {
            seq,
            method: Method::from_token(method),
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// RFC 3261 §25.1 `token` characters.
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive_and_knows_compact_forms() {
        let mut h = Headers::new();
        h.push("v", "SIP/2.0/WS a.invalid;branch=z9hG4bK1");
        h.push(
            "VIA",
            "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK2, SIP/2.0/TCP b;branch=z9hG4bK3",
        );
        h.push("i", "abc");
        assert_eq!(h.get("Call-ID"), Some("abc"));
        assert_eq!(h.get("call-id"), Some("abc"));
        assert_eq!(h.list("Via").len(), 3);
        h.set("Call-Id", "def");
        assert_eq!(h.get("i"), Some("def"));
        h.remove("via");
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn set_keeps_position_and_drops_duplicates() {
        let mut h = Headers::new();
        h.push("A", "1");
        h.push("B", "2");
        h.push("a", "3");
        h.set("a", "x");
        assert_eq!(h.iter().collect::<Vec<_>>(), vec![("A", "x"), ("B", "2")]);
    }

    #[test]
    fn list_split_respects_quotes_and_angles() {
        let v = r#""Smith, John" <sip:a@b;x=1,2>;q=0.5, <sip:c@d>, "q\"," <sip:e@f>"#;
        assert_eq!(
            split_list(v),
            vec![
                r#""Smith, John" <sip:a@b;x=1,2>;q=0.5"#,
                "<sip:c@d>",
                r#""q\"," <sip:e@f>"#
            ]
        );
        assert!(split_list(" , ,").is_empty());
    }

    #[test]
    fn via_with_received_and_rport() {
        let via = Via::parse("SIP/2.0/WS df7jal23ls0d.invalid;rport=54321;received=127.0.0.1;branch=z9hG4bKabc")
            .expect("via");
        assert_eq!(via.transport, "WS");
        assert_eq!(via.host, "df7jal23ls0d.invalid");
        assert_eq!(via.branch(), Some("z9hG4bKabc"));
        assert_eq!(via.received(), Some("127.0.0.1"));
        assert_eq!(via.rport(), Some(Some(54321)));
        let spaced = Via::parse("SIP / 2.0 / UDP [2001:db8::1]:5070 ; branch=z9hG4bK2;rport").expect("via");
        assert_eq!(spaced.port, Some(5070));
        assert_eq!(spaced.host, "[2001:db8::1]");
        assert_eq!(spaced.rport(), Some(None));
        assert_eq!(Via::parse(&via.to_string()).expect("round trip"), via);
        assert!(Via::parse("SIP/2.0/WS").is_err());
        assert!(Via::parse("SIP/3.0/WS host").is_err());
    }

    #[test]
    fn cseq() {
        let c = CSeq::parse("  314159   INVITE ").expect("cseq");
        assert_eq!((c.seq, &c.method), (314159, &Method::Invite));
        assert_eq!(c.to_string(), "314159 INVITE");
        assert!(CSeq::parse("99999999999 INVITE").is_err());
        assert!(CSeq::parse("1").is_err());
        assert!(CSeq::parse("-1 BYE").is_err());
    }
}
