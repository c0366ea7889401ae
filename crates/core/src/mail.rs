//! The mail intake: what dialog-server's mail duty hands the database (as a service login no
//! person holds), and «Письма без обращения» — the letters that became no appeal, which
//! operators and supervisors see and register by hand.
//!
//! The database decides what a letter becomes (`migrations/…_mail.sql`): a new appeal, a
//! comment on the appeal it answers, or an entry of the list with the reason. The letter's
//! row, the appeal or comment and the files are written in one transaction, so a letter read
//! again after a crash of either side changes nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::pbx::Service;
use crate::Store;

/// The largest file the database takes, for operators and letters alike (25 MiB).
pub const FILE_LIMIT: usize = 26_214_400;

/// The longest comment of an appeal; a longer letter's text also comes as a file.
pub const COMMENT_LIMIT: usize = 10_000;

/// The channel on which the list of letters without an appeal announces a change.
pub const MAIL_CHANNEL: &str = "dialog_mail";

/// One letter of the mailbox, as the mail duty read it.
#[derive(Debug, Clone, Default)]
pub struct Letter {
    /// The mailbox as the duty names it (`user@host/INBOX`).
    pub mailbox: String,
    /// The mailbox's UIDVALIDITY.
    pub uidvalidity: u32,
    /// The letter's UID there.
    pub uid: u32,
    /// [`letter_key`] of the letter.
    pub message_key: String,
    /// Its Message-ID, without angle brackets.
    pub message_id: Option<String>,
    /// The Message-IDs it answers (In-Reply-To and References), without angle brackets.
    pub references: Vec<String>,
    /// The sender's address, as in From (or Sender, Reply-To).
    pub sender: String,
    /// The sender's name.
    pub sender_name: String,
    /// Subject, decoded.
    pub subject: String,
    /// The text, readable (an HTML-only letter turned into text).
    pub text: String,
    /// When the mailbox received it.
    pub received_at: Option<DateTime<Utc>>,
    /// Its size in the mailbox, bytes.
    pub size: u64,
    /// Its files.
    pub files: Vec<LetterFile>,
    /// The letter as it came, kept when it becomes no appeal (if at most [`FILE_LIMIT`]).
    pub raw: Vec<u8>,
    /// Why it cannot become an appeal, when the duty knows already (unreadable, too big).
    pub refusal: Option<String>,
}

/// A file of a letter.
#[derive(Debug, Clone)]
pub struct LetterFile {
    /// Its name, as the letter gives it.
    pub name: String,
    /// MIME type.
    pub mime: String,
    /// Content, decoded.
    pub content: Vec<u8>,
}

/// What a letter became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new appeal.
    Appeal {
        /// Its id.
        id: Uuid,
        /// Its number.
        number: String,
    },
    /// A comment (and its files) on the appeal it answers.
    Comment {
        /// The appeal.
        id: Uuid,
        /// Its number.
        number: String,
    },
    /// An entry of «Письма без обращения».
    Unmatched {
        /// Why, in Russian.
        reason: String,
    },
    /// Another copy of a letter taken before.
    Duplicate,
}

/// What [`Service::take_letter`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// The letter's row.
    pub id: Uuid,
    /// What it became.
    pub outcome: Outcome,
    /// False when the letter had been taken before: nothing changed now.
    pub fresh: bool,
}

#[derive(sqlx::FromRow)]
struct TakeRow {
    id: Uuid,
    outcome: String,
    appeal_id: Option<Uuid>,
    number: Option<String>,
    reason: Option<String>,
    fresh: bool,
}

impl TakeRow {
    fn taken(self) -> Taken {
        let outcome = match (self.outcome.as_str(), self.appeal_id) {
            ("appeal", Some(id)) => Outcome::Appeal {
                id,
                number: self.number.unwrap_or_default(),
            },
            ("comment", Some(id)) => Outcome::Comment {
                id,
                number: self.number.unwrap_or_default(),
            },
            ("duplicate", _) => Outcome::Duplicate,
            _ => Outcome::Unmatched {
                reason: self.reason.unwrap_or_default(),
            },
        };
        Taken {
            id: self.id,
            outcome,
            fresh: self.fresh,
        }
    }
}

/// The key under which a letter is taken once: its Message-ID, or a digest of its header when
/// it has none (the same copy read again has the same header).
pub fn letter_key(message_id: Option<&str>, header: &[u8]) -> String {
    match message_id.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => format!("id:{}", m.chars().take(990).collect::<String>()),
        None => {
            let digest = Sha256::digest(header);
            format!(
                "sha256:{}",
                digest.iter().map(|b| format!("{b:02x}")).collect::<String>()
            )
        }
    }
}

/// Text the database can store: no NUL characters.
fn clean(s: &str) -> String {
    s.replace('\0', "")
}

/// Why the database refused a letter's appeal, for the list: its own Russian words where it
/// has them.
fn refusal_of(e: &sqlx::Error) -> String {
    let Some(db) = e.as_database_error() else {
        return format!("Письмо не удалось сохранить: {e}");
    };
    let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
    if code.starts_with("DL") {
        return format!("База данных не приняла письмо: {}", db.message());
    }
    if db.constraint() == Some("attachments_size_check") {
        return "Вложение письма больше 25 МБ: файл остался в почтовом ящике, зарегистрируйте обращение вручную".into();
    }
    format!(
        "База данных не приняла письмо (код {code}): зарегистрируйте обращение вручную, а если так со многими письмами — сообщите администратору"
    )
}

/// Whether the database refused this letter (rather than being out of reach).
fn refused(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| {
        let code = d.code().map(|c| c.into_owned()).unwrap_or_default();
        // Not a lost connection, a restart, a full server, a lock held elsewhere or a
        // cancelled transaction: those pass, the letter waits.
        !["08", "57", "53", "40", "55P03"].iter().any(|p| code.starts_with(p))
    })
}

impl Service {
    /// The highest UID of `mailbox` under `uidvalidity` already taken (0: none).
    pub async fn mail_last_uid(&self, mailbox: &str, uidvalidity: u32) -> Result<u32> {
        let uid = sqlx::query_scalar!(
            r#"select dialog_mail_last_uid($1, $2) as "uid!""#,
            mailbox,
            i64::from(uidvalidity)
        )
        .fetch_one(self.pool())
        .await?;
        Ok(u32::try_from(uid).unwrap_or(u32::MAX))
    }

    /// Why the kind for written appeals named in the configuration cannot be used, if so.
    pub async fn mail_default_kind_problem(&self, name: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar!("select dialog_mail_check_default_kind($1)", name)
            .fetch_one(self.pool())
            .await?)
    }

    /// Hands a letter to the database, once: it becomes an appeal, a comment, or an entry of
    /// the list (when the database refuses its appeal, too). A letter taken before changes
    /// nothing. An error means the database could not be reached: try again later.
    #[tracing::instrument(skip_all, fields(uid = letter.uid))]
    pub async fn take_letter(&self, letter: &Letter, default_kind: Option<&str>) -> Result<Taken> {
        let mut refusal = letter.refusal.clone().or_else(|| {
            letter.files.iter().find(|f| f.content.len() > FILE_LIMIT).map(|f| {
                format!(
                    "Вложение «{}» ({} МБ) больше 25 МБ — столько база данных не принимает: файл остался в почтовом ящике, зарегистрируйте обращение вручную",
                    f.name,
                    f.content.len().div_ceil(1 << 20)
                )
            })
        });
        loop {
            match self.take_once(letter, default_kind, refusal.as_deref()).await {
                Ok(t) => return Ok(t),
                Err(e) if refusal.is_none() && refused(&e) => {
                    tracing::warn!(error = %e, "the database refused a letter's appeal; it goes to the list");
                    refusal = Some(refusal_of(&e));
                }
                Err(e) => return Err(Error::from(e)),
            }
        }
    }

    async fn take_once(
        &self,
        letter: &Letter,
        default_kind: Option<&str>,
        refusal: Option<&str>,
    ) -> std::result::Result<Taken, sqlx::Error> {
        let files: Vec<serde_json::Value> = letter
            .files
            .iter()
            .map(|f| serde_json::json!({ "name": clean(&f.name), "mime": f.mime, "size": f.content.len() }))
            .collect();
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query_as!(
            TakeRow,
            r#"select id as "id!", outcome::text as "outcome!", appeal_id, number, reason, fresh as "fresh!"
               from dialog_mail_take($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"#,
            Uuid::now_v7(),
            Uuid::now_v7(),
            clean(&letter.mailbox),
            i64::from(letter.uidvalidity),
            i64::from(letter.uid),
            clean(&letter.message_key),
            letter.message_id.as_deref().map(clean),
            &letter.references.iter().map(|r| clean(r)).collect::<Vec<_>>(),
            clean(&letter.sender),
            clean(&letter.sender_name),
            clean(&letter.subject),
            clean(&letter.text),
            letter.received_at,
            i64::try_from(letter.size).unwrap_or(i64::MAX),
            serde_json::Value::Array(files),
            default_kind.map(str::trim).filter(|k| !k.is_empty()),
            refusal
        )
        .fetch_one(&mut *tx)
        .await?;
        let taken = row.taken();
        if taken.fresh {
            match taken.outcome {
                Outcome::Appeal { .. } | Outcome::Comment { .. } => {
                    for f in &letter.files {
                        sqlx::query!(
                            "select dialog_mail_attach($1, $2, $3, $4, $5)",
                            taken.id,
                            Uuid::now_v7(),
                            clean(&f.name),
                            f.mime,
                            f.content
                        )
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                Outcome::Unmatched { .. } if !letter.raw.is_empty() && letter.raw.len() <= FILE_LIMIT => {
                    sqlx::query!("select dialog_mail_keep_raw($1, $2)", taken.id, letter.raw)
                        .execute(&mut *tx)
                        .await?;
                }
                _ => {}
            }
        }
        tx.commit().await?;
        Ok(taken)
    }
}

/// A letter of «Письма без обращения».
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct MailLetter {
    /// Id.
    pub id: Uuid,
    /// When the mailbox received it.
    pub received_at: DateTime<Utc>,
    /// When Dialog took it.
    pub taken_at: DateTime<Utc>,
    /// The sender's address (may be empty: that is one of the reasons).
    pub sender: String,
    /// The sender's name.
    pub sender_name: String,
    /// Subject.
    pub subject: String,
    /// Why it became no appeal, in Russian.
    pub reason: String,
    /// Its text, readable.
    pub body: String,
    /// Its files: `[{ name, mime, size }]`.
    #[cfg_attr(feature = "ts", ts(type = "Array<{ name: string, mime: string, size: number }>"))]
    pub attachments: serde_json::Value,
    /// Its size in the mailbox, bytes.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub size: i64,
    /// Whether the letter itself was kept (it can be downloaded, and goes with the appeal).
    pub has_raw: bool,
    /// When it was dealt with.
    pub resolved_at: Option<DateTime<Utc>>,
    /// By whom.
    pub resolved_by: Option<String>,
    /// The appeal registered from it.
    pub appeal_id: Option<Uuid>,
    /// Its number.
    pub appeal_number: Option<String>,
}

/// An appeal an operator registers from a letter of the list.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct LetterAppeal {
    /// The letter.
    pub letter_id: Uuid,
    /// The new appeal's id (made by the client, so that a retry registers it once).
    pub appeal_id: Uuid,
    /// The applicant's e-mail or phone.
    pub identifier: String,
    /// The applicant's name.
    pub applicant_name: String,
    /// Kind.
    pub kind_id: Uuid,
    /// Building, when known.
    pub building_id: Option<Uuid>,
    /// Apartment.
    pub apartment: String,
    /// Comment.
    pub comment: String,
}

impl Store {
    /// Letters without an appeal: those still waiting (`resolved` false) or those dealt with,
    /// newest first (staff only).
    pub async fn mail_letters(&self, resolved: bool) -> Result<Vec<MailLetter>> {
        Ok(sqlx::query_as!(
            MailLetter,
            r#"select id as "id!", received_at as "received_at!", taken_at as "taken_at!", sender as "sender!",
                      sender_name as "sender_name!", subject as "subject!", reason as "reason!",
                      coalesce(body, '') as "body!", attachments as "attachments!", size as "size!",
                      has_raw as "has_raw!", resolved_at, resolved_by, appeal_id, appeal_number
               from dialog_mail_letters($1, 200)"#,
            resolved
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// The letter as it came (an .eml file), when it was kept.
    pub async fn mail_letter_raw(&self, id: Uuid) -> Result<Option<Vec<u8>>> {
        Ok(sqlx::query_scalar!("select dialog_mail_raw($1)", id)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Registers an appeal from a letter of the list, as this person; the letter itself goes
    /// with it as a file. Calling again with the same appeal id changes nothing.
    pub async fn register_from_letter(&self, r: &LetterAppeal) -> Result<Uuid> {
        let identifier = crate::appeals::normalize_identifier(&r.identifier)?;
        self.retrying(|| async {
            Ok(sqlx::query_scalar!(
                r#"select dialog_mail_register($1, $2, $3, $4, $5, $6, $7, $8) as "id!""#,
                r.letter_id,
                r.appeal_id,
                identifier,
                r.applicant_name.trim(),
                r.kind_id,
                r.building_id,
                r.apartment.trim(),
                r.comment.trim()
            )
            .fetch_one(&self.pool)
            .await?)
        })
        .await
    }

    /// Puts a letter of the list aside: it is not an appeal.
    pub async fn dismiss_letter(&self, id: Uuid) -> Result<()> {
        sqlx::query!("select dialog_mail_dismiss($1)", id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
