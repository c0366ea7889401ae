//! Files attached to appeals, and calls with their recordings. Both live in the database so
//! that one backup holds everything; both have size limits there.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::CallDirection;
use crate::phone::phone_fragment;
use crate::Store;

/// An attached file without its bytes.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// Id.
    pub id: Uuid,
    /// Appeal.
    pub appeal_id: Uuid,
    /// File name as uploaded.
    pub file_name: String,
    /// MIME type.
    pub mime: String,
    /// Bytes.
    pub size: i32,
    /// Who attached it.
    pub uploaded_by: String,
    /// When.
    pub uploaded_at: DateTime<Utc>,
}

/// A file to attach as it crosses into the app: JSON, so the bytes are base64.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct NewAttachment {
    /// Appeal.
    pub appeal_id: Uuid,
    /// File name.
    pub file_name: String,
    /// MIME type.
    pub mime: String,
    /// Content, base64.
    pub base64: String,
}

/// A file attached to a new card before its first save: stored with the appeal, in the same
/// transaction. Its id comes from the client, so a retried save stores it once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct NewFile {
    /// Id (UUID v7, made by the client).
    pub id: Uuid,
    /// File name.
    pub file_name: String,
    /// MIME type.
    pub mime: String,
    /// Content, base64.
    pub base64: String,
}

impl NewFile {
    /// Decodes the content.
    pub fn bytes(&self) -> Result<Vec<u8>> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(self.base64.as_bytes())
            .map_err(|_| Error::invalid("content", "Файл повреждён при передаче — попробуйте ещё раз"))
    }
}

/// A file's content as it crosses into the app.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct FileContent {
    /// MIME type.
    pub mime: String,
    /// Content, base64.
    pub base64: String,
}

impl FileContent {
    /// Encodes bytes.
    pub fn new(mime: impl Into<String>, bytes: &[u8]) -> Self {
        use base64::Engine;
        Self {
            mime: mime.into(),
            base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }
}

impl NewAttachment {
    /// Decodes the content.
    pub fn bytes(&self) -> Result<Vec<u8>> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(self.base64.as_bytes())
            .map_err(|_| Error::invalid("content", "Файл повреждён при передаче — попробуйте ещё раз"))
    }
}

/// A finished call to store, with its recording.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct NewCall {
    /// Client-generated id.
    pub id: Uuid,
    /// Which way.
    pub direction: CallDirection,
    /// Caller's number.
    pub from_number: String,
    /// Callee's number.
    pub to_number: String,
    /// INVITE sent or received.
    pub started_at: DateTime<Utc>,
    /// Answered, if it was.
    pub answered_at: Option<DateTime<Utc>>,
    /// Hung up.
    pub ended_at: Option<DateTime<Utc>>,
    /// The appeal it was about.
    pub appeal_id: Option<Uuid>,
    /// The executor called or calling.
    pub executor_id: Option<Uuid>,
    /// Both directions mixed.
    #[serde(skip)]
    pub recording: Option<Vec<u8>>,
    /// e.g. `audio/wav`.
    pub recording_codec: Option<String>,
    /// The SIP Call-ID of our leg: the PBX's record of the call names it too.
    #[serde(default)]
    pub sip_call_id: Option<String>,
}

/// A stored call without its recording.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Call {
    pub id: Uuid,
    pub direction: CallDirection,
    pub from_number: String,
    pub to_number: String,
    pub started_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub operator_login: String,
    pub appeal_id: Option<Uuid>,
    pub executor_id: Option<Uuid>,
    pub recording_codec: Option<String>,
    pub recording_size: Option<i32>,
}

/// What the recordings registry is filtered by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", default)]
pub struct CallFilter {
    /// Started at or after.
    pub from: Option<DateTime<Utc>>,
    /// Started before.
    pub to: Option<DateTime<Utc>>,
    /// A fragment of either number, as people type it (`8 912 345`, `2001`); empty for any.
    pub number: String,
    /// Taken or made by this operator (login).
    pub operator_login: Option<String>,
    /// Only calls that went this way.
    pub direction: Option<CallDirection>,
}

/// The most calls the recordings registry shows at once: narrow the filter for older ones.
pub const CALLS_LIMIT: i64 = 500;

/// The digits to look for in either number: a whole phone in any notation becomes its E.164
/// digits (`8 912…` → `7912…`); a short fragment or an extension stays as typed.
fn number_digits(text: &str) -> Result<Option<String>> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if let Some(d) = phone_fragment(t) {
        return Ok(Some(d));
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() || !t.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)) {
        return Err(Error::invalid(
            "number",
            "В поле «номер» введите цифры телефона, например 912 345 или 2001",
        ));
    }
    Ok(Some(digits))
}

impl Store {
    /// Attaches a file (at most 25 MiB; the database refuses more, and more than a person's
    /// daily allowance).
    pub async fn add_attachment(
        &self,
        appeal_id: Uuid,
        file_name: &str,
        mime: &str,
        content: &[u8],
    ) -> Result<Attachment> {
        let id = Uuid::now_v7();
        let mut tx = self.pool.begin().await?;
        attach(&mut tx, id, appeal_id, file_name, mime, content).await?;
        let a = sqlx::query_as!(
            Attachment,
            r#"select id as "id!", appeal_id as "appeal_id!", file_name as "file_name!", mime as "mime!",
                      size as "size!", uploaded_by as "uploaded_by!", uploaded_at as "uploaded_at!"
               from dialog_appeal_files($1) where id = $2"#,
            appeal_id,
            id
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(a)
    }

    /// The appeal's files.
    pub async fn attachments(&self, appeal_id: Uuid) -> Result<Vec<Attachment>> {
        Ok(sqlx::query_as!(
            Attachment,
            r#"select id as "id!", appeal_id as "appeal_id!", file_name as "file_name!", mime as "mime!",
                      size as "size!", uploaded_by as "uploaded_by!", uploaded_at as "uploaded_at!"
               from dialog_appeal_files($1)"#,
            appeal_id
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// A file's bytes.
    pub async fn attachment_content(&self, id: Uuid) -> Result<Vec<u8>> {
        sqlx::query_scalar!(r#"select content as "content!" from dialog_file($1)"#, id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(Error::NotFound("Файл"))
    }

    /// Stores a finished call. The operator is whoever is logged in; the end time is the
    /// server's (the database keeps the durations the phone measured).
    pub async fn record_call(&self, c: &NewCall) -> Result<Call> {
        let mut tx = self.pool.begin().await?;
        sqlx::query!(
            "select dialog_record_call($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            c.id,
            c.direction as CallDirection,
            c.from_number,
            c.to_number,
            c.started_at,
            c.answered_at,
            c.ended_at,
            c.appeal_id,
            c.executor_id,
            c.recording.as_deref(),
            c.recording_codec,
            c.sip_call_id
        )
        .execute(&mut *tx)
        .await?;
        let call = sqlx::query_as!(
            Call,
            r#"select id, direction as "direction: CallDirection", from_number, to_number, started_at, answered_at,
                      ended_at, operator_login, appeal_id, executor_id, recording_codec,
                      octet_length(recording) as recording_size
               from calls where id = $1"#,
            c.id
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(call)
    }

    /// Links one's own call (say, answered before the card was saved) to an appeal.
    pub async fn link_call(&self, call_id: Uuid, appeal_id: Uuid) -> Result<()> {
        sqlx::query!("select dialog_link_call($1, $2)", call_id, appeal_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Calls about an appeal, and calls to its executors made since they were assigned.
    pub async fn appeal_calls(&self, appeal_id: Uuid) -> Result<Vec<Call>> {
        Ok(sqlx::query_as!(
            Call,
            r#"select id as "id!", direction as "direction!: CallDirection", from_number as "from_number!",
                      to_number as "to_number!", started_at as "started_at!", answered_at, ended_at,
                      operator_login as "operator_login!", appeal_id, executor_id, recording_codec, recording_size
               from dialog_appeal_calls($1)"#,
            appeal_id
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// The recordings registry: calls matching the filter, newest first, at most
    /// [`CALLS_LIMIT`]. Walks the `started_at` index backwards and stops at the limit; a
    /// manager sees only their organization's calls.
    #[tracing::instrument(skip_all)]
    pub async fn calls(&self, f: &CallFilter) -> Result<Vec<Call>> {
        let number = number_digits(&f.number)?;
        Ok(sqlx::query_as!(
            Call,
            r#"select id as "id!", direction as "direction!: CallDirection", from_number as "from_number!",
                      to_number as "to_number!", started_at as "started_at!", answered_at, ended_at,
                      operator_login as "operator_login!", appeal_id, executor_id, recording_codec, recording_size
               from dialog_calls($1, $2, $3, $4, $5, $6)"#,
            f.from,
            f.to,
            number,
            f.operator_login.as_deref().filter(|l| !l.is_empty()),
            f.direction as Option<CallDirection>,
            CALLS_LIMIT as i32
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// A call's recording and its codec.
    pub async fn recording(&self, call_id: Uuid) -> Result<(Vec<u8>, String)> {
        let row = sqlx::query!(
            r#"select recording as "recording!", codec as "codec!" from dialog_recording($1)"#,
            call_id
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| (r.recording, r.codec))
            .ok_or(Error::NotFound("Запись разговора"))
    }
}

/// Attaches a file on a connection (inside the caller's transaction).
pub(crate) async fn attach(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
    appeal_id: Uuid,
    file_name: &str,
    mime: &str,
    content: &[u8],
) -> Result<()> {
    let file_name = safe_file_name(file_name);
    if file_name.is_empty() {
        return Err(Error::invalid("fileName", "У файла нет имени"));
    }
    sqlx::query!(
        "select dialog_add_attachment($1, $2, $3, $4, $5)",
        id,
        appeal_id,
        file_name,
        mime_type(mime),
        content
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Characters that have no place in a file name: paths, controls, and the direction marks
/// that can make «счёт», U+202E, «fdp.exe» read as `счётexe.pdf`. The database refuses them too.
fn unsafe_in_file_name(c: char) -> bool {
    c.is_control()
        || matches!(c, '/' | '\\' | '\u{61c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// A file name as it is stored: unsafe characters replaced, at most 255 characters.
pub fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if unsafe_in_file_name(c) { '_' } else { c })
        .take(255)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.chars().all(|c| c == '.') {
        return String::new();
    }
    cleaned.to_owned()
}

/// A MIME type as it is stored: lower case, `application/octet-stream` when it is not one.
fn mime_type(mime: &str) -> String {
    let m = mime.trim().to_ascii_lowercase();
    let ok = m.split_once('/').is_some_and(|(a, b)| {
        let part = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || ".+-".contains(c));
        part(a) && part(b)
    });
    if ok {
        m
    } else {
        "application/octet-stream".to_owned()
    }
}

/// What a file's first bytes say it is, for the kinds a dispatch center receives: photos,
/// videos, voice messages, PDF and office documents, plain text. `None` for anything else
/// (programs, scripts, archives).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let starts = |m: &[u8]| bytes.starts_with(m);
    let at = |i: usize, m: &[u8]| bytes.get(i..i + m.len()) == Some(m);
    let head = &bytes[..bytes.len().min(2048)];
    let has = |m: &[u8]| head.windows(m.len()).any(|w| w == m);
    Some(match () {
        _ if starts(b"%PDF-") => "application/pdf",
        _ if starts(b"\x89PNG\r\n\x1a\n") => "image/png",
        _ if starts(b"\xff\xd8\xff") => "image/jpeg",
        _ if starts(b"GIF87a") || starts(b"GIF89a") => "image/gif",
        _ if starts(b"RIFF") && at(8, b"WEBP") => "image/webp",
        _ if starts(b"RIFF") && at(8, b"WAVE") => "audio/wav",
        _ if at(4, b"ftyp") && (at(8, b"qt  ")) => "video/quicktime",
        _ if at(4, b"ftyp") && (at(8, b"M4A ")) => "audio/mp4",
        _ if at(4, b"ftyp") => "video/mp4",
        _ if starts(b"\x1a\x45\xdf\xa3") => "video/webm",
        _ if starts(b"OggS") => "audio/ogg",
        _ if starts(b"ID3") || starts(b"\xff\xfb") || starts(b"\xff\xf3") => "audio/mpeg",
        _ if starts(b"#!AMR") => "audio/amr",
        // Office documents are ZIP files; so are programs (jar, apk): tell them by what is inside.
        _ if starts(b"PK\x03\x04") && has(b"word/") => {
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        }
        _ if starts(b"PK\x03\x04") && has(b"xl/") => {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        }
        _ if starts(b"PK\x03\x04") && has(b"mimetypeapplication/vnd.oasis.opendocument.text") => {
            "application/vnd.oasis.opendocument.text"
        }
        _ if starts(b"PK\x03\x04") && has(b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet") => {
            "application/vnd.oasis.opendocument.spreadsheet"
        }
        _ if starts(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") => "application/msword",
        _ if !head.contains(&0) && std::str::from_utf8(head).is_ok() && !has(b"<") => "text/plain",
        _ => return None,
    })
}

/// The extensions a file of a sniffed type may carry to be opened by the desktop.
fn extensions(mime: &str) -> &'static [&'static str] {
    match mime {
        "application/pdf" => &["pdf"],
        "image/png" => &["png"],
        "image/jpeg" => &["jpg", "jpeg", "jfif"],
        "image/gif" => &["gif"],
        "image/webp" => &["webp"],
        "audio/wav" => &["wav"],
        "video/quicktime" => &["mov"],
        "audio/mp4" => &["m4a"],
        "video/mp4" => &["mp4", "m4v", "3gp"],
        "video/webm" => &["webm", "mkv"],
        "audio/ogg" => &["ogg", "oga", "opus"],
        "audio/mpeg" => &["mp3"],
        "audio/amr" => &["amr"],
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => &["docx"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => &["xlsx"],
        "application/vnd.oasis.opendocument.text" => &["odt"],
        "application/vnd.oasis.opendocument.spreadsheet" => &["ods"],
        "application/msword" => &["doc", "xls"],
        "text/plain" => &["txt", "csv"],
        _ => &[],
    }
}

/// Whether a file may be opened in the desktop's application: its content must be a
/// document, picture or recording, and its name must say so. Otherwise the reason, in words
/// for the operator. Whatever the citizen or a colleague named it and declared it to be, a
/// program is never started.
pub fn openable(file_name: &str, bytes: &[u8]) -> std::result::Result<&'static str, String> {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_lowercase())
        .unwrap_or_default();
    match sniff(bytes) {
        Some(mime) if extensions(mime).contains(&ext.as_str()) => Ok(mime),
        Some(_) => Err("его имя не соответствует содержимому".to_owned()),
        None => Err("это не документ, не изображение и не запись".to_owned()),
    }
}

/// A file saved from an appeal for the operator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct SavedFile {
    /// Where it was saved.
    pub path: String,
    /// Opened in the desktop's application.
    pub opened: bool,
    /// Why it was not opened, when it was not.
    pub not_opened: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_operators_type_them() {
        let digits = |s: &str| number_digits(s).ok().flatten();
        assert_eq!(digits(""), None);
        assert_eq!(digits("  "), None);
        assert_eq!(digits("8 (912) 345-67-89").as_deref(), Some("79123456789"));
        assert_eq!(digits("345-67").as_deref(), Some("34567"));
        assert_eq!(digits("2001").as_deref(), Some("2001"));
        assert!(matches!(
            number_digits("Петров"),
            Err(Error::Invalid { field: "number", .. })
        ));
        assert!(matches!(number_digits("+-"), Err(Error::Invalid { .. })));
    }

    #[test]
    fn only_documents_pictures_and_recordings_open() {
        assert_eq!(openable("акт.pdf", b"%PDF-1.7 ..."), Ok("application/pdf"));
        assert_eq!(openable("ФОТО.JPG", b"\xff\xd8\xff\xe0 JFIF"), Ok("image/jpeg"));
        assert_eq!(openable("голос.ogg", b"OggS\0\x02"), Ok("audio/ogg"));
        assert_eq!(
            openable("смета.docx", b"PK\x03\x04 [Content_Types].xml word/document.xml"),
            Ok("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        );
        // A program under a document's name, or a document's content under a program's name.
        assert!(openable("счёт.pdf", b"PK\x03\x04 META-INF/MANIFEST.MF").is_err());
        assert!(openable("счёт.jar", b"%PDF-1.4").is_err());
        assert!(openable("счёт.pdf", b"\x7fELF\x02\x01").is_err());
        assert!(openable("счёт.pdf.desktop", b"[Desktop Entry]\nExec=sh").is_err());
        assert!(openable("страница.html", b"<html><script>").is_err());
        assert!(openable("запуск.sh", b"#!/bin/sh\nrm -rf ~").is_err());
        assert!(openable("без расширения", b"%PDF-1.4").is_err());
    }

    #[test]
    fn file_names_cannot_hide_what_they_are() {
        assert_eq!(safe_file_name("счёт\u{202e}fdp.exe"), "счёт_fdp.exe");
        assert_eq!(safe_file_name("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(safe_file_name(" фото 1.jpg "), "фото 1.jpg");
        assert_eq!(safe_file_name(".."), "");
        assert_eq!(safe_file_name(&"я".repeat(300)).chars().count(), 255);
        assert_eq!(mime_type("Image/JPEG"), "image/jpeg");
        assert_eq!(mime_type("text/html; charset=utf-8"), "application/octet-stream");
    }
}
