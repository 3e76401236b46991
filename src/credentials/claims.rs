//! CWT claims (RFC 8392) and the identity claim 169 (MOSIP, IANA-registered) our person
//! credentials carry; organisations use a nixa private-use claim of the same shape.

use std::collections::BTreeMap;

use serde_cbor_2::Value;
use serde_json::json;

pub const ISS: i128 = 1;
pub const SUB: i128 = 2;
pub const EXP: i128 = 4;
pub const NBF: i128 = 5;
pub const IAT: i128 = 6;
pub const CTI: i128 = 7;
/// EAT nonce (RFC 9711): the presentation credential's nonce against replay.
pub const NONCE: i128 = 10;
pub const CLAIM169: i128 = 169;
/// EU DCC health certificate claim.
pub const HCERT: i128 = -260;
/// Token Status List reference (draft-ietf-oauth-status-list, CWT claim "status").
pub const STATUS: i128 = 65535;
/// nixa organisation identity (private-use range), keyed like claim 169.
pub const ORG: i128 = -65537;

/// Claim 169 field keys and their names in the specification's JSON form.
pub const FIELDS169: [(i128, &str); 18] = [
    (1, "id"),
    (2, "version"),
    (3, "language"),
    (4, "fullName"),
    (5, "firstName"),
    (6, "middleName"),
    (7, "lastName"),
    (8, "dateOfBirth"),
    (9, "gender"),
    (10, "address"),
    (11, "email"),
    (12, "phone"),
    (13, "nationality"),
    (14, "maritalStatus"),
    (15, "guardian"),
    (16, "photo"),
    (17, "photoFormat"),
    (18, "bestQualityFingers"),
];

pub const ORG_FIELDS: [(i128, &str); 4] = [(1, "code"), (2, "kind"), (4, "name"), (10, "address")];

pub fn field_key(name: &str) -> Option<i128> {
    FIELDS169.iter().find(|(_, n)| *n == name).map(|(k, _)| *k)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    #[error("CWT payload is not a CBOR map")]
    NotAMap,
    #[error("CWT claim {0} has the wrong type")]
    BadType(i128),
}

/// Decoded CWT: registered claims typed, everything else kept as CBOR.
#[derive(Debug, Clone, Default)]
pub struct Cwt {
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
    pub iat: Option<i64>,
    pub nonce: Option<String>,
    pub status: Option<(String, u64)>,
    pub all: BTreeMap<Value, Value>,
}

fn time(v: &Value, k: i128) -> Result<i64, ClaimsError> {
    match v {
        Value::Integer(i) => i64::try_from(*i).map_err(|_| ClaimsError::BadType(k)),
        Value::Float(f) => Ok(*f as i64),
        _ => Err(ClaimsError::BadType(k)),
    }
}

impl Cwt {
    pub fn parse(payload: &[u8]) -> Result<Cwt, ClaimsError> {
        let Ok(Value::Map(all)) = serde_cbor_2::from_slice::<Value>(payload) else { return Err(ClaimsError::NotAMap) };
        let g = |k: i128| all.get(&Value::Integer(k));
        let text = |k: i128| match g(k) {
            None => Ok(None),
            Some(Value::Text(t)) => Ok(Some(t.clone())),
            Some(_) => Err(ClaimsError::BadType(k)),
        };
        let t = |k: i128| g(k).map(|v| time(v, k)).transpose();
        let status = match g(STATUS) {
            None => None,
            Some(Value::Map(m)) => match m.get(&Value::Text("status_list".into())) {
                Some(Value::Map(sl)) => match (sl.get(&Value::Text("uri".into())), sl.get(&Value::Text("idx".into()))) {
                    (Some(Value::Text(u)), Some(Value::Integer(i))) => {
                        Some((u.clone(), u64::try_from(*i).map_err(|_| ClaimsError::BadType(STATUS))?))
                    }
                    _ => return Err(ClaimsError::BadType(STATUS)),
                },
                _ => return Err(ClaimsError::BadType(STATUS)),
            },
            Some(_) => return Err(ClaimsError::BadType(STATUS)),
        };
        let nonce = match g(NONCE) {
            None => None,
            Some(Value::Text(t)) => Some(t.clone()),
            Some(Value::Bytes(b)) => Some(crate::crypto::b64url(b)),
            Some(_) => return Err(ClaimsError::BadType(NONCE)),
        };
        Ok(Cwt { iss: text(ISS)?, sub: text(SUB)?, exp: t(EXP)?, nbf: t(NBF)?, iat: t(IAT)?, nonce, status, all })
    }

    pub fn claim(&self, k: i128) -> Option<&Value> {
        self.all.get(&Value::Integer(k))
    }

    /// The identity claims as JSON, with claim 169 and organisation fields named.
    pub fn identity_json(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        if let Some(Value::Map(m)) = self.claim(CLAIM169) {
            out.insert("claim169".into(), named(m, &FIELDS169));
        }
        if let Some(Value::Map(m)) = self.claim(ORG) {
            out.insert("organisation".into(), named(m, &ORG_FIELDS));
        }
        if let Some(v) = self.claim(HCERT) {
            out.insert("hcert".into(), to_json(v));
        }
        serde_json::Value::Object(out)
    }
}

fn named(m: &BTreeMap<Value, Value>, names: &[(i128, &str)]) -> serde_json::Value {
    let mut o = serde_json::Map::new();
    for (k, v) in m {
        let name = match k {
            Value::Integer(i) => names.iter().find(|(n, _)| n == i).map(|(_, s)| s.to_string()).unwrap_or_else(|| i.to_string()),
            Value::Text(t) => t.clone(),
            _ => continue,
        };
        o.insert(name, to_json(v));
    }
    serde_json::Value::Object(o)
}

pub fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => json!(b),
        Value::Integer(i) => i64::try_from(*i).map(|i| json!(i)).unwrap_or_else(|_| json!(i.to_string())),
        Value::Float(f) => json!(f),
        Value::Bytes(b) => json!(crate::crypto::b64url(b)),
        Value::Text(t) => json!(t),
        Value::Array(a) => serde_json::Value::Array(a.iter().map(to_json).collect()),
        Value::Map(m) => {
            let mut o = serde_json::Map::new();
            for (k, v) in m {
                let key = match k {
                    Value::Text(t) => t.clone(),
                    Value::Integer(i) => i.to_string(),
                    other => format!("{other:?}"),
                };
                o.insert(key, to_json(v));
            }
            serde_json::Value::Object(o)
        }
        _ => serde_json::Value::Null,
    }
}
