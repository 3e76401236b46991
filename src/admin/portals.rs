//! What operators do to a registered portal: edit, disable and re-enable, rotate its secret,
//! delete. One implementation behind the admin API, the command line and the console, each
//! action audited with who did it.

use serde_json::json;

use super::actor::Actor;
use crate::audit::{self, Event};
use crate::client::{Client, ClientId, ClientOptions};
use crate::crypto::{random_token, token_hash};
use crate::oidc::registration::{self, ClientSpec, RegistrationError};
use crate::outbound::Outbound;
use crate::store::clients::Cut;
use crate::store::{Store, StoreError};

/// The longest overlap a rotated secret may keep: a month is enough to redeploy any portal.
pub const MAX_OVERLAP_SECS: i64 = 30 * 86_400;
/// The longest reason kept.
pub const MAX_REASON: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error("no such portal")]
    NotFound,
    #[error("the portal has no secret to rotate (it authenticates with {0})")]
    NoSecret(&'static str),
    #[error("the overlap must be between 0 and {MAX_OVERLAP_SECS} seconds")]
    Overlap,
    #[error("a reason is required (1–{MAX_REASON} characters, no control characters)")]
    Reason,
    #[error(
        "the new redirect URIs are on another host ({0}), which would change every person's pairwise identifier at this \
         portal; register a sector_identifier_uri that lists both hosts instead"
    )]
    SectorChange(String),
    #[error(transparent)]
    Invalid(#[from] RegistrationError),
    #[error("the sector identifier document does not list the redirect URIs: {0}")]
    Sector(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an operator may change on a portal; `None` keeps the current value.
#[derive(Debug, Default, Clone)]
pub struct Change {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    /// The whole set of further metadata (post-logout URIs, back-channel logout, purposes…).
    pub options: Option<ClientOptions>,
}

/// A reason as it is kept: trimmed, present, short, printable.
pub fn reason(raw: &str) -> Result<String, PortalError> {
    let r = raw.trim();
    let ok = !r.is_empty() && r.chars().count() <= MAX_REASON && !r.chars().any(char::is_control);
    ok.then(|| r.to_string()).ok_or(PortalError::Reason)
}

async fn existing(store: &Store, id: &ClientId) -> Result<Client, PortalError> {
    store.client_record(id).await?.ok_or(PortalError::NotFound)
}

/// Applies a change through the same validation as a registration. The authentication method,
/// signature algorithm, subject type and secret stay as they are; the pairwise sector may not
/// move, since that would give every person a new identifier at the portal.
pub async fn update(
    store: &Store,
    outbound: &Outbound,
    now: i64,
    id: &ClientId,
    change: Change,
    actor: &Actor,
) -> Result<Client, PortalError> {
    let current = existing(store, id).await?;
    let spec = ClientSpec {
        id: Some(current.id.to_string()),
        name: change.name.unwrap_or_else(|| current.name.clone()),
        redirect_uris: change.redirect_uris.unwrap_or_else(|| current.redirect_uris.clone()),
        auth_method: Some(current.auth_method.as_str().into()),
        alg: Some(current.id_token_alg.as_str().into()),
        scopes: change.scopes.unwrap_or_else(|| current.allowed_scopes.clone()),
        first_party: current.first_party,
        claims_profile: Some(current.claims_profile.as_str().into()),
        options: change.options.unwrap_or_else(|| current.options.clone()),
    };
    let (mut client, _) = registration::build(&spec)?;
    if !client.first_party && client.sector != current.sector {
        return Err(PortalError::SectorChange(client.sector));
    }
    crate::privacy::sector::verify_client(outbound, &client).await.map_err(|e| PortalError::Sector(e.to_string()))?;
    client.secret_hash = current.secret_hash.clone();
    client.previous_secret = current.previous_secret.clone();
    client.disabled = current.disabled.clone();
    store.put_client(&client, now).await?;
    let changed = changed_fields(&current, &client);
    audit::record(store, now, Event::ClientUpdated, None, Some(id.as_str()), json!({"operator": actor.label(), "changed": changed}))
        .await?;
    Ok(client)
}

/// The names of the fields that differ (the audit says what changed, not the values).
fn changed_fields(a: &Client, b: &Client) -> Vec<&'static str> {
    let mut out = Vec::new();
    if a.name != b.name {
        out.push("client_name");
    }
    if a.redirect_uris != b.redirect_uris {
        out.push("redirect_uris");
    }
    if a.allowed_scopes != b.allowed_scopes {
        out.push("scope");
    }
    if a.options != b.options {
        out.push("options");
    }
    out
}

/// Disables the portal at once: from now on it is refused at the authorization, token,
/// introspection and every other endpoint, and what it holds (tokens, codes) is cut off.
pub async fn disable(store: &Store, now: i64, id: &ClientId, raw_reason: &str, actor: &Actor) -> Result<Cut, PortalError> {
    let why = reason(raw_reason)?;
    let cut = store.disable_client(id, &why, now).await?.ok_or(PortalError::NotFound)?;
    let detail = json!({"operator": actor.label(), "action": "disabled", "reason": why, "access_tokens": cut.access_tokens,
        "refresh_tokens": cut.refresh_tokens, "codes": cut.codes});
    audit::record(store, now, Event::ClientUpdated, None, Some(id.as_str()), detail).await?;
    Ok(cut)
}

/// Lets a disabled portal take part again; the tokens it lost stay lost.
pub async fn enable(store: &Store, now: i64, id: &ClientId, raw_reason: &str, actor: &Actor) -> Result<(), PortalError> {
    let why = reason(raw_reason)?;
    if !store.enable_client(id).await? {
        return Err(PortalError::NotFound);
    }
    let detail = json!({"operator": actor.label(), "action": "enabled", "reason": why});
    audit::record(store, now, Event::ClientUpdated, None, Some(id.as_str()), detail).await?;
    Ok(())
}

/// A new secret, returned once; the old one keeps working for `overlap_secs` (0: not at all,
/// as after a leak).
pub async fn rotate_secret(store: &Store, now: i64, id: &ClientId, overlap_secs: i64, actor: &Actor) -> Result<String, PortalError> {
    if !(0..=MAX_OVERLAP_SECS).contains(&overlap_secs) {
        return Err(PortalError::Overlap);
    }
    let current = existing(store, id).await?;
    if current.secret_hash.is_none() {
        return Err(PortalError::NoSecret(current.auth_method.as_str()));
    }
    let secret = random_token();
    if !store.rotate_client_secret(id, &token_hash(&secret), now + overlap_secs).await? {
        return Err(PortalError::NotFound);
    }
    let detail = json!({"operator": actor.label(), "action": "secret_rotated", "overlap_secs": overlap_secs});
    audit::record(store, now, Event::ClientUpdated, None, Some(id.as_str()), detail).await?;
    Ok(secret)
}

/// Removes the portal and everything issued to it (what it received stays in the people's
/// disclosure record).
pub async fn delete(store: &Store, now: i64, id: &ClientId, actor: &Actor) -> Result<(), PortalError> {
    let current = existing(store, id).await?;
    if !store.delete_client(id).await? {
        return Err(PortalError::NotFound);
    }
    let detail = json!({"operator": actor.label(), "name": current.name});
    audit::record(store, now, Event::ClientDeleted, None, Some(id.as_str()), detail).await?;
    Ok(())
}
