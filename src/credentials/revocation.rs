//! Revocation of issued QR credentials by an operator (the command line, the admin API, the
//! console), one or all of a holder's, each audited with the operator and the reason. The
//! holder's own revocation is in `api::owner_revoke`.

use serde_json::json;

use super::service::LIST_ID;
use crate::admin::actor::Actor;
use crate::audit::{self, Event};
use crate::identity::PersonalId;
use crate::store::credentials::IssuedCredential;
use crate::store::{Store, StoreError};

/// Which credentials to revoke.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// One by its index in the status list; with a holder, only if it is that holder's.
    One { idx: i64, holder: Option<&'a str> },
    /// Every live (unrevoked, unexpired) credential of a holder (personal ID or organisation code).
    AllOf(&'a str),
}

/// Revokes and audits; returns the indexes revoked (empty: nothing live matched).
pub async fn revoke(store: &Store, now: i64, target: Target<'_>, reason: &str, actor: &Actor) -> Result<Vec<i64>, StoreError> {
    let targets: Vec<(i64, Option<&str>)> = match target {
        Target::One { idx, holder } => vec![(idx, holder)],
        Target::AllOf(holder) => live(&store.credentials_of(LIST_ID, holder).await?, now).iter().map(|c| (c.idx, Some(holder))).collect(),
    };
    let mut revoked = Vec::new();
    for (idx, holder) in targets {
        if !store.revoke_credential(LIST_ID, idx, holder, "operator", now).await? {
            continue;
        }
        revoked.push(idx);
        // Audited under the person the credential describes (never their ID in the detail); an
        // organisation's code is public and named.
        let subject = match holder {
            Some(h) => Some(h.to_string()),
            None => store.credential_subject(LIST_ID, idx).await?,
        };
        let person = match subject.as_deref().map(PersonalId::parse) {
            Some(Ok(pid)) => store.person_for_login(&pid).await?.map(|(p, _)| p.id),
            _ => None,
        };
        let mut detail = json!({"idx": idx, "by": "operator", "operator": actor.label(), "reason": reason});
        if person.is_none()
            && let Some(code) = subject
        {
            detail["organisation"] = json!(code);
        }
        audit::record(store, now, Event::CredentialRevoked, person.as_ref(), None, detail).await?;
    }
    Ok(revoked)
}

/// The credentials that still verify: not revoked, not expired.
pub fn live(all: &[IssuedCredential], now: i64) -> Vec<&IssuedCredential> {
    all.iter().filter(|c| c.is_live(now)).collect()
}
