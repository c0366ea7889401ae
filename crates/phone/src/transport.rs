//! SIP over WebSocket (RFC 7118): one task owns the connection to the PBX, reconnects with
//! back-off when it drops, keeps it alive with pings, and passes whole SIP messages both ways.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;

/// How long a connection attempt (TCP, TLS and the WebSocket handshake) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A WebSocket ping is sent this often; a connection that answers nothing for three periods is
/// considered dead.
pub const KEEPALIVE: Duration = Duration::from_secs(20);
/// The longest pause between reconnection attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// `ws://host:port/path` or `wss://host:port/path`.
    pub url: String,
    /// A PEM file with the CA (or the self-signed certificate) to trust for `wss://`, in addition
    /// to the system's trusted roots.
    pub ca_file: Option<PathBuf>,
}

/// What the transport tells its owner.
#[derive(Debug)]
pub enum TransportEvent {
    /// Connected (or reconnected): the owner should register again.
    Up,
    /// The connection failed or dropped; the transport retries after `retry_in`.
    Down {
        /// Why, in words for the log and the line indicator.
        reason: String,
        /// When the next attempt will be made.
        retry_in: Duration,
    },
    /// One SIP message from the PBX.
    Message(Vec<u8>),
}

/// Errors made before any connection is tried.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The URL is not `ws://` or `wss://`.
    #[error("адрес SIP-сервера должен начинаться с ws:// или wss:// (например, wss://pbx.example.ru:8089/ws)")]
    BadUrl,
    /// `ws://` to another computer: the digest and the call setup would travel in clear.
    #[error(
        "без шифрования (ws://) можно подключаться только к АТС на этом же компьютере; для {0} укажите адрес wss://"
    )]
    Cleartext(String),
    /// The CA file could not be read.
    #[error("не удалось прочитать файл сертификата {path}: {reason}")]
    Ca {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// The running transport: send SIP messages with [`Transport::send`], receive events from the
/// channel returned by [`Transport::start`]. Dropping it closes the connection once the task
/// notices (at once when connected).
pub struct Transport {
    out: mpsc::UnboundedSender<String>,
    task: tokio::task::JoinHandle<()>,
}

impl Transport {
    /// Starts connecting in the background.
    pub fn start(config: TransportConfig) -> Result<(Self, mpsc::UnboundedReceiver<TransportEvent>), TransportError> {
        let secure = if config.url.starts_with("wss://") {
            true
        } else if config.url.starts_with("ws://") {
            let host = url_host(&config.url);
            if !is_loopback(host) {
                return Err(TransportError::Cleartext(host.to_owned()));
            }
            false
        } else {
            return Err(TransportError::BadUrl);
        };
        let connector = if secure {
            Some(tls_connector(config.ca_file.as_deref())?)
        } else {
            None
        };
        let (out, out_rx) = mpsc::unbounded_channel();
        let (events, events_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(config.url, connector, out_rx, events));
        Ok((Self { out, task }, events_rx))
    }

    /// Queues a SIP message; it is dropped when the connection is down (the user agent learns
    /// that from [`TransportEvent::Down`] and fails or retries its transactions).
    pub fn send(&self, message: String) {
        let _ = self.out.send(message);
    }

    /// Closes the connection after the queued messages are sent (waits at most a second).
    pub async fn close(self) {
        let Self { out, mut task } = self;
        drop(out);
        if tokio::time::timeout(Duration::from_secs(1), &mut task).await.is_err() {
            task.abort();
        }
    }
}

/// The host of a `ws://` or `wss://` address.
fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default();
    }
    authority.split(':').next().unwrap_or_default()
}

/// Whether a host is this computer.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn tls_connector(ca_file: Option<&std::path::Path>) -> Result<Connector, TransportError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        let err = |reason: String| TransportError::Ca {
            path: path.display().to_string(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let mut added = 0;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.map_err(|e| err(e.to_string()))?;
            roots.add(cert).map_err(|e| err(e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(err("в файле нет сертификатов PEM".into()));
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::Ca {
            path: String::new(),
            reason: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Connector::Rustls(Arc::new(config)))
}

async fn run(
    url: String,
    connector: Option<Connector>,
    mut out: mpsc::UnboundedReceiver<String>,
    events: mpsc::UnboundedSender<TransportEvent>,
) {
    let mut backoff = Duration::from_millis(500);
    loop {
        let reason = match connect(&url, connector.clone()).await {
            Ok(ws) => {
                backoff = Duration::from_millis(500);
                if events.send(TransportEvent::Up).is_err() {
                    return;
                }
                match serve(ws, &mut out, &events).await {
                    Served::Closed => return,
                    Served::Dropped(reason) => reason,
                }
            }
            Err(reason) => reason,
        };
        // Random jitter keeps a room of workstations from reconnecting in lockstep.
        let jitter = Duration::from_millis(rand::random::<u64>() % 250);
        let retry_in = backoff + jitter;
        tracing::warn!(%reason, ?retry_in, "SIP connection down");
        if events.send(TransportEvent::Down { reason, retry_in }).is_err() {
            return;
        }
        // Messages queued while down are stale: the user agent was told the line is down.
        let sleep = tokio::time::sleep(retry_in);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => break,
                msg = out.recv() => if msg.is_none() { return },
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str, connector: Option<Connector>) -> Result<Ws, String> {
    let mut request = url.into_client_request().map_err(|e| e.to_string())?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("sip"));
    let attempt = tokio_tungstenite::connect_async_tls_with_config(request, None, true, connector);
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Err(_) => Err(format!("нет ответа от {url} за {} с", CONNECT_TIMEOUT.as_secs())),
        Ok(Err(e)) => Err(describe(url, &e)),
        Ok(Ok((ws, response))) => {
            let agreed = response
                .headers()
                .get("Sec-WebSocket-Protocol")
                .and_then(|v| v.to_str().ok());
            if agreed.is_some_and(|p| !p.eq_ignore_ascii_case("sip")) {
                return Err(format!("сервер {url} не поддерживает SIP по WebSocket"));
            }
            Ok(ws)
        }
    }
}

fn describe(url: &str, e: &tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::Error as E;
    match e {
        E::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("SIP-сервер {url} не принимает соединения")
        }
        // rustls reports a refused certificate as an I/O error carrying its own error.
        E::Io(io) if io.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) => format!(
            "защищённое соединение с {url} не установлено: сертификат АТС не подтверждён ({io}); \
             укажите в настройках телефона файл сертификата её удостоверяющего центра"
        ),
        E::Tls(tls) => format!("защищённое соединение с {url} не установлено: {tls}"),
        E::Http(resp) => format!("сервер {url} ответил {} вместо WebSocket", resp.status()),
        other => format!("нет связи с {url}: {other}"),
    }
}

enum Served {
    /// The owner is gone: stop for good.
    Closed,
    /// The connection dropped: reconnect.
    Dropped(String),
}

async fn serve(
    ws: Ws,
    out: &mut mpsc::UnboundedReceiver<String>,
    events: &mpsc::UnboundedSender<TransportEvent>,
) -> Served {
    let (mut sink, mut stream) = ws.split();
    let mut keepalive = tokio::time::interval(KEEPALIVE);
    keepalive.tick().await;
    let mut silent_periods = 0u32;
    loop {
        tokio::select! {
            msg = out.recv() => match msg {
                Some(text) => {
                    if let Err(e) = sink.send(Message::text(text)).await {
                        return Served::Dropped(format!("отправка не удалась: {e}"));
                    }
                }
                None => {
                    let _ = sink.send(Message::Close(None)).await;
                    return Served::Closed;
                }
            },
            incoming = stream.next() => {
                silent_periods = 0;
                match incoming {
                    Some(Ok(Message::Text(text))) => {
                        if events.send(TransportEvent::Message(text.as_bytes().to_vec())).is_err() {
                            return Served::Closed;
                        }
                    }
                    Some(Ok(Message::Binary(data))) => {
                        if events.send(TransportEvent::Message(data.to_vec())).is_err() {
                            return Served::Closed;
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let why = frame.map(|f| f.reason.to_string()).filter(|r| !r.is_empty());
                        return Served::Dropped(why.unwrap_or_else(|| "сервер закрыл соединение".into()));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Served::Dropped(format!("соединение прервано: {e}")),
                    None => return Served::Dropped("соединение закрыто".into()),
                }
            }
            _ = keepalive.tick() => {
                silent_periods += 1;
                if silent_periods > 3 {
                    return Served::Dropped("сервер не отвечает".into());
                }
                if let Err(e) = sink.send(Message::Ping(Vec::new().into())).await {
                    return Served::Dropped(format!("соединение прервано: {e}"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{is_loopback, url_host, Transport, TransportConfig, TransportError};

    #[test]
    fn cleartext_only_to_this_computer() {
        assert_eq!(url_host("ws://127.0.0.1:8088/ws"), "127.0.0.1");
        assert_eq!(url_host("ws://[::1]:8088/ws"), "::1");
        assert_eq!(url_host("wss://user@pbx.example.ru/ws"), "pbx.example.ru");
        assert!(is_loopback("127.0.0.1") && is_loopback("localhost") && is_loopback("::1"));
        assert!(!is_loopback("pbx.example.ru") && !is_loopback("10.0.0.5") && !is_loopback("192.0.2.1"));
    }

    #[tokio::test]
    async fn ws_to_another_computer_is_refused() {
        let config = TransportConfig {
            url: "ws://pbx.example.ru:8088/ws".into(),
            ca_file: None,
        };
        assert!(matches!(Transport::start(config), Err(TransportError::Cleartext(h)) if h == "pbx.example.ru"));
    }
}
