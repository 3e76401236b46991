//! The token endpoint (RFC 6749 §3.2, §4.1.3; OIDC Core §3.1.3): authorization_code with PKCE.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::client::Client;
use super::client_auth;
use super::error::{ErrorCode, OAuthError};
use super::id_token::{IdTokenClaims, at_hash};
use crate::app::App;
use crate::audit::{self, Event};
use crate::keys::secret::{b64url, ct_eq, random_token, sha256, token_hash};
use crate::store::grants::{AccessGrant, CodeGrant};
use crate::web::form::Params;

pub async fn token(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    match exchange(&app, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn exchange(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(OAuthError::invalid_request("the body must be application/x-www-form-urlencoded"));
    }
    let p = Params::parse(body).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    let client = client_auth::authenticate(&app.store, headers, &p).await?;
    match p.get("grant_type") {
        None => Err(OAuthError::invalid_request("grant_type is required")),
        Some("authorization_code") => authorization_code(app, &client, &p).await,
        Some(super::client::GRANT_DEVICE_CODE) => super::device::redeem(app, &client, &p).await,
        Some(_) => Err(OAuthError::new(ErrorCode::UnsupportedGrantType, "only authorization_code is supported")),
    }
}

/// RFC 7636 §4.1: 43–128 characters of the unreserved set.
fn verifier_well_formed(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

async fn authorization_code(app: &App, client: &Client, p: &Params) -> Result<Response, OAuthError> {
    let code = p.get("code").ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let redirect_uri = p.get("redirect_uri").ok_or_else(|| OAuthError::invalid_request("redirect_uri is required"))?;
    let verifier = p
        .get("code_verifier")
        .ok_or_else(|| OAuthError::invalid_request("code_verifier is required (PKCE)"))?;
    let now = app.now();
    let invalid = || OAuthError::invalid_grant("the authorization code is invalid, expired, or was issued to another client");
    let hash = token_hash(code);
    let grant = app.store.code(&hash).await.map_err(OAuthError::server_error)?.ok_or_else(invalid)?;
    if grant.client_id != client.id.as_str() {
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
    if !app.store.use_code(&hash, now).await.map_err(OAuthError::server_error)? {
        // A concurrent redemption won the race: this is a replay too.
        return Err(replayed(app, &grant, now).await);
    }
    issue(app, client, &grant, now).await
}

/// RFC 6749 §4.1.2: a code used twice revokes every token it produced.
async fn replayed(app: &App, grant: &CodeGrant, now: i64) -> OAuthError {
    let revoked = match app.store.revoke_grant(&grant.grant_id).await {
        Ok(n) => n,
        Err(e) => return OAuthError::server_error(e),
    };
    let detail = json!({ "revoked_tokens": revoked });
    if let Err(e) = audit::record(&app.store, now, Event::CodeReplayed, Some(&grant.person_id), Some(&grant.client_id), detail).await {
        return OAuthError::server_error(e);
    }
    OAuthError::invalid_grant("the authorization code was already used; tokens issued from it are revoked")
}

pub(super) async fn issue(app: &App, client: &Client, grant: &CodeGrant, now: i64) -> Result<Response, OAuthError> {
    let s = &app.settings;
    let access_token = random_token();
    let signer = app.keys.signer(client.id_token_alg).map_err(OAuthError::server_error)?;
    let claims = IdTokenClaims {
        iss: &s.issuer_str,
        sub: &grant.subject,
        aud: client.id.as_str(),
        exp: now + s.id_token_ttl,
        iat: now,
        auth_time: grant.auth_time,
        nonce: grant.nonce.as_deref(),
        acr: &grant.acr,
        amr: &grant.amr,
        sid: &grant.sid,
        at_hash: at_hash(&access_token),
        extra: crate::identity::acting_for::parse_extra(grant.extra_claims.as_deref()),
    };
    let id_token = signer.sign_jwt("JWT", &claims).map_err(OAuthError::server_error)?;
    app.store
        .insert_access_token(&AccessGrant {
            token_hash: token_hash(&access_token),
            grant_id: grant.grant_id.clone(),
            client_id: grant.client_id.clone(),
            person_id: grant.person_id.clone(),
            subject: grant.subject.clone(),
            scopes: grant.scopes.clone(),
            expires_at: now + s.access_token_ttl,
            extra_claims: grant.extra_claims.clone(),
        })
        .await
        .map_err(OAuthError::server_error)?;
    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": s.access_token_ttl,
        "id_token": id_token,
        "scope": grant.scopes.join(" "),
    });
    let mut res = axum::Json(body).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    Ok(res)
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
