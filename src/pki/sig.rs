//! Public keys and signatures: only what the national profile allows (RSA ≥ 2048 bits with
//! PKCS#1 v1.5 or PSS, ECDSA on P-256/P-384/P-521, SHA-2). Verification is done by aws-lc-rs.

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use der::asn1::ObjectIdentifier as O;
use der::{Decode, Encode, Tagged};
use x509_cert::spki::{self, AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

pub const RSA_ENCRYPTION: O = O::new_unwrap("1.2.840.113549.1.1.1");
pub const RSA_PSS: O = O::new_unwrap("1.2.840.113549.1.1.10");
pub const SHA256_RSA: O = O::new_unwrap("1.2.840.113549.1.1.11");
pub const SHA384_RSA: O = O::new_unwrap("1.2.840.113549.1.1.12");
pub const SHA512_RSA: O = O::new_unwrap("1.2.840.113549.1.1.13");
pub const EC_PUBLIC_KEY: O = O::new_unwrap("1.2.840.10045.2.1");
pub const P256: O = O::new_unwrap("1.2.840.10045.3.1.7");
pub const P384: O = O::new_unwrap("1.3.132.0.34");
pub const P521: O = O::new_unwrap("1.3.132.0.35");
pub const ECDSA_SHA256: O = O::new_unwrap("1.2.840.10045.4.3.2");
pub const ECDSA_SHA384: O = O::new_unwrap("1.2.840.10045.4.3.3");
pub const ECDSA_SHA512: O = O::new_unwrap("1.2.840.10045.4.3.4");
pub const SHA256: O = O::new_unwrap("2.16.840.1.101.3.4.2.1");
pub const SHA384: O = O::new_unwrap("2.16.840.1.101.3.4.2.2");
pub const SHA512: O = O::new_unwrap("2.16.840.1.101.3.4.2.3");
pub const MGF1: O = O::new_unwrap("1.2.840.113549.1.1.8");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Rsa { bits: usize },
    P256,
    P384,
    P521,
}

impl std::fmt::Display for KeyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyKind::Rsa { bits } => write!(f, "RSA {bits}"),
            KeyKind::P256 => f.write_str("ECDSA P-256"),
            KeyKind::P384 => f.write_str("ECDSA P-384"),
            KeyKind::P521 => f.write_str("ECDSA P-521"),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SigError {
    #[error("public key not allowed: {0}")]
    Key(String),
    #[error("signature algorithm not allowed: {0}")]
    Algorithm(String),
    #[error("signature algorithm {0} does not fit a {1} key")]
    Mismatch(String, KeyKind),
    #[error("signature does not verify")]
    Invalid,
}

/// Checks the key against the profile: RSA modulus ≥ 2048 bits and a whole number of octets,
/// named curves P-256/P-384 only (explicit curve parameters are refused).
pub fn key_kind(spki: &SubjectPublicKeyInfoOwned) -> Result<KeyKind, SigError> {
    let alg = &spki.algorithm;
    let bits = spki.subject_public_key.as_bytes().ok_or_else(|| SigError::Key("public key has unused bits".into()))?;
    match alg.oid {
        RSA_ENCRYPTION => {
            // The parameters must be NULL (RFC 3279 §2.3.1).
            let null_params = alg.parameters.as_ref().is_some_and(|p| p.tag() == der::Tag::Null && p.value().is_empty());
            if !null_params {
                return Err(SigError::Key("rsaEncryption parameters must be NULL".into()));
            }
            let key = pkcs1::RsaPublicKey::from_der(bits).map_err(|e| SigError::Key(format!("RSA key: {e}")))?;
            let m = key.modulus.as_bytes();
            let bits = m.len() * 8 - m.first().map_or(8, |b| b.leading_zeros() as usize);
            if bits < 2048 {
                return Err(SigError::Key(format!("RSA key of {bits} bits (at least 2048)")));
            }
            if bits % 8 != 0 {
                return Err(SigError::Key(format!("RSA modulus of {bits} bits is not a whole number of octets")));
            }
            Ok(KeyKind::Rsa { bits })
        }
        EC_PUBLIC_KEY => {
            let curve = alg
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<O>().ok())
                .ok_or_else(|| SigError::Key("EC key without a named curve (explicit parameters are refused)".into()))?;
            let (kind, len) = match curve {
                P256 => (KeyKind::P256, 65),
                P384 => (KeyKind::P384, 97),
                P521 => (KeyKind::P521, 133),
                other => return Err(SigError::Key(format!("EC curve {other}"))),
            };
            if bits.len() != len || bits.first() != Some(&4) {
                return Err(SigError::Key("EC point must be uncompressed and on the named curve's size".into()));
            }
            Ok(kind)
        }
        other => Err(SigError::Key(format!("key algorithm {other}"))),
    }
}

fn hash_of(alg: &spki::AlgorithmIdentifierRef<'_>) -> Option<O> {
    // The hash AlgorithmIdentifier's parameters are absent or NULL.
    let p_ok = alg.parameters.as_ref().is_none_or(|p| p.tag() == der::Tag::Null);
    p_ok.then_some(alg.oid)
}

/// Verifies `sig` over `msg` with the key in `spki` under `alg`.
pub fn verify(spki: &SubjectPublicKeyInfoOwned, alg: &AlgorithmIdentifierOwned, msg: &[u8], sig: &[u8]) -> Result<(), SigError> {
    let kind = key_kind(spki)?;
    let key = spki.subject_public_key.raw_bytes();
    let no_params = alg.parameters.is_none();
    let null_params = alg.parameters.as_ref().is_none_or(|p| p.tag() == der::Tag::Null && p.value().is_empty());
    let v: &'static dyn VerificationAlgorithm = match (alg.oid, kind) {
        (SHA256_RSA, KeyKind::Rsa { .. }) if null_params => &signature::RSA_PKCS1_2048_8192_SHA256,
        (SHA384_RSA, KeyKind::Rsa { .. }) if null_params => &signature::RSA_PKCS1_2048_8192_SHA384,
        (SHA512_RSA, KeyKind::Rsa { .. }) if null_params => &signature::RSA_PKCS1_2048_8192_SHA512,
        (RSA_PSS, KeyKind::Rsa { .. }) => pss(alg)?,
        (ECDSA_SHA256, KeyKind::P256) if no_params => &signature::ECDSA_P256_SHA256_ASN1,
        (ECDSA_SHA384, KeyKind::P256) if no_params => &signature::ECDSA_P256_SHA384_ASN1,
        (ECDSA_SHA256, KeyKind::P384) if no_params => &signature::ECDSA_P384_SHA256_ASN1,
        (ECDSA_SHA384, KeyKind::P384) if no_params => &signature::ECDSA_P384_SHA384_ASN1,
        (ECDSA_SHA512, KeyKind::P384) if no_params => &signature::ECDSA_P384_SHA512_ASN1,
        (ECDSA_SHA256, KeyKind::P521) if no_params => &signature::ECDSA_P521_SHA256_ASN1,
        (ECDSA_SHA384, KeyKind::P521) if no_params => &signature::ECDSA_P521_SHA384_ASN1,
        (ECDSA_SHA512, KeyKind::P521) if no_params => &signature::ECDSA_P521_SHA512_ASN1,
        (SHA256_RSA | SHA384_RSA | SHA512_RSA | ECDSA_SHA256 | ECDSA_SHA384 | ECDSA_SHA512, k) => {
            return Err(SigError::Mismatch(alg.oid.to_string(), k));
        }
        (other, _) => return Err(SigError::Algorithm(other.to_string())),
    };
    UnparsedPublicKey::new(v, key).verify(msg, sig).map_err(|_| SigError::Invalid)
}

/// RSASSA-PSS: the hash, the MGF1 hash and a salt of the hash's length must agree (RFC 4055).
fn pss(alg: &AlgorithmIdentifierOwned) -> Result<&'static dyn VerificationAlgorithm, SigError> {
    let bad = |m: &str| SigError::Algorithm(format!("RSASSA-PSS {m}"));
    let params = alg.parameters.as_ref().ok_or_else(|| bad("without parameters"))?;
    let der = params.to_der().map_err(|e| bad(&e.to_string()))?;
    let p = pkcs1::RsaPssParams::from_der(&der).map_err(|e| bad(&e.to_string()))?;
    let hash = hash_of(&p.hash).ok_or_else(|| bad("hash parameters"))?;
    if p.mask_gen.oid != MGF1 {
        return Err(bad("mask generation other than MGF1"));
    }
    let mgf_hash = p.mask_gen.parameters.as_ref().and_then(hash_of).ok_or_else(|| bad("MGF1 hash"))?;
    if mgf_hash != hash {
        return Err(bad("MGF1 hash differs from the message hash"));
    }
    let (v, salt): (&'static dyn VerificationAlgorithm, u8) = match hash {
        SHA256 => (&signature::RSA_PSS_2048_8192_SHA256, 32),
        SHA384 => (&signature::RSA_PSS_2048_8192_SHA384, 48),
        SHA512 => (&signature::RSA_PSS_2048_8192_SHA512, 64),
        other => return Err(bad(&format!("hash {other}"))),
    };
    if p.salt_len != salt {
        return Err(bad("salt length differs from the hash length"));
    }
    Ok(v)
}

/// Short name for reports.
pub fn algorithm_name(alg: &AlgorithmIdentifierOwned) -> String {
    match alg.oid {
        SHA256_RSA => "RSA PKCS#1 v1.5 SHA-256".into(),
        SHA384_RSA => "RSA PKCS#1 v1.5 SHA-384".into(),
        SHA512_RSA => "RSA PKCS#1 v1.5 SHA-512".into(),
        RSA_PSS => "RSASSA-PSS".into(),
        ECDSA_SHA256 => "ECDSA SHA-256".into(),
        ECDSA_SHA384 => "ECDSA SHA-384".into(),
        ECDSA_SHA512 => "ECDSA SHA-512".into(),
        other => other.to_string(),
    }
}
