//! Token introspection (RFC 7662) with the JWT response of RFC 9701, and revocation (RFC 7009).
//! Both require client authentication, and a client only learns about (or revokes) its own
//! tokens: for anyone else's the answer is `active: false`, as for an unknown token.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::client_auth;
use crate::audit::{self, Event};
use crate::client::Client;
use crate::crypto::{random_token, token_hash};
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::state::App;
use crate::web::form::Params;

const JWT_MEDIA_TYPE: &str = "application/token-introspection+jwt";

pub async fn introspect(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Result<Response, OAuthError> {
    introspect_inner(&app, &headers, &body).await
}

pub async fn revoke(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Result<Response, OAuthError> {
    revoke_inner(&app, &headers, &body).await
}

async fn authenticated(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<(Client, Params, String), OAuthError> {
    if !super::token::is_form(headers) {
        return Err(OAuthError::invalid_request("the body must be application/x-www-form-urlencoded"));
    }
    let p = Params::parse(body).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    let client = client_auth::authenticate(app, headers, &p).await?;
    let token = p.get("token").ok_or_else(|| OAuthError::invalid_request("token is required"))?.to_string();
    Ok((client, p, token))
}

/// RFC 7662 §2.2: what a client may know about one of its tokens.
async fn describe(app: &App, client: &Client, token: &str) -> Result<Value, OAuthError> {
    let inactive = json!({ "active": false });
    if token.len() > 4096 {
        return Ok(inactive);
    }
    let now = app.now();
    let hash = token_hash(token);
    if let Some((t, person)) = app.store.access_token_with_person(&hash, now).await? {
        if t.client_id != client.id || person.status != crate::identity::PersonStatus::Active {
            return Ok(inactive);
        }
        let mut out = json!({
            "active": true,
            "iss": app.settings.issuer_str,
            "client_id": t.client_id,
            "sub": t.subject,
            "scope": t.scopes.join(" "),
            "token_type": if t.jkt.is_some() { "DPoP" } else { "Bearer" },
            "exp": t.expires_at,
            "iat": t.issued_at,
            "aud": t.client_id,
        });
        if let Some(jkt) = t.jkt {
            out["cnf"] = json!({ "jkt": jkt });
        }
        return Ok(out);
    }
    if let Some(r) = app.store.refresh(&hash).await? {
        let live = r.revoked_at.is_none() && r.rotated_at.is_none() && r.expires_at > now;
        if !live || r.client_id != client.id {
            return Ok(inactive);
        }
        return Ok(json!({
            "active": true,
            "iss": app.settings.issuer_str,
            "client_id": r.client_id,
            "sub": r.subject,
            "scope": r.scopes.join(" "),
            "token_type": "refresh_token",
            "exp": r.expires_at,
            "iat": r.created_at,
        }));
    }
    Ok(inactive)
}

async fn introspect_inner(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let (client, _, token) = authenticated(app, headers, body).await?;
    let answer = describe(app, &client, &token).await?;
    let wants_jwt = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|m| m.trim().starts_with(JWT_MEDIA_TYPE)));
    let mut res = if wants_jwt {
        // RFC 9701 §5: a signed statement the resource server can keep as evidence.
        let signer = app.keys.signer(client.id_token_alg).map_err(OAuthError::server_error)?;
        let claims = json!({
            "iss": app.settings.issuer_str,
            "aud": client.id.as_str(),
            "iat": app.now(),
            "jti": random_token(),
            "token_introspection": answer,
        });
        let jwt = signer.sign_jwt("token-introspection+jwt", &claims).map_err(OAuthError::server_error)?;
        ([(header::CONTENT_TYPE, HeaderValue::from_static(JWT_MEDIA_TYPE))], jwt).into_response()
    } else {
        axum::Json(answer).into_response()
    };
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

async fn revoke_inner(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let (client, p, token) = authenticated(app, headers, body).await?;
    match p.get("token_type_hint") {
        None | Some("access_token" | "refresh_token") => {}
        // RFC 7009 §2.2.1: a hint names a type we do not revoke.
        Some(_) => return Err(OAuthError::new(ErrorCode::UnsupportedTokenType, "only access and refresh tokens can be revoked")),
    }
    let now = app.now();
    let hash = token_hash(&token);
    let mut revoked = app.store.revoke_access_token(&hash, client.id.as_str()).await?;
    if revoked == 0
        && let Some(r) = app.store.refresh(&hash).await?
        && r.client_id == client.id
    {
        // §2.1: revoking a refresh token ends the grant, its access tokens included.
        revoked = app.store.revoke_family(&r.family_id, now).await?;
    }
    if revoked > 0 {
        audit::record(&app.store, now, Event::TokenRevoked, None, Some(client.id.as_str()), json!({"revoked": revoked}))
            .await
            .map_err(OAuthError::server_error)?;
    }
    // §2.2: 200 whether or not the token was known, so that the answer reveals nothing.
    let mut res = axum::http::StatusCode::OK.into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
