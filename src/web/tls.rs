//! Native TLS (rustls) for installations without a reverse proxy in front: the certificate chain
//! and its key are read from PEM files at start, and again on SIGHUP, so that a renewed
//! certificate is served without a restart. A reload that fails (a missing or unreadable file, a
//! key that is not the certificate's) keeps the certificate being served and says why; at start
//! the same failure stops the start.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use serde::{Deserialize, Serialize};

/// `[tls]` in nixa.toml: both files, or neither (plain HTTP behind a proxy).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, leaf first (PEM).
    pub cert_file: Option<PathBuf>,
    /// Its private key (PEM: PKCS#8, SEC1 or PKCS#1), readable by nixa only.
    pub key_file: Option<PathBuf>,
}

impl TlsConfig {
    pub fn validate(&self) -> Result<(), String> {
        match (&self.cert_file, &self.key_file) {
            (Some(_), None) | (None, Some(_)) => Err("tls.cert_file and tls.key_file go together".into()),
            _ => Ok(()),
        }
    }
}

/// The certificate being served, replaced by [`Certificates::reload`].
#[derive(Debug)]
pub struct Certificates {
    cert_file: PathBuf,
    key_file: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl Certificates {
    /// `None` without `[tls]`.
    pub fn load(cfg: &TlsConfig) -> Result<Option<Arc<Self>>, String> {
        cfg.validate()?;
        let (Some(cert_file), Some(key_file)) = (cfg.cert_file.clone(), cfg.key_file.clone()) else { return Ok(None) };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let current = read(&cert_file, &key_file, &provider)?;
        Ok(Some(Arc::new(Self { cert_file, key_file, provider, current: RwLock::new(Arc::new(current)) })))
    }

    /// Reads the files again; on failure the current certificate stays.
    pub fn reload(&self) -> Result<(), String> {
        let fresh = read(&self.cert_file, &self.key_file, &self.provider)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
        Ok(())
    }

    /// The acceptor for the listener: TLS 1.2 and 1.3, HTTP/1.1 by ALPN.
    pub fn acceptor(self: &Arc<Self>) -> Result<tokio_rustls::TlsAcceptor, String> {
        let mut config = rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

fn read(cert_file: &PathBuf, key_file: &PathBuf, provider: &CryptoProvider) -> Result<CertifiedKey, String> {
    let certs = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("tls.cert_file {}: {e}", cert_file.display()))?;
    if certs.is_empty() {
        return Err(format!("tls.cert_file {}: no certificate", cert_file.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| format!("tls.key_file {}: {e}", key_file.display()))?;
    let key = provider.key_provider.load_private_key(key).map_err(|e| format!("tls.key_file {}: {e}", key_file.display()))?;
    let certified = CertifiedKey::new(certs, key);
    certified.keys_match().map_err(|e| format!("tls.key_file {} is not the certificate's key: {e}", key_file.display()))?;
    Ok(certified)
}
