//! A server's TLS certificate, fetched before trusting it: the manual's «подключение не
//! защищено» done right. The person sees the SHA-256 fingerprint, compares it with the one
//! their administrator gave, and trusts that one certificate ([`TlsMode::Pinned`]) — not every
//! server, and not silently.
//!
//! [`TlsMode::Pinned`]: crate::TlsMode::Pinned

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use base64::{engine::general_purpose::STANDARD, Engine};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ConnectError;

/// The certificate a server presented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct ServerCertificate {
    /// SHA-256 of the certificate, `AB:CD:…`, as `openssl x509 -fingerprint -sha256` prints it.
    pub fingerprint: String,
    /// The certificate in PEM, to save and trust.
    pub pem: String,
}

/// Accepts any certificate: used only to look at what the server presents, never to talk.
#[derive(Debug)]
struct Look(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Look {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_error(detail: impl ToString) -> ConnectError {
    ConnectError::Tls {
        detail: detail.to_string(),
    }
}

/// Fetches the certificate a PostgreSQL server presents (blocking: call it off the UI thread).
pub fn fetch_server_certificate(host: &str, port: u16) -> Result<ServerCertificate, ConnectError> {
    let address = format!("{host}:{port}");
    let unreachable = |e: std::io::Error| ConnectError::Unreachable {
        address: address.clone(),
        detail: e.to_string(),
    };
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&address)
        .map_err(unreachable)?
        .next()
        .ok_or_else(|| ConnectError::BadAddress(address.clone()))?;
    let mut tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).map_err(unreachable)?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(unreachable)?;
    // PostgreSQL protocol §55.2.10: SSLRequest, then one byte 'S' (go on with TLS) or 'N'.
    tcp.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
        .map_err(unreachable)?;
    let mut answer = [0u8; 1];
    tcp.read_exact(&mut answer).map_err(unreachable)?;
    if answer[0] != b'S' {
        return Err(tls_error("сервер не поддерживает шифрование"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Look(provider)))
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned()).map_err(tls_error)?;
    let mut conn = ClientConnection::new(Arc::new(config), name).map_err(tls_error)?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(tls_error)?;
    }
    let der = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or_else(|| tls_error("сервер не предъявил сертификат"))?;
    Ok(ServerCertificate {
        fingerprint: fingerprint(der),
        pem: pem(der),
    })
}

fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_wraps_at_64() {
        let p = pem(&[0u8; 100]);
        assert!(p
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("-----"))
            .all(|l| l.len() <= 64));
        assert_eq!(fingerprint(b"").len(), 32 * 3 - 1);
    }
}
