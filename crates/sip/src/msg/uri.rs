//! URIs (`sip:`, `sips:`, `tel:`), parameters, and name-addr values (From, To, Contact, Route).

use std::fmt;

use super::ParseError;

/// `;name=value` parameters in order. Names compare case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(String, Option<String>)>);

impl Params {
    /// Parses `;a=1;b;c="quoted;value"` (leading `;` optional). `None` on malformed input.
    pub fn parse(s: &str) -> Option<Self> {
        let mut out = Vec::new();
        for part in split_unquoted(s, ';') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (name, value) = match part.find('=') {
                Some(i) => (part.get(..i)?.trim(), Some(part.get(i + 1..)?.trim().to_owned())),
                None => (part, None),
            };
            if name.is_empty() || name.contains(|c: char| c.is_whitespace() || "<>\",".contains(c)) {
                return None;
            }
            out.push((name.to_owned(), value));
        }
        Some(Self(out))
    }

    /// The value of `name`; `Some("")` for a flag parameter without a value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }

    /// True when `name` is present (with or without value).
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Sets `name` (replacing an existing value), `None` for a flag.
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let value = value.map(str::to_owned);
        match self.0.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(entry) => entry.1 = value,
            None => self.0.push((name.to_owned(), value)),
        }
    }

    /// Removes `name`.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// All parameters in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_deref()))
    }

    /// True when there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value) in &self.0 {
            match value {
                Some(v) => write!(f, ";{name}={v}")?,
                None => write!(f, ";{name}")?,
            }
        }
        Ok(())
    }
}

/// Splits on `sep` outside double-quoted strings.
fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut in_quotes, mut escaped, mut start) = (false, false, 0);
    for (i, c) in s.char_indices() {
        match c {
            _ if in_quotes && escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            c if c == sep && !in_quotes => {
                parts.push(s.get(start..i).unwrap_or_default());
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(s.get(start..).unwrap_or_default());
    parts
}

/// URI scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:`
    Sips,
    /// `tel:` (RFC 3966)
    Tel,
}

impl Scheme {
    fn as_str(self) -> &'static str {
        match self {
            Self::Sip => "sip",
            Self::Sips => "sips",
            Self::Tel => "tel",
        }
    }
}

/// A SIP or tel URI. Parts are kept as written (escapes are not decoded) so printing round-trips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    /// Scheme.
    pub scheme: Scheme,
    /// User part (for `tel:`, the number).
    pub user: Option<String>,
    /// Password from `user:password@` (deprecated, kept for round-trips).
    pub password: Option<String>,
    /// Host (IPv6 references keep their brackets); empty for `tel:`.
    pub host: String,
    /// Port.
    pub port: Option<u16>,
    /// URI parameters (`transport`, `lr`, `ob`, ...).
    pub params: Params,
    /// Headers part after `?`, as written.
    pub headers: Option<String>,
}

impl Uri {
    /// A `sip:user@host` URI.
    pub fn sip(user: Option<&str>, host: &str) -> Self {
        Self {
            scheme: Scheme::Sip,
            user: user.map(str::to_owned),
            password: None,
            host: host.to_owned(),
            port: None,
            params: Params::default(),
            headers: None,
        }
    }

    /// Parses a URI.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::Uri(super::snippet(s));
        let s = s.trim();
        if s.is_empty() || s.contains(|c: char| c.is_whitespace() || c.is_control() || "<>\"".contains(c)) {
            return Err(bad());
        }
        let colon = s.find(':').ok_or_else(bad)?;
        let scheme = match s.get(..colon).unwrap_or_default().to_ascii_lowercase().as_str() {
            "sip" => Scheme::Sip,
            "sips" => Scheme::Sips,
            "tel" => Scheme::Tel,
            _ => return Err(bad()),
        };
        let rest = s.get(colon + 1..).unwrap_or_default();
        if scheme == Scheme::Tel {
            let (number, params) = split_at_char(rest, ';');
            if number.is_empty() || number.contains(['@', '?', ':']) {
                return Err(bad());
            }
            return Ok(Self {
                scheme,
                user: Some(number.to_owned()),
                password: None,
                host: String::new(),
                port: None,
                params: Params::parse(params).ok_or_else(bad)?,
                headers: None,
            });
        }
        let (main, headers) = match rest.find('?') {
            Some(i) => (
                rest.get(..i).unwrap_or_default(),
                Some(rest.get(i + 1..).unwrap_or_default().to_owned()),
            ),
            None => (rest, None),
        };
        let (userinfo, hostpart) = match main.rfind('@') {
            Some(i) => (
                Some(main.get(..i).unwrap_or_default()),
                main.get(i + 1..).unwrap_or_default(),
            ),
            None => (None, main),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (user, password) = match info.find(':') {
                    Some(i) => (
                        info.get(..i).unwrap_or_default(),
                        Some(info.get(i + 1..).unwrap_or_default()),
                    ),
                    None => (info, None),
                };
                if user.is_empty() {
                    return Err(bad());
                }
                (Some(user.to_owned()), password.map(str::to_owned))
            }
        };
        let (hostport, params) = split_at_char(hostpart, ';');
        let (host, port) = host_port(hostport).ok_or_else(bad)?;
        Ok(Self {
            scheme,
            user,
            password,
            host,
            port,
            params: Params::parse(params).ok_or_else(bad)?,
            headers,
        })
    }

    /// The user part, or for a host-only URI the host: what a person calls "the number".
    pub fn user_or_host(&self) -> &str {
        self.user.as_deref().unwrap_or(&self.host)
    }
}

/// Splits at the first `c`, returning the remainder including `c`.
fn split_at_char(s: &str, c: char) -> (&str, &str) {
    match s.find(c) {
        Some(i) => (s.get(..i).unwrap_or_default(), s.get(i..).unwrap_or_default()),
        None => (s, ""),
    }
}

/// Parses `host[:port]`, where host may be an IPv6 reference in brackets.
pub(crate) fn host_port(s: &str) -> Option<(String, Option<u16>)> {
    let s = s.trim();
    let (host, port) = if s.starts_with('[') {
        let end = s.find(']')?;
        let host = s.get(..=end)?;
        let rest = s.get(end + 1..)?;
        if rest.is_empty() {
            (host, None)
        } else {
            (host, Some(rest.strip_prefix(':')?))
        }
    } else {
        match s.find(':') {
            Some(i) => (s.get(..i)?, Some(s.get(i + 1..)?)),
            None => (s, None),
        }
    };
    let host_ok = |h: &str| {
        !h.is_empty() && h.chars().all(|c| c.is_alphanumeric() || "-._[]:".contains(c)) && !h.starts_with(':')
    };
    if !host_ok(host) {
        return None;
    }
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse().ok()?),
        Some(_) => return None,
    };
    Some((host.to_owned(), port))
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme.as_str())?;
        if self.scheme == Scheme::Tel {
            return write!(f, "{}{}", self.user.as_deref().unwrap_or_default(), self.params);
        }
        if let Some(user) = &self.user {
            write!(f, "{user}")?;
            if let Some(password) = &self.password {
                write!(f, ":{password}")?;
            }
            write!(f, "@")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "{}", self.params)?;
        if let Some(headers) = &self.headers {
            write!(f, "?{headers}")?;
        }
        Ok(())
    }
}

/// A name-addr or addr-spec header value: From, To, Contact, Route, Record-Route,
/// P-Asserted-Identity (RFC 3261 §20.10, §25.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name, unquoted.
    pub display: Option<String>,
    /// The URI.
    pub uri: Uri,
    /// Header parameters after the URI (`tag`, `expires`, `q`, ...).
    pub params: Params,
}

impl NameAddr {
    /// A name-addr without display name or parameters.
    pub fn new(uri: Uri) -> Self {
        Self {
            display: None,
            uri,
            params: Params::default(),
        }
    }

    /// Parses a value such as `"Иванов" <sip:2001@pbx;transport=ws>;tag=abc` or `sip:a@b;tag=1`.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::header("name-addr", s);
        let s = s.trim();
        let (display, rest) = if let Some(quoted) = s.strip_prefix('"') {
            let mut display = String::new();
            let mut escaped = false;
            let mut end = None;
            for (i, c) in quoted.char_indices() {
                match c {
                    _ if escaped => {
                        display.push(c);
                        escaped = false;
                    }
                    '\\' => escaped = true,
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    _ => display.push(c),
                }
            }
            let rest = quoted.get(end.ok_or_else(bad)?..).unwrap_or_default().trim_start();
            if !rest.starts_with('<') {
                return Err(bad());
            }
            (Some(display), rest)
        } else if let Some(lt) = s.find('<') {
            let display = s.get(..lt).unwrap_or_default().trim();
            if display.contains(['"', '>', ';', ',']) {
                return Err(bad());
            }
            (
                (!display.is_empty()).then(|| display.to_owned()),
                s.get(lt..).unwrap_or_default(),
            )
        } else {
            // addr-spec: every `;param` belongs to the header, not the URI (RFC 3261 §20.10).
            let (uri, params) = split_at_char(s, ';');
            return Ok(Self {
                display: None,
                uri: Uri::parse(uri)?,
                params: Params::parse(params).ok_or_else(bad)?,
            });
        };
        let inner = rest.strip_prefix('<').ok_or_else(bad)?;
        let gt = inner.find('>').ok_or_else(bad)?;
        let uri = Uri::parse(inner.get(..gt).unwrap_or_default())?;
        let after = inner.get(gt + 1..).unwrap_or_default().trim();
        if !after.is_empty() && !after.starts_with(';') {
            return Err(bad());
        }
        Ok(Self {
            display,
            uri,
            params: Params::parse(after).ok_or_else(bad)?,
        })
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag").filter(|t| !t.is_empty())
    }

    /// A copy with `tag` set.
    pub fn with_tag(&self, tag: &str) -> Self {
        let mut out = self.clone();
        out.params.set("tag", Some(tag));
        out
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(display) = &self.display {
            write!(f, "\"")?;
            for c in display.chars() {
                if c == '"' || c == '\\' {
                    write!(f, "\\")?;
                }
                write!(f, "{c}")?;
            }
            write!(f, "\" ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_uri_parts() {
        let u = Uri::parse("sip:2002@127.0.0.1:8088;transport=ws;lr;r2=on?Subject=x").expect("uri");
        assert_eq!(u.scheme, Scheme::Sip);
        assert_eq!(u.user.as_deref(), Some("2002"));
        assert_eq!(u.host, "127.0.0.1");
        assert_eq!(u.port, Some(8088));
        assert_eq!(u.params.get("transport"), Some("ws"));
        assert!(u.params.contains("lr"));
        assert_eq!(u.headers.as_deref(), Some("Subject=x"));
        assert_eq!(u.to_string(), "sip:2002@127.0.0.1:8088;transport=ws;lr;r2=on?Subject=x");
    }

    #[test]
    fn other_uri_shapes() {
        let v6 = Uri::parse("sips:alice:secret@[2001:db8::10]:5061").expect("ipv6");
        assert_eq!(
            (v6.host.as_str(), v6.port, v6.password.as_deref()),
            ("[2001:db8::10]", Some(5061), Some("secret"))
        );
        let tel = Uri::parse("tel:+79123456789;phone-context=+7").expect("tel");
        assert_eq!(tel.user.as_deref(), Some("+79123456789"));
        assert_eq!(tel.to_string(), "tel:+79123456789;phone-context=+7");
        let host_only = Uri::parse("sip:pbx.example.ru;lr").expect("host only");
        assert_eq!((host_only.user_or_host(), host_only.port), ("pbx.example.ru", None));
        for bad in [
            "",
            "http://x",
            "sip:",
            "sip:@host",
            "sip:a@",
            "sip:a@host:99999",
            "sip:a@ho st",
            "sip:a@[::1",
            "tel:",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn name_addr_forms() {
        let na = NameAddr::parse(r#""Иванов \"И.И.\"" <sip:2001@pbx.example.ru>;tag=9fxced76sl"#).expect("quoted");
        assert_eq!(na.display.as_deref(), Some("Иванов \"И.И.\""));
        assert_eq!(na.tag(), Some("9fxced76sl"));
        assert_eq!(NameAddr::parse(&na.to_string()).expect("round trip"), na);

        let bare = NameAddr::parse("sip:2002@127.0.0.1;tag=123").expect("addr-spec");
        assert_eq!(bare.tag(), Some("123"));
        assert!(bare.uri.params.is_empty());

        let token =
            NameAddr::parse("Alice <sip:alice@atlanta.com;transport=ws>;expires=600;+sip.instance=\"<urn:uuid:1;x>\"")
                .expect("token display");
        assert_eq!(token.display.as_deref(), Some("Alice"));
        assert_eq!(token.params.get("expires"), Some("600"));
        assert_eq!(token.uri.params.get("transport"), Some("ws"));
        assert_eq!(token.params.get("+sip.instance"), Some("\"<urn:uuid:1;x>\""));

        for bad in [
            "\"unterminated <sip:a@b>",
            "<sip:a@b",
            "\"x\" sip:a@b",
            "<sip:a@b> junk",
            "<>",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
