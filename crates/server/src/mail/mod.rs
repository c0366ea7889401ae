//! The mail duty: the center's mailbox read as it fills. Each new letter becomes, in the
//! database and under the duty's own service login, a new appeal, a comment on the appeal it
//! answers, or an entry of «Письма без обращения» with the reason — once: the database keeps
//! a row per letter (UIDVALIDITY+UID and Message-ID) written with the appeal, and the letter
//! is marked seen in the mailbox only after that commit. The duty reads on after the highest
//! UID the database has, so a letter a person marked seen or unseen in the mailbox is neither
//! lost nor taken twice.
//!
//! Runs once per center: a second dialog-server waits as a standby (see `once`). A mailbox or
//! database that goes away is waited out (reconnects with back-off up to 30 s).
//!
//! ```toml
//! [mail]
//! imap = "imap.example.ru:993"            # IMAP over TLS
//! user = "dispatch@example.ru"
//! password_file = "/etc/dialog/mail.password"    # or DIALOG_MAIL_PASSWORD
//! mailbox = "INBOX"
//! ca_file = "/etc/dialog/imap-ca.pem"     # only for a private server certificate
//! login = "dialog_mail"                   # dialog-admin service add dialog_mail --duty mail
//! service_password_file = "/etc/dialog/mail-service.password"  # or DIALOG_MAIL_SERVICE_PASSWORD
//! default_kind = "Письменное обращение"   # a complaint or inquiry kind of the directory
//! ```

pub mod imap;
pub mod letter;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use dialog_core::mail::Outcome;
use dialog_core::pbx::{Duty, Service};
use serde::Deserialize;
use sqlx::{Connection, PgConnection};

use crate::config::{secret, Database};

/// The `[mail]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// The IMAP server, `host:port` (implicit TLS, usually port 993).
    pub imap: String,
    /// The mailbox's user name.
    pub user: String,
    /// Its password's file (else `DIALOG_MAIL_PASSWORD`).
    pub password_file: Option<PathBuf>,
    /// The folder to read.
    #[serde(default = "inbox")]
    pub mailbox: String,
    /// The CA of a private IMAP server's certificate; absent: the usual authorities.
    pub ca_file: Option<PathBuf>,
    /// The service login (`dialog-admin service add LOGIN --duty mail`).
    pub login: String,
    /// Its password's file (else `DIALOG_MAIL_SERVICE_PASSWORD`).
    pub service_password_file: Option<PathBuf>,
    /// The kind of an appeal whose subject names no kind that needs no address.
    pub default_kind: Option<String>,
    /// How often a server without IDLE is asked for new mail.
    #[serde(default = "thirty")]
    pub poll_seconds: u64,
    /// Letters bigger than this are listed, not read (megabytes).
    #[serde(default = "fifty")]
    pub max_message_mb: u64,
}

fn inbox() -> String {
    "INBOX".into()
}

fn thirty() -> u64 {
    30
}

fn fifty() -> u64 {
    50
}

/// What the intake needs, read once.
struct Intake {
    cfg: MailConfig,
    password: String,
    tls: Arc<rustls::ClientConfig>,
    /// The mailbox's name in the database.
    name: String,
}

/// Runs the duty until it fails for good (a wrong configuration); a lost mailbox or database
/// is waited out.
pub async fn run(db: Database, section: toml::Table) -> anyhow::Result<()> {
    let cfg: MailConfig = section.try_into().context("раздел [mail]")?;
    let password = secret(
        "пароль почтового ящика",
        "DIALOG_MAIL_PASSWORD",
        cfg.password_file.as_deref(),
    )?;
    let service_password = secret(
        "пароль службы mail",
        "DIALOG_MAIL_SERVICE_PASSWORD",
        cfg.service_password_file.as_deref(),
    )?;
    let tls = imap::tls(cfg.ca_file.as_deref())?;
    let opts = db.options(&cfg.login, &service_password);
    let pg = opts.pg_options();
    let intake = Intake {
        name: format!("{}@{}/{}", cfg.user, cfg.imap, cfg.mailbox),
        cfg,
        password,
        tls,
    };
    loop {
        let mut held = crate::once::acquire(
            "mail",
            || async { PgConnection::connect_with(&pg).await.map_err(anyhow::Error::from) },
            Duration::from_secs(5),
        )
        .await?;
        let service = loop {
            match Service::connect(&opts, Duty::Mail).await {
                Ok(s) => break s,
                Err(e) => {
                    tracing::warn!(error = %e, "the mail service cannot log in to the database");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        };
        if let Some(kind) = intake.cfg.default_kind.as_deref() {
            if let Some(problem) = service.mail_default_kind_problem(kind).await? {
                anyhow::bail!("{problem}: исправьте default_kind в разделе [mail]");
            }
        }
        tokio::select! {
            _ = held.lost() => continue,
            r = intake.run(&service) => return r,
        }
    }
}

impl Intake {
    /// Keeps the mailbox open, for ever.
    async fn run(&self, service: &Service) -> anyhow::Result<()> {
        let mut backoff = Duration::from_secs(1);
        loop {
            match imap::open(
                &self.cfg.imap,
                self.tls.clone(),
                &self.cfg.user,
                &self.password,
                &self.cfg.mailbox,
            )
            .await
            {
                Ok(mailbox) => {
                    tracing::info!(imap = %self.cfg.imap, mailbox = %self.cfg.mailbox, idle = mailbox.has_idle(), "the mailbox is open");
                    backoff = Duration::from_secs(1);
                    if let Err(e) = self.follow(mailbox, service).await {
                        tracing::warn!(error = %format!("{e:#}"), "the mailbox connection broke; reconnecting");
                    }
                }
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "cannot open the mailbox"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    }

    /// Takes the letters of one connection as they come, until it breaks.
    async fn follow(&self, mut mailbox: imap::Mailbox, service: &Service) -> anyhow::Result<()> {
        let uidvalidity = mailbox.uidvalidity;
        let mut last = service.mail_last_uid(&self.name, uidvalidity).await?;
        // The last letter taken may have been committed just before a crash, unmarked.
        if last > 0 {
            mailbox.mark_seen(last).await?;
        }
        loop {
            for meta in mailbox.after(last).await? {
                self.take(&mut mailbox, service, uidvalidity, meta).await?;
                last = meta.uid;
            }
            mailbox = mailbox.wait(Duration::from_secs(self.cfg.poll_seconds.max(1))).await?;
        }
    }

    /// Reads one letter, hands it to the database, and marks it seen after the commit.
    async fn take(
        &self,
        mailbox: &mut imap::Mailbox,
        service: &Service,
        uidvalidity: u32,
        meta: imap::Meta,
    ) -> anyhow::Result<()> {
        let place = letter::Place {
            mailbox: self.name.clone(),
            uidvalidity,
            uid: meta.uid,
            size: meta.size,
            received_at: meta.received_at,
        };
        let limit = self.cfg.max_message_mb.saturating_mul(1 << 20);
        let too_big = meta.size > limit;
        tracing::info!(uid = meta.uid, size = meta.size, "reading a letter");
        let limit_reason = || {
            format!(
                "Письмо размером {} МБ больше предела в {} МБ (max_message_mb в настройках dialog-server): оно осталось в почтовом ящике, прочитайте его там и зарегистрируйте обращение вручную",
                meta.size.div_ceil(1 << 20),
                self.cfg.max_message_mb
            )
        };
        let l = match mailbox.read(meta.uid, too_big).await? {
            imap::Read::Gone => {
                tracing::info!(uid = meta.uid, "the letter is gone from the mailbox");
                return Ok(());
            }
            imap::Read::Refused(why) => letter::unread(
                b"",
                &place,
                format!("Почтовый сервер не отдал письмо («{}»): оно осталось в почтовом ящике, прочитайте его там и зарегистрируйте обращение вручную", why.trim()),
            ),
            imap::Read::Letter(raw) if too_big => letter::read_header(&raw, &place, limit_reason()),
            imap::Read::Letter(raw) => {
                // A letter that breaks the reader must not stop the intake: it is listed.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| letter::read(&raw, &place))).unwrap_or_else(|_| {
                    tracing::error!(uid = meta.uid, "the letter could not be read");
                    letter::unread(&raw, &place, letter::UNREADABLE.into())
                })
            }
        };
        let taken = service.take_letter(&l, self.cfg.default_kind.as_deref()).await?;
        match &taken.outcome {
            Outcome::Appeal { number, .. } => {
                tracing::info!(uid = meta.uid, fresh = taken.fresh, %number, "a letter became an appeal")
            }
            Outcome::Comment { number, .. } => {
                tracing::info!(uid = meta.uid, fresh = taken.fresh, %number, "a letter became a comment")
            }
            Outcome::Unmatched { reason } => {
                tracing::info!(uid = meta.uid, fresh = taken.fresh, %reason, "a letter went to the list of letters without an appeal")
            }
            Outcome::Duplicate => tracing::info!(uid = meta.uid, "a copy of a letter taken before"),
        }
        mailbox.mark_seen(meta.uid).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mail_section_has_defaults_and_refuses_unknown_keys() {
        let t: toml::Table =
            toml::from_str("imap = \"imap.example.ru:993\"\nuser = \"dispatch@example.ru\"\nlogin = \"dialog_mail\"\n")
                .expect("toml");
        let c: MailConfig = t.try_into().expect("a minimal section");
        assert_eq!(
            (c.mailbox.as_str(), c.poll_seconds, c.max_message_mb),
            ("INBOX", 30, 50)
        );
        assert!(c.default_kind.is_none() && c.ca_file.is_none());
        let t: toml::Table =
            toml::from_str("imap = \"x:993\"\nuser = \"u\"\nlogin = \"l\"\npassword = \"in the file\"\n")
                .expect("toml");
        assert!(
            t.try_into::<MailConfig>().is_err(),
            "a password is never written into the file itself"
        );
    }
}
