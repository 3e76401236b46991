//! The consent page: exactly the claims the portal asks for, approve or deny.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use crate::app::App;
use crate::audit::{self, Event};
use crate::authn::session::BrowserSession;
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::oidc::flow::{self, Pending, STAGE_CONSENT};
use crate::oidc::scopes;
use crate::web::error::PageError;
use crate::web::form::Params;
use crate::web::pages::{ConsentPage, render};

async fn load(app: &App, headers: &HeaderMap, jar: &CookieJar, r: Option<&str>, lang: Option<&str>) -> Result<(Pending, BrowserSession), PageError> {
    flow::load_with_session(app, headers, jar, r, STAGE_CONSENT, lang).await
}

pub async fn page(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let q = Params::parse_lenient(q.as_deref().unwrap_or_default().as_bytes()).unwrap_or_default();
    let (pending, s) = match load(&app, &headers, &jar, q.get("r"), q.get("lang")).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let person = match app.store.person(&s.record.person_id).await {
        Ok(Some(p)) => p,
        Ok(None) => return PageError::expired(pending.locale).into_response(),
        Err(e) => return PageError::internal(pending.locale, e).into_response(),
    };
    let mut claim_keys: Vec<&'static str> = Vec::new();
    for scope in &pending.request().scopes {
        for key in scopes::labels(scope) {
            if !claim_keys.contains(key) {
                claim_keys.push(key);
            }
        }
    }
    let page = ConsentPage {
        locale: pending.locale,
        switch_href: pending.switch_href("/consent"),
        portal: &pending.client.name,
        request_id: &pending.row.id,
        csrf: pending.csrf(&app),
        claim_keys,
        person_name: person.full_name(),
    };
    (flow::remember_lang(jar, q.get("lang")), render(StatusCode::OK, &page)).into_response()
}

pub async fn submit(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let f = Params::parse(&body).unwrap_or_default();
    let (pending, s) = match load(&app, &headers, &jar, f.get("r"), None).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = pending.check_csrf(&app, f.get("csrf").unwrap_or_default()) {
        return e.into_response();
    }
    let locale = pending.locale;
    let now = app.now();
    let person_id = s.record.person_id.clone();
    let client_id = pending.client.id.as_str().to_string();
    let scopes = pending.request().scopes.clone();
    let result = match f.get("decision") {
        Some("approve") => async {
            let granted = app.store.consented_scopes(&person_id, &client_id).await?.unwrap_or_default();
            let merged = crate::privacy::consent::merge(&granted, &scopes);
            app.store.put_consent(&person_id, &client_id, &merged, now).await?;
            audit::record(&app.store, now, Event::ConsentGranted, Some(&person_id), Some(&client_id), json!({"scopes": scopes})).await?;
            Ok::<_, crate::store::StoreError>(true)
        }
        .await,
        Some("deny") => async {
            audit::record(&app.store, now, Event::ConsentDenied, Some(&person_id), Some(&client_id), json!({"scopes": scopes})).await?;
            Ok(false)
        }
        .await,
        _ => return PageError::new(StatusCode::BAD_REQUEST, locale, "error.malformed").into_response(),
    };
    match result {
        Ok(true) => flow::after_consent(&app, jar, pending, &s).await.unwrap_or_else(IntoResponse::into_response),
        Ok(false) => {
            let req = pending.request().clone();
            match app.store.take_pending(&pending.row.id).await {
                Ok(true) => {
                    let err = OAuthError::new(ErrorCode::AccessDenied, "the person declined to share the requested information");
                    (jar, flow::error_redirect(&app, &req.redirect_uri, req.state.as_deref(), &err)).into_response()
                }
                Ok(false) => PageError::expired(locale).into_response(),
                Err(e) => PageError::internal(locale, e).into_response(),
            }
        }
        Err(e) => PageError::internal(locale, e).into_response(),
    }
}
