//! What a browser takes away or plays: recordings (in byte ranges, so the player can seek),
//! attached files, printed cards and reports, and the live changes' stream. A file is always
//! sent to be saved, never shown as a page: `Content-Disposition: attachment` under a safe
//! name, and as the type its content proves (`dialog_core::files::sniff`) or
//! `application/octet-stream` — never HTML.

use std::str::FromStr;

use bytes::Bytes;
use dialog_core::ErrorBody;
use futures_util::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::header::{HeaderMap, HeaderValue};
use hyper::StatusCode;
use uuid::Uuid;

use super::http::{self, error, json, Range, Resp};
use super::sessions::Session;

/// What a file's content proves it is, for the `Content-Type` it is sent with.
fn content_type(bytes: &[u8]) -> &'static str {
    match dialog_core::files::sniff(bytes) {
        Some("text/plain") => "text/plain; charset=utf-8",
        Some(m) => m,
        None => "application/octet-stream",
    }
}

/// A file to save.
fn download(name: &str, mime: &'static str, bytes: impl Into<Bytes>) -> Resp {
    let mut r = http::api(StatusCode::OK, mime, http::full(bytes));
    if let Ok(v) = HeaderValue::from_str(&http::attachment(name)) {
        r.headers_mut().insert("content-disposition", v);
    }
    // Opened by itself, it could do nothing at all.
    r.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    r
}

fn failed(e: ErrorBody) -> Resp {
    json(http::status_of(&e), &e)
}

fn bad_id() -> Resp {
    error(
        StatusCode::NOT_FOUND,
        "notFound",
        "Такого файла нет — обновите страницу",
    )
}

/// `GET /api/recording/{call}`: the recording, or the part of it the player asks for.
pub async fn recording(session: &Session, id: &str, headers: &HeaderMap) -> Resp {
    let Ok(call_id) = Uuid::from_str(id) else {
        return bad_id();
    };
    let kept = match session.kept_recording(call_id) {
        Some(r) => r,
        None => match session.store.recording(call_id).await {
            Ok((bytes, _codec)) => session.keep_recording(call_id, Bytes::from(bytes)),
            Err(e) => return failed(ErrorBody::from(&e)),
        },
    };
    let bytes = &kept.bytes;
    let len = bytes.len() as u64;
    let mime = match content_type(bytes) {
        m if m.starts_with("audio/") || m.starts_with("video/") => m,
        _ => "application/octet-stream",
    };
    let asked = headers.get("range").and_then(|v| v.to_str().ok());
    let mut r = match http::range(asked, len) {
        Range::Whole => http::api(StatusCode::OK, mime, http::full(bytes.clone())),
        Range::Part(start, end) => {
            let mut r = http::api(
                StatusCode::PARTIAL_CONTENT,
                mime,
                http::full(bytes.slice(start as usize..=end as usize)),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
                r.headers_mut().insert("content-range", v);
            }
            r
        }
        Range::Unsatisfiable => {
            let mut r = http::api(StatusCode::RANGE_NOT_SATISFIABLE, mime, http::full(Bytes::new()));
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert("content-range", v);
            }
            r
        }
    };
    r.headers_mut()
        .insert("accept-ranges", HeaderValue::from_static("bytes"));
    let ext = match mime {
        "audio/ogg" => "ogg",
        "audio/wav" => "wav",
        "audio/mpeg" => "mp3",
        _ => "bin",
    };
    if let Ok(v) = HeaderValue::from_str(&http::attachment(&format!("Запись разговора {call_id}.{ext}")))
    {
        r.headers_mut().insert("content-disposition", v);
    }
    r
}

/// `GET /api/attachment/{appeal}/{file}`: an attached file, to save.
pub async fn attachment(session: &Session, ids: &str) -> Resp {
    let Some((Ok(appeal), Ok(file))) = ids.split_once('/').map(|(a, f)| (Uuid::from_str(a), Uuid::from_str(f))) else {
        return bad_id();
    };
    let listed = match session.store.attachments(appeal).await {
        Ok(l) => l,
        Err(e) => return failed(ErrorBody::from(&e)),
    };
    let Some(meta) = listed.into_iter().find(|a| a.id == file) else {
        return bad_id();
    };
    match session.store.attachment_content(file).await {
        Ok(bytes) => download(&meta.file_name, content_type(&bytes), bytes),
        Err(e) => failed(ErrorBody::from(&e)),
    }
}

/// `GET /api/cards.pdf?ids=ID,ID`: the cards as one PDF.
pub async fn cards(session: &Session, query: &str) -> Resp {
    let ids: Result<Vec<Uuid>, _> = query
        .split('&')
        .filter_map(|kv| kv.strip_prefix("ids="))
        .flat_map(|v| v.split([',', '+']))
        .filter(|s| !s.is_empty())
        .take(500)
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .parse::<Uuid>()
        })
        .collect();
    let Ok(ids) = ids else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "Неверный список обращений — обновите страницу и повторите",
        );
    };
    match dialog_commands::cards_pdf(&session.store, &ids).await {
        Ok(f) => download(&f.name, f.mime, f.bytes),
        Err(e) => failed(e),
    }
}

/// `POST /api/report/{pdf|csv}` with `{report}`: a built report as a file.
pub async fn report(format: &str, body: &[u8]) -> Resp {
    #[derive(serde::Deserialize)]
    struct Args {
        report: dialog_core::reports::Report,
    }
    let Ok(args) = serde_json::from_slice::<Args>(body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "Отчёт не передан — постройте его заново и повторите",
        );
    };
    match dialog_commands::report_file(&args.report, format).await {
        Ok(f) => download(&f.name, f.mime, f.bytes),
        Err(e) => failed(e),
    }
}

/// `GET /api/events`: the session's live changes.
pub fn events(session: &Session) -> Resp {
    let Some(stream) = session.events.subscribe() else {
        return http::signed_out();
    };
    let body = BodyExt::boxed(StreamBody::new(stream.map(|b| b.map(Frame::data))));
    let mut r = http::api(StatusCode::OK, "text/event-stream", body);
    // Proxies must pass each event on as it comes.
    r.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}
