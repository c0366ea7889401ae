//! What a browser may ask:
//!
//! | request | what |
//! | --- | --- |
//! | `GET /`, `GET /assets/…` | the UI |
//! | `POST /api/login` `{login, password}` | signs in: the session cookie, `{person, csrf}` |
//! | `GET /api/session` | `{person, csrf}` of the session, or 401 |
//! | `POST /api/logout` | signs out and closes the person's connections |
//! | `POST /api/call/{command}` | a command of `dialog-commands`, arguments as JSON |
//! | `GET /api/events` | live changes (Server-Sent Events) |
//! | `GET /api/recording/{call}` | a call's recording, in byte ranges for seeking |
//! | `GET /api/attachment/{appeal}/{file}` | an attached file, to save |
//! | `GET /api/cards.pdf?ids=…` | appeal cards as PDF |
//! | `POST /api/report/{pdf,csv}` `{report}` | a built report as a file |
//!
//! Every `/api/` answer but sign-in needs the session; every `POST` needs the page's
//! `Origin` and, but sign-in, the session's CSRF token in `X-Dialog-Csrf`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, StatusCode};
use serde::{Deserialize, Serialize};

use super::http::{self, error, json, Resp};
use super::sessions::{Session, SignInError};
use super::{files, Web};
use dialog_core::Person;

/// The largest request: a 25 MiB attachment in base64 with its JSON.
const BODY_LIMIT: usize = 36 << 20;
/// The largest sign-in.
const LOGIN_LIMIT: usize = 4 << 10;

/// Answers one request.
pub async fn handle(web: Arc<Web>, peer: SocketAddr, req: Request<Incoming>) -> Result<Resp, std::convert::Infallible> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let mut resp = route(&web, peer, req).await;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    // How long the server took, for the browser's developer tools and scripts/bench-web.sh.
    if let Ok(v) = HeaderValue::from_str(&format!("app;dur={ms:.1}")) {
        resp.headers_mut().insert("server-timing", v);
    }
    tracing::debug!(%method, %path, status = resp.status().as_u16(), ms, "request");
    Ok(resp)
}

async fn route(web: &Web, peer: SocketAddr, req: Request<Incoming>) -> Resp {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let Some(api) = path.strip_prefix("/api/") else {
        return static_file(web, &method, &path);
    };
    // Requests that change something come from this server's pages only.
    if method == Method::POST && !http::same_origin(req.headers(), &web.cfg.names) {
        return error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Запрос пришёл не со страницы Диалога — откройте Диалог по его адресу и повторите",
        );
    }
    match (&method, api) {
        (&Method::POST, "login") => return login(web, peer, req).await,
        (&Method::POST | &Method::GET, _) => {}
        _ => {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid",
                "Такой запрос не поддерживается",
            )
        }
    }
    let token = http::cookie(req.headers(), http::COOKIE).map(str::to_owned);
    let Some(session) = token.as_deref().and_then(|t| web.sessions.find(t)) else {
        return http::signed_out();
    };
    if method == Method::POST {
        let sent = req
            .headers()
            .get(http::CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !session.csrf_matches(sent) {
            return error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Страница устарела — обновите её (F5) и повторите",
            );
        }
    }
    let resp = match (&method, api) {
        (&Method::GET, "session") => json(StatusCode::OK, &SessionInfo::of(&session)),
        (&Method::POST, "logout") => {
            if let Some(t) = &token {
                web.sessions.sign_out(t).await;
            }
            let mut r = json(StatusCode::OK, &());
            r.headers_mut()
                .insert("set-cookie", HeaderValue::from_static(http::cleared_cookie()));
            return r;
        }
        (&Method::POST, a) if a.starts_with("call/") => call(&session, &a["call/".len()..], req).await,
        (&Method::GET, "events") => files::events(&session),
        (&Method::GET, a) if a.starts_with("recording/") => {
            files::recording(&session, &a["recording/".len()..], req.headers()).await
        }
        (&Method::GET, a) if a.starts_with("attachment/") => {
            files::attachment(&session, &a["attachment/".len()..]).await
        }
        (&Method::GET, "cards.pdf") => files::cards(&session, req.uri().query().unwrap_or_default()).await,
        (&Method::POST, a) if a.starts_with("report/") => match body(req, BODY_LIMIT).await {
            Ok(b) => files::report(&a["report/".len()..], &b).await,
            Err(r) => r,
        },
        _ => error(StatusCode::NOT_FOUND, "notFound", "Такого адреса у Диалога нет"),
    };
    // Connections lost cannot be opened again (the password is gone): the session ends, and
    // the page says so at its next request.
    if !resp.status().is_success() && !session.connected() {
        web.sessions.end_session(&session).await;
    }
    resp
}

fn static_file(web: &Web, method: &Method, path: &str) -> Resp {
    if method != Method::GET && method != Method::HEAD {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid",
            "Такой запрос не поддерживается",
        );
    }
    let Some(asset) = web.assets.get(path) else {
        let mut r = http::response(StatusCode::NOT_FOUND, http::full("Нет такой страницы"));
        r.headers_mut()
            .insert("content-type", HeaderValue::from_static("text/plain; charset=utf-8"));
        return r;
    };
    let body = if method == Method::HEAD {
        Bytes::new()
    } else {
        asset.bytes.clone()
    };
    let mut r = http::response(StatusCode::OK, http::full(body));
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static(asset.mime));
    h.insert(
        "cache-control",
        HeaderValue::from_static(if asset.immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    r
}

/// The request's body, at most `limit` bytes.
async fn body(req: Request<Incoming>, limit: usize) -> Result<Bytes, Resp> {
    match Limited::new(req.into_body(), limit).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(_) => Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid",
            "Запрос слишком велик (файл больше 25 МБ?) — уменьшите его и повторите",
        )),
    }
}

/// What a page knows of its session.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionInfo {
    person: Person,
    csrf: String,
}

impl SessionInfo {
    fn of(s: &Session) -> Self {
        Self {
            person: s.person.clone(),
            csrf: s.csrf().to_owned(),
        }
    }
}

#[derive(Deserialize)]
struct Credentials {
    login: String,
    password: String,
}

async fn login(web: &Web, peer: SocketAddr, req: Request<Incoming>) -> Resp {
    let address = http::client_address(peer, req.headers(), &web.cfg.proxies);
    let previous = http::cookie(req.headers(), http::COOKIE).map(str::to_owned);
    let raw = match body(req, LOGIN_LIMIT).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Ok(c) = serde_json::from_slice::<Credentials>(&raw) else {
        return error(StatusCode::BAD_REQUEST, "invalid", "Введите логин и пароль");
    };
    drop(raw);
    let login = c.login.trim();
    if login.is_empty() || login.len() > 63 || c.password.is_empty() {
        return error(StatusCode::BAD_REQUEST, "invalid", "Введите логин и пароль");
    }
    let wait = web.throttle.wait(login, address, Instant::now());
    if !wait.is_zero() {
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            "tooManyAttempts",
            format!(
                "Слишком много неудачных попыток входа — подождите {} с и введите пароль ещё раз",
                wait.as_secs().max(1)
            ),
        );
    }
    // A browser that signs in again leaves its old session behind: it ends now.
    if let Some(old) = previous {
        web.sessions.sign_out(&old).await;
    }
    match web.sessions.sign_in(&web.db, login, &c.password).await {
        Ok((token, session)) => {
            web.throttle.succeeded(login);
            let mut r = json(StatusCode::OK, &SessionInfo::of(&session));
            if let Ok(v) = HeaderValue::from_str(&http::session_cookie(&token)) {
                r.headers_mut().insert("set-cookie", v);
            }
            r
        }
        Err(SignInError::Connect(e)) => {
            let kind = e.kind();
            let status = match kind {
                "wrongPassword" | "accountDisabled" | "notAPerson" => {
                    web.throttle.failed(login, address, Instant::now());
                    // Each wrong guess costs the guesser a moment more.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    StatusCode::UNAUTHORIZED
                }
                _ => {
                    tracing::warn!(error = %e, "the web cannot sign a person in");
                    StatusCode::SERVICE_UNAVAILABLE
                }
            };
            error(status, kind, e.to_string())
        }
        Err(SignInError::TooMany) => error(
            StatusCode::CONFLICT,
            "tooManySessions",
            "У вас уже открыто слишком много сеансов «Диалога» на других компьютерах и в других браузерах — выйдите из одного из них и войдите снова",
        ),
        Err(SignInError::Full) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "serverFull",
            "Сервер базы данных сейчас не принимает новых подключений — повторите вход через минуту; если не получится, сообщите администратору",
        ),
        Err(SignInError::Store(e)) => {
            let b = dialog_core::ErrorBody::from(&e);
            json(http::status_of(&b), &b)
        }
    }
}

async fn call(session: &Session, name: &str, req: Request<Incoming>) -> Resp {
    if !dialog_commands::is_command(name) {
        let e = dialog_commands::unknown(name);
        return json(StatusCode::NOT_FOUND, &e);
    }
    let raw = match body(req, BODY_LIMIT).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let args: serde_json::Value = if raw.is_empty() {
        serde_json::Value::Null
    } else {
        match serde_json::from_slice(&raw) {
            Ok(v) => v,
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    "Запрос повреждён — обновите страницу и повторите",
                )
            }
        }
    };
    match dialog_commands::dispatch(&session.store, &session.reports, name, args).await {
        Ok(v) => json(StatusCode::OK, &v),
        Err(e) => json(http::status_of(&e), &e),
    }
}
