//! The end of a sign-in, by purpose: a portal receives a code (or an error) at its redirect
//! URI, a device code is approved (or denied), the account page is shown again.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;

use super::pending::Pending;
use super::purpose::{Purpose, SignIn};
use super::session::BrowserSession;
use crate::audit::{self, Event};
use crate::client::Client;
use crate::crypto::{random_token, token_hash};
use crate::identity::PersonId;
use crate::identity::acting_for::{self, ActingFor};
use crate::protocol::claims_request::EssentialAcr;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::request::{AuthorizationRequest, redirect_with};
use crate::scope::Scopes;
use crate::state::App;
use crate::stats::{Metric, Observation, SubjectType, Who};
use crate::store::StoreError;
use crate::store::devices::DeviceApproval;
use crate::store::grants::CodeGrant;
use crate::web::error::PageError;
use crate::web::i18n::Locale;
use crate::web::pages::render;
use serde_json::json;

/// Why the person ends a sign-in without what it asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Denied on the consent or device page.
    Declined,
    /// The portal asked for an organisation and the person represents none.
    NoOrganisation,
}

impl Refusal {
    fn description(self) -> &'static str {
        match self {
            Refusal::Declined => "the person declined to share the requested information",
            Refusal::NoOrganisation => "the person does not represent any organisation",
        }
    }
}

/// Ends a parked sign-in: it is consumed (once) and reaches its end.
pub async fn finish(app: &App, jar: CookieJar, pending: Pending, session: &BrowserSession) -> Result<Response, PageError> {
    let locale = pending.locale;
    if !app.store.take_pending(&pending.row.id).await.map_err(|e| PageError::internal(locale, e))? {
        return Err(PageError::expired(locale));
    }
    complete(app, jar, &pending.client, &pending.sign_in, session, locale).await
}

/// The end itself, for a sign-in that was parked (and is consumed) or never needed to be.
pub async fn complete(
    app: &App,
    jar: CookieJar,
    client: &Client,
    sign_in: &SignIn,
    session: &BrowserSession,
    locale: Locale,
) -> Result<Response, PageError> {
    count_sign_in(app, client, sign_in, session);
    match &sign_in.purpose {
        Purpose::Portal(req) => {
            let url =
                issue_code(app, client, req, session, sign_in.acting_for.as_ref()).await.map_err(|e| PageError::internal(locale, e))?;
            Ok((jar, Redirect::to(&url)).into_response())
        }
        Purpose::Device { user_code, scopes, .. } => {
            approve_device(app, jar, client, scopes, sign_in.acting_for.as_ref(), session, user_code, locale).await
        }
        Purpose::AccountPage { .. } => Ok((jar, Redirect::to("/account")).into_response()),
        Purpose::Console { .. } => Ok((jar, Redirect::to("/console")).into_response()),
    }
}

/// Counts the sign-in for the statistics (in memory: no database write on this path).
fn count_sign_in(app: &App, client: &Client, sign_in: &SignIn, session: &BrowserSession) {
    let subject_type = if sign_in.acting_for.is_some() {
        SubjectType::OrganisationRepresentative
    } else if acting_for::wants_official(sign_in.purpose.scopes()) {
        SubjectType::Official
    } else {
        SubjectType::Citizen
    };
    let method = if sign_in.authenticated { crate::stats::method_of(&session.record.amr) } else { "sso".into() };
    app.stats.record(Observation {
        at: app.now(),
        metric: Metric::SignIn,
        portal: client.id.to_string(),
        acr: session.acr.as_uri().into(),
        method,
        outcome: "success",
        subject_type,
        who: Who::Person(session.record.person_id.clone()),
    });
}

/// Ends a parked sign-in that the person refused (or cannot complete): the portal receives
/// `access_denied`, a device code is denied.
pub async fn refuse(app: &App, jar: CookieJar, pending: &Pending, why: Refusal) -> Result<Response, PageError> {
    let locale = pending.locale;
    match &pending.sign_in.purpose {
        Purpose::Portal(req) => {
            if !app.store.take_pending(&pending.row.id).await.map_err(|e| PageError::internal(locale, e))? {
                return Err(PageError::expired(locale));
            }
            let err = OAuthError::new(ErrorCode::AccessDenied, why.description());
            Ok((jar, error_redirect(app, &req.redirect_uri, req.state.as_deref(), &err)).into_response())
        }
        Purpose::Device { user_code, .. } => {
            let person_id = pending.row.person_id.as_ref().ok_or_else(|| PageError::expired(locale))?;
            refuse_device(app, jar, pending, person_id, user_code, why).await
        }
        // The account page asks for no consent and no organisation.
        Purpose::AccountPage { .. } | Purpose::Console { .. } => Err(PageError::expired(locale)),
    }
}

// ------------------------------------------------------------------------ devices

#[derive(Template)]
#[template(path = "device_done.html")]
pub struct DeviceDonePage<'a> {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub portal: &'a str,
    pub approved: bool,
    pub message_key: &'static str,
}

pub(super) fn gone(locale: Locale) -> PageError {
    PageError::new(StatusCode::BAD_REQUEST, locale, "device.error.gone")
}

/// A device sign-in that ends without approval (the device has no redirect URI to be told
/// through): the device code is denied, so its next poll gets `access_denied`.
async fn refuse_device(
    app: &App,
    jar: CookieJar,
    pending: &Pending,
    person_id: &PersonId,
    user_code: &str,
    why: Refusal,
) -> Result<Response, PageError> {
    let locale = pending.locale;
    let internal = |e: crate::store::StoreError| PageError::internal(locale, e);
    if !app.store.take_pending(&pending.row.id).await.map_err(internal)? {
        return Err(PageError::expired(locale));
    }
    let now = app.now();
    let client_id = pending.client.id.as_str();
    if !app.store.deny_device_code(user_code, client_id, now).await.map_err(internal)? {
        return Err(gone(locale));
    }
    let reason = if why == Refusal::Declined { "denied" } else { "no_organisation" };
    let detail = json!({ "scopes": pending.sign_in.purpose.scopes(), "reason": reason });
    audit::record(&app.store, now, Event::DeviceDenied, Some(person_id), Some(client_id), detail).await.map_err(internal)?;
    let message_key = if why == Refusal::Declined { "device.done.denied" } else { "device.done.no_organisation" };
    let page = DeviceDonePage { locale, switch_href: None, portal: &pending.client.name, approved: false, message_key };
    Ok((jar, render(StatusCode::OK, &page)).into_response())
}

/// The end of a device sign-in (once the parked sign-in is consumed): the device code records
/// who approved, from which session, and the device's next poll receives the tokens.
#[allow(clippy::too_many_arguments)]
async fn approve_device(
    app: &App,
    jar: CookieJar,
    client: &Client,
    scopes: &Scopes,
    acting_for: Option<&ActingFor>,
    session: &BrowserSession,
    user_code: &str,
    locale: Locale,
) -> Result<Response, PageError> {
    let internal = |e: crate::store::StoreError| PageError::internal(locale, e);
    let person_id = &session.record.person_id;
    let extra_claims = grant_claims(app, person_id, scopes, acting_for).await.map_err(internal)?;
    let approval = DeviceApproval {
        person_id: person_id.clone(),
        subject: crate::privacy::pairwise::subject(&app.secrets.pairwise, client, person_id),
        auth_time: session.record.auth_time,
        acr: session.acr,
        amr: session.record.amr.clone(),
        sid: session.record.sid.clone(),
        extra_claims,
    };
    let now = app.now();
    let client_id = client.id.as_str();
    if !app.store.approve_device_code(user_code, client_id, &approval, now).await.map_err(internal)? {
        return Err(gone(locale));
    }
    let detail = json!({ "scopes": scopes, "acr": approval.acr, "sid": approval.sid });
    audit::record(&app.store, now, Event::DeviceApproved, Some(person_id), Some(client_id), detail).await.map_err(internal)?;
    let page = DeviceDonePage { locale, switch_href: None, portal: &client.name, approved: true, message_key: "device.done.approved" };
    Ok((jar, render(StatusCode::OK, &page)).into_response())
}

// ------------------------------------------------------------------------ portals

/// Stores a fresh single-use code and returns the redirect URL that carries it — or, when the
/// request made an acr essential that this session does not reach, the `access_denied` redirect
/// (OIDC Core §5.5.1.1: never a silent downgrade).
pub async fn issue_code(
    app: &App,
    client: &Client,
    req: &AuthorizationRequest,
    session: &BrowserSession,
    acting_for: Option<&ActingFor>,
) -> Result<String, StoreError> {
    if let Some(essential) = req.essential_acr() {
        let met = matches!(essential, EssentialAcr::AtLeast(a) if session.acr >= a);
        if !met {
            let e = OAuthError::new(ErrorCode::AccessDenied, "the essential acr was not reached");
            return Ok(redirect_with(
                &req.redirect_uri,
                &app.settings.issuer_str,
                req.state.as_deref(),
                &[("error", e.code.as_str()), ("error_description", &e.description)],
            ));
        }
    }
    let extra_claims = grant_claims(app, &session.record.person_id, &req.scopes, acting_for).await?;
    let code = random_token();
    let now = app.now();
    let grant = CodeGrant {
        code_hash: token_hash(&code),
        grant_id: random_token(),
        client_id: client.id.clone(),
        redirect_uri: req.redirect_uri.clone(),
        code_challenge: req.code_challenge.clone(),
        person_id: session.record.person_id.clone(),
        subject: crate::privacy::pairwise::subject(&app.secrets.pairwise, client, &session.record.person_id),
        scopes: req.scopes.clone(),
        nonce: req.nonce.clone(),
        auth_time: session.record.auth_time,
        acr: session.acr,
        amr: session.record.amr.clone(),
        sid: session.record.sid.clone(),
        // FAPI 2.0 §5.3.2.1: codes live at most 60 seconds (the configured default already is).
        expires_at: now + app.settings.code_ttl.min(60),
        used_at: None,
        extra_claims,
        jkt: req.dpop_jkt.clone(),
        claims_request: req.claims.as_ref().map(|c| c.as_str().to_string()),
    };
    app.store.insert_code(&grant).await?;
    Ok(redirect_with(&req.redirect_uri, &app.settings.issuer_str, req.state.as_deref(), &[("code", &code)]))
}

/// The claims decided at sign-in that travel with the grant (`identity::acting_for`), with the
/// official's agency read only when the scopes release it.
pub async fn grant_claims(
    app: &App,
    person_id: &PersonId,
    scopes: &Scopes,
    acting_for: Option<&ActingFor>,
) -> Result<Option<String>, StoreError> {
    let official = if acting_for::wants_official(scopes) { app.store.official(person_id).await? } else { None };
    Ok(acting_for::extra_claims(scopes, acting_for, official.as_ref()))
}

/// An error sent back to the portal (RFC 6749 §4.1.2.1), with `state` and `iss`.
pub fn error_redirect(app: &App, redirect_uri: &str, state: Option<&str>, error: &OAuthError) -> Response {
    let url = redirect_with(
        redirect_uri,
        &app.settings.issuer_str,
        state,
        &[("error", error.code.as_str()), ("error_description", &error.description)],
    );
    error.attach_incident(Redirect::to(&url).into_response())
}
