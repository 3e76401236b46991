//! Issuance: identity claims → CWT → COSE_Sign1 → zlib → base45 with our `NX1:` prefix.

use std::collections::BTreeMap;

use serde_cbor_2::Value;

use super::claims::{self, field_key};
use super::cose;
use super::encoding;
use super::keys::{CredentialSigner, KeysError};
use super::verify::NIXA_PREFIX;

/// The identity a person credential carries (claim 169 fields).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct PersonIdentity {
    pub id: String,
    pub full_name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// YYYYMMDD, as claim 169 writes it.
    pub date_of_birth: Option<String>,
    /// Claim 169: 1 male, 2 female, 3 other.
    pub gender: Option<u8>,
    pub nationality: Option<String>,
    /// A reference (URL) to the photo, never the photo itself, to keep the QR small.
    pub photo_ref: Option<String>,
}

impl PersonIdentity {
    /// Claim 169 map; `only` restricts it to the named fields (presentation credentials).
    pub fn claim169(&self, only: Option<&[String]>) -> BTreeMap<Value, Value> {
        let mut m = BTreeMap::new();
        let mut put = |name: &str, v: Option<Value>| {
            let wanted = only.is_none_or(|o| o.iter().any(|f| f == name));
            if let (true, Some(v), Some(k)) = (wanted, v, field_key(name)) {
                m.insert(Value::Integer(k), v);
            }
        };
        let t = |s: &Option<String>| s.clone().map(Value::Text);
        put("id", Some(Value::Text(self.id.clone())));
        put("fullName", Some(Value::Text(self.full_name.clone())));
        put("firstName", t(&self.first_name));
        put("lastName", t(&self.last_name));
        put("dateOfBirth", t(&self.date_of_birth));
        put("gender", self.gender.map(|g| Value::Integer(g.into())));
        put("nationality", t(&self.nationality));
        // Claim 169 has no photo-reference field; the photo URL goes in 16 as text.
        put("photo", t(&self.photo_ref));
        m
    }
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct OrgIdentity {
    /// Tax code or state agency code.
    pub code: String,
    pub kind: String,
    pub name: String,
    pub address: Option<String>,
}

impl OrgIdentity {
    pub fn claim(&self) -> BTreeMap<Value, Value> {
        let mut m = BTreeMap::new();
        m.insert(Value::Integer(1), Value::Text(self.code.clone()));
        m.insert(Value::Integer(2), Value::Text(self.kind.clone()));
        m.insert(Value::Integer(4), Value::Text(self.name.clone()));
        if let Some(a) = &self.address {
            m.insert(Value::Integer(10), Value::Text(a.clone()));
        }
        m
    }
}

pub enum Subject {
    Person(BTreeMap<Value, Value>),
    Organisation(BTreeMap<Value, Value>),
}

pub struct Request<'a> {
    pub issuer: &'a str,
    pub subject_id: &'a str,
    pub subject: Subject,
    pub iat: i64,
    pub exp: i64,
    pub nonce: Option<&'a str>,
    pub status: Option<(&'a str, u64)>,
}

/// The CWT payload bytes.
pub fn cwt(req: &Request<'_>) -> Vec<u8> {
    let mut m = BTreeMap::new();
    let i = |k: i128| Value::Integer(k);
    m.insert(i(claims::ISS), Value::Text(req.issuer.to_string()));
    // A presentation names no subject: a stable identifier would undo the choice of fields.
    if !req.subject_id.is_empty() {
        m.insert(i(claims::SUB), Value::Text(req.subject_id.to_string()));
    }
    m.insert(i(claims::IAT), i(req.iat.into()));
    m.insert(i(claims::EXP), i(req.exp.into()));
    if let Some(n) = req.nonce {
        m.insert(i(claims::NONCE), Value::Text(n.to_string()));
    }
    if let Some((uri, idx)) = req.status {
        let mut sl = BTreeMap::new();
        sl.insert(Value::Text("idx".into()), i(idx.into()));
        sl.insert(Value::Text("uri".into()), Value::Text(uri.to_string()));
        let mut st = BTreeMap::new();
        st.insert(Value::Text("status_list".into()), Value::Map(sl));
        m.insert(i(claims::STATUS), Value::Map(st));
    }
    match &req.subject {
        Subject::Person(c) => m.insert(i(claims::CLAIM169), Value::Map(c.clone())),
        Subject::Organisation(c) => m.insert(i(claims::ORG), Value::Map(c.clone())),
    };
    serde_cbor_2::to_vec(&Value::Map(m)).unwrap_or_default()
}

/// Signs and encodes a credential; the result is the QR text.
pub fn issue(signer: &CredentialSigner, req: &Request<'_>) -> Result<String, KeysError> {
    Ok(encode_signed(&cose::sign1(signer, &cwt(req))?))
}

pub fn encode_signed(cose: &[u8]) -> String {
    format!("{NIXA_PREFIX}{}", encoding::base45_encode(&encoding::compress(cose)))
}
