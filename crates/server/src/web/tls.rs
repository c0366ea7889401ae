//! The web's certificate: the center's own (`cert_file`, `key_file`), or for a trial a
//! self-signed one made on first start and kept in the state directory, so that browsers see
//! the same certificate after a restart. Its SHA-256 fingerprint goes to the log, for people
//! to compare before they trust it.

use std::path::Path;

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use super::WebConfig;

/// The TLS settings of the listener: TLS 1.2 and 1.3, HTTP/1.1.
pub fn server_config(cfg: &WebConfig) -> anyhow::Result<rustls::ServerConfig> {
    let (certs, key) = match (&cfg.cert_file, &cfg.key_file) {
        (Some(c), Some(k)) => read(c, k)?,
        _ => trial(&cfg.state_dir, &cfg.names)?,
    };
    if let Some(first) = certs.first() {
        tracing::info!(fingerprint = %fingerprint(first), "the web's certificate (SHA-256)");
    }
    let mut config = rustls::ServerConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())
        .with_safe_default_protocol_versions()
        .context("TLS")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("[web] сертификат и ключ не подходят друг к другу")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn read(cert: &Path, key: &Path) -> anyhow::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("[web] не удалось прочитать сертификат {}", cert.display()))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "[web] в {} нет сертификата (нужен PEM)",
        cert.display()
    );
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("[web] не удалось прочитать ключ {} (нужен PEM)", key.display()))?;
    Ok((certs, key))
}

/// The trial certificate of `dir`, made when it is not there yet.
fn trial(dir: &Path, names: &[String]) -> anyhow::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let cert = dir.join("web-selfsigned.pem");
    let key = dir.join("web-selfsigned.key");
    if cert.exists() && key.exists() {
        return read(&cert, &key);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("[web] не удалось создать папку {}", dir.display()))?;
    let mut all: Vec<String> = names.to_vec();
    for n in ["localhost", "127.0.0.1", "::1"] {
        if !all.iter().any(|x| x == n) {
            all.push(n.to_owned());
        }
    }
    if let Ok(host) = std::fs::read_to_string("/etc/hostname") {
        let host = host.trim().to_owned();
        if !host.is_empty() && !all.contains(&host) {
            all.push(host);
        }
    }
    let made = rcgen::generate_simple_self_signed(all).context("[web] не удалось сделать пробный сертификат")?;
    write_private(&key, made.key_pair.serialize_pem().as_bytes())?;
    std::fs::write(&cert, made.cert.pem()).with_context(|| format!("[web] не удалось записать {}", cert.display()))?;
    tracing::warn!(
        cert = %cert.display(),
        "made a self-signed certificate for a trial: browsers will warn; give the web a certificate of the center (cert_file, key_file)"
    );
    read(&cert, &key)
}

/// Writes a file only its owner may read.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("[web] не удалось записать {}", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}

/// `AB:CD:…`, as browsers show it.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    Sha256::digest(cert.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trial_certificate_is_made_once_and_kept_private() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("dialog-web-tls-{}", std::process::id()));
        let (first, _) = trial(&dir, &["dialog.example.ru".into()])?;
        let (again, _) = trial(&dir, &[])?;
        assert_eq!(
            fingerprint(&first[0]),
            fingerprint(&again[0]),
            "a restart keeps the certificate"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("web-selfsigned.key"))?.permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key is its owner's alone");
        }
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
