//! HTTP as the web speaks it: responses with the headers every page and answer carries, the
//! session cookie, where a request came from, file names for downloads, byte ranges.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use dialog_core::ErrorBody;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};

/// A response body.
pub type Body = BoxBody<Bytes, Infallible>;
/// A response.
pub type Resp = Response<Body>;

/// The session cookie. `__Host-`: the browser keeps it only for this host, only over HTTPS,
/// for every path.
pub const COOKIE: &str = "__Host-dialog";

/// The header that carries the session's CSRF token.
pub const CSRF_HEADER: &str = "x-dialog-csrf";

/// What the pages may load and talk to: this server only. Scripts and styles come from files
/// (no inline code), pictures and recordings may also be the page's own blobs.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// A whole body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

/// A response with the headers every answer carries.
pub fn response(status: StatusCode, body: Body) -> Resp {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert(
        "strict-transport-security",
        HeaderValue::from_static("max-age=31536000"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    r
}

/// An answer of the API: never kept by a browser or a proxy.
pub fn api(status: StatusCode, content_type: &'static str, body: Body) -> Resp {
    let mut r = response(status, body);
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    r
}

/// JSON of the API.
pub fn json(status: StatusCode, value: &impl serde::Serialize) -> Resp {
    match serde_json::to_vec(value) {
        Ok(v) => api(status, "application/json", full(v)),
        Err(_) => api(StatusCode::INTERNAL_SERVER_ERROR, "application/json", full("null")),
    }
}

/// An error as the UI shows it: `{ kind, message, field }`.
pub fn error(status: StatusCode, kind: &str, message: impl Into<String>) -> Resp {
    json(
        status,
        &ErrorBody {
            kind: kind.into(),
            message: message.into(),
            field: None,
            appeal: None,
        },
    )
}

/// No session (or it ended).
pub fn signed_out() -> Resp {
    error(
        StatusCode::UNAUTHORIZED,
        "notLoggedIn",
        "Сеанс завершён — войдите снова",
    )
}

/// The HTTP status of a command's failure.
pub fn status_of(e: &ErrorBody) -> StatusCode {
    match e.kind.as_str() {
        "notFound" => StatusCode::NOT_FOUND,
        "forbidden" => StatusCode::FORBIDDEN,
        "conflict" | "busy" => StatusCode::CONFLICT,
        "invalid" | "rule" => StatusCode::UNPROCESSABLE_ENTITY,
        "unknownCommand" => StatusCode::NOT_FOUND,
        "serverFull" | "serverRestarting" | "connectionLost" | "unreachable" => StatusCode::SERVICE_UNAVAILABLE,
        _ if e.kind.starts_with("internal") || e.kind == "database" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// `Set-Cookie` for a new session.
pub fn session_cookie(token: &str) -> String {
    format!("{COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict")
}

/// `Set-Cookie` that removes the session cookie.
pub fn cleared_cookie() -> &'static str {
    "__Host-dialog=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"
}

/// The client's address: the connection's, or — when it comes from a load balancer named in
/// the configuration — the last address of `X-Forwarded-For` that is not one of them.
pub fn client_address(peer: SocketAddr, headers: &HeaderMap, proxies: &[IpAddr]) -> IpAddr {
    let peer = peer.ip().to_canonical();
    if !proxies.contains(&peer) {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .map(|a| a.to_canonical())
        .rev()
        .find(|a| !proxies.contains(a))
        .unwrap_or(peer)
}

/// Whether a request that changes something comes from a page of this server: its `Origin`
/// must be `https://` and one of `names` (or, without names, the host the request was sent
/// to). Browsers send `Origin` with every such request; a request without it is refused.
pub fn same_origin(headers: &HeaderMap, names: &[String]) -> bool {
    let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(host) = origin.strip_prefix("https://") else {
        return false;
    };
    if names.is_empty() {
        return headers
            .get("host")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|h| h.eq_ignore_ascii_case(host));
    }
    let bare = host
        .rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h);
    names
        .iter()
        .any(|n| n.eq_ignore_ascii_case(host) || n.eq_ignore_ascii_case(bare))
}

/// `Content-Disposition` for a file the browser must save, never show: an ASCII name for old
/// browsers and the real one (RFC 6266, RFC 8187).
pub fn attachment(name: &str) -> String {
    let name = dialog_commands::file_name_to_save(name);
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ' | '(' | ')') {
                c
            } else {
                '_'
            }
        })
        .collect();
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'.')
        .remove(b'-')
        .remove(b'_');
    format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        percent_encoding::utf8_percent_encode(&name, SET)
    )
}

/// The byte range a request asks for, of a file of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Range {
    /// The whole file (no `Range`, or one this server answers with the whole file).
    Whole,
    /// Bytes `start..=end`.
    Part(u64, u64),
    /// Nothing of the file is in the range.
    Unsatisfiable,
}

/// Reads a `Range` header (one range; several are answered with the whole file).
pub fn range(header: Option<&str>, len: u64) -> Range {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Range::Whole;
    };
    if spec.contains(',') {
        return Range::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Range::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
        (Some(start), _) if start >= len => Range::Unsatisfiable,
        (Some(start), None) if b.is_empty() => Range::Part(start, len - 1),
        (Some(start), Some(end)) if start <= end => Range::Part(start, end.min(len - 1)),
        (None, Some(0)) if a.is_empty() => Range::Unsatisfiable,
        (None, Some(suffix)) if a.is_empty() => Range::Part(len.saturating_sub(suffix), len - 1),
        _ => Range::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_as_players_ask_for_them() {
        assert_eq!(range(None, 1000), Range::Whole);
        assert_eq!(range(Some("bytes=0-"), 1000), Range::Part(0, 999));
        assert_eq!(range(Some("bytes=100-199"), 1000), Range::Part(100, 199));
        assert_eq!(range(Some("bytes=900-5000"), 1000), Range::Part(900, 999));
        assert_eq!(range(Some("bytes=-100"), 1000), Range::Part(900, 999));
        assert_eq!(range(Some("bytes=-5000"), 1000), Range::Part(0, 999));
        assert_eq!(range(Some("bytes=1000-"), 1000), Range::Unsatisfiable);
        assert_eq!(range(Some("bytes=5-1"), 1000), Range::Whole);
        assert_eq!(range(Some("bytes=0-1,5-9"), 1000), Range::Whole);
        assert_eq!(range(Some("items=0-1"), 1000), Range::Whole);
        assert_eq!(range(Some("bytes=0-0"), 0), Range::Unsatisfiable);
    }

    #[test]
    fn downloads_are_saved_under_a_safe_name() {
        assert_eq!(
            attachment("Обращение 2026-000123.pdf"),
            "attachment; filename=\"_________ 2026-000123.pdf\"; filename*=UTF-8''%D0%9E%D0%B1%D1%80%D0%B0%D1%89%D0%B5%D0%BD%D0%B8%D0%B5%202026-000123.pdf"
        );
        let evil = attachment("../../x\".html\r\nSet-Cookie: a=b");
        assert!(
            !evil.contains('\r') && !evil.contains('\n') && !evil.contains("../"),
            "{evil}"
        );
        assert!(
            evil.starts_with("attachment; filename=\"x_.html__Set-Cookie_ a_b\""),
            "{evil}"
        );
    }

    #[test]
    fn only_this_servers_pages_may_change_something() {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("dialog.example.ru:8443"));
        assert!(!same_origin(&h, &[]), "no Origin: refused");
        h.insert("origin", HeaderValue::from_static("https://dialog.example.ru:8443"));
        assert!(same_origin(&h, &[]));
        h.insert("origin", HeaderValue::from_static("https://evil.example.com"));
        assert!(!same_origin(&h, &[]));
        h.insert("origin", HeaderValue::from_static("http://dialog.example.ru:8443"));
        assert!(!same_origin(&h, &[]), "plain http is not this server");
        h.insert("origin", HeaderValue::from_static("https://dialog.example.ru"));
        assert!(same_origin(&h, &["dialog.example.ru".into()]));
        assert!(!same_origin(&h, &["other.example.ru".into()]));
        h.insert("origin", HeaderValue::from_static("null"));
        assert!(!same_origin(&h, &["dialog.example.ru".into()]));
    }

    #[test]
    fn the_client_is_told_by_the_load_balancer_only() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9, 10.0.0.2"));
        let lb: SocketAddr = "10.0.0.2:5555".parse().expect("addr");
        let stranger: SocketAddr = "198.51.100.1:5555".parse().expect("addr");
        let proxies: Vec<IpAddr> = vec!["10.0.0.2".parse().expect("ip")];
        assert_eq!(
            client_address(lb, &h, &proxies),
            "203.0.113.9".parse::<IpAddr>().expect("ip")
        );
        assert_eq!(client_address(stranger, &h, &proxies), stranger.ip());
        assert_eq!(client_address(lb, &h, &[]), lb.ip());
    }

    #[test]
    fn the_session_cookie_is_the_hosts_alone() {
        let c = session_cookie("abc");
        for part in ["__Host-dialog=abc", "Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
            assert!(c.contains(part), "{c}");
        }
        assert!(!c.contains("Domain"));
        let mut h = HeaderMap::new();
        h.insert("cookie", HeaderValue::from_static("a=1; __Host-dialog=tok; b=2"));
        assert_eq!(cookie(&h, COOKIE), Some("tok"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
