//! Verification of JWTs that clients send us: client assertions (RFC 7523), request objects
//! (RFC 9101) and DPoP proofs (RFC 9449). Parsing and signature checks are jsonwebtoken's (with
//! the aws-lc-rs backend); the claim rules of each use are the caller's, so that every failure
//! maps to the exact protocol error.

use jsonwebtoken::jwk::{Jwk, JwkSet, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde_json::{Map, Value};

/// Asymmetric algorithms accepted from clients. `none` and HMAC are never accepted: a client
/// secret must not double as a signing key (RFC 9700 §2.4, FAPI 2.0 §5.4).
pub const CLIENT_ALGS: [Algorithm; 6] =
    [Algorithm::ES256, Algorithm::ES384, Algorithm::PS256, Algorithm::RS256, Algorithm::EdDSA, Algorithm::PS384];

/// Asymmetric algorithms accepted in DPoP proofs (RFC 9449), as discovery announces them.
pub const DPOP_ALGS: [Algorithm; 5] = [Algorithm::ES256, Algorithm::ES384, Algorithm::PS256, Algorithm::RS256, Algorithm::EdDSA];

/// FAPI 2.0 §5.4: PS256, ES256 or EdDSA only.
pub const FAPI_ALGS: [Algorithm; 3] = [Algorithm::PS256, Algorithm::ES256, Algorithm::EdDSA];

pub fn alg_names(algs: &[Algorithm]) -> Vec<String> {
    algs.iter().map(|a| format!("{a:?}")).collect()
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JoseError {
    #[error("not a compact JWS")]
    Malformed,
    #[error("signing algorithm not accepted")]
    Algorithm,
    #[error("wrong typ header: expected {0}")]
    Type(&'static str),
    #[error("no registered key matches the kid")]
    UnknownKey,
    #[error("the key set is not a valid JWK set")]
    BadKeySet,
    #[error("the signature does not verify")]
    Signature,
    #[error("the header carries a private key")]
    PrivateKey,
}

/// A JWT whose signature verified, with its header and claims.
#[derive(Debug)]
pub struct Verified {
    pub header: Header,
    pub claims: Map<String, Value>,
}

pub fn parse_key_set(v: &Value) -> Result<JwkSet, JoseError> {
    let set: JwkSet = serde_json::from_value(v.clone()).map_err(|_| JoseError::BadKeySet)?;
    if set.keys.is_empty() {
        return Err(JoseError::BadKeySet);
    }
    Ok(set)
}

/// The header, checked for an accepted algorithm before any key is looked up.
pub fn header(token: &str, allowed: &[Algorithm]) -> Result<Header, JoseError> {
    if token.split('.').count() != 3 {
        return Err(JoseError::Malformed);
    }
    let h = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::InvalidAlgorithmName => JoseError::Algorithm,
        _ => JoseError::Malformed,
    })?;
    if !allowed.contains(&h.alg) {
        return Err(JoseError::Algorithm);
    }
    if h.crit.as_ref().is_some_and(|c| !c.is_empty()) {
        // RFC 7515 §4.1.11: we understand no extension, so a critical one is unacceptable.
        return Err(JoseError::Malformed);
    }
    Ok(h)
}

/// Verifies `token` with the key of `set` named by its `kid` (strict: when the header names a
/// key, only that key is tried; without a kid, the set must hold exactly one usable key).
pub fn verify_with_set(token: &str, set: &JwkSet, allowed: &[Algorithm], typ: Option<&'static str>) -> Result<Verified, JoseError> {
    let h = header(token, allowed)?;
    check_typ(&h, typ)?;
    let usable: Vec<&Jwk> = set
        .keys
        .iter()
        .filter(|k| k.common.public_key_use.as_ref().is_none_or(|u| *u == jsonwebtoken::jwk::PublicKeyUse::Signature))
        .filter(|k| DecodingKey::from_jwk(k).is_ok_and(|d| family_fits(&d, h.alg)))
        .collect();
    let key = match &h.kid {
        Some(kid) => usable.into_iter().find(|k| k.common.key_id.as_deref() == Some(kid.as_str())),
        None if usable.len() == 1 => usable.into_iter().next(),
        None => None,
    }
    .ok_or(JoseError::UnknownKey)?;
    verify_with_key(token, h, key)
}

/// Verifies `token` with the key its own header carries (DPoP, RFC 9449 §4.3).
pub fn verify_self_signed(token: &str, allowed: &[Algorithm], typ: &'static str) -> Result<(Verified, Jwk), JoseError> {
    let h = header(token, allowed)?;
    check_typ(&h, Some(typ))?;
    let raw_header = token.split('.').next().and_then(crate::crypto::b64url_decode).ok_or(JoseError::Malformed)?;
    let raw: Value = serde_json::from_slice(&raw_header).map_err(|_| JoseError::Malformed)?;
    if raw.get("jwk").and_then(|j| j.get("d")).is_some() {
        return Err(JoseError::PrivateKey);
    }
    let jwk = h.jwk.clone().ok_or(JoseError::Malformed)?;
    let v = verify_with_key(token, h, &jwk)?;
    Ok((v, jwk))
}

fn check_typ(h: &Header, typ: Option<&'static str>) -> Result<(), JoseError> {
    match typ {
        Some(t) if !h.typ.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(t) || x.eq_ignore_ascii_case(&format!("application/{t}"))) => {
            Err(JoseError::Type(t))
        }
        _ => Ok(()),
    }
}

fn family_fits(key: &DecodingKey, alg: Algorithm) -> bool {
    key.family().algorithms().contains(&alg)
}

fn verify_with_key(token: &str, h: Header, jwk: &Jwk) -> Result<Verified, JoseError> {
    let key = DecodingKey::from_jwk(jwk).map_err(|_| JoseError::UnknownKey)?;
    if !family_fits(&key, h.alg) {
        return Err(JoseError::Algorithm);
    }
    let mut v = Validation::new(h.alg);
    // Claim rules differ per use and are checked by the caller with exact error codes.
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &v).map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::InvalidSignature => JoseError::Signature,
        jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => JoseError::Algorithm,
        _ => JoseError::Malformed,
    })?;
    Ok(Verified { header: h, claims: data.claims })
}

/// RFC 7638 thumbprint (SHA-256, base64url): the `jkt` of DPoP.
pub fn thumbprint(jwk: &Jwk) -> Result<String, JoseError> {
    jwk.thumbprint(ThumbprintHash::SHA256).map_err(|_| JoseError::Malformed)
}

/// Claim helpers for the callers' rules.
pub fn str_claim<'a>(c: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    c.get(name).and_then(Value::as_str)
}

pub fn int_claim(c: &Map<String, Value>, name: &str) -> Option<i64> {
    c.get(name).and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
}

/// `aud` as a string or an array of strings (RFC 7519 §4.1.3).
pub fn audience_contains(c: &Map<String, Value>, expected: &[&str]) -> bool {
    match c.get("aud") {
        Some(Value::String(s)) => expected.contains(&s.as_str()),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).any(|s| expected.contains(&s)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::signing::{Alg, SigningKey, generate};
    use serde_json::json;

    fn key() -> (SigningKey, Value) {
        let g = generate(Alg::ES256).unwrap();
        (SigningKey::from_pkcs8(Alg::ES256, g.kid.clone(), &g.pkcs8).unwrap(), g.public_jwk)
    }

    #[test]
    fn verifies_by_kid_and_rejects_tampering() {
        let (k, jwk) = key();
        let set = parse_key_set(&json!({"keys": [jwk]})).unwrap();
        let jwt = k.sign_jwt("JWT", &json!({"iss": "a"})).unwrap();
        let v = verify_with_set(&jwt, &set, &CLIENT_ALGS, None).unwrap();
        assert_eq!(str_claim(&v.claims, "iss"), Some("a"));
        let (other, other_jwk) = key();
        let forged = other.sign_jwt("JWT", &json!({"iss": "a"})).unwrap();
        assert_eq!(verify_with_set(&forged, &set, &CLIENT_ALGS, None).unwrap_err(), JoseError::UnknownKey);
        // Same kid, other key: the signature check fails.
        let mut impostor = SigningKey::from_pkcs8(Alg::ES256, k.kid.clone(), &generate(Alg::ES256).unwrap().pkcs8).unwrap();
        impostor.kid = k.kid.clone();
        let forged = impostor.sign_jwt("JWT", &json!({"iss": "a"})).unwrap();
        assert_eq!(verify_with_set(&forged, &set, &CLIENT_ALGS, None).unwrap_err(), JoseError::Signature);
        assert_eq!(verify_with_set(&jwt, &set, &CLIENT_ALGS, Some("dpop+jwt")).unwrap_err(), JoseError::Type("dpop+jwt"));
        assert_eq!(verify_with_set(&jwt, &set, &[Algorithm::PS256], None).unwrap_err(), JoseError::Algorithm);
        let _ = other_jwk;
    }

    #[test]
    fn rejects_none_and_hmac() {
        let none = format!("{}.{}.", crate::crypto::b64url(br#"{"alg":"none"}"#), crate::crypto::b64url(b"{}"));
        assert!(matches!(header(&none, &CLIENT_ALGS), Err(JoseError::Algorithm | JoseError::Malformed)));
        let hs = format!("{}.{}.c2ln", crate::crypto::b64url(br#"{"alg":"HS256"}"#), crate::crypto::b64url(b"{}"));
        assert_eq!(header(&hs, &CLIENT_ALGS).unwrap_err(), JoseError::Algorithm);
        assert_eq!(header("a.b", &CLIENT_ALGS).unwrap_err(), JoseError::Malformed);
    }

    #[test]
    fn audience_forms() {
        let c = json!({"aud": ["x", "y"]}).as_object().unwrap().clone();
        assert!(audience_contains(&c, &["y"]));
        assert!(!audience_contains(&c, &["z"]));
    }
}
