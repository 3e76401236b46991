//! Signing keys: generation, JWK form, and compact JWS signatures.
//!
//! Signing is on the token endpoint's hot path, so it goes straight to aws-lc-rs (the fastest
//! backend measured here) instead of through a generic JOSE layer; a compact JWS is
//! `b64(header).b64(payload).b64(signature)` and nothing more.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use std::sync::Arc;

use cryptoki::object::ObjectHandle;
use serde::Serialize;
use serde_json::json;

use super::pkcs11::{Hsm, HsmError, TokenPublic};

pub use crate::crypto::Alg;
use crate::crypto::{b64url, sha256};

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("key generation failed")]
    Generate,
    #[error("stored private key is not a valid {0} PKCS#8 key")]
    BadKey(Alg),
    #[error("signing failed")]
    Sign,
    #[error(transparent)]
    Token(#[from] HsmError),
}

enum KeyImpl {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    /// Inside a PKCS#11 token (`super::pkcs11`): a handle and the public key read from it.
    Token {
        hsm: Arc<Hsm>,
        handle: ObjectHandle,
        public: TokenPublic,
    },
}

pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    inner: KeyImpl,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({} {})", self.alg, self.kid)
    }
}

pub struct GeneratedKey {
    pub kid: String,
    pub pkcs8: Vec<u8>,
    pub public_jwk: serde_json::Value,
}

pub fn generate(alg: Alg) -> Result<GeneratedKey, SigningError> {
    let pkcs8 = match alg {
        Alg::ES256 => EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .map_err(|_| SigningError::Generate)?
            .as_ref()
            .to_vec(),
        Alg::RS256 => {
            let kp = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(|_| SigningError::Generate)?;
            let der: aws_lc_rs::encoding::Pkcs8V1Der = kp.as_der().map_err(|_| SigningError::Generate)?;
            der.as_ref().to_vec()
        }
    };
    let key = SigningKey::from_pkcs8(alg, String::new(), &pkcs8)?;
    let (kid, public_jwk) = key.public_jwk();
    Ok(GeneratedKey { kid, pkcs8, public_jwk })
}

impl SigningKey {
    pub fn from_pkcs8(alg: Alg, kid: String, pkcs8: &[u8]) -> Result<Self, SigningError> {
        let inner = match alg {
            Alg::ES256 => KeyImpl::Ec(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8).map_err(|_| SigningError::BadKey(alg))?,
            ),
            Alg::RS256 => KeyImpl::Rsa(RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| SigningError::BadKey(alg))?),
        };
        Ok(Self { kid, alg, inner })
    }

    /// A key inside a PKCS#11 token, found by its `CKA_ID`; its public key must give `kid`.
    pub fn in_token(hsm: Arc<Hsm>, alg: Alg, kid: String, id: &[u8]) -> Result<Self, SigningError> {
        let (handle, public) = hsm.find(id, alg)?;
        let key = Self { kid, alg, inner: KeyImpl::Token { hsm, handle, public } };
        if key.public_jwk().0 != key.kid {
            return Err(HsmError::Mismatch(key.kid).into());
        }
        Ok(key)
    }

    /// The public JWK and its RFC 7638 thumbprint, which serves as the `kid`.
    pub fn public_jwk(&self) -> (String, serde_json::Value) {
        match &self.inner {
            KeyImpl::Ec(kp) => ec_jwk(kp.public_key().as_ref()),
            KeyImpl::Rsa(kp) => {
                let pk = kp.public_key();
                rsa_jwk(pk.modulus().big_endian_without_leading_zero(), pk.exponent().big_endian_without_leading_zero())
            }
            KeyImpl::Token { public: TokenPublic::Ec(point), .. } => ec_jwk(point),
            KeyImpl::Token { public: TokenPublic::Rsa { n, e }, .. } => rsa_jwk(n, e),
        }
    }

    fn sign_bytes(&self, msg: &[u8]) -> Result<Vec<u8>, SigningError> {
        let rng = SystemRandom::new();
        match &self.inner {
            KeyImpl::Ec(kp) => Ok(kp.sign(&rng, msg).map_err(|_| SigningError::Sign)?.as_ref().to_vec()),
            KeyImpl::Rsa(kp) => {
                let mut sig = vec![0u8; kp.public_modulus_len()];
                kp.sign(&signature::RSA_PKCS1_SHA256, &rng, msg, &mut sig).map_err(|_| SigningError::Sign)?;
                Ok(sig)
            }
            KeyImpl::Token { hsm, handle, .. } => Ok(hsm.sign(*handle, self.alg, msg)?),
        }
    }

    /// A compact JWS over the JSON serialisation of `claims`, with `typ` in the header.
    pub fn sign_jwt<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, SigningError> {
        let header = json!({"alg": self.alg.as_str(), "kid": self.kid, "typ": typ});
        let header = serde_json::to_vec(&header).map_err(|_| SigningError::Sign)?;
        let payload = serde_json::to_vec(claims).map_err(|_| SigningError::Sign)?;
        let mut out = b64url(&header);
        out.push('.');
        out.push_str(&b64url(&payload));
        let sig = self.sign_bytes(out.as_bytes())?;
        out.push('.');
        out.push_str(&b64url(&sig));
        Ok(out)
    }
}

/// An uncompressed SEC1 P-256 point (`04 ‖ x ‖ y`) as a JWK, with its thumbprint.
pub fn ec_jwk(point: &[u8]) -> (String, serde_json::Value) {
    let (x, y) = (b64url(point.get(1..33).unwrap_or_default()), b64url(point.get(33..65).unwrap_or_default()));
    let thumb_input = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    let kid = b64url(&sha256(thumb_input.as_bytes()));
    let jwk = json!({"kty":"EC","crv":"P-256","x":x,"y":y,"use":"sig","alg":"ES256","kid":kid});
    (kid, jwk)
}

/// An RSA public key (big-endian modulus and exponent) as a JWK, with its thumbprint.
pub fn rsa_jwk(n: &[u8], e: &[u8]) -> (String, serde_json::Value) {
    let (n, e) = (b64url(n), b64url(e));
    let thumb_input = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    let kid = b64url(&sha256(thumb_input.as_bytes()));
    let jwk = json!({"kty":"RSA","n":n,"e":e,"use":"sig","alg":"RS256","kid":kid});
    (kid, jwk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::UnparsedPublicKey;

    fn verify(jwt: &str, alg: &'static dyn signature::VerificationAlgorithm, public: &[u8]) -> bool {
        let (signed, sig) = jwt.rsplit_once('.').unwrap();
        let sig = crate::crypto::b64url_decode(sig).unwrap();
        UnparsedPublicKey::new(alg, public).verify(signed.as_bytes(), &sig).is_ok()
    }

    #[test]
    fn es256_signs_verifiable_jwts_with_thumbprint_kid() {
        let g = generate(Alg::ES256).unwrap();
        let key = SigningKey::from_pkcs8(Alg::ES256, g.kid.clone(), &g.pkcs8).unwrap();
        let jwt = key.sign_jwt("JWT", &json!({"sub":"x"})).unwrap();
        let KeyImpl::Ec(kp) = &key.inner else { unreachable!() };
        assert!(verify(&jwt, &signature::ECDSA_P256_SHA256_FIXED, kp.public_key().as_ref()));
        let mut tampered = jwt.clone();
        tampered.insert(jwt.find('.').unwrap() + 2, 'A');
        assert!(!verify(&tampered, &signature::ECDSA_P256_SHA256_FIXED, kp.public_key().as_ref()));
        assert_eq!(g.public_jwk["kid"], g.kid);
        assert_eq!(g.kid.len(), 43);
    }

    #[test]
    fn rs256_round_trip() {
        let g = generate(Alg::RS256).unwrap();
        let key = SigningKey::from_pkcs8(Alg::RS256, g.kid.clone(), &g.pkcs8).unwrap();
        let jwt = key.sign_jwt("JWT", &json!({"sub":"x"})).unwrap();
        let KeyImpl::Rsa(kp) = &key.inner else { unreachable!() };
        let spki = kp.public_key().as_der().unwrap();
        let pk = aws_lc_rs::signature::RsaPublicKeyComponents {
            n: kp.public_key().modulus().big_endian_without_leading_zero(),
            e: kp.public_key().exponent().big_endian_without_leading_zero(),
        };
        let (signed, sig) = jwt.rsplit_once('.').unwrap();
        let sig = crate::crypto::b64url_decode(sig).unwrap();
        assert!(pk.verify(&signature::RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &sig).is_ok());
        assert!(!spki.as_ref().is_empty());
    }
}
