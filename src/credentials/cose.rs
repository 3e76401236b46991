//! COSE_Sign1 (RFC 9052) and, for MOSIP Claim 169, COSE_Encrypt0 with AES-GCM. Parsing keeps
//! the protected header's exact bytes, since the signature covers them and not a re-encoding.

use std::collections::BTreeMap;

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use serde_cbor_2::Value;

use super::keys::{CoseAlg, CredentialSigner, KeysError};

const LABEL_ALG: i128 = 1;
const LABEL_KID: i128 = 4;
const LABEL_IV: i128 = 5;
/// CBOR tag 18 (COSE_Sign1) as its one-byte head.
const TAG_SIGN1: u8 = 0xd2;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoseError {
    #[error("not CBOR: {0}")]
    Cbor(String),
    #[error("not a COSE_Sign1 structure: {0}")]
    Structure(String),
    #[error("encrypted credential and no decryption key")]
    NoDecryptionKey,
    #[error("decryption failed")]
    Decrypt,
}

pub type Header = BTreeMap<Value, Value>;

#[derive(Debug, Clone)]
pub struct Sign1 {
    pub protected_raw: Vec<u8>,
    pub protected: Header,
    pub unprotected: Header,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

fn header(raw: &[u8]) -> Result<Header, CoseError> {
    if raw.is_empty() {
        return Ok(Header::new());
    }
    match serde_cbor_2::from_slice::<Value>(raw) {
        Ok(Value::Map(m)) => Ok(m),
        _ => Err(CoseError::Structure("protected header is not a map".into())),
    }
}

fn parts(bytes: &[u8]) -> Result<Vec<Value>, CoseError> {
    // Tags 18/16/61 are skipped by the decoder: the array shape tells Sign1 from Encrypt0.
    let v: Value = serde_cbor_2::from_slice(bytes).map_err(|e| CoseError::Cbor(e.to_string()))?;
    match v {
        Value::Array(a) => Ok(a),
        _ => Err(CoseError::Structure("not an array".into())),
    }
}

/// Returns the decrypted content when `bytes` is a COSE_Encrypt0, or `None` for anything else.
pub fn decrypt0(bytes: &[u8], key: Option<&[u8]>) -> Result<Option<Vec<u8>>, CoseError> {
    let Ok(a) = parts(bytes) else { return Ok(None) };
    let [Value::Bytes(prot), Value::Map(unprot), Value::Bytes(ct)] = a.as_slice() else { return Ok(None) };
    let key = key.ok_or(CoseError::NoDecryptionKey)?;
    let protected = header(prot)?;
    let iv = match protected.get(&Value::Integer(LABEL_IV)).or_else(|| unprot.get(&Value::Integer(LABEL_IV))) {
        Some(Value::Bytes(iv)) => iv.clone(),
        _ => return Err(CoseError::Structure("COSE_Encrypt0 without IV".into())),
    };
    let alg = match key.len() {
        16 => &AES_128_GCM,
        32 => &AES_256_GCM,
        _ => return Err(CoseError::Decrypt),
    };
    let aad =
        serde_cbor_2::to_vec(&Value::Array(vec![Value::Text("Encrypt0".into()), Value::Bytes(prot.clone()), Value::Bytes(Vec::new())]))
            .map_err(|_| CoseError::Decrypt)?;
    let k = LessSafeKey::new(UnboundKey::new(alg, key).map_err(|_| CoseError::Decrypt)?);
    let nonce = Nonce::try_assume_unique_for_key(&iv).map_err(|_| CoseError::Decrypt)?;
    let mut buf = ct.clone();
    let plain = k.open_in_place(nonce, Aad::from(aad), &mut buf).map_err(|_| CoseError::Decrypt)?;
    Ok(Some(plain.to_vec()))
}

pub fn parse_sign1(bytes: &[u8]) -> Result<Sign1, CoseError> {
    let a = parts(bytes)?;
    let [Value::Bytes(prot), Value::Map(unprot), payload, Value::Bytes(sig)] = a.as_slice() else {
        return Err(CoseError::Structure("expected [protected, unprotected, payload, signature]".into()));
    };
    let payload = match payload {
        Value::Bytes(p) => p.clone(),
        _ => return Err(CoseError::Structure("detached or non-bstr payload".into())),
    };
    Ok(Sign1 { protected_raw: prot.clone(), protected: header(prot)?, unprotected: unprot.clone(), payload, signature: sig.clone() })
}

fn sig_structure(protected_raw: &[u8], payload: &[u8]) -> Vec<u8> {
    let s = Value::Array(vec![
        Value::Text("Signature1".into()),
        Value::Bytes(protected_raw.to_vec()),
        Value::Bytes(Vec::new()),
        Value::Bytes(payload.to_vec()),
    ]);
    serde_cbor_2::to_vec(&s).unwrap_or_default()
}

impl Sign1 {
    /// The `kid`: the protected header's when present, else the unprotected one's (EU DCC
    /// vectors CO19/CO21). A protected `kid` is never overridden by an unprotected one.
    pub fn kid(&self) -> Option<Vec<u8>> {
        let k = Value::Integer(LABEL_KID);
        match self.protected.get(&k).or_else(|| self.unprotected.get(&k)) {
            Some(Value::Bytes(b)) => Some(b.clone()),
            Some(Value::Text(t)) => Some(t.as_bytes().to_vec()),
            _ => None,
        }
    }

    /// The algorithm, protected header first. An unprotected `alg` (EU DCC CO20) cannot be
    /// swapped to profit an attacker: a key only verifies under the algorithm of its own type.
    pub fn alg(&self) -> Option<CoseAlg> {
        let a = Value::Integer(LABEL_ALG);
        match self.protected.get(&a).or_else(|| self.unprotected.get(&a)) {
            Some(Value::Integer(a)) => CoseAlg::from_label(*a),
            _ => None,
        }
    }

    pub fn signed_bytes(&self) -> Vec<u8> {
        sig_structure(&self.protected_raw, &self.payload)
    }
}

/// Signs `payload` as a tagged COSE_Sign1 with `alg` and `kid` in the protected header.
pub fn sign1(signer: &CredentialSigner, payload: &[u8]) -> Result<Vec<u8>, KeysError> {
    let mut prot = Header::new();
    prot.insert(Value::Integer(LABEL_ALG), Value::Integer(signer.alg.label()));
    prot.insert(Value::Integer(LABEL_KID), Value::Bytes(signer.kid.clone()));
    let protected_raw = serde_cbor_2::to_vec(&Value::Map(prot)).map_err(|_| KeysError::Crypto)?;
    let sig = signer.sign(&sig_structure(&protected_raw, payload))?;
    let body =
        Value::Array(vec![Value::Bytes(protected_raw), Value::Map(Header::new()), Value::Bytes(payload.to_vec()), Value::Bytes(sig)]);
    let mut out = vec![TAG_SIGN1];
    out.extend(serde_cbor_2::to_vec(&body).map_err(|_| KeysError::Crypto)?);
    Ok(out)
}
