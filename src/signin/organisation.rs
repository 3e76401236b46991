//! The organisation page (`/organisation`): a representative chooses which organisation they act for.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use super::finish::{Refusal, refuse};
use super::journey::advance;
use super::pending::{Pending, load_with_session};
use super::stage::Stage;
use crate::identity::Organisation;
use crate::identity::acting_for::ActingFor;
use crate::state::App;
use crate::web::error::PageError;
use crate::web::form::Params;
use crate::web::lang::remember_lang;
use crate::web::pages::{OrgChoice, OrganisationPage, render};

fn role_key(role: &str) -> &'static str {
    match role {
        "legal_representative" => "org.role.legal_representative",
        _ => "org.role.authorised_staff",
    }
}

fn page_for(app: &App, p: &Pending, choices: &[(Organisation, String)], error: Option<&'static str>) -> Response {
    let page = OrganisationPage {
        locale: p.locale,
        switch_href: p.switch_href("/organisation"),
        portal: &p.client.name,
        request_id: &p.row.id,
        csrf: p.csrf(app),
        orgs: choices
            .iter()
            .map(|(o, role)| OrgChoice { code: o.code.clone(), name: o.name.clone(), role_key: role_key(role) })
            .collect(),
        error,
    };
    render(if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK }, &page)
}

/// A person who represents no organisation cannot satisfy the portal (or the device): it is
/// told so.
async fn nothing_to_choose(app: &App, jar: CookieJar, p: &Pending) -> Response {
    refuse(app, jar, p, Refusal::NoOrganisation).await.unwrap_or_else(IntoResponse::into_response)
}

pub async fn page(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let q = Params::parse_lenient(q.as_deref().unwrap_or_default().as_bytes()).unwrap_or_default();
    let (pending, s) = match load_with_session(&app, &headers, &jar, q.get("r"), Stage::Organisation, q.get("lang")).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let choices = match app.store.representations(&s.record.person_id).await {
        Ok(c) => c,
        Err(e) => return PageError::internal(pending.locale, e).into_response(),
    };
    if choices.is_empty() {
        return nothing_to_choose(&app, jar, &pending).await;
    }
    (remember_lang(jar, q.get("lang")), page_for(&app, &pending, &choices, None)).into_response()
}

pub async fn submit(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let f = Params::parse(&body).unwrap_or_default();
    let (mut pending, s) = match load_with_session(&app, &headers, &jar, f.get("r"), Stage::Organisation, None).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = pending.check_csrf(&app, f.get("csrf").unwrap_or_default()) {
        return e.into_response();
    }
    let choices = match app.store.representations(&s.record.person_id).await {
        Ok(c) => c,
        Err(e) => return PageError::internal(pending.locale, e).into_response(),
    };
    if choices.is_empty() {
        return nothing_to_choose(&app, jar, &pending).await;
    }
    // Only an organisation the person really represents can be chosen.
    let Some((org, role)) = choices.iter().find(|(o, _)| Some(o.code.as_str()) == f.get("org")) else {
        return page_for(&app, &pending, &choices, Some("org.error.choose"));
    };
    pending.sign_in.acting_for = Some(ActingFor { code: org.code.clone(), name: org.name.clone(), role: role.clone(), kind: org.kind.clone() });
    advance(&app, jar, pending, &s).await.unwrap_or_else(IntoResponse::into_response)
}
