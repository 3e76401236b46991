//! The claims catalogue: which scope releases which claims, how they are labelled on the consent
//! page, and how they are read from a person.

use serde_json::{Map, Value, json};

use crate::identity::Person;

pub const SUPPORTED: [&str; 6] = ["openid", "profile", "email", "phone", "address", "vn_identity"];

pub fn is_supported(scope: &str) -> bool {
    SUPPORTED.contains(&scope)
}

/// Claim names advertised in discovery.
pub const CLAIMS: [&str; 23] = [
    "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash",
    "name", "family_name", "middle_name", "given_name", "birthdate", "gender", "email",
    "email_verified", "phone_number", "phone_number_verified", "address", "vn_personal_id",
];

/// The consent-page labels (i18n keys) for a scope.
pub fn labels(scope: &str) -> &'static [&'static str] {
    match scope {
        "openid" => &["claim.openid"],
        "profile" => &["claim.name", "claim.birthdate", "claim.gender"],
        "email" => &["claim.email"],
        "phone" => &["claim.phone_number"],
        "address" => &["claim.address"],
        "vn_identity" => &["claim.vn_personal_id", "claim.vn_account_level", "claim.nationality"],
        _ => &[],
    }
}

/// The UserInfo response for `scopes` (OIDC Core §5.4). Absent values are omitted, not null.
pub fn userinfo(subject: &str, person: &Person, scopes: &[String]) -> Value {
    let mut out = Map::new();
    out.insert("sub".into(), json!(subject));
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            out.insert(k.into(), v);
        }
    };
    let text = |s: &str| (!s.is_empty()).then(|| json!(s));
    for scope in scopes {
        match scope.as_str() {
            "profile" => {
                put("name", Some(json!(person.full_name())));
                put("family_name", text(&person.family_name));
                put("middle_name", text(&person.middle_name));
                put("given_name", text(&person.given_name));
                put("birthdate", person.birthdate_iso().map(Value::from));
                put("gender", person.sex.map(|s| json!(s.as_str())));
            }
            "email" => {
                if let Some(e) = &person.email {
                    put("email", Some(json!(e)));
                    // The registry records e-mail as declared; it was never verified by us.
                    put("email_verified", Some(json!(false)));
                }
            }
            "phone" => {
                if let Some(p) = &person.phone {
                    put("phone_number", Some(json!(p)));
                    // Account registration (Decree 69/2024 Art. 10) verifies the phone number.
                    put("phone_number_verified", Some(json!(true)));
                }
            }
            "address" => put("address", person.address.as_ref().map(|a| json!({ "formatted": a }))),
            "vn_identity" => {
                put("vn_personal_id", Some(json!(person.personal_id.as_str())));
                put("vn_account_level", Some(json!(person.account_level.as_i64())));
                put("nationalities", Some(json!([person.nationality])));
            }
            _ => {}
        }
    }
    Value::Object(out)
}
