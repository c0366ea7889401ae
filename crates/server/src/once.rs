//! Duties that must run once per center (the PBX bridge, the mail intake) hold a PostgreSQL
//! advisory lock on a connection of their service login: a second instance of dialog-server
//! waits as a hot standby and takes over when the first dies (its connection, and with it the
//! lock, goes away). No other coordinator. Only service logins may take advisory locks (the
//! migrations take the right from everyone else).

use std::time::Duration;

use sqlx::{Connection, PgConnection};

/// Holds the duty's lock while alive.
pub struct Held {
    conn: PgConnection,
}

/// The lock's key: one per duty and database.
fn key_sql() -> &'static str {
    "select pg_try_advisory_lock(hashtextextended('dialog-server:' || $1 || ':' || current_database(), 0))"
}

/// Waits until this instance holds the duty's lock. `connect` opens a new connection of the
/// service login; `every` is how often a standby tries again.
pub async fn acquire<F, Fut>(duty: &str, mut connect: F, every: Duration) -> anyhow::Result<Held>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<PgConnection>>,
{
    let mut said = false;
    loop {
        match connect().await {
            Ok(mut conn) => {
                let got: bool = sqlx::query_scalar(key_sql()).bind(duty).fetch_one(&mut conn).await?;
                if got {
                    tracing::info!(duty, "this instance does the duty");
                    return Ok(Held { conn });
                }
                let _ = conn.close().await;
                if !said {
                    tracing::info!(duty, "another instance does the duty; standing by");
                    said = true;
                }
            }
            Err(e) => tracing::warn!(duty, error = %e, "cannot reach the database to take the duty"),
        }
        tokio::time::sleep(every).await;
    }
}

impl Held {
    /// Returns when the lock is lost (its connection broke): the duty must stop at once,
    /// since another instance may take it over.
    pub async fn lost(&mut self) {
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            if self.conn.ping().await.is_err() {
                tracing::warn!("the duty's lock is lost");
                return;
            }
        }
    }
}
