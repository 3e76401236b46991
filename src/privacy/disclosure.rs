//! The disclosure record (Decree 13/2023: the right to know who received one's data). Each
//! release says when, to whom, which claims (names, never values), for what purpose, on what
//! basis and at which assurance level. Releases to portals are described in the token row
//! (`released_by_token`, no extra write on a sign-in) and copied into the record when the row
//! goes (`store::disclosures`); the other releases are recorded as they happen.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::assurance::Acr;
use crate::client::{Bilingual, Client};
use crate::identity::PersonId;
use crate::scope::Scopes;
use crate::store::disclosures::{Disclosure, TO_CREDENTIAL, TO_OPERATOR};
use crate::store::{Store, StoreError};

/// Why the recipient may have the data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Basis {
    /// The person agreed (the consent page, or a credential they made themselves).
    Consent,
    /// A law requires it; the portal's registered legal basis.
    Legal { text: Bilingual },
    /// An operator's duty (helpdesk, supervision), answerable through the audit log.
    Duty,
}

/// What one release carried, as stored in `disclosures.detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Released {
    /// The grant type for a portal (`authorization_code`, `refresh_token`, the device grant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
    pub claims: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// The purpose of each scope as the portal registered it at the time.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub purposes: BTreeMap<String, Bilingual>,
    pub basis: Basis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
}

impl Released {
    pub fn parse(detail: &str) -> Option<Self> {
        serde_json::from_str(detail).ok()
    }
}

/// What the tokens of one issuance release to `client`: the claims its scopes open through the
/// ID token and UserInfo, plus the claims decided at sign-in (acting for an organisation).
pub fn released_by_token(client: &Client, grant_type: &str, scopes: &Scopes, acr: Acr, extra_claims: Option<&str>) -> String {
    let mut claims: Vec<String> =
        crate::protocol::scopes::claim_names(scopes, client.claims_profile).into_iter().map(str::to_owned).collect();
    for k in crate::identity::acting_for::parse_extra(extra_claims).keys() {
        if !claims.contains(k) {
            claims.push(k.clone());
        }
    }
    let purposes = scopes.iter().filter_map(|s| client.options.purposes.get(s.as_str()).map(|p| (s.clone(), p.clone()))).collect();
    let basis = match &client.options.legal_basis {
        Some(text) => Basis::Legal { text: text.clone() },
        None => Basis::Consent,
    };
    let r = Released {
        grant: Some(grant_type.to_string()),
        claims,
        scopes: scopes.iter().cloned().collect(),
        purposes,
        basis,
        acr: Some(acr.as_uri().to_string()),
    };
    // Serialising these plain types cannot fail; an empty record would still name the portal.
    serde_json::to_string(&r).unwrap_or_else(|_| "{}".into())
}

/// A QR credential about the person was issued: the fields it carries (claim 169 names).
/// `source` identifies the release (the same identity QR shown twice in a day is one release).
pub async fn record_credential(
    store: &Store,
    person_id: &PersonId,
    channel: &str,
    source: String,
    fields: &[&str],
    now: i64,
) -> Result<bool, StoreError> {
    let to = Recipient { kind: TO_CREDENTIAL, id: channel, channel };
    record_outside_tokens(store, person_id, to, source, fields, Basis::Consent, now).await
}

/// An operator read the person's record through the admin API.
pub async fn record_operator_read(
    store: &Store,
    person_id: &PersonId,
    operator: &str,
    claims: &[&str],
    now: i64,
) -> Result<bool, StoreError> {
    let to = Recipient { kind: TO_OPERATOR, id: operator, channel: "admin_api" };
    let source = format!("operator:{}", crate::crypto::random_token());
    record_outside_tokens(store, person_id, to, source, claims, Basis::Duty, now).await
}

struct Recipient<'a> {
    kind: &'a str,
    id: &'a str,
    channel: &'a str,
}

async fn record_outside_tokens(
    store: &Store,
    person_id: &PersonId,
    to: Recipient<'_>,
    source: String,
    claims: &[&str],
    basis: Basis,
    now: i64,
) -> Result<bool, StoreError> {
    let released = Released {
        grant: None,
        claims: claims.iter().map(|f| f.to_string()).collect(),
        scopes: Vec::new(),
        purposes: BTreeMap::new(),
        basis,
        acr: None,
    };
    store
        .record_disclosure(&Disclosure {
            source,
            person_id: person_id.clone(),
            at: now,
            recipient_kind: to.kind.into(),
            recipient: to.id.into(),
            recipient_name: to.id.into(),
            channel: to.channel.into(),
            detail: serde_json::to_string(&released).unwrap_or_else(|_| "{}".into()),
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_release_names_claims_purposes_and_basis_never_values() {
        let mut client = Client {
            id: crate::client::ClientId::parse("portal-a").unwrap(),
            name: "Portal A".into(),
            secret_hash: None,
            auth_method: crate::client::AuthMethod::None,
            redirect_uris: vec!["https://a.gov.vn/cb".into()],
            allowed_scopes: vec!["openid".into(), "profile".into(), "vn_identity".into()],
            id_token_alg: crate::crypto::Alg::ES256,
            sector: "a.gov.vn".into(),
            first_party: false,
            claims_profile: crate::client::ClaimsProfile::Standard,
            options: Default::default(),
            disabled: None,
            previous_secret: None,
        };
        client.options.purposes.insert("vn_identity".into(), Bilingual { vi: "Xác minh hồ sơ".into(), en: "Verify the file".into() });
        let scopes = Scopes::parse("openid vn_identity profile");
        let extra = r#"{"vn_org":{"code":"0312345673","name":"Công ty A"}}"#;
        let r = Released::parse(&released_by_token(&client, "authorization_code", &scopes, Acr::Loa2, Some(extra))).unwrap();
        assert_eq!(r.grant.as_deref(), Some("authorization_code"));
        assert!(r.claims.iter().any(|c| c == "vn_personal_id") && r.claims.iter().any(|c| c == "vn_org"));
        assert_eq!(r.purposes.len(), 1);
        assert_eq!(r.basis, Basis::Consent);
        assert_eq!(r.acr.as_deref(), Some(Acr::Loa2.as_uri()));
        let text = released_by_token(&client, "authorization_code", &scopes, Acr::Loa2, Some(extra));
        assert!(!text.contains("0312345673") && !text.contains("Công ty A"), "names only: {text}");

        client.options.legal_basis = Some(Bilingual { vi: "Luật Cư trú".into(), en: "Law on Residence".into() });
        let r = Released::parse(&released_by_token(&client, "refresh_token", &scopes, Acr::Loa1, None)).unwrap();
        assert!(matches!(r.basis, Basis::Legal { .. }));
    }
}
