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
use crate::assurance::{Acr, SessionFit, session_fit};
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
    let req = match request::validate(params, &client) {
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

/// With a valid request: reuse the session (SSO), or send the person to sign in or consent.
async fn decide(app: &App, jar: CookieJar, client: &Client, req: AuthorizationRequest, locale: Locale) -> Result<Response, PageError> {
    let now = app.now();
    let internal = |e: crate::store::StoreError| PageError::internal(locale, e);
    let required = req.acr_values.as_deref().and_then(Acr::minimum_of);
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
