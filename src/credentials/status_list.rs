//! Token Status List (draft-ietf-oauth-status-list), CWT form: one bit per credential,
//! zlib-compressed, in a COSE_Sign1 signed with the credential key. Verifiers fetch it from its
//! stable URL (the credential's `status.status_list.uri`) and cache it for its `ttl`.

use std::collections::BTreeMap;

use serde_cbor_2::Value;

use super::keys::{CredentialSigner, KeySet, KeysError};
use super::{cose, encoding};

/// CWT claim keys of a status list token.
const SUB: i128 = 2;
const EXP: i128 = 4;
const IAT: i128 = 6;
const STATUS_LIST: i128 = 65533;
const TTL: i128 = 65534;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusListError {
    #[error("status list token is malformed: {0}")]
    Malformed(String),
    #[error("status list token signature does not verify")]
    BadSignature,
    #[error("status list token is for {0}, not the credential's list")]
    WrongSubject(String),
    #[error("status list token has expired")]
    Expired,
    #[error("index {0} is outside the status list")]
    OutOfRange(u64),
}

/// A decoded list: one bit per index (1 = revoked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    pub uri: String,
    pub bits: Vec<u8>,
    pub iat: i64,
    pub exp: i64,
    pub ttl: i64,
    /// The kid that signed it (empty for a list built here): a verifier accepts a list for a
    /// credential only when the credential's own key signed it.
    pub kid: Vec<u8>,
}

impl StatusList {
    pub fn new(uri: &str, size: usize) -> Self {
        Self { uri: uri.to_string(), bits: vec![0; size.div_ceil(8)], iat: 0, exp: 0, ttl: 0, kid: Vec::new() }
    }

    pub fn set_revoked(&mut self, idx: u64) -> Result<(), StatusListError> {
        let (byte, bit) = ((idx / 8) as usize, idx % 8);
        let b = self.bits.get_mut(byte).ok_or(StatusListError::OutOfRange(idx))?;
        *b |= 1 << bit;
        Ok(())
    }

    pub fn is_revoked(&self, idx: u64) -> Result<bool, StatusListError> {
        let (byte, bit) = ((idx / 8) as usize, idx % 8);
        let b = self.bits.get(byte).ok_or(StatusListError::OutOfRange(idx))?;
        Ok(b & (1 << bit) != 0)
    }

    /// The signed status list token (COSE_Sign1 bytes), valid from `now` for `lifetime`.
    pub fn sign(&self, signer: &CredentialSigner, now: i64, lifetime: i64, ttl: i64) -> Result<Vec<u8>, KeysError> {
        let mut sl = BTreeMap::new();
        sl.insert(Value::Text("bits".into()), Value::Integer(1));
        sl.insert(Value::Text("lst".into()), Value::Bytes(encoding::compress(&self.bits)));
        let mut m = BTreeMap::new();
        m.insert(Value::Integer(SUB), Value::Text(self.uri.clone()));
        m.insert(Value::Integer(IAT), Value::Integer(now.into()));
        m.insert(Value::Integer(EXP), Value::Integer((now + lifetime).into()));
        m.insert(Value::Integer(TTL), Value::Integer(ttl.into()));
        m.insert(Value::Integer(STATUS_LIST), Value::Map(sl));
        let payload = serde_cbor_2::to_vec(&Value::Map(m)).map_err(|_| KeysError::Crypto)?;
        cose::sign1(signer, &payload)
    }

    /// Verifies a token of unknown origin; its `sub` says which list it is.
    pub fn verify_any_subject(token: &[u8], keys: &KeySet, now: i64) -> Result<StatusList, StatusListError> {
        Self::check(token, None, keys, now)
    }

    /// Verifies a token fetched from `uri` with the issuer's keys (strict kid lookup).
    pub fn verify(token: &[u8], uri: &str, keys: &KeySet, now: i64) -> Result<StatusList, StatusListError> {
        Self::check(token, Some(uri), keys, now)
    }

    fn check(token: &[u8], uri: Option<&str>, keys: &KeySet, now: i64) -> Result<StatusList, StatusListError> {
        let m = |e: &str| StatusListError::Malformed(e.to_string());
        let s = cose::parse_sign1(token).map_err(|e| m(&e.to_string()))?;
        let key = s.kid().and_then(|k| keys.get(&k).cloned()).ok_or(StatusListError::BadSignature)?;
        let alg = s.alg().ok_or_else(|| m("no alg"))?;
        if key.alg.is_some_and(|ka| ka != alg) {
            return Err(StatusListError::BadSignature);
        }
        if !key.key.verify(alg, &s.signed_bytes(), &s.signature) {
            return Err(StatusListError::BadSignature);
        }
        let Ok(Value::Map(c)) = serde_cbor_2::from_slice::<Value>(&s.payload) else { return Err(m("payload is not a map")) };
        let int = |k: i128| match c.get(&Value::Integer(k)) {
            Some(Value::Integer(i)) => i64::try_from(*i).map_err(|_| m("integer claim")),
            _ => Err(m("missing integer claim")),
        };
        let sub = match c.get(&Value::Integer(SUB)) {
            Some(Value::Text(t)) => t.clone(),
            _ => return Err(m("missing sub")),
        };
        if uri.is_some_and(|u| u != sub) {
            return Err(StatusListError::WrongSubject(sub));
        }
        let (iat, exp, ttl) = (int(IAT)?, int(EXP)?, int(TTL).unwrap_or(0));
        if exp < now {
            return Err(StatusListError::Expired);
        }
        let Some(Value::Map(sl)) = c.get(&Value::Integer(STATUS_LIST)) else { return Err(m("missing status_list")) };
        if sl.get(&Value::Text("bits".into())) != Some(&Value::Integer(1)) {
            return Err(m("only 1-bit lists are supported"));
        }
        let Some(Value::Bytes(lst)) = sl.get(&Value::Text("lst".into())) else { return Err(m("missing lst")) };
        let bits = encoding::decompress(lst, encoding::MAX_DECOMPRESSED * 16).map_err(|e| m(&e.to_string()))?;
        Ok(StatusList { uri: sub, bits, iat, exp, ttl, kid: s.kid().unwrap_or_default() })
    }
}

#[cfg(test)]
mod tests {
    use super::super::keys::CoseAlg;
    use super::*;

    #[test]
    fn signed_list_round_trip() {
        let signer = CredentialSigner::from_pkcs8(CoseAlg::ES256, &CredentialSigner::generate_pkcs8(CoseAlg::ES256).unwrap()).unwrap();
        let mut keys = KeySet::default();
        keys.insert(signer.verify_key(None));
        let uri = "https://id.example.vn/credentials/status/1";
        let mut l = StatusList::new(uri, 1 << 17);
        l.set_revoked(12345).unwrap();
        let token = l.sign(&signer, 1000, 86400, 300).unwrap();
        assert!(token.len() < 1000, "a sparse list compresses: {}", token.len());
        let got = StatusList::verify(&token, uri, &keys, 2000).unwrap();
        assert!(got.is_revoked(12345).unwrap());
        assert!(!got.is_revoked(12344).unwrap());
        assert_eq!(got.ttl, 300);
        assert_eq!(StatusList::verify(&token, "https://other/1", &keys, 2000), Err(StatusListError::WrongSubject(uri.into())));
        assert_eq!(StatusList::verify(&token, uri, &keys, 1000 + 86401), Err(StatusListError::Expired));
        let mut bad = token.clone();
        let n = bad.len() - 10;
        bad[n] ^= 1;
        assert_eq!(StatusList::verify(&bad, uri, &keys, 2000), Err(StatusListError::BadSignature));
        assert_eq!(StatusList::verify(&token, uri, &KeySet::default(), 2000), Err(StatusListError::BadSignature));
    }
}
