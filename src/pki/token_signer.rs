//! What a Web eID card does, in software: sign `H(origin) ‖ H(nonce)` with a certificate's
//! private key and wrap it in a `web-eid:1.0` token. Behind `nixa cert sign-challenge`, so the
//! certificate sign-in works (and is tested) without a card reader.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, EcdsaSigningAlgorithm, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::cert::{Cert, pem_or_der};
use super::sig::{self, KeyKind};
use super::webeid::{self, AuthToken};

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("key file: {0}")]
    Key(String),
    #[error("PKCS#12 file: {0}")]
    Pkcs12(String),
    #[error("certificate: {0}")]
    Cert(String),
    #[error("the private key does not belong to the certificate")]
    Mismatch,
    #[error("signing failed")]
    Sign,
}

/// A private key (PKCS#8 DER) and, from a PKCS#12 file, the certificates stored with it.
pub struct KeyMaterial {
    pub pkcs8: Vec<u8>,
    pub certs: Vec<Vec<u8>>,
}

/// Reads a PKCS#8 key (PEM or DER), or a PKCS#12 file when a password is given.
pub fn load_key(bytes: &[u8], pkcs12_password: Option<&str>) -> Result<KeyMaterial, SignerError> {
    if let Some(password) = pkcs12_password {
        let store = p12_keystore::KeyStore::from_pkcs12(bytes, password, p12_keystore::Pkcs12ImportPolicy::Relaxed)
            .map_err(|e| SignerError::Pkcs12(e.to_string()))?;
        let (_, chain) = store.private_key_chain().ok_or_else(|| SignerError::Pkcs12("no private key in the file".into()))?;
        return Ok(KeyMaterial {
            pkcs8: chain.key().as_der().to_vec(),
            certs: chain.certs().iter().map(|c| c.as_der().to_vec()).collect(),
        });
    }
    let der = pem_or_der(bytes, "PRIVATE KEY").map_err(|e| SignerError::Key(e.to_string()))?.remove(0);
    Ok(KeyMaterial { pkcs8: der, certs: Vec::new() })
}

fn sign_ecdsa(alg: &'static EcdsaSigningAlgorithm, pkcs8: &[u8], msg: &[u8]) -> Result<Vec<u8>, SignerError> {
    let key = EcdsaKeyPair::from_private_key_der(alg, pkcs8).map_err(|e| SignerError::Key(e.to_string()))?;
    Ok(key.sign(&SystemRandom::new(), msg).map_err(|_| SignerError::Sign)?.as_ref().to_vec())
}

/// The token for `origin` and `nonce`, checked against the certificate before it is returned.
pub fn sign_challenge(pkcs8: &[u8], cert_der: &[u8], origin: &str, nonce: &str) -> Result<AuthToken, SignerError> {
    use aws_lc_rs::digest::{SHA256, SHA384, SHA512};
    let cert = Cert::from_der(cert_der).map_err(|e| SignerError::Cert(e.to_string()))?;
    let kind = sig::key_kind(&cert.cert.tbs_certificate.subject_public_key_info).map_err(|e| SignerError::Cert(e.to_string()))?;
    let (algorithm, signature) = match kind {
        KeyKind::P256 => {
            ("ES256", sign_ecdsa(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &webeid::signed_data(&SHA256, origin, nonce))?)
        }
        KeyKind::P384 => {
            ("ES384", sign_ecdsa(&signature::ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8, &webeid::signed_data(&SHA384, origin, nonce))?)
        }
        KeyKind::P521 => {
            ("ES512", sign_ecdsa(&signature::ECDSA_P521_SHA512_FIXED_SIGNING, pkcs8, &webeid::signed_data(&SHA512, origin, nonce))?)
        }
        KeyKind::Rsa { .. } => {
            let key = RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| SignerError::Key(e.to_string()))?;
            let mut out = vec![0u8; key.public_modulus_len()];
            key.sign(&signature::RSA_PKCS1_SHA256, &SystemRandom::new(), &webeid::signed_data(&SHA256, origin, nonce), &mut out)
                .map_err(|_| SignerError::Sign)?;
            ("RS256", out)
        }
    };
    let token = AuthToken {
        format: "web-eid:1.0".into(),
        unverified_certificate: STANDARD.encode(cert_der),
        algorithm: algorithm.into(),
        signature: STANDARD.encode(signature),
        app_version: Some(concat!("nixa-cert-sign-challenge/", env!("CARGO_PKG_VERSION")).into()),
    };
    // A key from another certificate would only fail later, at the server, with a vaguer error.
    webeid::verify_signature(&cert, &token.algorithm, &token.signature, origin, nonce).map_err(|_| SignerError::Mismatch)?;
    Ok(token)
}
