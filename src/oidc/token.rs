//! The token endpoint (RFC 6749 §3.2; OIDC Core §3.1.3, §12): authorization_code with PKCE, and
//! refresh_token with rotation; DPoP binding (RFC 9449) and JWT access tokens (RFC 9068).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::client_auth;
use super::dpop::{self, Place, Proof};
use super::mint::{self, Issuance, Minted, RefreshPlan, wants_refresh};
use crate::audit::{self, Event};
use crate::client::{Client, GRANT_AUTHORIZATION_CODE, GRANT_DEVICE_CODE, GRANT_REFRESH_TOKEN};
use crate::crypto::{b64url, ct_eq, sha256, token_hash};
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::scope::Scopes;
use crate::state::App;
use crate::store::grants::CodeGrant;
use crate::store::refresh::RefreshGrant;
use crate::web::form::Params;

pub async fn token(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Result<Response, OAuthError> {
    exchange(&app, &headers, &body).await
}

pub fn is_form(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

async fn exchange(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    if !is_form(headers) {
        return Err(OAuthError::invalid_request("the body must be application/x-www-form-urlencoded"));
    }
    let p = Params::parse(body).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    let client = client_auth::authenticate(app, headers, &p).await?;
    let grant_type = p.get("grant_type").ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    if ![GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN, GRANT_DEVICE_CODE].contains(&grant_type) {
        return Err(OAuthError::new(ErrorCode::UnsupportedGrantType, "supported: authorization_code, refresh_token, device_code"));
    }
    if !client.options.allows_grant(grant_type) {
        return Err(OAuthError::new(ErrorCode::UnauthorizedClient, "this client is not registered for this grant type"));
    }
    let proof = dpop::check(app, headers, "POST", &app.settings.url("/token"), Place::AuthorizationServer, dpop::algs_for(&client)).await?;
    if client.requires_dpop() && proof.is_none() {
        // Absent, not invalid: `invalid_dpop_proof` is for a proof that fails its checks.
        return Err(OAuthError::invalid_request("this client must send a DPoP proof"));
    }
    let answer = match grant_type {
        GRANT_AUTHORIZATION_CODE => authorization_code(app, &client, &p, proof.as_ref()).await,
        GRANT_REFRESH_TOKEN => refresh_token(app, &client, &p, proof.as_ref()).await,
        _ => super::device::redeem(app, &client, &p, proof.as_ref()).await.map(|m| respond(app, &m, proof.is_some())),
    };
    crate::metrics::token(grant_type, answer.is_ok());
    answer
}

/// RFC 7636 §4.1: 43–128 characters of the unreserved set.
fn verifier_well_formed(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

async fn authorization_code(app: &App, client: &Client, p: &Params, proof: Option<&Proof>) -> Result<Response, OAuthError> {
    let code = p.get("code").ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let redirect_uri = p.get("redirect_uri").ok_or_else(|| OAuthError::invalid_request("redirect_uri is required"))?;
    let verifier = p.get("code_verifier").ok_or_else(|| OAuthError::invalid_request("code_verifier is required (PKCE)"))?;
    let now = app.now();
    let invalid = || OAuthError::invalid_grant("the authorization code is invalid, expired, or was issued to another client");
    let hash = token_hash(code);
    let grant = app.store.code(&hash).await?.ok_or_else(invalid)?;
    if grant.client_id != client.id {
        return Err(invalid());
    }
    if grant.used_at.is_some() {
        return Err(replayed(app, &grant, now).await);
    }
    if grant.expires_at <= now {
        return Err(invalid());
    }
    if grant.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant("redirect_uri differs from the authorization request"));
    }
    let challenge = b64url(&sha256(verifier.as_bytes()));
    if !verifier_well_formed(verifier) || !ct_eq(challenge.as_bytes(), grant.code_challenge.as_bytes()) {
        return Err(OAuthError::invalid_grant("code_verifier does not match the code_challenge"));
    }
    // RFC 9449 §10: a code bound with dpop_jkt is redeemed only with a proof of that key.
    if let Some(bound) = &grant.jkt {
        check_binding(proof, bound, "the code")?;
    }
    if !app.store.use_code(&hash, now).await? {
        // A concurrent redemption won the race: this is a replay too.
        return Err(replayed(app, &grant, now).await);
    }
    let issuance = Issuance {
        grant_type: crate::client::GRANT_AUTHORIZATION_CODE,
        grant_id: &grant.grant_id,
        person_id: &grant.person_id,
        subject: &grant.subject,
        scopes: &grant.scopes,
        auth_time: grant.auth_time,
        acr: grant.acr,
        amr: &grant.amr,
        sid: &grant.sid,
        extra_claims: grant.extra_claims.as_deref(),
        nonce: grant.nonce.as_deref(),
        claims_request: grant.claims_request.as_deref(),
    };
    let refresh = wants_refresh(client, &grant.scopes).then_some(RefreshPlan::Start);
    issue(app, client, &issuance, now, proof, refresh).await
}

/// A grant bound to a DPoP key is used only with a proof of that key.
fn check_binding(proof: Option<&Proof>, bound: &str, what: &str) -> Result<(), OAuthError> {
    match proof {
        None => Err(OAuthError::invalid_request(format!("{what} is DPoP-bound: send a DPoP proof"))),
        Some(p) if p.jkt != bound => Err(OAuthError::new(ErrorCode::InvalidDpopProof, format!("{what} is bound to another DPoP key"))),
        Some(_) => Ok(()),
    }
}

/// RFC 6749 §4.1.2: a code used twice revokes every token it produced.
async fn replayed(app: &App, grant: &CodeGrant, now: i64) -> OAuthError {
    let revoked = match app.store.revoke_grant(&grant.grant_id, now).await {
        Ok(n) => n,
        Err(e) => return OAuthError::server_error(e),
    };
    let detail = json!({ "revoked_tokens": revoked });
    if let Err(e) = audit::record(&app.store, now, Event::CodeReplayed, Some(&grant.person_id), Some(&grant.client_id), detail).await {
        return OAuthError::server_error(e);
    }
    OAuthError::invalid_grant("the authorization code was already used; tokens issued from it are revoked")
}

/// RFC 6749 §6 with rotation (RFC 9700 §4.14.2): every use returns a new refresh token; a
/// rotated token presented again within the grace period (the client lost the response) gets a
/// new pair once; a second retry, a retry after the grace, or the successor displaced by a retry
/// is a theft signal and the whole family is revoked.
async fn refresh_token(app: &App, client: &Client, p: &Params, proof: Option<&Proof>) -> Result<Response, OAuthError> {
    let presented = p.get("refresh_token").ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let now = app.now();
    let invalid = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
    let hash = token_hash(presented);
    let rt = app.store.refresh(&hash).await?.ok_or_else(invalid)?;
    if rt.client_id != client.id {
        return Err(invalid());
    }
    // A token displaced by a retry is held by someone other than the retrying client: reuse.
    if rt.displaced_at.is_some() {
        return Err(reused(app, &rt, now, "displaced").await?);
    }
    if rt.revoked_at.is_some() || rt.expires_at <= now {
        return Err(invalid());
    }
    // RFC 9449 §5: a public client's refresh token is bound to its DPoP key.
    if let Some(bound) = &rt.jkt {
        check_binding(proof, bound, "the refresh token")?;
    }
    let scopes = match p.get("scope") {
        None => rt.scopes.clone(),
        Some(wanted) => {
            let wanted = Scopes::parse(wanted);
            if !rt.scopes.covers(&wanted) {
                return Err(OAuthError::new(ErrorCode::InvalidScope, "a refresh may narrow the scope, never widen it"));
            }
            wanted
        }
    };
    let active = app.store.person(&rt.person_id).await?.is_some_and(|x| x.status == crate::identity::PersonStatus::Active);
    if !active {
        return Err(invalid());
    }
    if client.is_fapi() {
        // FAPI 2.0 §5.3.2.1: no rotation for these sender-constrained clients; the token stays
        // valid until it expires or is revoked, and the response carries none.
        if rt.rotated_at.is_some() {
            return Err(invalid());
        }
        return issue(app, client, &refreshed(&rt, &scopes), now, proof, None).await;
    }
    let fresh_rotation = rt.rotated_at.is_none() && app.store.rotate_refresh(&hash, now).await?;
    if !fresh_rotation {
        let rotated_at = match rt.rotated_at {
            Some(t) => t,
            // Rotated by a concurrent request a moment ago: treat as a retry at `now`.
            None => now,
        };
        // The grace is for one lost response, once: a later or second presentation is reuse.
        if now - rotated_at >= app.settings.refresh_grace {
            return Err(reused(app, &rt, now, "after_grace").await?);
        }
        if !app.store.use_refresh_grace(&hash, now).await? {
            return Err(reused(app, &rt, now, "grace_used").await?);
        }
        // Within the grace period: the successor whose response was lost dies, a new one is issued.
        app.store.revoke_live_refresh(&rt.family_id, now).await?;
    }
    issue(app, client, &refreshed(&rt, &scopes), now, proof, Some(RefreshPlan::Rotate(&rt))).await
}

/// A refresh token presented when it must not be (RFC 9700 §4.14.2): the whole family is
/// revoked and the reuse audited; the answer is `invalid_grant`.
async fn reused(app: &App, rt: &RefreshGrant, now: i64, how: &str) -> Result<OAuthError, OAuthError> {
    let revoked = app.store.revoke_family(&rt.family_id, now).await?;
    let detail = json!({"family": rt.family_id, "revoked_tokens": revoked, "how": how});
    audit::record(&app.store, now, Event::RefreshReused, Some(&rt.person_id), Some(&rt.client_id), detail)
        .await
        .map_err(OAuthError::server_error)?;
    Ok(OAuthError::invalid_grant("the refresh token was already used; its family is revoked"))
}

/// What a refresh issues: the sign-in the family started with, for the (possibly narrowed) scopes.
fn refreshed<'a>(rt: &'a RefreshGrant, scopes: &'a Scopes) -> Issuance<'a> {
    Issuance {
        grant_type: crate::client::GRANT_REFRESH_TOKEN,
        grant_id: &rt.family_id,
        person_id: &rt.person_id,
        subject: &rt.subject,
        scopes,
        auth_time: rt.auth_time,
        acr: rt.acr,
        amr: &rt.amr,
        sid: &rt.sid,
        extra_claims: rt.extra_claims.as_deref(),
        nonce: None,
        claims_request: None,
    }
}

/// Mints the tokens and writes the token response.
async fn issue(
    app: &App,
    client: &Client,
    g: &Issuance<'_>,
    now: i64,
    proof: Option<&Proof>,
    refresh: Option<RefreshPlan<'_>>,
) -> Result<Response, OAuthError> {
    let minted = mint::mint(app, client, g, now, proof.map(|p| p.jkt.as_str()), refresh).await?;
    Ok(respond(app, &minted, proof.is_some()))
}

/// The successful token response (RFC 6749 §5.1): never cached; a fresh DPoP nonce when a proof
/// came.
pub fn respond(app: &App, minted: &Minted, dpop_used: bool) -> Response {
    let mut res = axum::Json(minted).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    if dpop_used && let Ok(n) = HeaderValue::from_str(&dpop::current_nonce(app)) {
        h.insert("dpop-nonce", n);
    }
    res
}

#[cfg(test)]
mod tests {
    #[test]
    fn verifier_syntax() {
        assert!(super::verifier_well_formed(&"a".repeat(43)));
        assert!(super::verifier_well_formed(&"a-._~".repeat(20)));
        assert!(!super::verifier_well_formed(&"a".repeat(42)));
        assert!(!super::verifier_well_formed(&"a".repeat(129)));
        assert!(!super::verifier_well_formed(&format!("{}+", "a".repeat(43))));
    }
}
