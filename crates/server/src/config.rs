//! dialog-server's one configuration file (TOML), plus secrets from the environment or files
//! only root can read: a service's database password and the PBX's AMI secret never sit in
//! the file itself when the file may be read by others.

use std::path::{Path, PathBuf};

use anyhow::Context;
use dialog_core::{ConnectOptions, TlsMode};
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where Dialog's database is.
    pub database: Database,
    /// The web for browsers; absent: off.
    pub web: Option<toml::Table>,
    /// The PBX bridge; absent: off.
    pub pbx: Option<toml::Table>,
    /// The mail intake; absent: off.
    pub mail: Option<toml::Table>,
}

/// The database server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// Host name or address.
    pub host: String,
    /// Port (5432).
    #[serde(default = "default_port")]
    pub port: u16,
    /// Database name (`dialog`).
    #[serde(default = "default_name")]
    pub name: String,
    /// The CA of the database server's certificate; absent: the system's authorities. A
    /// server on this computer may be reached without TLS (`tls = false`).
    pub ca_file: Option<PathBuf>,
    /// `false` only for a database on this computer.
    #[serde(default = "yes")]
    pub tls: bool,
}

fn default_port() -> u16 {
    5432
}

fn default_name() -> String {
    "dialog".into()
}

fn yes() -> bool {
    true
}

impl Config {
    /// Reads and checks the file.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("не удалось прочитать {}", path.display()))?;
        let c: Config = toml::from_str(&text).with_context(|| format!("ошибка в {}", path.display()))?;
        if !c.database.tls {
            let local = ConnectOptions::for_server(&c.database.host, "", "", TlsMode::Disable)
                .map(|o| o.is_local())
                .unwrap_or(false);
            anyhow::ensure!(
                local,
                "tls = false допускается только для базы данных на этом же компьютере, а {} — другой компьютер",
                c.database.host
            );
        }
        Ok(c)
    }
}

impl Database {
    /// Options to connect as `login` with `password`.
    pub fn options(&self, login: &str, password: &str) -> ConnectOptions {
        ConnectOptions {
            host: self.host.clone(),
            port: self.port,
            database: self.name.clone(),
            login: login.to_owned(),
            password: password.to_owned(),
            tls: if self.tls {
                TlsMode::VerifyFull {
                    ca_file: self.ca_file.clone(),
                }
            } else {
                TlsMode::Disable
            },
        }
    }
}

/// A secret named in a section: taken from the environment variable `env` when set, else
/// from the file `file` (which must not be readable by others), else an error that says
/// what to set.
pub fn secret(what: &str, env: &str, file: Option<&Path>) -> anyhow::Result<String> {
    if let Ok(v) = std::env::var(env) {
        return Ok(v);
    }
    if let Some(f) = file {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(f)
                .with_context(|| format!("{what}: нет файла {}", f.display()))?
                .permissions()
                .mode();
            anyhow::ensure!(
                mode & 0o077 == 0,
                "{what}: файл {} читают не только его владелец — выполните chmod 600 {}",
                f.display(),
                f.display()
            );
        }
        let s = std::fs::read_to_string(f).with_context(|| format!("{what}: не удалось прочитать {}", f.display()))?;
        return Ok(s.trim_end_matches(['\r', '\n']).to_owned());
    }
    anyhow::bail!("{what}: задайте переменную окружения {env} или файл с ним в настройках")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_elsewhere_is_reached_only_with_tls() {
        let c: Config = toml::from_str("[database]\nhost = \"db.example.ru\"\n").expect("parses");
        assert!(c.database.tls);
        assert!(matches!(
            c.database.options("x", "y").tls,
            TlsMode::VerifyFull { ca_file: None }
        ));
        let dir = std::env::temp_dir().join(format!("dialog-server-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let f = dir.join("server.toml");
        std::fs::write(&f, "[database]\nhost = \"db.example.ru\"\ntls = false\n").expect("write");
        let e = Config::load(&f).err().map(|e| format!("{e:#}")).unwrap_or_default();
        assert!(e.contains("только для базы данных на этом же компьютере"), "{e}");
        std::fs::write(&f, "[database]\nhost = \"127.0.0.1\"\ntls = false\n[unknown]\n").expect("write");
        assert!(Config::load(&f).is_err(), "an unknown section is an error, not ignored");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn secrets_come_from_the_environment_or_a_private_file() {
        let dir = std::env::temp_dir().join(format!("dialog-server-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let f = dir.join("secret");
        std::fs::write(&f, "s3cret\n").expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let e = secret("пароль", "DIALOG_TEST_SECRET_UNSET", Some(&f))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(
            secret("пароль", "DIALOG_TEST_SECRET_UNSET", Some(&f)).ok().as_deref(),
            Some("s3cret")
        );
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
