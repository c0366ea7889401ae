//! SIP messages (RFC 3261 §7): model, parser and printer.
//!
//! [`parse`] takes one WebSocket message (RFC 7118 §5: one SIP message per WebSocket message) and
//! never panics; printing a [`Message`] gives CRLF lines and a recomputed `Content-Length`.

mod headers;
mod parse;
mod uri;

use std::fmt;

pub use headers::{same_name, split_list, CSeq, Headers, Via};
pub use parse::{parse, MAX_HEADERS, MAX_MESSAGE_SIZE};
pub use uri::{NameAddr, Params, Scheme, Uri};

pub(crate) use uri::host_port;

/// Why a message (or one of its headers) could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Nothing but whitespace.
    #[error("empty message")]
    Empty,
    /// Larger than [`MAX_MESSAGE_SIZE`].
    #[error("message of {0} bytes exceeds the size limit")]
    TooLarge(usize),
    /// No empty line after the headers.
    #[error("message head is not terminated by an empty line")]
    Unterminated,
    /// The request or status line is malformed.
    #[error("invalid start line: {0}")]
    StartLine(String),
    /// A header line without `name:`.
    #[error("invalid header line: {0}")]
    HeaderLine(String),
    /// More than [`MAX_HEADERS`] header fields.
    #[error("too many header fields")]
    TooManyHeaders,
    /// A header value that does not follow its grammar.
    #[error("invalid {name} header: {value}")]
    InvalidHeader {
        /// Header name.
        name: &'static str,
        /// The offending value (shortened).
        value: String,
    },
    /// A mandatory header (RFC 3261 §8.1.1) is missing.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A malformed URI.
    #[error("invalid URI: {0}")]
    Uri(String),
    /// The body is shorter than `Content-Length` says.
    #[error("body has {actual} bytes but Content-Length is {declared}")]
    Truncated {
        /// Content-Length value.
        declared: usize,
        /// Bytes present.
        actual: usize,
    },
}

impl ParseError {
    pub(crate) fn header(name: &'static str, value: &str) -> Self {
        Self::InvalidHeader {
            name,
            value: snippet(value),
        }
    }
}

/// At most 80 characters of `s`, for error messages.
pub(crate) fn snippet(s: &str) -> String {
    s.chars().take(80).collect()
}

/// A SIP method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// INVITE
    Invite,
    /// ACK
    Ack,
    /// BYE
    Bye,
    /// CANCEL
    Cancel,
    /// REGISTER
    Register,
    /// OPTIONS
    Options,
    /// INFO
    Info,
    /// UPDATE
    Update,
    /// NOTIFY
    Notify,
    /// SUBSCRIBE
    Subscribe,
    /// MESSAGE
    Message,
    /// PRACK
    Prack,
    /// REFER
    Refer,
    /// Any other extension method, as written.
    Other(String),
}

impl Method {
    /// Maps a method token (case-sensitive, RFC 3261 §7.1) to a method.
    pub fn from_token(token: &str) -> Self {
        match token {
            "INVITE" => Self::Invite,
            "ACK" => Self::Ack,
            "BYE" => Self::Bye,
            "CANCEL" => Self::Cancel,
            "REGISTER" => Self::Register,
            "OPTIONS" => Self::Options,
            "INFO" => Self::Info,
            "UPDATE" => Self::Update,
            "NOTIFY" => Self::Notify,
            "SUBSCRIBE" => Self::Subscribe,
            "MESSAGE" => Self::Message,
            "PRACK" => Self::Prack,
            "REFER" => Self::Refer,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The method token.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Invite => "INVITE",
            Self::Ack => "ACK",
            Self::Bye => "BYE",
            Self::Cancel => "CANCEL",
            Self::Register => "REGISTER",
            Self::Options => "OPTIONS",
            Self::Info => "INFO",
            Self::Update => "UPDATE",
            Self::Notify => "NOTIFY",
            Self::Subscribe => "SUBSCRIBE",
            Self::Message => "MESSAGE",
            Self::Prack => "PRACK",
            Self::Refer => "REFER",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A SIP request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// The headers of either kind.
    pub fn headers(&self) -> &Headers {
        match self {
            Self::Request(r) => &r.headers,
            Self::Response(r) => &r.headers,
        }
    }

    /// The body of either kind.
    pub fn body(&self) -> &str {
        match self {
            Self::Request(r) => &r.body,
            Self::Response(r) => &r.body,
        }
    }
}

/// A SIP request. [`parse`] guarantees Via, From, To, Call-ID and a CSeq matching the method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Request-URI.
    pub uri: Uri,
    /// Header fields (without Content-Length).
    pub headers: Headers,
    /// Body (decoded as UTF-8, invalid sequences replaced).
    pub body: String,
}

/// A SIP response. [`parse`] guarantees Via, From, To, Call-ID and CSeq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code, 100–699.
    pub code: u16,
    /// Reason phrase.
    pub reason: String,
    /// Header fields (without Content-Length).
    pub headers: Headers,
    /// Body.
    pub body: String,
}

/// Typed access to the headers every request and response carries.
pub trait HeaderAccess {
    /// The headers.
    fn headers(&self) -> &Headers;

    /// Call-ID.
    fn call_id(&self) -> Option<&str> {
        self.headers().get("Call-ID")
    }

    /// Parsed CSeq.
    fn cseq(&self) -> Option<CSeq> {
        self.headers().get("CSeq").and_then(|v| CSeq::parse(v).ok())
    }

    /// Parsed From.
    fn from(&self) -> Option<NameAddr> {
        self.headers().get("From").and_then(|v| NameAddr::parse(v).ok())
    }

    /// Parsed To.
    fn to(&self) -> Option<NameAddr> {
        self.headers().get("To").and_then(|v| NameAddr::parse(v).ok())
    }

    /// The topmost Via, parsed.
    fn top_via(&self) -> Option<Via> {
        self.headers().list("Via").first().and_then(|v| Via::parse(v).ok())
    }

    /// The first Contact, parsed.
    fn contact(&self) -> Option<NameAddr> {
        self.headers()
            .list("Contact")
            .first()
            .and_then(|v| NameAddr::parse(v).ok())
    }
}

impl HeaderAccess for Request {
    fn headers(&self) -> &Headers {
        &self.headers
    }
}

impl HeaderAccess for Response {
    fn headers(&self) -> &Headers {
        &self.headers
    }
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, uri: Uri) -> Self {
        Self {
            method,
            uri,
            headers: Headers::new(),
            body: String::new(),
        }
    }
}

impl Response {
    /// A response with no headers and no body.
    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
            headers: Headers::new(),
            body: String::new(),
        }
    }
}

/// The usual reason phrase for a status code.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        180 => "Ringing",
        183 => "Session Progress",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        415 => "Unsupported Media Type",
        420 => "Bad Extension",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        600 => "Busy Everywhere",
        603 => "Decline",
        _ => "Unknown",
    }
}

fn write_tail(f: &mut fmt::Formatter<'_>, headers: &Headers, body: &str) -> fmt::Result {
    for (name, value) in headers.iter() {
        write!(f, "{name}: {value}\r\n")?;
    }
    write!(f, "Content-Length: {}\r\n\r\n{body}", body.len())
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} SIP/2.0\r\n", self.method, self.uri)?;
        write_tail(f, &self.headers, &self.body)
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0 {} {}\r\n", self.code, self.reason)?;
        write_tail(f, &self.headers, &self.body)
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Request(r) => r.fmt(f),
            Self::Response(r) => r.fmt(f),
        }
    }
}
