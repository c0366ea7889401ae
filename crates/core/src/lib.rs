//! Dialog's domain and store.
//!
//! Every screen of the desktop app and every command of `dialog-admin` works through
//! [`Store`]: a pool of connections made as one person (or as the database owner, for
//! administration). The rules that protect data live in the database (see `migrations/`);
//! this crate gives them types, Russian messages and the queries the screens need.

pub mod appeals;
pub mod callbook;
pub mod certificate;
pub mod connect;
pub mod dashboard;
pub mod desk;
pub mod directory;
pub mod error;
pub mod events;
pub mod files;
pub mod history;
pub mod mail;
pub mod model;
pub mod pbx;
pub mod people;
pub mod phone;
pub mod registry;
pub mod reports;
pub mod scram;
pub mod softphone;

pub use connect::{ConnectError, ConnectOptions, LoginRequest, Person, TlsMode};
pub use error::{ConflictedAppeal, Error, ErrorBody, Result, Rule};

use sqlx::PgPool;

/// The schema migrations, embedded; run by `dialog-admin migrate` as the owner role.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// A secret in debug output and logs: only whether there is one.
pub struct Redacted<'a>(pub &'a str);

impl std::fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "<empty>" } else { "<hidden>" })
    }
}

/// The store: the database as one person sees it.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
    me: Option<Person>,
}

impl Store {
    /// A store over an existing pool (the owner's, in `dialog-admin` and tests); reads who
    /// the pool's role is when that role is a person of Dialog.
    pub async fn from_pool(pool: PgPool) -> Result<Store> {
        let me = connect::whoami(&pool).await?;
        Ok(Store { pool, me })
    }

    /// The person logged in; `None` for the owner role.
    pub fn me(&self) -> Option<&Person> {
        self.me.as_ref()
    }

    /// The underlying pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}
