//! Acting for an organisation, and the agency of an official: claims decided at sign-in that
//! travel with the grant (`vn_org`, `vn_agency_code`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::RepresentativeRole;
use crate::identity::PersonId;
use crate::scope::Scopes;
use crate::store::{Store, StoreError};

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
    chosen.is_none() && scopes.iter().any(|s| s == "vn_org")
}

/// The extra claims of a grant, as a JSON object, or `None` when there are none.
pub async fn extra_claims(
    store: &Store,
    person_id: &PersonId,
    scopes: &Scopes,
    acting_for: Option<&ActingFor>,
) -> Result<Option<String>, StoreError> {
    let mut out = Map::new();
    if let Some(org) = acting_for.filter(|_| scopes.iter().any(|s| s == "vn_org")) {
        out.insert("vn_org".into(), json!(org));
    }
    if scopes.iter().any(|s| s == "vn_official")
        && let Some((agency, title)) = store.official(person_id).await?
    {
        out.insert("vn_agency_code".into(), json!(agency.code));
        out.insert("vn_agency_name".into(), json!(agency.name));
        out.insert("vn_title".into(), json!(title));
    }
    Ok((!out.is_empty()).then(|| Value::Object(out).to_string()))
}

/// Parses stored extra claims; unreadable data yields nothing rather than a failed sign-in.
pub fn parse_extra(stored: Option<&str>) -> Map<String, Value> {
    match stored.map(serde_json::from_str::<Value>) {
        Some(Ok(Value::Object(m))) => m,
        _ => Map::new(),
    }
}
