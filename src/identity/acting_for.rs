//! Acting for an organisation, and the agency of an official: claims decided at sign-in that
//! travel with the grant (`vn_org`, `vn_agency_code`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Organisation, RepresentativeRole};
use crate::scope::Scopes;

/// The organisation a representative chose to act for in this sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActingFor {
    /// Tax code (enterprise) or agency code.
    pub code: String,
    pub name: String,
    pub role: RepresentativeRole,
    pub kind: String,
}

/// Whether the request still needs the person to choose an organisation.
pub fn needs_choice(scopes: &Scopes, chosen: Option<&ActingFor>) -> bool {
    chosen.is_none() && scopes.contains("vn_org")
}

/// Whether the grant releases an official's agency and title (`vn_official`), so that the
/// caller looks them up.
pub fn wants_official(scopes: &Scopes) -> bool {
    scopes.contains("vn_official")
}

/// The extra claims of a grant, as a JSON object, or `None` when there are none: the
/// organisation chosen (with `vn_org`), and the official's agency and title (with
/// `vn_official`, when the person is one).
pub fn extra_claims(scopes: &Scopes, acting_for: Option<&ActingFor>, official: Option<&(Organisation, String)>) -> Option<String> {
    let mut out = Map::new();
    if let Some(org) = acting_for.filter(|_| scopes.contains("vn_org")) {
        out.insert("vn_org".into(), json!(org));
    }
    if let Some((agency, title)) = official.filter(|_| wants_official(scopes)) {
        out.insert("vn_agency_code".into(), json!(agency.code));
        out.insert("vn_agency_name".into(), json!(agency.name));
        out.insert("vn_title".into(), json!(title));
    }
    (!out.is_empty()).then(|| Value::Object(out).to_string())
}

/// Parses stored extra claims; unreadable data yields nothing rather than a failed sign-in.
pub fn parse_extra(stored: Option<&str>) -> Map<String, Value> {
    match stored.map(serde_json::from_str::<Value>) {
        Some(Ok(Value::Object(m))) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_claims_only_within_the_scopes() {
        let org = ActingFor {
            code: "0312345673".into(),
            name: "A".into(),
            role: RepresentativeRole::LegalRepresentative,
            kind: "enterprise".into(),
        };
        let agency = Organisation { id: "o".into(), code: "000.00.00.G99".into(), kind: "agency".into(), name: "B".into(), address: None };
        let official = Some((agency, "Chuyên viên".to_string()));
        assert_eq!(extra_claims(&Scopes::parse("openid"), Some(&org), official.as_ref()), None);
        let both: Value =
            serde_json::from_str(&extra_claims(&Scopes::parse("openid vn_org vn_official"), Some(&org), official.as_ref()).unwrap())
                .unwrap();
        assert_eq!(both["vn_org"]["role"], "legal_representative");
        assert_eq!(both["vn_agency_code"], "000.00.00.G99");
        assert_eq!(both["vn_title"], "Chuyên viên");
        assert!(wants_official(&Scopes::parse("openid vn_official")) && !wants_official(&Scopes::parse("openid vn_org")));
    }
}
