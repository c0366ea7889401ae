//! A letter as it came (RFC 5322, MIME) turned into what the database takes: the sender, the
//! subject and text decoded (RFC 2047 words in B and Q, old Cyrillic charsets, HTML-only
//! letters as readable text), the threads it answers, its files.

use chrono::{DateTime, Utc};
use dialog_core::mail::{letter_key, Letter, LetterFile, COMMENT_LIMIT};
use mail_parser::{Address, Message, MessageParser, MimeHeaders};

/// Where a letter lies in the mailbox, as the IMAP server told.
#[derive(Debug, Clone)]
pub struct Place {
    /// The mailbox's name for the database (`user@host/INBOX`).
    pub mailbox: String,
    /// UIDVALIDITY.
    pub uidvalidity: u32,
    /// UID.
    pub uid: u32,
    /// Size, bytes.
    pub size: u64,
    /// When the mailbox received it.
    pub received_at: Option<DateTime<Utc>>,
}

/// The reason for a letter that cannot be read.
pub const UNREADABLE: &str = "Письмо повреждено: в нём нет ни отправителя, ни темы, ни даты, разобрать его не удалось. Оно осталось в почтовом ящике; прочитайте его там и зарегистрируйте обращение вручную";

/// Turns a whole letter into a [`Letter`].
pub fn read(raw: &[u8], place: &Place) -> Letter {
    let parsed = MessageParser::default().parse(raw).filter(|m| readable(m));
    let Some(m) = parsed else {
        return unread(raw, place, UNREADABLE.into());
    };
    let mut l = headers_of(&m, place);
    let text = m.body_text(0).map(|t| tidy(&t)).unwrap_or_default();
    let mut files: Vec<LetterFile> = m
        .attachments()
        .enumerate()
        .map(|(i, p)| LetterFile {
            name: p
                .attachment_name()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("вложение {}{}", i + 1, extension(p.content_type()))),
            mime: p
                .content_type()
                .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("octet-stream")))
                .unwrap_or_else(|| "application/octet-stream".into()),
            content: p.contents().to_vec(),
        })
        .filter(|f| !f.content.is_empty())
        .collect();
    // The comment holds 10,000 characters: a longer text comes as a file too.
    if text.chars().count() + l.subject.chars().count() > COMMENT_LIMIT - 500 {
        files.push(LetterFile {
            name: "текст письма.txt".into(),
            mime: "text/plain".into(),
            content: text.clone().into_bytes(),
        });
    }
    l.text = text;
    l.files = files;
    l.raw = raw.to_vec();
    l
}

/// Only the header of a letter too big to fetch whole: enough to list it.
pub fn read_header(header: &[u8], place: &Place, refusal: String) -> Letter {
    let mut l = match MessageParser::default().parse(header).filter(|m| readable(m)) {
        Some(m) => headers_of(&m, place),
        None => empty(place, letter_key(None, header)),
    };
    l.refusal = Some(refusal);
    l
}

/// A letter that could not be read at all: listed with `refusal`, kept as it came (if it
/// came), and known by its bytes or, without them, by its place in the mailbox.
pub fn unread(raw: &[u8], place: &Place, refusal: String) -> Letter {
    let key = if raw.is_empty() {
        letter_key(
            None,
            format!("{}/{}/{}", place.mailbox, place.uidvalidity, place.uid).as_bytes(),
        )
    } else {
        letter_key(None, raw)
    };
    let mut l = empty(place, key);
    l.refusal = Some(refusal);
    l.raw = raw.to_vec();
    l
}

/// mail-parser reads anything; a letter has at least one of the header fields every mail
/// program writes.
fn readable(m: &Message) -> bool {
    const FIELDS: [&str; 7] = ["from", "sender", "reply-to", "to", "subject", "date", "message-id"];
    m.headers()
        .iter()
        .any(|h| FIELDS.iter().any(|f| h.name().eq_ignore_ascii_case(f)))
}

fn empty(place: &Place, key: String) -> Letter {
    Letter {
        mailbox: place.mailbox.clone(),
        uidvalidity: place.uidvalidity,
        uid: place.uid,
        message_key: key,
        received_at: place.received_at,
        size: place.size,
        ..Default::default()
    }
}

fn headers_of(m: &Message, place: &Place) -> Letter {
    let message_id = m.message_id().map(str::to_owned);
    let raw = m.raw_message();
    let header = &raw[..(m.root_part().raw_body_offset() as usize).min(raw.len())];
    let (sender, sender_name) = [m.from(), m.reply_to(), m.sender()]
        .into_iter()
        .flatten()
        .find_map(address)
        .unwrap_or_default();
    let mut references: Vec<String> = Vec::new();
    for v in [m.in_reply_to(), m.references()] {
        for r in v.as_text_list().unwrap_or_default() {
            if !references.iter().any(|x| x == r.as_ref()) {
                references.push(r.to_string());
            }
        }
    }
    references.truncate(100);
    Letter {
        message_key: letter_key(message_id.as_deref(), header),
        message_id,
        references,
        sender,
        sender_name,
        subject: m.subject().map(|s| tidy(s).replace('\n', " ")).unwrap_or_default(),
        received_at: place
            .received_at
            .or_else(|| m.date().and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0))),
        ..empty(place, String::new())
    }
}

/// The first address of a list, with its name.
fn address(a: &Address) -> Option<(String, String)> {
    let first = a.first()?;
    let addr = first.address()?.trim();
    (!addr.is_empty()).then(|| (addr.to_owned(), first.name().unwrap_or_default().trim().to_owned()))
}

/// Text as an operator reads it: no carriage returns, no runs of blank lines, no trailing
/// spaces.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.replace("\r\n", "\n").replace('\r', "\n").lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_owned()
}

fn extension(ct: Option<&mail_parser::ContentType>) -> &'static str {
    match ct.and_then(|c| c.subtype()).map(str::to_ascii_lowercase).as_deref() {
        Some("pdf") => ".pdf",
        Some("jpeg" | "jpg") => ".jpg",
        Some("png") => ".png",
        Some("plain") => ".txt",
        Some("html") => ".html",
        Some("rfc822") => ".eml",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> Place {
        Place {
            mailbox: "d@h/INBOX".into(),
            uidvalidity: 1,
            uid: 1,
            size: 0,
            received_at: None,
        }
    }

    #[test]
    fn cyrillic_subjects_in_both_encodings_and_html_only_letters_read_as_text() {
        let b = read(
            b"From: =?UTF-8?B?0JjQstCw0L3QvtCy?= <ivanov@example.ru>\r\nSubject: =?UTF-8?B?0J3QtdGCINCz0L7RgNGP0YfQtdC5INCy0L7QtNGL?=\r\nMessage-ID: <a@b>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82</p><p>\xd0\xba\xd0\xb2. 5</p></body></html>\r\n",
            &place(),
        );
        assert_eq!(b.subject, "Нет горячей воды");
        assert_eq!(
            (b.sender.as_str(), b.sender_name.as_str()),
            ("ivanov@example.ru", "Иванов")
        );
        assert!(
            b.text.contains("Привет") && b.text.contains("кв. 5") && !b.text.contains('<'),
            "{}",
            b.text
        );
        assert_eq!(b.message_key, "id:a@b");
        let q = read(
            b"From: a@b.ru\r\nSubject: =?koi8-r?Q?=F4=C1=D2=C9=C6?=\r\nIn-Reply-To: <x@y>\r\nReferences: <w@y> <x@y>\r\n\r\ntext\r\n",
            &place(),
        );
        assert_eq!(q.subject, "Тариф");
        assert_eq!(q.references, vec!["x@y".to_owned(), "w@y".to_owned()]);
        assert!(
            q.message_key.starts_with("sha256:"),
            "no Message-ID: the header's digest"
        );
    }

    #[test]
    fn garbage_is_refused_but_kept() {
        let garbage = b"\x00\x01\x02 not a letter\r\n\r\nat all".to_vec();
        let l = read(&garbage, &place());
        assert!(l.refusal.as_deref().is_some_and(|r| r.contains("повреждено")));
        assert_eq!(l.raw, garbage, "kept for the operator to download");
    }
}
