//! HTTP digest authentication for SIP (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760).
//!
//! Parses `WWW-Authenticate` / `Proxy-Authenticate` challenges and computes the matching
//! `Authorization` / `Proxy-Authorization` value. MD5, MD5-sess, SHA-256 and SHA-256-sess.

use std::fmt::Write as _;

use md5::{Digest, Md5};
use sha2::Sha256;

/// Longest challenge accepted.
const MAX_CHALLENGE: usize = 8 * 1024;

/// Why a challenge could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Not a `Digest` challenge (e.g. `Basic`, or garbage).
    #[error("not a Digest challenge")]
    NotDigest,
    /// The parameter list does not follow `name=value, ...`.
    #[error("malformed challenge parameters")]
    Malformed,
    /// realm or nonce is missing.
    #[error("challenge lacks {0}")]
    Missing(&'static str),
    /// An algorithm we do not implement (e.g. SHA-512-256).
    #[error("unsupported digest algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// A qop list with neither `auth` nor `auth-int`.
    #[error("unsupported qop {0}")]
    UnsupportedQop(String),
}

/// Digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// MD5 (the default when the challenge names none).
    Md5,
    /// MD5-sess.
    Md5Sess,
    /// SHA-256 (RFC 8760).
    Sha256,
    /// SHA-256-sess.
    Sha256Sess,
}

impl Algorithm {
    /// The token used in headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
        }
    }

    fn hash(self, data: &str) -> String {
        let mut out = String::with_capacity(64);
        let bytes: Vec<u8> = match self {
            Self::Md5 | Self::Md5Sess => Md5::digest(data.as_bytes()).to_vec(),
            Self::Sha256 | Self::Sha256Sess => Sha256::digest(data.as_bytes()).to_vec(),
        };
        for b in bytes {
            let _ = write!(out, "{b:02x}");
        }
        out
    }

    fn is_session(self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess)
    }
}

/// Quality of protection used in a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qop {
    /// `auth`
    Auth,
    /// `auth-int` (the body is hashed too)
    AuthInt,
}

/// A parsed digest challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Protection space.
    pub realm: String,
    /// Server nonce.
    pub nonce: String,
    /// Opaque value to echo back.
    pub opaque: Option<String>,
    /// Algorithm.
    pub algorithm: Algorithm,
    /// qop options offered (empty: RFC 2069 style, no qop).
    pub qop: Vec<String>,
    /// `stale=true`: the nonce expired but the credentials were right; retry with the new nonce.
    pub stale: bool,
}

/// What is being authenticated.
#[derive(Debug, Clone, Copy)]
pub struct DigestRequest<'a> {
    /// Username.
    pub username: &'a str,
    /// Password.
    pub password: &'a str,
    /// Request method (`REGISTER`, `INVITE`).
    pub method: &'a str,
    /// The digest-uri: the Request-URI as sent.
    pub uri: &'a str,
    /// Request body (only hashed for `auth-int`).
    pub body: &'a str,
    /// Client nonce.
    pub cnonce: &'a str,
    /// Nonce count (1 for the first use of a nonce).
    pub nc: u32,
}

impl Challenge {
    /// Parses a `WWW-Authenticate` / `Proxy-Authenticate` value.
    pub fn parse(value: &str) -> Result<Self, AuthError> {
        if value.len() > MAX_CHALLENGE {
            return Err(AuthError::Malformed);
        }
        let value = value.trim_start();
        let split = value.find(char::is_whitespace).unwrap_or(value.len());
        if !value.get(..split).is_some_and(|s| s.eq_ignore_ascii_case("Digest")) {
            return Err(AuthError::NotDigest);
        }
        let params = parse_params(value.get(split..).unwrap_or_default()).ok_or(AuthError::Malformed)?;
        let get = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let algorithm = match get("algorithm") {
            None => Algorithm::Md5,
            Some(a) => match a.to_ascii_uppercase().as_str() {
                "MD5" => Algorithm::Md5,
                "MD5-SESS" => Algorithm::Md5Sess,
                "SHA-256" => Algorithm::Sha256,
                "SHA-256-SESS" => Algorithm::Sha256Sess,
                _ => return Err(AuthError::UnsupportedAlgorithm(crate::msg::snippet(&a))),
            },
        };
        let qop: Vec<String> = get("qop")
            .map(|q| {
                q.split(',')
                    .map(|s| s.trim().to_ascii_lowercase())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let challenge = Self {
            realm: get("realm").ok_or(AuthError::Missing("realm"))?,
            nonce: get("nonce").ok_or(AuthError::Missing("nonce"))?,
            opaque: get("opaque"),
            algorithm,
            qop,
            stale: get("stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
        };
        challenge.chosen_qop()?;
        Ok(challenge)
    }

    /// The qop a response will use: `auth` when offered, else `auth-int`, else none.
    pub fn chosen_qop(&self) -> Result<Option<Qop>, AuthError> {
        if self.qop.is_empty() {
            Ok(None)
        } else if self.qop.iter().any(|q| q == "auth") {
            Ok(Some(Qop::Auth))
        } else if self.qop.iter().any(|q| q == "auth-int") {
            Ok(Some(Qop::AuthInt))
        } else {
            Err(AuthError::UnsupportedQop(crate::msg::snippet(&self.qop.join(","))))
        }
    }

    /// The `response` parameter (request-digest) for `req`.
    pub fn response(&self, req: &DigestRequest<'_>) -> Result<String, AuthError> {
        let alg = self.algorithm;
        let mut ha1 = alg.hash(&format!("{}:{}:{}", req.username, self.realm, req.password));
        if alg.is_session() {
            ha1 = alg.hash(&format!("{ha1}:{}:{}", self.nonce, req.cnonce));
        }
        let qop = self.chosen_qop()?;
        let ha2 = match qop {
            Some(Qop::AuthInt) => alg.hash(&format!("{}:{}:{}", req.method, req.uri, alg.hash(req.body))),
            _ => alg.hash(&format!("{}:{}", req.method, req.uri)),
        };
        Ok(match qop {
            None => alg.hash(&format!("{ha1}:{}:{ha2}", self.nonce)),
            Some(q) => {
                let q = if q == Qop::Auth { "auth" } else { "auth-int" };
                alg.hash(&format!("{ha1}:{}:{:08x}:{}:{q}:{ha2}", self.nonce, req.nc, req.cnonce))
            }
        })
    }

    /// The full `Authorization` / `Proxy-Authorization` header value for `req`.
    pub fn authorization(&self, req: &DigestRequest<'_>) -> Result<String, AuthError> {
        let response = self.response(req)?;
        let mut out = format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{response}\", algorithm={}",
            quote(req.username),
            quote(&self.realm),
            quote(&self.nonce),
            quote(req.uri),
            self.algorithm.as_str()
        );
        if let Some(opaque) = &self.opaque {
            let _ = write!(out, ", opaque=\"{}\"", quote(opaque));
        }
        if let Some(qop) = self.chosen_qop()? {
            let qop = if qop == Qop::Auth { "auth" } else { "auth-int" };
            let _ = write!(out, ", qop={qop}, nc={:08x}, cnonce=\"{}\"", req.nc, quote(req.cnonce));
        }
        Ok(out)
    }
}

/// The first challenge among `values` (in header order) that parses and that we support
/// (RFC 8760 §2.4: use the topmost supported one).
pub fn select_challenge<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Challenge> {
    values.into_iter().find_map(|v| Challenge::parse(v).ok())
}

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Parses `name=value, name="quoted \" value", ...`.
pub(crate) fn parse_params(s: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(out);
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            if !(c.is_ascii_alphanumeric() || "-_.".contains(c)) {
                return None;
            }
            name.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if name.is_empty() || chars.next() != Some('=') {
            return None;
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '\\' => value.push(chars.next()?),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' || c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.push((name, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mufasa<'a>(uri: &'a str, cnonce: &'a str, password: &'a str) -> DigestRequest<'a> {
        DigestRequest {
            username: "Mufasa",
            password,
            method: "GET",
            uri,
            body: "",
            cnonce,
            nc: 1,
        }
    }

    /// RFC 2617 §3.5.
    #[test]
    fn rfc2617_md5_auth() {
        let ch = Challenge::parse(
            "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", \
             opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        )
        .expect("parse");
        assert_eq!(ch.algorithm, Algorithm::Md5);
        assert_eq!(ch.qop, vec!["auth", "auth-int"]);
        let req = mufasa("/dir/index.html", "0a4f113b", "Circle Of Life");
        assert_eq!(ch.response(&req).expect("response"), "6629fae49393a05397450978507c4ef1");
        let header = ch.authorization(&req).expect("header");
        assert!(
            header.contains("response=\"6629fae49393a05397450978507c4ef1\""),
            "{header}"
        );
        assert!(
            header.contains("qop=auth, nc=00000001, cnonce=\"0a4f113b\""),
            "{header}"
        );
        assert!(
            header.contains("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""),
            "{header}"
        );
    }

    const RFC7616_NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const RFC7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    /// RFC 7616 §3.9.1, MD5 and SHA-256.
    #[test]
    fn rfc7616_md5_and_sha256() {
        for (algorithm, expected) in [
            ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
            (
                "SHA-256",
                "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            ),
        ] {
            let ch = Challenge::parse(&format!(
                "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm={algorithm}, \
                 nonce=\"{RFC7616_NONCE}\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
            ))
            .expect("parse");
            let req = mufasa("/dir/index.html", RFC7616_CNONCE, "Circle of Life");
            assert_eq!(ch.response(&req).expect("response"), expected, "{algorithm}");
        }
    }

    #[test]
    fn no_qop_and_session_variants() {
        // RFC 2069 style: response = H(HA1:nonce:HA2).
        let ch = Challenge::parse("Digest realm=\"r\", nonce=\"n\"").expect("parse");
        let req = DigestRequest {
            username: "u",
            password: "p",
            method: "REGISTER",
            uri: "sip:r",
            body: "",
            cnonce: "c",
            nc: 1,
        };
        let h = |s: &str| Algorithm::Md5.hash(s);
        let expected = h(&format!("{}:n:{}", h("u:r:p"), h("REGISTER:sip:r")));
        assert_eq!(ch.response(&req).expect("response"), expected);
        assert!(!ch.authorization(&req).expect("header").contains("qop"));

        let sess =
            Challenge::parse("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256-sess, qop=auth").expect("parse");
        let s = |x: &str| Algorithm::Sha256.hash(x);
        let ha1 = s(&format!("{}:n:c", s("u:r:p")));
        let expected = s(&format!("{ha1}:n:00000001:c:auth:{}", s("REGISTER:sip:r")));
        assert_eq!(sess.response(&req).expect("response"), expected);
    }

    #[test]
    fn kamailio_and_asterisk_challenges() {
        let k =
            Challenge::parse("Digest realm=\"127.0.0.1\", nonce=\"ZgX7R2YF+hs8Txi0tqAWsRuFYqQ2gR2B\", qop=\"auth\"")
                .expect("kamailio");
        assert_eq!((k.realm.as_str(), k.stale), ("127.0.0.1", false));
        let a = Challenge::parse(
            "Digest realm=\"asterisk\",nonce=\"1700000000/5a1e\",opaque=\"2c3d\",algorithm=md5,qop=\"auth\",stale=TRUE",
        )
        .expect("asterisk");
        assert!(a.stale);
        assert_eq!(a.opaque.as_deref(), Some("2c3d"));
        let chosen = select_challenge([
            "Digest realm=\"a\", nonce=\"1\", algorithm=SHA-512-256",
            "Basic realm=\"a\"",
            "Digest realm=\"a\", nonce=\"2\", algorithm=SHA-256",
        ])
        .expect("supported one");
        assert_eq!(chosen.algorithm, Algorithm::Sha256);
    }

    #[test]
    fn rejects_bad_challenges() {
        assert_eq!(Challenge::parse("Basic realm=\"x\""), Err(AuthError::NotDigest));
        assert_eq!(Challenge::parse("Digest nonce=\"x\""), Err(AuthError::Missing("realm")));
        assert_eq!(
            Challenge::parse("Digest realm=\"x\", nonce=\"unterminated"),
            Err(AuthError::Malformed)
        );
        assert_eq!(Challenge::parse("Digest realm=\"x\" nonce"), Err(AuthError::Malformed));
        assert!(matches!(
            Challenge::parse("Digest realm=\"x\", nonce=\"y\", qop=\"auth-conf\""),
            Err(AuthError::UnsupportedQop(_))
        ));
        assert!(Challenge::parse("").is_err());
    }
}

/// A SIP message as it may be written to a log: the digest in `Authorization` and
/// `Proxy-Authorization` (from which a password could be guessed offline) is replaced by its
/// user name, the rest is kept.
pub fn redact_credentials(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for line in message.split_inclusive('\n') {
        let name = line.split(':').next().unwrap_or_default().trim();
        if name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("proxy-authorization") {
            let user = line
                .split_once("username=\"")
                .and_then(|(_, r)| r.split('"').next())
                .unwrap_or("?");
            out.push_str(&format!("{name}: Digest username=\"{user}\", <скрыто>\r\n"));
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod redaction_tests {
    use super::redact_credentials;

    #[test]
    fn digests_never_reach_the_log() {
        let m = "REGISTER sip:pbx SIP/2.0\r\nAuthorization: Digest username=\"2001\", realm=\"pbx\", nonce=\"abc\", response=\"0123456789abcdef\"\r\nproxy-authorization: Digest username=\"2001\", response=\"fedcba\"\r\nCSeq: 2 REGISTER\r\n\r\n";
        let r = redact_credentials(m);
        assert!(
            !r.contains("0123456789abcdef") && !r.contains("fedcba") && !r.contains("nonce"),
            "{r}"
        );
        assert!(r.contains("username=\"2001\"") && r.contains("CSeq: 2 REGISTER"), "{r}");
    }
}
