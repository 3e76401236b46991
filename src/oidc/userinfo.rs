//! The UserInfo endpoint (OIDC Core §5.3): bearer token in the header (or the form body for
//! POST, RFC 6750 §2.2); never in the query string.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::error::{ErrorCode, OAuthError};
use super::client::ClientId;
use super::scopes;
use crate::app::App;
use crate::identity::PersonStatus;
use crate::keys::secret::token_hash;
use crate::web::error::bearer_missing;
use crate::web::form::Params;

fn header_token(headers: &HeaderMap) -> Result<Option<String>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
    let value = value.to_str().map_err(|_| OAuthError::invalid_request("malformed Authorization header"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(Some(token.trim().to_string()))
        }
        _ => Err(OAuthError::invalid_request("the Authorization header must use the Bearer scheme")),
    }
}

pub async fn get(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    match header_token(&headers) {
        Ok(Some(t)) => respond(&app, &t).await,
        Ok(None) => bearer_missing(),
        Err(e) => e.into_response(),
    }
}

pub async fn post(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let from_header = match header_token(&headers) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let from_body = if body.is_empty() {
        None
    } else {
        match Params::parse(&body) {
            Ok(p) => p.get("access_token").map(str::to_owned),
            Err(e) => return OAuthError::invalid_request(e.to_string()).into_response(),
        }
    };
    match (from_header, from_body) {
        (Some(_), Some(_)) => OAuthError::invalid_request("send the access token once").into_response(),
        (Some(t), None) | (None, Some(t)) => respond(&app, &t).await,
        (None, None) => bearer_missing(),
    }
}

async fn respond(app: &App, token: &str) -> Response {
    let invalid = || OAuthError::new(ErrorCode::InvalidToken, "the access token is invalid or expired").into_response();
    if token.len() > 512 {
        return invalid();
    }
    let found = match app.store.access_token_with_person(&token_hash(token), app.now()).await {
        Ok(f) => f,
        Err(e) => return OAuthError::server_error(e).into_response(),
    };
    let Some((grant, person)) = found else { return invalid() };
    if person.status != PersonStatus::Active {
        return invalid();
    }
    if !grant.scopes.iter().any(|s| s == "openid") {
        return OAuthError::new(ErrorCode::InsufficientScope, "the token was not issued for openid").into_response();
    }
    let client = match ClientId::parse(&grant.client_id) {
        Some(id) => match app.store.client(&id).await {
            Ok(Some(c)) => c,
            Ok(None) => return invalid(),
            Err(e) => return OAuthError::server_error(e).into_response(),
        },
        None => return invalid(),
    };
    let extra = crate::identity::acting_for::parse_extra(grant.extra_claims.as_deref());
    let body = scopes::userinfo(&grant.subject, &person, &grant.scopes, extra, client.claims_profile);
    let mut res = axum::Json(body).into_response();
    res.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    res
}
