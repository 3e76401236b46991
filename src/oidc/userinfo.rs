//! The UserInfo endpoint (OIDC Core §5.3): bearer token in the header (or the form body for
//! POST, RFC 6750 §2.2); never in the query string.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::dpop;
use crate::client::ClientId;
use crate::crypto::token_hash;
use crate::identity::PersonStatus;
use crate::protocol::error::bearer_missing;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::scopes;
use crate::state::App;
use crate::web::form::Params;

/// How the token was presented (RFC 6750 Bearer, RFC 9449 §7 DPoP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Bearer,
    DPoP,
}

fn header_token(headers: &HeaderMap) -> Result<Option<(Scheme, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
    let value = value.to_str().map_err(|_| OAuthError::invalid_request("malformed Authorization header"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if !token.trim().is_empty() => {
            let scheme = if scheme.eq_ignore_ascii_case("bearer") {
                Scheme::Bearer
            } else if scheme.eq_ignore_ascii_case("dpop") {
                Scheme::DPoP
            } else {
                return Err(OAuthError::invalid_request("the Authorization header must use the Bearer or DPoP scheme"));
            };
            Ok(Some((scheme, token.trim().to_string())))
        }
        _ => Err(OAuthError::invalid_request("the Authorization header must use the Bearer or DPoP scheme")),
    }
}

pub async fn get(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    match header_token(&headers) {
        Ok(Some((scheme, t))) => respond(&app, &headers, "GET", scheme, &t).await,
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
        (Some((scheme, t)), None) => respond(&app, &headers, "POST", scheme, &t).await,
        (None, Some(t)) => respond(&app, &headers, "POST", Scheme::Bearer, &t).await,
        (None, None) => bearer_missing(),
    }
}

async fn respond(app: &App, headers: &HeaderMap, method: &str, scheme: Scheme, token: &str) -> Response {
    let invalid = || {
        let e = OAuthError::new(ErrorCode::InvalidToken, "the access token is invalid or expired");
        if scheme == Scheme::DPoP { e.dpop_scheme() } else { e }.into_response()
    };
    if token.len() > 4096 {
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
    // RFC 9449 §7: a bound token only with the DPoP scheme and a proof of its key; an unbound
    // one never with the DPoP scheme.
    match (&grant.jkt, scheme) {
        (Some(jkt), Scheme::DPoP) => {
            let place = dpop::Place::Resource { access_token: token };
            match dpop::check(app, headers, method, &app.settings.url("/userinfo"), place, &dpop::ALGS).await {
                Ok(Some(p)) if p.jkt == *jkt => {}
                Ok(Some(_)) => {
                    return OAuthError::new(ErrorCode::InvalidDpopProof, "the DPoP proof is signed by another key")
                        .dpop_scheme()
                        .into_response();
                }
                Ok(None) => return OAuthError::new(ErrorCode::InvalidDpopProof, "a DPoP proof is required").dpop_scheme().into_response(),
                Err(e) => return e.into_response(),
            }
        }
        (Some(_), Scheme::Bearer) => {
            return OAuthError::new(ErrorCode::InvalidToken, "this token is DPoP-bound; use the DPoP scheme with a proof")
                .dpop_scheme()
                .into_response();
        }
        (None, Scheme::DPoP) => return invalid(),
        (None, Scheme::Bearer) => {}
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
