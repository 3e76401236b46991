//! The person's side of the device authorization grant (RFC 8628 §3.3): `/device`, where the
//! user code shown on the device is entered, and `/device/confirm`, where the person approves or
//! denies after signing in through the ordinary login pages.
//!
//! Entering a valid code starts a sign-in whose purpose is the device (`Purpose::Device`); the
//! login pages run unchanged, the policy asks for this page instead of the consent page, and
//! the end of the sign-in is `finish::approve_device` instead of a code sent to a portal.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use super::finish::{Refusal, gone, refuse as refuse_sign_in};
use super::journey::{advance, start};
use super::pending::{Pending, load_with_session};
use super::purpose::Purpose;
use super::session::{BrowserSession, browser_id};
use super::stage::Stage;
use crate::client::ClientId;
use crate::crypto::token_hash;
use crate::protocol::scopes;
use crate::protocol::user_code::{display_user_code, normalise_user_code};
use crate::state::App;
use crate::web::error::PageError;
use crate::web::form::Params;
use crate::web::i18n::Locale;
use crate::web::lang::{page_locale, remember_lang};
use crate::web::pages::render;
use crate::web::{cookies, csrf};

/// RFC 8628 §5.1: wrong user codes one browser may enter per window. Five tries against 20^8
/// codes leave an attacker a negligible chance per window.
pub const MAX_FAILURES: i64 = 5;
pub const FAILURE_WINDOW_SECS: i64 = 600;

/// The code-entry form has no sign-in yet to bind its CSRF token to; it is bound to the browser
/// and to this purpose.
const CSRF_PURPOSE: &str = "device-code-entry";

#[derive(Template)]
#[template(path = "device.html")]
pub struct DeviceCodePage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub csrf: String,
    pub user_code: String,
    pub error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "device_confirm.html")]
pub struct DeviceConfirmPage<'a> {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub portal: &'a str,
    pub request_id: &'a str,
    pub csrf: String,
    pub user_code: String,
    pub claim_keys: Vec<&'static str>,
    pub person_name: String,
}

fn code_form(app: &App, status: StatusCode, locale: Locale, browser: &str, typed: &str, error: Option<&'static str>) -> Response {
    let typed: String = typed.chars().take(32).collect();
    let other = locale.other();
    let encoded: String = url::form_urlencoded::byte_serialize(typed.as_bytes()).collect();
    let page = DeviceCodePage {
        locale,
        switch_href: Some(format!("/device?lang={}&user_code={encoded}", other.as_str())),
        csrf: csrf::token(&app.secrets.csrf, browser, CSRF_PURPOSE),
        user_code: typed,
        error,
    };
    render(status, &page)
}

/// `GET /device`, optionally prefilled from `verification_uri_complete`.
pub async fn page(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let q = Params::from_query(&q);
    let locale = page_locale(app.settings.default_locale, &headers, &jar, None, q.get("lang"));
    let jar = remember_lang(jar, q.get("lang"));
    let (jar, browser) = browser_id(jar);
    let typed = q.get("user_code").unwrap_or_default();
    (jar, code_form(&app, StatusCode::OK, locale, &browser, typed, None)).into_response()
}

/// `POST /device`: the code typed by the person.
pub async fn submit(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let f = Params::parse(&body).unwrap_or_default();
    let locale = page_locale(app.settings.default_locale, &headers, &jar, None, None);
    let presented = f.get("csrf").unwrap_or_default();
    let browser =
        jar.get(cookies::BROWSER).map(|c| c.value().to_string()).filter(|b| csrf::verify(&app.secrets.csrf, b, CSRF_PURPOSE, presented));
    let Some(browser) = browser else {
        return PageError::new(StatusCode::FORBIDDEN, locale, "error.csrf").into_response();
    };
    match enter_code(&app, jar, &browser, f.get("user_code").unwrap_or_default(), locale).await {
        Ok(r) | Err(r) => r,
    }
}

async fn enter_code(app: &App, jar: CookieJar, browser: &str, typed: &str, locale: Locale) -> Result<Response, Response> {
    let internal = |e: crate::store::StoreError| PageError::internal(locale, e).into_response();
    let now = app.now();
    let browser_hash = token_hash(browser);
    // Checked before the lookup, so that a blocked browser learns nothing, not even from a
    // right guess.
    if app.store.device_code_failures(&browser_hash, now).await.map_err(internal)? >= MAX_FAILURES {
        return Err(code_form(app, StatusCode::TOO_MANY_REQUESTS, locale, browser, typed, Some("device.error.too_many")));
    }
    let found = match normalise_user_code(typed) {
        Some(code) => app.store.pending_device_code(&code, now).await.map_err(internal)?,
        None => None,
    };
    let Some(row) = found else {
        app.store.record_device_code_failure(&browser_hash, now, FAILURE_WINDOW_SECS).await.map_err(internal)?;
        return Err(code_form(app, StatusCode::BAD_REQUEST, locale, browser, typed, Some("device.error.invalid_code")));
    };
    let unknown = || PageError::new(StatusCode::BAD_REQUEST, locale, "error.unknown_client").into_response();
    let client_id = ClientId::parse(&row.client_id).ok_or_else(unknown)?;
    let client = app.store.client(&client_id).await.map_err(internal)?.ok_or_else(unknown)?;
    // The device's scopes and acr_values; no redirect URI, state, nonce or PKCE, which belong to
    // the code grant.
    let purpose = Purpose::Device { user_code: row.user_code, scopes: row.scopes, acr_values: row.acr_values };
    start(app, jar, &client, purpose, locale).await.map_err(IntoResponse::into_response)
}

async fn load(
    app: &App,
    headers: &HeaderMap,
    jar: &CookieJar,
    r: Option<&str>,
    lang: Option<&str>,
) -> Result<(Pending, BrowserSession, String), PageError> {
    let (pending, s) = load_with_session(app, headers, jar, r, Stage::Device, lang).await?;
    let Purpose::Device { user_code, .. } = &pending.sign_in.purpose else {
        return Err(PageError::expired(pending.locale));
    };
    let user_code = user_code.clone();
    Ok((pending, s, user_code))
}

/// `GET /device/confirm`: which portal, which data, approve or deny.
pub async fn confirm_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    jar: CookieJar,
    RawQuery(q): RawQuery,
) -> Result<Response, PageError> {
    let q = Params::from_query(&q);
    let (pending, s, user_code) = load(&app, &headers, &jar, q.get("r"), q.get("lang")).await?;
    let locale = pending.locale;
    let internal = |e: crate::store::StoreError| PageError::internal(locale, e);
    app.store.pending_device_code(&user_code, app.now()).await.map_err(internal)?.ok_or_else(|| gone(locale))?;
    let person = app.store.person(&s.record.person_id).await.map_err(internal)?.ok_or_else(|| PageError::expired(locale))?;
    let page = DeviceConfirmPage {
        locale,
        switch_href: pending.switch_href("/device/confirm"),
        portal: &pending.client.name,
        request_id: &pending.row.id,
        csrf: pending.csrf(&app),
        user_code: display_user_code(&user_code),
        claim_keys: scopes::claim_labels(pending.sign_in.purpose.scopes()),
        person_name: person.full_name(),
    };
    Ok((remember_lang(jar, q.get("lang")), render(StatusCode::OK, &page)).into_response())
}

/// `POST /device/confirm`.
pub async fn confirm_submit(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Result<Response, PageError> {
    let f = Params::parse(&body).unwrap_or_default();
    let (mut pending, s, _) = load(&app, &headers, &jar, f.get("r"), None).await?;
    pending.check_csrf(&app, f.get("csrf").unwrap_or_default())?;
    match f.get("decision") {
        // An organisation may still have to be chosen; the end of the sign-in is `approve`.
        Some("approve") => {
            pending.sign_in.consented = true;
            advance(&app, jar, pending, &s).await
        }
        Some("deny") => refuse_sign_in(&app, jar, &pending, Refusal::Declined).await,
        _ => Err(PageError::new(StatusCode::BAD_REQUEST, pending.locale, "error.malformed")),
    }
}
