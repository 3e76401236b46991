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
use crate::identity::acting_for::ActingFor;
use crate::identity::{Organisation, RepresentativeRole};
use crate::state::App;
use crate::web::error::PageError;
use crate::web::form::Params;
use crate::web::lang::remember_lang;
use crate::web::pages::{OrgChoice, OrganisationPage, render};

fn role_key(role: RepresentativeRole) -> &'static str {
    match role {
        RepresentativeRole::LegalRepresentative => "org.role.legal_representative",
        RepresentativeRole::AuthorisedStaff => "org.role.authorised_staff",
    }
}

fn page_for(app: &App, p: &Pending, choices: &[(Organisation, RepresentativeRole)], error: Option<&'static str>) -> Response {
    let page = OrganisationPage {
        locale: p.locale,
        switch_href: p.switch_href("/organisation"),
        portal: &p.client.name,
        request_id: &p.row.id,
        csrf: p.csrf(app),
        orgs: choices.iter().map(|(o, role)| OrgChoice { code: o.code.clone(), name: o.name.clone(), role_key: role_key(*role) }).collect(),
        error,
    };
    render(if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK }, &page)
}

pub async fn page(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Result<Response, PageError> {
    let q = Params::from_query(&q);
    let (pending, s) = load_with_session(&app, &headers, &jar, q.get("r"), Stage::Organisation, q.get("lang")).await?;
    let choices = app.store.representations(&s.record.person_id).await.map_err(|e| PageError::internal(pending.locale, e))?;
    if choices.is_empty() {
        // A person who represents no organisation cannot satisfy the portal (or the device):
        // it is told so.
        return refuse(&app, jar, &pending, Refusal::NoOrganisation).await;
    }
    Ok((remember_lang(jar, q.get("lang")), page_for(&app, &pending, &choices, None)).into_response())
}

pub async fn submit(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Result<Response, PageError> {
    let f = Params::parse(&body).unwrap_or_default();
    let (mut pending, s) = load_with_session(&app, &headers, &jar, f.get("r"), Stage::Organisation, None).await?;
    pending.check_csrf(&app, f.get("csrf").unwrap_or_default())?;
    let choices = app.store.representations(&s.record.person_id).await.map_err(|e| PageError::internal(pending.locale, e))?;
    if choices.is_empty() {
        return refuse(&app, jar, &pending, Refusal::NoOrganisation).await;
    }
    // Only an organisation the person really represents can be chosen.
    let Some((org, role)) = choices.iter().find(|(o, _)| Some(o.code.as_str()) == f.get("org")) else {
        return Ok(page_for(&app, &pending, &choices, Some("org.error.choose")));
    };
    pending.sign_in.acting_for = Some(ActingFor { code: org.code.clone(), name: org.name.clone(), role: *role, kind: org.kind.clone() });
    advance(&app, jar, pending, &s).await
}
