//! Signed-in people. Signing in opens the person's own connections with their own login —
//! all of them at once, since the password is forgotten right after — and makes a session:
//! a random token (256 bits) in an `HttpOnly; Secure; SameSite=Strict` cookie, known here only
//! by its SHA-256, and a token of its own that every request changing something must carry
//! (CSRF). Sessions live in this process's memory; a session ends after `idle_minutes`
//! unused, after `session_hours` in any case, at sign-out, and when its connections are lost.
//! Ending it closes its connections.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use dialog_commands::ReportSlot;
use dialog_core::{ConnectError, Person, Store};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::events::Hub;
use super::{Web, WebConfig};
use crate::config::Database;

/// A recording kept for the range requests of one player (a browser asks for a file in pieces
/// while it plays and seeks).
pub struct Recording {
    /// Which call.
    pub call_id: Uuid,
    /// The bytes.
    pub bytes: bytes::Bytes,
    kept: Instant,
}

/// How long a recording is kept for its player.
const RECORDING_KEPT: Duration = Duration::from_secs(120);

/// One signed-in browser.
pub struct Session {
    /// Who.
    pub person: Person,
    /// Their store, over their own connections.
    pub store: Store,
    /// The report they are building.
    pub reports: ReportSlot,
    /// Live changes for their pages.
    pub events: Hub,
    csrf: String,
    started: Instant,
    last_seen: Mutex<Instant>,
    opened: u32,
    recording: Mutex<Option<Arc<Recording>>>,
}

impl Session {
    /// The token the session's pages send with every request that changes something.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Whether `token` is the session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, token: &str) -> bool {
        bool::from(self.csrf.as_bytes().ct_eq(token.as_bytes()))
    }

    /// Whether the session's connections are all still there (they cannot be opened again:
    /// the password is gone).
    pub fn connected(&self) -> bool {
        !self.store.pool().is_closed() && self.store.pool().size() >= self.opened
    }

    /// The recording of `call_id` if it was read for this session a moment ago.
    pub fn kept_recording(&self, call_id: Uuid) -> Option<Arc<Recording>> {
        let kept = self.recording.lock().ok()?;
        kept.as_ref()
            .filter(|r| r.call_id == call_id && r.kept.elapsed() < RECORDING_KEPT)
            .cloned()
    }

    /// Keeps a recording for the next requests of its player (one per session).
    pub fn keep_recording(&self, call_id: Uuid, bytes: bytes::Bytes) -> Arc<Recording> {
        let r = Arc::new(Recording {
            call_id,
            bytes,
            kept: Instant::now(),
        });
        if let Ok(mut kept) = self.recording.lock() {
            *kept = Some(r.clone());
        }
        r
    }

    /// Ends the session's live changes and closes its connections.
    async fn close(&self) {
        tracing::debug!(login = %self.person.login, "closing a session");
        self.events.stop().await;
        self.reports.cancel().await;
        if let Ok(mut kept) = self.recording.lock() {
            kept.take();
        }
        // The change listener gives its connection back as it stops; don't wait for ever.
        if tokio::time::timeout(Duration::from_secs(10), self.store.pool().close())
            .await
            .is_err()
        {
            tracing::warn!(login = %self.person.login, "a session's connections did not close in time");
        }
    }
}

type Key = [u8; 32];

fn key_of(token: &str) -> Key {
    Sha256::digest(token.as_bytes()).into()
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The session table.
pub struct Sessions {
    table: Mutex<HashMap<Key, Arc<Session>>>,
    idle: Duration,
    absolute: Duration,
    connections: u32,
    per_person: usize,
}

/// Why signing in failed.
pub enum SignInError {
    /// The database's answer, in the person's words.
    Connect(ConnectError),
    /// The database refused for another reason.
    Store(dialog_core::Error),
    /// The person's connections are all taken elsewhere (their desktop app, other browsers).
    TooMany,
    /// The database accepts no more connections now.
    Full,
}

impl Sessions {
    /// An empty table with the section's limits.
    pub fn new(cfg: &WebConfig) -> Self {
        Self {
            table: Mutex::new(HashMap::new()),
            idle: Duration::from_secs(cfg.idle_minutes * 60),
            absolute: Duration::from_secs(cfg.session_hours * 3600),
            connections: cfg.connections,
            per_person: cfg.sessions_per_person,
        }
    }

    /// Signs a person in: opens their connections, forgets the password, and returns the new
    /// session's cookie token. A person signed in too often here has their oldest session
    /// ended.
    pub async fn sign_in(
        &self,
        db: &Database,
        login: &str,
        password: &str,
    ) -> Result<(String, Arc<Session>), SignInError> {
        let opts = db.options(login.trim(), password);
        // One connection more than for commands: the live changes' listener holds it.
        let opened = self.connections + 1;
        self.make_room(&opts, opened).await?;
        let pool = open(&opts, opened).await.map_err(|e| match e {
            sqlx::Error::PoolTimedOut => SignInError::Full,
            e => SignInError::Connect(ConnectError::of(e, &opts)),
        })?;
        drop(opts);
        let store = Store::from_pool(pool).await.map_err(SignInError::Store)?;
        let Some(person) = store.me().cloned() else {
            store.pool().close().await;
            return Err(SignInError::Connect(ConnectError::NotAPerson(login.trim().to_owned())));
        };
        let token = random_token();
        let now = Instant::now();
        let session = Arc::new(Session {
            events: Hub::new(store.clone()),
            person,
            store,
            reports: ReportSlot::default(),
            csrf: random_token(),
            started: now,
            last_seen: Mutex::new(now),
            opened,
            recording: Mutex::new(None),
        });
        let pushed_out = {
            let mut table = self.table.lock().map_err(|_| SignInError::Store(poisoned()))?;
            table.insert(key_of(&token), session.clone());
            let mut mine: Vec<(Key, Instant)> = table
                .iter()
                .filter(|(_, s)| s.person.login == session.person.login)
                .map(|(k, s)| (*k, s.started))
                .collect();
            mine.sort_by_key(|(_, started)| *started);
            tracing::info!(login = %session.person.login, sessions = table.len(), "signed in");
            let extra = mine.len().saturating_sub(self.per_person);
            mine.into_iter()
                .take(extra)
                .filter_map(|(k, _)| table.remove(&k))
                .collect::<Vec<_>>()
        };
        for s in pushed_out {
            s.close().await;
        }
        Ok((token, session))
    }

    /// The live session of `token`; using it keeps it alive.
    pub fn find(&self, token: &str) -> Option<Arc<Session>> {
        let now = Instant::now();
        let key = key_of(token);
        let mut table = self.table.lock().ok()?;
        let s = table.get(&key)?.clone();
        if self.expired(&s, now) || !s.connected() {
            table.remove(&key);
            drop(table);
            tokio::spawn(async move { s.close().await });
            return None;
        }
        if let Ok(mut seen) = s.last_seen.lock() {
            *seen = now;
        }
        Some(s)
    }

    /// Signs the session of `token` out and closes its connections.
    pub async fn sign_out(&self, token: &str) {
        let s = self.table.lock().ok().and_then(|mut t| t.remove(&key_of(token)));
        if let Some(s) = s {
            tracing::info!(login = %s.person.login, "signed out");
            s.close().await;
        }
    }

    /// Ends a session whose connections were lost.
    pub async fn end_session(&self, session: &Arc<Session>) {
        let removed = self.table.lock().ok().and_then(|mut t| {
            let key = t.iter().find(|(_, s)| Arc::ptr_eq(s, session)).map(|(k, _)| *k)?;
            t.remove(&key)
        });
        if let Some(s) = removed {
            s.close().await;
        }
    }

    /// Checks the password on one connection and makes room for `needed` more within the
    /// person's limit of connections (the database's): this instance's oldest sessions of
    /// theirs end when the new one would not fit otherwise. The database checks the limit
    /// after the password, so nobody ends a session without knowing it.
    async fn make_room(&self, opts: &dialog_core::ConnectOptions, needed: u32) -> Result<(), SignInError> {
        let pg = opts.pg_options();
        let connect = || async {
            tokio::time::timeout(Duration::from_secs(10), PgConnection::connect_with(&pg))
                .await
                .unwrap_or(Err(sqlx::Error::PoolTimedOut))
        };
        let mut probe = loop {
            match connect().await {
                Ok(c) => break c,
                Err(e) if is_role_full(&e) => match self.oldest_of(&opts.login) {
                    Some(old) => self.end_session(&old).await,
                    None => return Err(SignInError::TooMany),
                },
                Err(e)
                    if e.as_database_error()
                        .and_then(|d| d.code())
                        .is_some_and(|c| c == "53300") =>
                {
                    return Err(SignInError::Full)
                }
                Err(sqlx::Error::PoolTimedOut) => return Err(SignInError::Full),
                Err(e) => return Err(SignInError::Connect(ConnectError::of(e, opts))),
            }
        };
        let room = sqlx::query!(
            r#"select (select count(*) from pg_stat_activity where usename = session_user) as "used!",
                      (select rolconnlimit from pg_roles where rolname = session_user) as "limit!""#
        )
        .fetch_one(&mut probe)
        .await
        .map_err(|e| SignInError::Store(e.into()))?;
        let (used, limit) = (room.used, room.limit);
        let _ = probe.close().await;
        tracing::debug!(login = %opts.login, used, limit, needed, "room for a session");
        if limit < 0 {
            return Ok(());
        }
        // The probe itself is gone now.
        let mut short = i64::from(needed) - (i64::from(limit) - (used - 1));
        while short > 0 {
            let Some(old) = self.oldest_of(&opts.login) else {
                return Err(SignInError::TooMany);
            };
            self.end_session(&old).await;
            short -= i64::from(old.opened);
        }
        Ok(())
    }

    fn oldest_of(&self, login: &str) -> Option<Arc<Session>> {
        let table = self.table.lock().ok()?;
        table
            .values()
            .filter(|s| s.person.login == login)
            .min_by_key(|s| s.started)
            .cloned()
    }

    fn expired(&self, s: &Session, now: Instant) -> bool {
        let seen = s.last_seen.lock().map(|t| *t).unwrap_or(s.started);
        now.saturating_duration_since(seen) >= self.idle || now.saturating_duration_since(s.started) >= self.absolute
    }

    /// Takes out the sessions that expired or lost their connections.
    fn take_dead(&self) -> Vec<Arc<Session>> {
        let now = Instant::now();
        let Ok(mut table) = self.table.lock() else {
            return Vec::new();
        };
        let dead: Vec<Key> = table
            .iter()
            .filter(|(_, s)| self.expired(s, now) || !s.connected())
            .map(|(k, _)| *k)
            .collect();
        dead.iter().filter_map(|k| table.remove(k)).collect()
    }
}

fn poisoned() -> dialog_core::Error {
    dialog_core::Error::invalid("", "Сервер занят — повторите вход через минуту")
}

/// Opens `n` connections as the person and then forgets the password: the pool can never open
/// another, so it keeps these for good (no idle timeout, no lifetime).
async fn open(opts: &dialog_core::ConnectOptions, n: u32) -> Result<sqlx::PgPool, sqlx::Error> {
    let pg = opts.pg_options();
    let pool = PgPoolOptions::new()
        .max_connections(n)
        .min_connections(0)
        .idle_timeout(None)
        .max_lifetime(None)
        // Connections the database refused for want of room are retried meanwhile.
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(pg.clone())
        .await?;
    let held = futures_util::future::try_join_all((0..n).map(|_| pool.acquire())).await;
    match held {
        Ok(held) => drop(held),
        Err(e) => {
            pool.close().await;
            return Err(e);
        }
    }
    pool.set_connect_options(pg.password(""));
    Ok(pool)
}

/// The person's own limit of connections is reached (not the whole server's: the same code
/// says "too many clients").
fn is_role_full(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.code().is_some_and(|c| c == "53300") && d.message().contains("role"))
}

/// Ends dead sessions every few seconds, for ever.
pub async fn reap(web: Arc<Web>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        for s in web.sessions.take_dead() {
            tracing::info!(login = %s.person.login, "session ended");
            s.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_tokens_are_long_random_and_kept_only_as_a_hash() {
        let a = random_token();
        let b = random_token();
        assert_ne!(a, b);
        // 32 bytes, base64url without padding: 256 bits a token.
        assert_eq!(a.len(), 43);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(&key_of(&a)[..], a.as_bytes().get(..32).unwrap_or_default());
        assert_eq!(key_of(&a), key_of(&a));
    }
}
