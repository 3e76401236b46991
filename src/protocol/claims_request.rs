//! The `claims` request parameter (OIDC Core §5.5). Requested claims are released only within
//! the scopes the person consented to: the parameter moves claims into the ID token and makes
//! an `acr` essential, it never widens what a portal receives.

use serde_json::Value;

use crate::assurance::Acr;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClaimsRequestError {
    #[error("claims must be a JSON object with userinfo and/or id_token members")]
    Shape,
    #[error("each requested claim must be null or an object with essential, value or values")]
    Member,
}

/// An essential `acr` request: the weakest acceptable level, or `Unmeetable` when none of the
/// values is one we can assert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EssentialAcr {
    AtLeast(Acr),
    Unmeetable,
}

/// A validated `claims` parameter, parsed once: its canonical text (what travels with the
/// request, the parked sign-in and the code) and the essential `acr` it asks for. It is stored
/// and read back as that text.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimsRequest {
    text: String,
    essential_acr: Option<EssentialAcr>,
}

impl ClaimsRequest {
    pub fn parse(raw: &str) -> Result<Self, ClaimsRequestError> {
        let v = parse(raw)?;
        Ok(Self { text: v.to_string(), essential_acr: essential_acr(&v) })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn essential_acr(&self) -> Option<EssentialAcr> {
        self.essential_acr
    }
}

impl serde::Serialize for ClaimsRequest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for ClaimsRequest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let v: Value = serde_json::from_str(&text).map_err(serde::de::Error::custom)?;
        Ok(Self { essential_acr: essential_acr(&v), text })
    }
}

/// Validates the parameter and returns it re-serialised (canonical, bounded).
pub fn parse(raw: &str) -> Result<Value, ClaimsRequestError> {
    let v: Value = serde_json::from_str(raw).map_err(|_| ClaimsRequestError::Shape)?;
    let obj = v.as_object().ok_or(ClaimsRequestError::Shape)?;
    for (target, members) in obj {
        if target != "userinfo" && target != "id_token" {
            continue; // OIDC Core §5.5: other members are ignored.
        }
        let members = members.as_object().ok_or(ClaimsRequestError::Shape)?;
        for spec in members.values() {
            match spec {
                Value::Null => {}
                Value::Object(o) => {
                    if o.get("essential").is_some_and(|e| !e.is_boolean()) || o.get("values").is_some_and(|v| !v.is_array()) {
                        return Err(ClaimsRequestError::Member);
                    }
                }
                _ => return Err(ClaimsRequestError::Member),
            }
        }
    }
    Ok(v)
}

pub fn essential_acr(claims: &Value) -> Option<EssentialAcr> {
    let spec = claims.get("id_token")?.get("acr")?;
    if spec.get("essential") != Some(&Value::Bool(true)) {
        return None;
    }
    let mut wanted: Vec<&str> = Vec::new();
    if let Some(v) = spec.get("value").and_then(Value::as_str) {
        wanted.push(v);
    }
    if let Some(vs) = spec.get("values").and_then(Value::as_array) {
        wanted.extend(vs.iter().filter_map(Value::as_str));
    }
    if wanted.is_empty() {
        return None;
    }
    Some(match wanted.iter().filter_map(|w| Acr::parse(w)).min() {
        Some(a) => EssentialAcr::AtLeast(a),
        None => EssentialAcr::Unmeetable,
    })
}

/// The claims a stored request asks to have in the ID token, less those the ID token carries
/// anyway.
pub fn id_token_claim_names(stored: &str) -> Vec<String> {
    let Ok(req) = serde_json::from_str::<Value>(stored) else { return Vec::new() };
    let Some(wanted) = req.get("id_token").and_then(Value::as_object) else { return Vec::new() };
    wanted.keys().filter(|k| !RESERVED.contains(&k.as_str())).cloned().collect()
}

/// Claims the ID token carries anyway; a request cannot override them.
const RESERVED: [&str; 12] = ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash", "azp"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(parse(r#"{"id_token":{"acr":{"essential":true,"values":["LoA2"]}}}"#).is_ok());
        assert_eq!(parse("[]").unwrap_err(), ClaimsRequestError::Shape);
        assert_eq!(parse(r#"{"userinfo":{"email":1}}"#).unwrap_err(), ClaimsRequestError::Member);
        assert_eq!(parse(r#"{"userinfo":{"email":{"essential":"yes"}}}"#).unwrap_err(), ClaimsRequestError::Member);
        assert!(parse(r#"{"other":5,"userinfo":{"email":null}}"#).is_ok());
    }

    #[test]
    fn essential_acr_values() {
        let v = parse(r#"{"id_token":{"acr":{"essential":true,"values":["urn:vn:eid:loa:3","LoA2"]}}}"#).unwrap();
        assert_eq!(essential_acr(&v), Some(EssentialAcr::AtLeast(Acr::Loa2)));
        let v = parse(r#"{"id_token":{"acr":{"essential":true,"value":"urn:other"}}}"#).unwrap();
        assert_eq!(essential_acr(&v), Some(EssentialAcr::Unmeetable));
        let v = parse(r#"{"id_token":{"acr":{"values":["LoA3"]}}}"#).unwrap();
        assert_eq!(essential_acr(&v), None);
    }
}
