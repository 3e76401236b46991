//! The consent page (`/consent`): exactly the claims the portal asks for, approve or deny.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use super::finish::{Refusal, refuse};
use super::journey::advance;
use super::pending::{Pending, load_with_session};
use super::session::BrowserSession;
use super::stage::Stage;
use crate::audit::{self, Event};
use crate::protocol::scopes;
use crate::state::App;
use crate::web::error::PageError;
use crate::web::form::Params;
use crate::web::lang::remember_lang;
use crate::web::pages::{ConsentPage, render};

async fn load(
    app: &App,
    headers: &HeaderMap,
    jar: &CookieJar,
    r: Option<&str>,
    lang: Option<&str>,
) -> Result<(Pending, BrowserSession), PageError> {
    load_with_session(app, headers, jar, r, Stage::Consent, lang).await
}

pub async fn page(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Result<Response, PageError> {
    let q = Params::from_query(&q);
    let (pending, s) = load(&app, &headers, &jar, q.get("r"), q.get("lang")).await?;
    let locale = pending.locale;
    let person = app
        .store
        .person(&s.record.person_id)
        .await
        .map_err(|e| PageError::internal(locale, e))?
        .ok_or_else(|| PageError::expired(locale))?;
    let page = ConsentPage {
        locale,
        switch_href: pending.switch_href("/consent"),
        portal: &pending.client.name,
        request_id: &pending.row.id,
        csrf: pending.csrf(&app),
        claim_keys: scopes::claim_labels(pending.sign_in.purpose.scopes()),
        person_name: person.full_name(),
        purposes: scopes::purposes(&pending.client, pending.sign_in.purpose.scopes()),
        responsible: pending.client.options.responsible_organisation.as_ref(),
        legal_basis: pending.client.options.legal_basis.as_ref(),
    };
    Ok((remember_lang(jar, q.get("lang")), render(StatusCode::OK, &page)).into_response())
}

pub async fn submit(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Result<Response, PageError> {
    let f = Params::parse(&body).unwrap_or_default();
    let (mut pending, s) = load(&app, &headers, &jar, f.get("r"), None).await?;
    pending.check_csrf(&app, f.get("csrf").unwrap_or_default())?;
    let locale = pending.locale;
    let internal = |e: crate::store::StoreError| PageError::internal(locale, e);
    let now = app.now();
    let person_id = s.record.person_id.clone();
    let client_id = pending.client.id.as_str().to_string();
    let scopes = pending.sign_in.purpose.scopes().clone();
    match f.get("decision") {
        Some("approve") => {
            let granted = app.store.consented_scopes(&person_id, &client_id).await.map_err(internal)?.unwrap_or_default();
            let merged = crate::privacy::consent::merge(&granted, &scopes);
            app.store.put_consent(&person_id, &client_id, &merged, now).await.map_err(internal)?;
            let detail = json!({"scopes": scopes});
            app.stats.record(crate::stats::Observation::consent(now, crate::stats::Metric::ConsentGiven, &client_id, &person_id));
            audit::record(&app.store, now, Event::ConsentGranted, Some(&person_id), Some(&client_id), detail).await.map_err(internal)?;
            pending.sign_in.consented = true;
            advance(&app, jar, pending, &s).await
        }
        Some("deny") => {
            let detail = json!({"scopes": scopes});
            audit::record(&app.store, now, Event::ConsentDenied, Some(&person_id), Some(&client_id), detail).await.map_err(internal)?;
            refuse(&app, jar, &pending, Refusal::Declined).await
        }
        _ => Err(PageError::new(StatusCode::BAD_REQUEST, locale, "error.malformed")),
    }
}
