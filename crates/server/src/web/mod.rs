//! The web duty: Dialog in a browser, for managers of housing companies and supervisors on
//! their laptops. It serves the same UI as the desktop app (`ui/dist`) over HTTPS and answers
//! the same commands with the same JSON (`dialog-commands`).
//!
//! Each person is themselves: signing in opens the person's own few connections to the
//! database with their own login, so every row policy and rule of the database still decides
//! what they see and do; the password is forgotten as soon as they are open, and this program
//! holds no login that could read for anyone else. A lost connection therefore ends the
//! session (the person signs in again).
//!
//! ```toml
//! [web]
//! listen = "0.0.0.0:8443"
//! ui_dir = "/usr/share/dialog/ui"          # the built ui/dist
//! state_dir = "/var/lib/dialog-server"     # the trial certificate is made and kept here
//! cert_file = "/etc/dialog/web.pem"        # the certificate chain; without it, a self-signed one
//! key_file = "/etc/dialog/web.key"
//! names = ["dialog.example.ru"]            # the names browsers use; the trial certificate carries them
//! idle_minutes = 30                        # a session nobody used for this long ends
//! session_hours = 12                       # and any session after this long
//! connections = 2                          # a person's connections for commands (plus one for live changes)
//! proxies = ["10.0.0.2"]                   # load balancers whose X-Forwarded-For is believed
//! ```

mod api;
mod assets;
mod events;
mod files;
mod http;
mod sessions;
mod throttle;
mod tls;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Deserialize;

use crate::config::Database;

/// The `[web]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Address and port to listen on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The built UI (`ui/dist`).
    pub ui_dir: PathBuf,
    /// Where the trial certificate is kept.
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// The certificate chain (PEM); absent: a self-signed certificate made on first start.
    pub cert_file: Option<PathBuf>,
    /// Its private key (PEM).
    pub key_file: Option<PathBuf>,
    /// The host names browsers use to reach this server: the trial certificate carries them,
    /// and requests that change something must come from a page of one of them. Empty: the
    /// name the browser asked for (its `Host`).
    #[serde(default)]
    pub names: Vec<String>,
    /// A session nobody used for this many minutes ends.
    #[serde(default = "thirty")]
    pub idle_minutes: u64,
    /// Any session ends after this many hours.
    #[serde(default = "twelve")]
    pub session_hours: u64,
    /// A signed-in person's connections for commands (1 or 2); one more carries live changes.
    #[serde(default = "two")]
    pub connections: u32,
    /// A person's sessions in this instance: signing in once more ends their oldest.
    #[serde(default = "two")]
    pub sessions_per_person: usize,
    /// Load balancers in front: the client's address is taken from their `X-Forwarded-For`.
    #[serde(default)]
    pub proxies: Vec<IpAddr>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 8443))
}

fn default_state_dir() -> PathBuf {
    PathBuf::from("/var/lib/dialog-server")
}

fn thirty() -> u64 {
    30
}

fn twelve() -> u64 {
    12
}

fn two<T: From<u8>>() -> T {
    T::from(2)
}

impl WebConfig {
    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=2).contains(&self.connections),
            "[web] connections = {}: у сотрудника не больше 8 подключений к базе данных на всех его рабочих местах, здесь допустимо 1 или 2",
            self.connections
        );
        anyhow::ensure!(
            self.sessions_per_person >= 1,
            "[web] sessions_per_person должно быть не меньше 1"
        );
        anyhow::ensure!(
            self.idle_minutes >= 1 && self.session_hours >= 1,
            "[web] idle_minutes и session_hours должны быть не меньше 1"
        );
        anyhow::ensure!(
            self.cert_file.is_some() == self.key_file.is_some(),
            "[web] укажите и cert_file, и key_file (или ни того, ни другого — тогда сервер сделает пробный самоподписанный сертификат)"
        );
        Ok(())
    }
}

/// Everything a request may need.
pub struct Web {
    cfg: WebConfig,
    db: Database,
    assets: assets::Assets,
    sessions: sessions::Sessions,
    throttle: throttle::Throttle,
}

/// Runs the duty until it fails for good.
pub async fn run(db: Database, section: toml::Table) -> anyhow::Result<()> {
    let cfg: WebConfig = section.try_into().context("раздел [web]")?;
    cfg.check()?;
    let assets = assets::Assets::load(&cfg.ui_dir)?;
    let tls = tls::server_config(&cfg)?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("[web] не удалось занять адрес {}", cfg.listen))?;
    let web = Arc::new(Web {
        sessions: sessions::Sessions::new(&cfg),
        throttle: throttle::Throttle::default(),
        assets,
        db,
        cfg,
    });
    tracing::info!(address = %listener.local_addr()?, "the web listens");
    tokio::spawn(sessions::reap(web.clone()));
    serve(web, listener, tokio_rustls::TlsAcceptor::from(Arc::new(tls))).await
}

/// Accepts connections for ever: each is a TLS handshake, then HTTP/1.1.
async fn serve(web: Arc<Web>, listener: tokio::net::TcpListener, tls: tokio_rustls::TlsAcceptor) -> anyhow::Result<()> {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let web = web.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(Duration::from_secs(10), tls.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => return tracing::debug!(%peer, "TLS handshake timed out"),
            };
            let service = hyper::service::service_fn(move |req| api::handle(web.clone(), peer, req));
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(15))
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str) -> anyhow::Result<WebConfig> {
        let table: toml::Table = toml::from_str(text)?;
        let cfg: WebConfig = table.try_into()?;
        cfg.check()?;
        Ok(cfg)
    }

    #[test]
    fn a_web_section_needs_little_and_refuses_what_would_not_work() -> anyhow::Result<()> {
        let cfg = section("ui_dir = \"/usr/share/dialog/ui\"")?;
        assert_eq!(cfg.listen, default_listen());
        assert_eq!(
            (
                cfg.idle_minutes,
                cfg.session_hours,
                cfg.connections,
                cfg.sessions_per_person
            ),
            (30, 12, 2, 2)
        );
        let e = |text: &str| section(text).err().map(|e| format!("{e:#}")).unwrap_or_default();
        assert!(e("ui_dir = \"x\"\nconnections = 5").contains("допустимо 1 или 2"));
        assert!(e("ui_dir = \"x\"\ncert_file = \"/etc/dialog/web.pem\"").contains("и cert_file, и key_file"));
        assert!(!e("ui_dir = \"x\"\nlisten = \"all of them\"").is_empty());
        assert!(
            !e("ui_dir = \"x\"\nport = 443").is_empty(),
            "an unknown setting is an error, not ignored"
        );
        Ok(())
    }
}
