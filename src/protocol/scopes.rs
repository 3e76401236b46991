//! The claims catalogue: which scope releases which claims, how they are labelled on the consent
//! page, and how they are read from a person.

use serde_json::{Map, Value, json};

use crate::client::{ClaimsProfile, Client};
use crate::identity::Person;
use crate::scope::Scopes;

pub const SUPPORTED: [&str; 9] =
    ["openid", "profile", "email", "phone", "address", "vn_identity", "vn_org", "vn_official", "offline_access"];

pub fn is_supported(scope: &str) -> bool {
    SUPPORTED.contains(&scope)
}

/// Claim names advertised in discovery.
pub const CLAIMS: [&str; 32] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "sid",
    "at_hash",
    "name",
    "family_name",
    "middle_name",
    "given_name",
    "birthdate",
    "gender",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
    "address",
    "vn_personal_id",
    "vn_account_level",
    "vn_tax_code",
    "nationalities",
    "vn_org",
    "vn_agency_code",
    "vn_agency_name",
    "vn_title",
    "SoDinhDanh",
    "HoVaTen",
];

/// The scopes of an authorization or device request (`scope`): each supported and allowed for
/// the client, each once, `openid` among them. The error is the `invalid_scope` description.
pub fn requested(client: &Client, raw: Option<&str>) -> Result<Scopes, &'static str> {
    let raw = raw.ok_or("scope is required and must include openid")?;
    let mut out: Vec<String> = Vec::new();
    for s in raw.split_ascii_whitespace() {
        if !is_supported(s) {
            return Err("a requested scope is not supported");
        }
        if !client.allowed_scopes.iter().any(|a| a == s) {
            return Err("a requested scope is not allowed for this client");
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    if !out.iter().any(|s| s == "openid") {
        return Err("scope must include openid");
    }
    Ok(Scopes::from(out))
}

/// The labels of everything these scopes release, each once, in scope order: what the consent,
/// device and app approval screens list.
pub fn claim_labels(scopes: &Scopes) -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = Vec::new();
    for key in scopes.iter().flat_map(|s| labels(s)) {
        if !keys.contains(key) {
            keys.push(key);
        }
    }
    keys
}

/// A scope the portal asks for, as the consent and account pages explain it: what it releases
/// (label keys) and what the portal said it uses it for.
#[derive(Debug, Clone)]
pub struct ScopePurpose {
    pub claim_keys: &'static [&'static str],
    pub purpose: crate::client::Bilingual,
}

/// The registered purposes of these scopes, in scope order (scopes without one are left out:
/// the claim list still names what they release).
pub fn purposes(client: &Client, scopes: &Scopes) -> Vec<ScopePurpose> {
    let purpose = |s: &String| client.options.purposes.get(s.as_str()).map(|p| ScopePurpose { claim_keys: labels(s), purpose: p.clone() });
    scopes.iter().filter_map(purpose).collect()
}

/// The names of the claims these scopes release through the ID token and UserInfo (what
/// [`userinfo`] can answer), `sub` first: the disclosure record lists them. A claim the registry
/// holds no value for (no e-mail address) is named but not sent.
pub fn claim_names(scopes: &Scopes, profile: ClaimsProfile) -> Vec<&'static str> {
    let hub = profile == ClaimsProfile::VnHub;
    let mut out = vec!["sub"];
    for scope in scopes {
        let names: &[&'static str] = match scope.as_str() {
            "profile" if hub => &["name", "family_name", "middle_name", "given_name", "birthdate", "gender", "HoVaTen", "NgayThangNamSinh"],
            "profile" => &["name", "family_name", "middle_name", "given_name", "birthdate", "gender"],
            "email" => &["email", "email_verified"],
            "phone" => &["phone_number", "phone_number_verified"],
            "address" => &["address"],
            "vn_identity" if hub => &["vn_personal_id", "vn_account_level", "vn_tax_code", "nationalities", "SoDinhDanh", "LoaiTaiKhoan"],
            "vn_identity" => &["vn_personal_id", "vn_account_level", "vn_tax_code", "nationalities"],
            _ => &[],
        };
        for n in names {
            if !out.contains(n) {
                out.push(n);
            }
        }
    }
    out
}

/// The consent-page labels (i18n keys) for a scope.
pub fn labels(scope: &str) -> &'static [&'static str] {
    match scope {
        "openid" => &["claim.openid"],
        "profile" => &["claim.name", "claim.birthdate", "claim.gender"],
        "email" => &["claim.email"],
        "phone" => &["claim.phone_number"],
        "address" => &["claim.address"],
        "vn_identity" => &["claim.vn_personal_id", "claim.vn_account_level", "claim.nationality"],
        "vn_org" => &["claim.vn_org"],
        "vn_official" => &["claim.vn_agency_code"],
        "offline_access" => &["claim.offline_access"],
        _ => &[],
    }
}

/// The UserInfo response for `scopes` (OIDC Core §5.4), with the grant's extra claims and, for
/// the `vn_hub` profile, the national hub's claim names. Absent values are omitted, not null.
pub fn userinfo(subject: &str, person: &Person, scopes: &Scopes, extra: Map<String, Value>, profile: ClaimsProfile) -> Value {
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
                // A person's tax code is their personal identification number (Law on Tax
                // Administration 2019, from 1 July 2025).
                put("vn_tax_code", Some(json!(person.personal_id.as_str())));
                put("nationalities", Some(json!([person.nationality])));
                if profile == ClaimsProfile::VnHub {
                    put("SoDinhDanh", Some(json!(person.personal_id.as_str())));
                    put("LoaiTaiKhoan", Some(json!(person.account_level.as_i64().to_string())));
                }
            }
            _ => {}
        }
    }
    if profile == ClaimsProfile::VnHub && scopes.iter().any(|s| s == "profile") {
        put("HoVaTen", Some(json!(person.full_name())));
        put("NgayThangNamSinh", person.birthdate_iso().map(|d| json!(d.replace('-', ""))));
    }
    for (k, v) in extra {
        out.insert(k, v);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{AccountLevel, PersonId, PersonStatus, PersonalId, Sex};

    /// The disclosure record names exactly what UserInfo can answer: a person with every value
    /// gets exactly the named claims, for every scope and both profiles.
    #[test]
    fn claim_names_are_what_userinfo_answers() {
        let person = Person {
            id: PersonId::generate(),
            personal_id: PersonalId::parse("001090001234").unwrap(),
            family_name: "Nguyễn".into(),
            middle_name: "Văn".into(),
            given_name: "An".into(),
            birthdate: time::Date::from_calendar_date(1990, time::Month::January, 1).ok(),
            sex: Some(Sex::Male),
            nationality: "VN".into(),
            address: Some("Hà Nội".into()),
            phone: Some("+84900000000".into()),
            email: Some("an@example.vn".into()),
            account_level: AccountLevel::Level2,
            status: PersonStatus::Active,
        };
        let all = Scopes::parse("openid profile email phone address vn_identity vn_org vn_official offline_access");
        for profile in [ClaimsProfile::Standard, ClaimsProfile::VnHub] {
            for scope in all.iter() {
                let scopes = Scopes::parse(&format!("openid {scope}"));
                let answered = userinfo("sub-1", &person, &scopes, Map::new(), profile);
                let mut got: Vec<&str> = answered.as_object().unwrap().keys().map(String::as_str).collect();
                let mut named = claim_names(&scopes, profile);
                got.sort_unstable();
                named.sort_unstable();
                assert_eq!(got, named, "{scope} {profile:?}");
            }
        }
    }
}
