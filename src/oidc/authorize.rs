//! The authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2): GET and POST. It parses and
//! validates the request (plain, pushed or signed) and hands a valid one to the sign-in
//! (`signin::journey::start`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use super::{par, request_object};
use crate::client::Client;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::request::{self, AuthorizationRequest, Rejection};
use crate::signin::finish::error_redirect;
use crate::signin::{Purpose, journey};
use crate::state::App;
use crate::web::error::PageError;
use crate::web::form::Params;
use crate::web::lang::page_locale;

pub async fn get(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    handle(&app, &headers, jar, q.unwrap_or_default().as_bytes()).await
}

pub async fn post(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let is_form =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        let locale = page_locale(app.settings.default_locale, &headers, &jar, None, None);
        return PageError::new(StatusCode::BAD_REQUEST, locale, "error.malformed").into_response();
    }
    handle(&app, &headers, jar, &body).await
}

async fn handle(app: &App, headers: &HeaderMap, jar: CookieJar, raw: &[u8]) -> Response {
    let parsed = Params::parse_lenient(raw);
    let ui_locales = parsed.as_ref().ok().and_then(|p| p.get("ui_locales"));
    let locale = page_locale(app.settings.default_locale, headers, &jar, ui_locales, None);
    let page = |reason: request::PageReason| PageError::new(StatusCode::BAD_REQUEST, locale, reason.message_key()).into_response();
    let (params, client_id) = match request::client_of(&parsed) {
        Ok(v) => v,
        Err(Rejection::Page(r)) => return page(r),
        Err(Rejection::Redirect { .. }) => return page(request::PageReason::Malformed),
    };
    let client = match app.store.client(&client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return page(request::PageReason::UnknownClient),
        Err(e) => return PageError::internal(locale, e).into_response(),
    };
    let req = match resolve(app, params, &client).await {
        Ok(r) => r,
        Err(Rejection::Page(r)) => return page(r),
        Err(Rejection::Redirect { redirect_uri, state, error }) => {
            return error_redirect(app, &redirect_uri, state.as_deref(), &error);
        }
    };
    journey::start(app, jar, &client, Purpose::Portal(Box::new(req)), locale).await.unwrap_or_else(IntoResponse::into_response)
}

/// The request itself: pushed (RFC 9126), signed (RFC 9101), or plain query parameters.
async fn resolve(app: &App, params: &Params, client: &Client) -> Result<AuthorizationRequest, Rejection> {
    if let Some(uri) = params.get("request_uri") {
        if params.has("request") {
            return Err(Rejection::Page(request::PageReason::Malformed));
        }
        // RFC 9126 §4: single use, bound to the client that pushed it; only its parameters count.
        let taken = app.store.take_pushed(&crate::crypto::token_hash(uri), app.now()).await;
        let (owner, json) = match taken {
            Ok(Some(t)) if uri.starts_with(par::URI_PREFIX) => t,
            _ => return Err(Rejection::Page(request::PageReason::BadRequestUri)),
        };
        if owner != client.id.as_str() {
            return Err(Rejection::Page(request::PageReason::BadRequestUri));
        }
        return serde_json::from_str(&json).map_err(|_| Rejection::Page(request::PageReason::BadRequestUri));
    }
    if client.requires_par() {
        return Err(match params.get("redirect_uri").filter(|u| client.has_redirect_uri(u)) {
            Some(u) => Rejection::Redirect {
                redirect_uri: u.to_string(),
                state: params.get("state").map(str::to_owned),
                error: OAuthError::invalid_request("this client must use pushed authorization requests"),
            },
            None => Rejection::Page(request::PageReason::BadRedirectUri),
        });
    }
    if let Some(jwt) = params.get("request") {
        return match request_object::params(app, client, jwt).await {
            Ok(inner) => request::validate(&inner, client),
            Err(e) => Err(match params.get("redirect_uri").filter(|u| client.has_redirect_uri(u)) {
                Some(u) => Rejection::Redirect {
                    redirect_uri: u.to_string(),
                    state: params.get("state").map(str::to_owned),
                    error: OAuthError::new(ErrorCode::InvalidRequestObject, e.to_string()),
                },
                None => Rejection::Page(request::PageReason::BadRedirectUri),
            }),
        };
    }
    request::validate(params, client)
}
