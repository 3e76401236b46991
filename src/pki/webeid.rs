//! The Web eID authentication token (`format: web-eid:1.0`), checked in the order of the
//! reference validators: format, certificate purpose, certificate policy, chain, revocation,
//! then the signature over `H(origin) ‖ H(nonce)`.

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use der::asn1::ObjectIdentifier;
use serde::{Deserialize, Serialize};

use super::cert::{Cert, oid};
use super::sig::KeyKind;
use super::{Policy, Report, Revocation, TrustStore, sig};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthToken {
    pub format: String,
    pub unverified_certificate: String,
    pub algorithm: String,
    pub signature: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum WebEidError {
    #[error("token format: {0}")]
    Format(String),
    #[error("token certificate: {0}")]
    Certificate(String),
    #[error("certificate purpose: {0}")]
    Purpose(String),
    #[error("certificate policy {0} is not allowed for authentication")]
    Policy(String),
    #[error("certificate chain: {0}")]
    Chain(String),
    #[error("revocation: {0}")]
    Revocation(String),
    #[error("signature algorithm {0} does not fit the certificate key")]
    Algorithm(String),
    #[error("token signature does not verify for this origin and challenge")]
    Signature,
}

/// What a token is checked against.
pub struct Rules<'a> {
    pub origin: &'a str,
    pub nonce: &'a str,
    pub trust: &'a TrustStore,
    pub policy: Policy,
    pub revocation: Revocation,
    /// Policies of certificates that must not sign in (e.g. signing-only or mobile ones).
    pub disallowed_policies: Vec<ObjectIdentifier>,
}

pub struct Verified {
    pub cert: Cert,
    pub report: Report,
}

pub fn parse(json: &[u8]) -> Result<AuthToken, WebEidError> {
    serde_json::from_slice(json).map_err(|e| WebEidError::Format(e.to_string()))
}

/// The certificate the token carries (not yet trusted).
pub fn certificate(token: &AuthToken) -> Result<Cert, WebEidError> {
    let der = STANDARD.decode(&token.unverified_certificate).map_err(|e| WebEidError::Certificate(e.to_string()))?;
    Cert::from_der(&der).map_err(|e| WebEidError::Certificate(e.to_string()))
}

pub fn validate(token: &AuthToken, rules: &Rules<'_>) -> Result<Verified, WebEidError> {
    // 1. Format.
    if token.format != "web-eid:1.0" && token.format != "web-eid:1" {
        return Err(WebEidError::Format(format!("unsupported format {:?}", token.format)));
    }
    if token.signature.is_empty() || token.unverified_certificate.is_empty() || token.algorithm.is_empty() {
        return Err(WebEidError::Format("a required field is empty".into()));
    }
    let cert = certificate(token)?;
    // 2. Purpose: an authentication certificate (clientAuth when the purpose is restricted).
    if cert.ext.eku.as_ref().is_some_and(|(_, ekus)| !ekus.contains(&oid::EKU_CLIENT_AUTH)) {
        return Err(WebEidError::Purpose("extendedKeyUsage lacks clientAuth".into()));
    }
    if !cert.ext.key_usage.as_ref().is_some_and(|k| k.digital_signature()) {
        return Err(WebEidError::Purpose("keyUsage lacks digitalSignature".into()));
    }
    // 3. Policy.
    if let Some(p) = cert.ext.policies.iter().flatten().find(|p| rules.disallowed_policies.contains(p)) {
        return Err(WebEidError::Policy(p.to_string()));
    }
    // 4–5. Chain, then revocation.
    let report = super::verify(&cert, &[], rules.trust, &rules.policy, &rules.revocation);
    if !report.valid {
        if let Some(f) = report.checks.iter().find(|c| !c.ok) {
            return Err(WebEidError::Chain(format!("{}: {}", f.check, f.detail)));
        }
        let why: Vec<String> = report
            .revocation
            .iter()
            .filter_map(|e| match &e.status {
                super::Status::Good { .. } => None,
                s => Some(format!("#{}: {}", e.cert, serde_json::to_string(s).unwrap_or_default())),
            })
            .collect();
        return Err(WebEidError::Revocation(format!("{} {}", report.summary.en, why.join("; "))));
    }
    // 6. Signature.
    verify_signature(&cert, &token.algorithm, &token.signature, rules.origin, rules.nonce)?;
    Ok(Verified { cert, report })
}

/// The algorithm and hash of a JWS algorithm name, checked against the key kind.
fn algorithm(name: &str, key: KeyKind) -> Result<(&'static dyn VerificationAlgorithm, &'static aws_lc_rs::digest::Algorithm), WebEidError> {
    use aws_lc_rs::digest::{SHA256, SHA384, SHA512};
    let rsa = matches!(key, KeyKind::Rsa { .. });
    Ok(match (name, key) {
        ("ES256", KeyKind::P256) => (&signature::ECDSA_P256_SHA256_FIXED, &SHA256),
        ("ES384", KeyKind::P384) => (&signature::ECDSA_P384_SHA384_FIXED, &SHA384),
        ("ES512", KeyKind::P521) => (&signature::ECDSA_P521_SHA512_FIXED, &SHA512),
        ("RS256", _) if rsa => (&signature::RSA_PKCS1_2048_8192_SHA256, &SHA256),
        ("RS384", _) if rsa => (&signature::RSA_PKCS1_2048_8192_SHA384, &SHA384),
        ("RS512", _) if rsa => (&signature::RSA_PKCS1_2048_8192_SHA512, &SHA512),
        ("PS256", _) if rsa => (&signature::RSA_PSS_2048_8192_SHA256, &SHA256),
        ("PS384", _) if rsa => (&signature::RSA_PSS_2048_8192_SHA384, &SHA384),
        ("PS512", _) if rsa => (&signature::RSA_PSS_2048_8192_SHA512, &SHA512),
        _ => return Err(WebEidError::Algorithm(name.to_string())),
    })
}

/// The bytes the holder signs: `H(origin) ‖ H(nonce)` with the algorithm's hash.
pub fn signed_data(hash: &'static aws_lc_rs::digest::Algorithm, origin: &str, nonce: &str) -> Vec<u8> {
    let mut data = aws_lc_rs::digest::digest(hash, origin.as_bytes()).as_ref().to_vec();
    data.extend_from_slice(aws_lc_rs::digest::digest(hash, nonce.as_bytes()).as_ref());
    data
}

pub fn verify_signature(cert: &Cert, alg: &str, signature_b64: &str, origin: &str, nonce: &str) -> Result<(), WebEidError> {
    let key = sig::key_kind(&cert.cert.tbs_certificate.subject_public_key_info).map_err(|e| WebEidError::Certificate(e.to_string()))?;
    let (v, hash) = algorithm(alg, key)?;
    let sig = STANDARD.decode(signature_b64).map_err(|_| WebEidError::Signature)?;
    UnparsedPublicKey::new(v, cert.public_key_bits()).verify(&signed_data(hash, origin, nonce), &sig).map_err(|_| WebEidError::Signature)
}
