//! The authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2): GET and POST.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;

use super::error::{ErrorCode, OAuthError};
use super::flow::{self, PendingParams, STAGE_CONSENT, STAGE_LOGIN, STAGE_ORG};
use super::request::{self, AuthorizationRequest, Rejection};
use crate::app::App;
use super::claims_request::EssentialAcr;
use super::{par, request_object};
use crate::assurance::{SessionFit, session_fit};
use crate::authn::session;
use crate::identity::PersonStatus;
use crate::identity::acting_for;
use crate::oidc::client::Client;
use crate::web::error::PageError;
use crate::web::form::Params;
use crate::web::i18n::Locale;

pub async fn get(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    handle(&app, &headers, jar, q.unwrap_or_default().as_bytes()).await
}

pub async fn post(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        let locale = flow::page_locale(&app, &headers, &jar, None, None);
        return PageError::new(StatusCode::BAD_REQUEST, locale, "error.malformed").into_response();
    }
    handle(&app, &headers, jar, &body).await
}

async fn handle(app: &App, headers: &HeaderMap, jar: CookieJar, raw: &[u8]) -> Response {
    let parsed = Params::parse_lenient(raw);
    let ui_locales = parsed.as_ref().ok().and_then(|p| p.get("ui_locales"));
    let locale = flow::page_locale(app, headers, &jar, ui_locales, None);
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
            return flow::error_redirect(app, &redirect_uri, state.as_deref(), &error);
        }
    };
    match decide(app, jar, &client, req, locale).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// The request itself: pushed (RFC 9126), signed (RFC 9101), or plain query parameters.
async fn resolve(app: &App, params: &Params, client: &Client) -> Result<AuthorizationRequest, Rejection> {
    if let Some(uri) = params.get("request_uri") {
        if params.has("request") {
            return Err(Rejection::Page(request::PageReason::Malformed));
        }
        // RFC 9126 §4: single use, bound to the client that pushed it; only its parameters count.
        let taken = app.store.take_pushed(&crate::keys::secret::token_hash(uri), app.now()).await;
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

/// With a valid request: reuse the session (SSO), or send the person to sign in or consent.
async fn decide(app: &App, jar: CookieJar, client: &Client, req: AuthorizationRequest, locale: Locale) -> Result<Response, PageError> {
    let now = app.now();
    let internal = |e: crate::store::StoreError| PageError::internal(locale, e);
    if req.essential_acr() == Some(EssentialAcr::Unmeetable) {
        return Ok(refuse(app, &req, ErrorCode::AccessDenied, "the essential acr cannot be met"));
    }
    let required = req.required_acr();
    let mut step_up = false;
    if let Some(s) = session::current(app, &jar, now).await.map_err(internal)? {
        let active = app.store.person(&s.record.person_id).await.map_err(internal)?.is_some_and(|p| p.status == PersonStatus::Active);
        let fit = if active {
            session_fit(s.acr, s.record.auth_time, now, required, req.max_age, req.prompt.login)
        } else {
            SessionFit::Reauthenticate
        };
        if fit == SessionFit::Reuse {
            let granted = app.store.consented_scopes(&s.record.person_id, client.id.as_str()).await.map_err(internal)?;
            let consented = !req.prompt.consent && granted.is_some_and(|g| crate::privacy::consent::covers(&g, &req.scopes));
            let choose_org = acting_for::needs_choice(&req.scopes, None);
            if consented && !choose_org {
                let url = flow::issue_code(app, client, &req, &s, None).await.map_err(internal)?;
                return Ok((jar, Redirect::to(&url)).into_response());
            }
            if req.prompt.none {
                let (code, why) = if consented {
                    (ErrorCode::InteractionRequired, "the person must choose an organisation")
                } else {
                    (ErrorCode::ConsentRequired, "consent is required")
                };
                return Ok(refuse(app, &req, code, why));
            }
            let person = s.record.person_id.clone();
            let stage = if consented { STAGE_ORG } else { STAGE_CONSENT };
            return flow::park(app, jar, client, PendingParams::new(req, false), stage, Some(&person), locale).await;
        }
        step_up = fit == SessionFit::StepUp;
    }
    if req.prompt.none {
        return Ok(refuse(app, &req, ErrorCode::LoginRequired, "the person must sign in"));
    }
    flow::park(app, jar, client, PendingParams::new(req, step_up), STAGE_LOGIN, None, locale).await
}

fn refuse(app: &App, req: &AuthorizationRequest, code: ErrorCode, description: &'static str) -> Response {
    flow::error_redirect(app, &req.redirect_uri, req.state.as_deref(), &OAuthError::new(code, description))
}
