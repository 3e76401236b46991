//! Pushed authorization requests (RFC 9126): the client posts the request, authenticated, and
//! gets a one-time `request_uri` for the browser.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::client_auth;
use super::dpop::{self, Place};
use super::request_object;
use crate::crypto::{random_token, token_hash};
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::request::{self, Rejection};
use crate::state::App;
use crate::web::form::Params;

pub const URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

pub async fn push(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Result<Response, OAuthError> {
    handle(&app, &headers, &body).await
}

async fn handle(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    if !super::token::is_form(headers) {
        return Err(OAuthError::invalid_request("the body must be application/x-www-form-urlencoded"));
    }
    let outer = Params::parse(body).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    let client = client_auth::authenticate(app, headers, &outer).await?;
    if outer.has("request_uri") {
        return Err(OAuthError::invalid_request("request_uri cannot be pushed"));
    }
    let proof = dpop::check(app, headers, "POST", &app.settings.url("/par"), Place::AuthorizationServer, dpop::algs_for(&client)).await?;
    let params = match outer.get("request") {
        Some(jwt) => {
            request_object::params(app, &client, jwt).await.map_err(|e| OAuthError::new(ErrorCode::InvalidRequestObject, e.to_string()))?
        }
        None => outer,
    };
    let mut req = request::validate(&params, &client).map_err(|r| match r {
        Rejection::Page(reason) => OAuthError::invalid_request(match reason {
            request::PageReason::BadRedirectUri => "redirect_uri is missing or not registered for this client",
            _ => "the request is malformed",
        }),
        Rejection::Redirect { error, .. } => error,
    })?;
    // RFC 9449 §10.1: a DPoP proof at PAR binds the code like dpop_jkt does.
    if let Some(p) = proof {
        match &req.dpop_jkt {
            Some(j) if *j != p.jkt => return Err(OAuthError::new(ErrorCode::InvalidRequest, "dpop_jkt differs from the DPoP proof's key")),
            _ => req.dpop_jkt = Some(p.jkt),
        }
    }
    let uri = format!("{URI_PREFIX}{}", random_token());
    let json = serde_json::to_string(&req).map_err(OAuthError::server_error)?;
    let ttl = app.settings.par_ttl;
    app.store.insert_pushed(&token_hash(&uri), client.id.as_str(), &json, app.now() + ttl).await.map_err(OAuthError::server_error)?;
    let mut res = (StatusCode::CREATED, axum::Json(json!({ "request_uri": uri, "expires_in": ttl }))).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
