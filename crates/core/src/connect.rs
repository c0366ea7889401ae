//! Logging in: every person connects to the shared database as their own role.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{Connection, PgConnection};

use crate::model::StaffRole;
use crate::Store;

/// How the connection is protected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", tag = "mode")]
pub enum TlsMode {
    /// No encryption (a database on the same machine).
    Disable,
    /// Encrypt when the server offers it, without checking who the server is.
    Prefer,
    /// Always encrypt, without checking who the server is.
    Require,
    /// Encrypt and verify the server's certificate and host name against the system's
    /// trusted authorities, or against `ca_file` when given.
    #[serde(rename_all = "camelCase")]
    VerifyFull {
        /// A PEM file with the authority that signed the server's certificate.
        ca_file: Option<PathBuf>,
    },
    /// Encrypt and accept only the one certificate the person chose to trust (by its
    /// fingerprint, see [`crate::certificate`]), whatever name it carries.
    #[serde(rename_all = "camelCase")]
    Pinned {
        /// The trusted certificate, PEM.
        cert_file: PathBuf,
    },
}

/// Where and as whom to connect.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct ConnectOptions {
    /// Host name or address of the database server.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Database name.
    pub database: String,
    /// The person's login (their PostgreSQL role).
    pub login: String,
    /// The person's password.
    #[serde(skip_serializing)]
    pub password: String,
    /// Encryption and server verification.
    pub tls: TlsMode,
}

// Debug output goes to logs: it never shows the password.
impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("login", &self.login)
            .field("password", &crate::Redacted(&self.password))
            .field("tls", &self.tls)
            .finish()
    }
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("server", &self.server)
            .field("login", &self.login)
            .field("password", &crate::Redacted(&self.password))
            .field("tls", &self.tls)
            .finish()
    }
}

impl ConnectOptions {
    /// Options for a server address as an operator types it: `host`, `host:port` or
    /// `host:port/database` (defaults: port 5432, database `dialog`).
    pub fn for_server(address: &str, login: &str, password: &str, tls: TlsMode) -> Result<Self, ConnectError> {
        let address = address.trim();
        let (hostport, database) = address.split_once('/').unwrap_or((address, "dialog"));
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|_| ConnectError::BadAddress(address.to_owned()))?),
            None => (hostport, 5432),
        };
        if host.is_empty() || database.is_empty() {
            return Err(ConnectError::BadAddress(address.to_owned()));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            database: database.to_owned(),
            login: login.trim().to_owned(),
            password: password.to_owned(),
            tls,
        })
    }

    /// The sqlx options these describe.
    pub fn pg_options(&self) -> PgConnectOptions {
        let base = PgConnectOptions::new_without_pgpass()
            .host(&self.host)
            .port(self.port)
            .database(&self.database)
            .username(&self.login)
            .password(&self.password)
            .application_name("dialog")
            // The registry's statements are prepared once per connection; a generic plan would
            // guess how common a searched word is and scan every match of a common surname.
            // The server probes a quiet connection after 30 s and drops it after three more
            // silent 10 s, so a workstation that froze or lost its network holds nothing for long.
            .options([
                ("plan_cache_mode", "force_custom_plan"),
                ("tcp_keepalives_idle", "30"),
                ("tcp_keepalives_interval", "10"),
                ("tcp_keepalives_count", "3"),
            ]);
        match &self.tls {
            TlsMode::Disable => base.ssl_mode(PgSslMode::Disable),
            TlsMode::Prefer => base.ssl_mode(PgSslMode::Prefer),
            TlsMode::Require => base.ssl_mode(PgSslMode::Require),
            TlsMode::VerifyFull { ca_file: None } => base.ssl_mode(PgSslMode::VerifyFull),
            TlsMode::VerifyFull { ca_file: Some(ca) } => base.ssl_mode(PgSslMode::VerifyFull).ssl_root_cert(ca),
            // A self-signed certificate is its own authority: checking the chain against it
            // accepts that certificate (and what its key signs) and nothing else.
            TlsMode::Pinned { cert_file } => base.ssl_mode(PgSslMode::VerifyCa).ssl_root_cert(cert_file),
        }
    }
}

/// What a login screen sends.
#[derive(Clone, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    /// `host[:port][/database]`.
    pub server: String,
    /// Login.
    pub login: String,
    /// Password.
    pub password: String,
    /// Encryption and verification of the server.
    pub tls: TlsMode,
}

impl LoginRequest {
    /// The connection options it describes. A person's password and the appeals travel to a
    /// server on another computer only over a connection whose server has been verified.
    pub fn options(&self) -> Result<ConnectOptions, ConnectError> {
        let opts = ConnectOptions::for_server(&self.server, &self.login, &self.password, self.tls.clone())?;
        let verified = matches!(self.tls, TlsMode::VerifyFull { .. } | TlsMode::Pinned { .. });
        if !verified && !opts.is_local() {
            return Err(ConnectError::Unverified(opts.host));
        }
        Ok(opts)
    }
}

impl ConnectOptions {
    /// Whether the server is this computer (a loopback address).
    pub fn is_local(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

/// A successful login.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct LoginOutcome {
    /// Who logged in.
    pub person: Person,
    /// Why the password could not be remembered, when it was asked to be.
    pub keyring: Option<String>,
}

/// Why logging in failed, told apart so the login screen can say what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// Login or password is wrong.
    #[error("Неверный логин или пароль. Проверьте раскладку клавиатуры и Caps Lock и введите пароль ещё раз")]
    WrongPassword,
    /// The account exists but is switched off.
    #[error("Учётная запись «{0}» отключена. Обратитесь к администратору")]
    AccountDisabled(String),
    /// The role can log in but is not a person of Dialog.
    #[error("Учётная запись «{0}» не зарегистрирована как сотрудник Диалога. Обратитесь к администратору")]
    NotAPerson(String),
    /// Nothing answers at that address.
    #[error("Сервер {address} не отвечает. Проверьте адрес сервера и подключение к сети; если всё верно — сообщите администратору")]
    Unreachable {
        /// `host:port`.
        address: String,
        /// The system's words, for the administrator.
        detail: String,
    },
    /// The encrypted connection could not be set up or the server's certificate is not trusted.
    #[error("Не удалось установить защищённое соединение с сервером: {detail}. Сертификат сервера не прошёл проверку — сообщите администратору")]
    Tls {
        /// The TLS library's words.
        detail: String,
    },
    /// The server refuses this computer or this database.
    #[error("Сервер отказал в подключении: {0}. Сообщите администратору")]
    Refused(String),
    /// The address cannot be understood.
    #[error("Адрес сервера «{0}» записан неверно. Пример: dialog.example.ru:5432")]
    BadAddress(String),
    /// A server on another computer, asked for without verifying its certificate.
    #[error("Сервер {0} находится на другом компьютере: подключаться к нему можно только с проверкой сертификата. Выберите «шифровать и проверять сертификат сервера»; если сертификат самоподписанный, программа покажет его отпечаток и предложит ему доверять")]
    Unverified(String),
    /// Something else.
    #[error("Не удалось подключиться: {0}")]
    Other(String),
}

impl ConnectError {
    /// The camelCase name of the variant, for clients that branch on it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::WrongPassword => "wrongPassword",
            Self::AccountDisabled(_) => "accountDisabled",
            Self::NotAPerson(_) => "notAPerson",
            Self::Unreachable { .. } => "unreachable",
            Self::Tls { .. } => "tls",
            Self::Refused(_) => "refused",
            Self::BadAddress(_) => "badAddress",
            Self::Unverified(_) => "unverified",
            Self::Other(_) => "other",
        }
    }

    /// Why connecting with `opts` failed, told apart as [`Store::connect`] tells it: for a
    /// program that opens a person's connections itself (dialog-server's web holds a fixed
    /// few and forgets the password).
    pub fn of(e: sqlx::Error, opts: &ConnectOptions) -> Self {
        Self::classify(e, &opts.pg_options(), &opts.login)
    }

    fn classify(e: sqlx::Error, opts: &PgConnectOptions, login: &str) -> Self {
        let address = format!("{}:{}", opts.get_host(), opts.get_port());
        match e {
            sqlx::Error::Database(db) => match db.code().as_deref() {
                Some("28P01") => Self::WrongPassword,
                Some("28000") if db.message().contains("not permitted to log in") => {
                    Self::AccountDisabled(login.to_owned())
                }
                // The database's CONNECT right belongs to its active people only.
                Some("42501") => Self::NotAPerson(login.to_owned()),
                _ => Self::Refused(db.message().to_owned()),
            },
            sqlx::Error::Tls(e) => Self::Tls { detail: e.to_string() },
            // rustls reports a rejected certificate through the I/O error it wraps.
            sqlx::Error::Io(e)
                if e.kind() == std::io::ErrorKind::InvalidData || e.to_string().contains("certificate") =>
            {
                Self::Tls { detail: e.to_string() }
            }
            sqlx::Error::Io(e) => Self::Unreachable {
                address,
                detail: e.to_string(),
            },
            sqlx::Error::Configuration(e) => Self::BadAddress(e.to_string()),
            e => Self::Other(e.to_string()),
        }
    }
}

/// The person logged in.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Person {
    /// Login (role name).
    pub login: String,
    /// Full name.
    pub full_name: String,
    /// What they do.
    pub role: StaffRole,
    /// SIP extension of their phone line.
    pub sip_extension: Option<String>,
    /// Their organization, for managers.
    pub organization_id: Option<uuid::Uuid>,
    /// Whether they may log in.
    pub active: bool,
}

/// The person the connection's login is, if it is one of Dialog's.
pub(crate) async fn whoami(conn: impl sqlx::PgExecutor<'_>) -> sqlx::Result<Option<Person>> {
    sqlx::query_as!(
        Person,
        r#"select login, full_name, role as "role: StaffRole", sip_extension, organization_id, active
           from staff where login = session_user"#
    )
    .fetch_optional(conn)
    .await
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections a person's app keeps to the server, besides the one that listens for changes.
pub const POOL_SIZE: u32 = 2;

impl Store {
    /// Logs a person in: checks the credentials on one connection (to tell the failures
    /// apart), reads who they are, then opens the pool.
    #[tracing::instrument(skip_all, fields(host = %opts.host, login = %opts.login))]
    pub async fn connect(opts: &ConnectOptions) -> Result<Store, ConnectError> {
        let pg = opts.pg_options();
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&pg))
            .await
            .map_err(|_| ConnectError::Unreachable {
                address: format!("{}:{}", opts.host, opts.port),
                detail: "время ожидания истекло".into(),
            })?
            .map_err(|e| ConnectError::classify(e, &pg, &opts.login))?;
        let _ = probe.close().await;
        // Two connections a person, and one more that listens for live changes (the listener
        // takes its connection from the pool).
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE + 1)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(pg.clone())
            .await
            .map_err(|e| ConnectError::classify(e, &pg, &opts.login))?;
        let me = whoami(&pool)
            .await
            .map_err(|e| match e.as_database_error().and_then(|d| d.code()).as_deref() {
                // A login role without any of Dialog's group roles cannot even read the staff list.
                Some("42501") => ConnectError::NotAPerson(opts.login.clone()),
                _ => ConnectError::Other(e.to_string()),
            })?
            .ok_or_else(|| ConnectError::NotAPerson(opts.login.clone()))?;
        Ok(Store { pool, me: Some(me) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses() -> Result<(), ConnectError> {
        let o = ConnectOptions::for_server("db.local", "ivanov", "x", TlsMode::Prefer)?;
        assert_eq!(
            (o.host.as_str(), o.port, o.database.as_str()),
            ("db.local", 5432, "dialog")
        );
        let o = ConnectOptions::for_server("10.0.0.5:6432/center", "ivanov", "x", TlsMode::Prefer)?;
        assert_eq!(
            (o.host.as_str(), o.port, o.database.as_str()),
            ("10.0.0.5", 6432, "center")
        );
        assert!(matches!(
            ConnectOptions::for_server("db:порт", "a", "b", TlsMode::Prefer),
            Err(ConnectError::BadAddress(_))
        ));
        Ok(())
    }

    #[test]
    fn only_this_computer_is_reached_without_a_verified_certificate() {
        let login = |server: &str, tls: TlsMode| {
            LoginRequest {
                server: server.into(),
                login: "ivanov".into(),
                password: "x".into(),
                tls,
            }
            .options()
        };
        for local in ["127.0.0.1:5432", "localhost/dialog", "[::1]:5433"] {
            assert!(login(local, TlsMode::Disable).is_ok(), "{local}");
        }
        for remote in ["dialog.example.ru", "10.0.0.5:6432/center"] {
            for tls in [TlsMode::Disable, TlsMode::Prefer, TlsMode::Require] {
                assert!(
                    matches!(login(remote, tls.clone()), Err(ConnectError::Unverified(_))),
                    "{remote} {tls:?}"
                );
            }
            assert!(login(remote, TlsMode::VerifyFull { ca_file: None }).is_ok());
            let pinned = TlsMode::Pinned {
                cert_file: "server.pem".into(),
            };
            assert!(login(remote, pinned).is_ok());
        }
    }
}
