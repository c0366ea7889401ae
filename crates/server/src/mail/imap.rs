//! The center's mailbox over IMAP with implicit TLS (port 993): log in, open the mailbox,
//! find the letters after a UID, read them without marking them (`BODY.PEEK`), mark one seen,
//! and wait for new mail — with IDLE (RFC 2177) where the server offers it, by polling
//! otherwise.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use async_imap::types::UnsolicitedResponse;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

type Session = async_imap::Session<TlsStream<TcpStream>>;

/// How long one ordinary command may take.
const COMMAND: Duration = Duration::from_secs(60);
/// How long reading one whole letter may take (a big one over a slow link).
const FETCH: Duration = Duration::from_secs(600);
/// IDLE is renewed this often: servers and middleboxes drop a connection silent for longer.
const IDLE_RENEW: Duration = Duration::from_secs(240);

/// The TLS settings: the system's authorities (Mozilla's list), or the CA file of a private
/// IMAP server's certificate.
pub fn tls(ca_file: Option<&Path>) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(f) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(f)
                .with_context(|| format!("не удалось прочитать сертификат почтового сервера {}", f.display()))?
                .collect::<Result<_, _>>()
                .with_context(|| format!("в {} не сертификат в формате PEM", f.display()))?;
            anyhow::ensure!(!certs.is_empty(), "в {} нет ни одного сертификата", f.display());
            for c in certs {
                roots
                    .add(c)
                    .with_context(|| format!("сертификат в {} не подходит", f.display()))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

/// A letter's place and size, before it is read.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    /// UID.
    pub uid: u32,
    /// RFC822.SIZE.
    pub size: u64,
    /// INTERNALDATE: when the mailbox received it.
    pub received_at: Option<DateTime<Utc>>,
}

/// What reading a letter gave.
pub enum Read {
    /// The letter (or its header).
    Letter(Vec<u8>),
    /// It is gone from the mailbox (deleted meanwhile).
    Gone,
    /// The server would not give it, in its words.
    Refused(String),
}

/// One logged-in connection with the mailbox selected.
pub struct Mailbox {
    session: Session,
    idle: bool,
    /// The mailbox's UIDVALIDITY.
    pub uidvalidity: u32,
}

/// Logs in and opens `mailbox`. `address` is `host:port`.
pub async fn open(
    address: &str,
    tls: Arc<rustls::ClientConfig>,
    user: &str,
    password: &str,
    mailbox: &str,
) -> anyhow::Result<Mailbox> {
    let host = address.rsplit_once(':').map(|(h, _)| h).unwrap_or(address);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(host.to_owned()).map_err(|_| anyhow!("«{host}» — не имя и не адрес сервера"))?;
    let tcp = timeout(COMMAND, TcpStream::connect(address))
        .await
        .map_err(|_| anyhow!("почтовый сервер {address} не отвечает"))?
        .with_context(|| format!("не удалось подключиться к почтовому серверу {address}"))?;
    tcp.set_nodelay(true).ok();
    let stream = timeout(COMMAND, TlsConnector::from(tls).connect(name, tcp))
        .await
        .map_err(|_| anyhow!("почтовый сервер {address} не завершил TLS"))?
        .with_context(|| {
            format!("TLS с почтовым сервером {address} не установлен (проверьте его сертификат и ca_file)")
        })?;
    let mut client = async_imap::Client::new(stream);
    timeout(COMMAND, client.read_response())
        .await
        .map_err(|_| anyhow!("почтовый сервер не поздоровался"))?
        .context("почтовый сервер не поздоровался")?;
    let mut session = timeout(COMMAND, client.login(user, password))
        .await
        .map_err(|_| anyhow!("почтовый сервер не ответил на вход"))?
        .map_err(|(e, _)| anyhow!("почтовый сервер не принял вход {user}: {e}"))?;
    let caps = timeout(COMMAND, session.capabilities()).await??;
    let idle = caps.has_str("IDLE");
    let selected = timeout(COMMAND, session.select(mailbox))
        .await?
        .with_context(|| format!("не удалось открыть папку «{mailbox}»"))?;
    let uidvalidity = selected
        .uid_validity
        .ok_or_else(|| anyhow!("почтовый сервер не сообщил UIDVALIDITY папки «{mailbox}»"))?;
    Ok(Mailbox {
        session,
        idle,
        uidvalidity,
    })
}

impl Mailbox {
    /// Whether the server waits with IDLE.
    pub fn has_idle(&self) -> bool {
        self.idle
    }

    /// The letters after `last`, in UID order, with their sizes.
    pub async fn after(&mut self, last: u32) -> anyhow::Result<Vec<Meta>> {
        self.drain();
        // `n:*` always includes the highest UID, even below n (RFC 3501, 6.4.8).
        let found = timeout(
            COMMAND,
            self.session.uid_search(format!("UID {}:*", last.saturating_add(1))),
        )
        .await??;
        let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > last).collect();
        uids.sort_unstable();
        let mut out = Vec::with_capacity(uids.len());
        for chunk in uids.chunks(500) {
            let set = chunk.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            let fetched: Vec<_> = timeout(COMMAND, async {
                self.session
                    .uid_fetch(set, "(UID RFC822.SIZE INTERNALDATE)")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await??;
            for f in fetched {
                if let Some(uid) = f.uid.filter(|u| *u > last) {
                    out.push(Meta {
                        uid,
                        size: u64::from(f.size.unwrap_or(0)),
                        received_at: f.internal_date().map(|d| d.with_timezone(&Utc)),
                    });
                }
            }
        }
        out.sort_unstable_by_key(|m| m.uid);
        Ok(out)
    }

    /// The whole letter (`header_only`: its header), without marking it seen.
    pub async fn read(&mut self, uid: u32, header_only: bool) -> anyhow::Result<Read> {
        let what = if header_only {
            "BODY.PEEK[HEADER]"
        } else {
            "BODY.PEEK[]"
        };
        let fetched = timeout(FETCH, async {
            self.session
                .uid_fetch(uid.to_string(), format!("(UID {what})"))
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await
        .map_err(|_| anyhow!("почтовый сервер не отдал письмо UID {uid} за {} с", FETCH.as_secs()))?;
        let fetched = match fetched {
            Ok(f) => f,
            // The server refuses this one letter (a damaged file in its storage): the letter
            // is listed rather than tried for ever.
            Err(async_imap::error::Error::No(why) | async_imap::error::Error::Bad(why)) => {
                return Ok(Read::Refused(why))
            }
            Err(e) => return Err(e.into()),
        };
        Ok(fetched
            .into_iter()
            .find(|f| f.uid == Some(uid))
            .and_then(|f| if header_only { f.header() } else { f.body() }.map(<[u8]>::to_vec))
            .map_or(Read::Gone, Read::Letter))
    }

    /// Marks a letter seen (after the database took it).
    pub async fn mark_seen(&mut self, uid: u32) -> anyhow::Result<()> {
        timeout(COMMAND, async {
            self.session
                .uid_store(uid.to_string(), "+FLAGS.SILENT (\\Seen)")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await??;
        Ok(())
    }

    /// Whether the server told of new letters since the last look.
    fn drain(&mut self) -> bool {
        let mut news = false;
        while let Ok(r) = self.session.unsolicited_responses.try_recv() {
            news |= matches!(r, UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_));
        }
        news
    }

    /// Waits until the mailbox may have news: IDLE until the server says so (renewed every
    /// few minutes), or `poll` when the server has no IDLE.
    pub async fn wait(self, poll: Duration) -> anyhow::Result<Mailbox> {
        let mut me = self;
        if me.drain() {
            return Ok(me);
        }
        if !me.idle {
            tokio::time::sleep(poll).await;
            timeout(COMMAND, me.session.noop()).await??;
            return Ok(me);
        }
        let Mailbox {
            session,
            idle,
            uidvalidity,
        } = me;
        let mut handle = session.idle();
        timeout(COMMAND, handle.init()).await??;
        {
            let (wait, _stop) = handle.wait_with_timeout(IDLE_RENEW);
            let why = wait.await?;
            tracing::debug!(?why, "IDLE ended");
        }
        let session = timeout(COMMAND, handle.done()).await??;
        Ok(Mailbox {
            session,
            idle,
            uidvalidity,
        })
    }
}
