//! Cross-device sign-in: the desktop login page shows a QR code, the person's app approves.
//!
//! `/login/qr?r=…` creates a *login request* for the sign-in in progress `r`, which is bound to
//! the browser that started it (`signin::pending::load` checks the browser cookie). The QR carries
//! `nixa-login:1:<secret>:<issuer>` — a 256-bit secret, stored only hashed; the page also shows
//! an 8-letter short code for people who type it instead. The app shows the portal's name and
//! the data it asks for, then approves with a device proof (`app_device`). The page polls
//! `/login/qr/status` (`/static/qr-login.js`) and, once approved, posts `/login/qr/continue`,
//! which spends the approval in that same browser only and carries on like a password sign-in:
//! consent, organisation choice and the code follow.
//!
//! Why a photographed QR cannot sign anyone else in: the approval is spent by the sign-in `r`,
//! and only the browser holding `r`'s browser cookie (and the CSRF token derived from it) can
//! continue. What the binding cannot stop is a person approving a QR an attacker sent them
//! (QR phishing): the app therefore names the portal and shows the short code, and requests
//! live two minutes.
//!
//! The app also approves RFC 8628 device codes (`/api/v1/device-approvals/…`), so that a TV or a
//! kiosk without a browser is approved the same way.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde_json::{Value, json};

use super::app_device::{self, ApiError, DeviceCaller, json_response};
use crate::assurance::Acr;
use crate::audit::{self, Event};
use crate::client::{Client, ClientId};
use crate::crypto::{random_token, token_hash};
use crate::identity::{PersonStatus, acting_for};
use crate::protocol::scopes;
use crate::protocol::user_code::{display_user_code, new_user_code, normalise_user_code};
use crate::scope::Scopes;
use crate::signin::journey::{self, Authentication};
use crate::signin::pending::{load, load_form};
use crate::signin::{Pending, SignIn, Stage};
use crate::state::App;
use crate::store::app_devices::{LOGIN_APPROVED, LOGIN_DENIED, LOGIN_PENDING, LOGIN_USED, LoginApproval, LoginRequest};
use crate::store::devices::DeviceApproval;
use crate::web::error::PageError;
use crate::web::form::Params;
use crate::web::i18n::Locale;
use crate::web::pages::{LoginMethod, render};

/// The login page's entry for this method.
pub const APP_METHOD: LoginMethod = LoginMethod { id: "app", title_key: "login.method.app" };
/// A login request lives two minutes: long enough to take the phone out, short enough that a
/// leaked QR is soon worthless.
pub const REQUEST_TTL: i64 = 120;
pub const QR_PREFIX: &str = "nixa-login:1:";
/// Wrong short codes one device may type per window before it is refused for the rest of it.
const MAX_LOOKUP_FAILURES: i64 = 5;
const LOOKUP_WINDOW: i64 = 600;

pub const SCRIPT: &str = include_str!("../web/qr-login.js");

#[derive(Template)]
#[template(path = "login_qr.html")]
pub struct QrLoginPage<'a> {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub portal: &'a str,
    pub request_id: &'a str,
    pub csrf: String,
    pub qr_src: String,
    /// Also a link: on the phone itself the page opens the app directly (same-device sign-in).
    pub qr_payload: String,
    pub short_code: String,
    pub ttl_minutes: i64,
    pub error: Option<&'static str>,
}

/// The QR as an SVG image in a data URI (the CSP allows `img-src data:`, and an image needs no
/// inline style or script).
fn qr_data_uri(payload: &str) -> Option<String> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::M).ok()?;
    let svg = code.render::<svg::Color<'_>>().min_dimensions(240, 240).quiet_zone(true).build();
    Some(format!("data:image/svg+xml;base64,{}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, svg)))
}

/// `GET /static/qr-login.js`: the CSP allows only scripts the server itself serves.
pub async fn script() -> impl IntoResponse {
    crate::web::pages::script(SCRIPT)
}

/// `GET /login/qr?r=…`: a fresh login request (a reload replaces the previous one).
pub async fn page(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let q = Params::from_query(&q);
    let pending = match load(&app, &headers, &jar, q.get("r"), Stage::Login, q.get("lang")).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let jar = crate::web::lang::remember_lang(jar, q.get("lang"));
    match show(&app, &pending, StatusCode::OK, None).await {
        Ok(r) => (jar, r).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn show(app: &App, pending: &Pending, status: StatusCode, error: Option<&'static str>) -> Result<Response, PageError> {
    let locale = pending.locale;
    let now = app.now();
    let secret = random_token();
    for _ in 0..5 {
        let short_code = new_user_code();
        let row = LoginRequest {
            secret_hash: token_hash(&secret),
            short_code: short_code.clone(),
            pending_id: pending.row.id.clone(),
            browser_hash: token_hash(&pending.browser),
            client_id: pending.client.id.clone(),
            status: LOGIN_PENDING.to_string(),
            person_id: None,
            device_id: None,
            acr: None,
            amr: vec![],
            created_at: now,
            expires_at: now + REQUEST_TTL,
        };
        if app.store.insert_login_request(&row).await.map_err(|e| PageError::internal(locale, e))? {
            let payload = format!("{QR_PREFIX}{secret}:{}", app.settings.issuer_str);
            let qr_src = qr_data_uri(&payload).ok_or_else(|| PageError::internal(locale, "the QR code could not be drawn"))?;
            let portal = pending.portal_name();
            let page = QrLoginPage {
                locale,
                switch_href: pending.switch_href("/login/qr"),
                portal: &portal,
                request_id: &pending.row.id,
                csrf: pending.csrf(app),
                qr_src,
                qr_payload: payload,
                short_code: display_user_code(&short_code),
                ttl_minutes: REQUEST_TTL / 60,
                error,
            };
            return Ok(render(status, &page));
        }
    }
    Err(PageError::internal(locale, "no free short code could be drawn"))
}

fn status_json(status: StatusCode, body: Value) -> Response {
    json_response(status, body)
}

/// `GET /login/qr/status?r=…`: what the page polls. Another browser learns nothing.
pub async fn status(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let q = Params::from_query(&q);
    let unknown = || status_json(StatusCode::NOT_FOUND, json!({"status": "unknown"}));
    let Ok(pending) = load(&app, &headers, &jar, q.get("r"), Stage::Login, None).await else { return unknown() };
    let row = match app.store.login_request_of_pending(&pending.row.id).await {
        Ok(Some(r)) => r,
        Ok(None) => return unknown(),
        Err(e) => return ApiError::internal(e).into_response(),
    };
    if row.browser_hash != token_hash(&pending.browser) {
        return unknown();
    }
    let now = app.now();
    let state = match row.status.as_str() {
        LOGIN_PENDING if row.expires_at <= now => "expired",
        LOGIN_PENDING => "pending",
        LOGIN_APPROVED => "approved",
        LOGIN_DENIED => "denied",
        _ => "expired",
    };
    status_json(StatusCode::OK, json!({"status": state, "expires_in": (row.expires_at - now).max(0)}))
}

/// `POST /login/qr/continue`: spends the approval in the browser that asked, and signs in.
pub async fn continue_submit(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let f = Params::parse(&body).unwrap_or_default();
    let pending = match load_form(&app, &headers, &jar, &f, Stage::Login).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    match proceed(&app, jar, pending).await {
        Ok(r) | Err(r) => r,
    }
}

async fn proceed(app: &App, jar: CookieJar, pending: Pending) -> Result<Response, Response> {
    let locale = pending.locale;
    let internal = |e: &dyn crate::web::incident::Cause| PageError::internal_of(locale, e).into_response();
    let row = app.store.login_request_of_pending(&pending.row.id).await.map_err(|e| internal(&e))?;
    let Some(row) = row else { return Err(PageError::expired(locale).into_response()) };
    match row.status.as_str() {
        LOGIN_APPROVED => {}
        // A refused or expired code is spent: a fresh one is shown with the reason.
        LOGIN_DENIED => {
            return Err(show(app, &pending, StatusCode::FORBIDDEN, Some("qr.error.denied")).await.map_err(IntoResponse::into_response)?);
        }
        LOGIN_USED => return Err(PageError::expired(locale).into_response()),
        _ if row.expires_at <= app.now() => {
            return Err(show(app, &pending, StatusCode::GONE, Some("qr.expired")).await.map_err(IntoResponse::into_response)?);
        }
        // The code on screen is still good: no new one, so that the app can still approve it.
        _ => return Err(PageError::new(StatusCode::CONFLICT, locale, "qr.error.not_yet").into_response()),
    }
    if !app.store.use_login_request(&pending.row.id, &token_hash(&pending.browser)).await.map_err(|e| internal(&e))? {
        return Err(PageError::expired(locale).into_response());
    }
    let person_id = row.person_id.as_ref().ok_or_else(|| internal(&"an approved login request lacks its person"))?;
    let person = app.store.person(person_id).await.map_err(|e| internal(&e))?.ok_or_else(|| PageError::expired(locale).into_response())?;
    if person.status != PersonStatus::Active {
        return Err(PageError::new(StatusCode::FORBIDDEN, locale, "login.error.inactive").into_response());
    }
    let acr = row.acr.as_deref().and_then(Acr::parse).ok_or_else(|| internal(&"an approved login request lacks its acr"))?;
    let amr: Vec<crate::assurance::Amr> = row.amr.iter().filter_map(|a| amr_of(a)).collect();
    let auth = Authentication {
        person_id: &person.id,
        acr,
        amr,
        detail: json!({"method": "app", "device_id": row.device_id}),
        upstream_session: None,
    };
    journey::authenticated(app, jar, pending, auth).await.map_err(IntoResponse::into_response)
}

fn amr_of(s: &str) -> Option<crate::assurance::Amr> {
    use crate::assurance::Amr::*;
    [Pwd, Otp, Hwk, Swk, User, Pin, Fpt, Face, Sc, Mfa].into_iter().find(|a| a.as_str() == s)
}

// ---- the app's side ----

/// What the app sent: the QR text, the bare secret, or the short code.
enum Reference {
    Secret(String),
    ShortCode(String),
}

fn reference(app: &App, text: &str) -> Result<Reference, ApiError> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix(QR_PREFIX) {
        let (secret, issuer) = rest.split_once(':').ok_or_else(|| ApiError::invalid_request("the QR text is malformed"))?;
        if issuer != app.settings.issuer_str {
            return Err(ApiError::invalid_request("this QR code belongs to another issuer"));
        }
        return Ok(Reference::Secret(secret.to_string()));
    }
    if text.len() == 43 {
        return Ok(Reference::Secret(text.to_string()));
    }
    normalise_user_code(text)
        .map(Reference::ShortCode)
        .ok_or_else(|| ApiError::invalid_request("request must be the QR text or the short code"))
}

/// Finds the login request the app refers to. Wrong short codes are counted per device, so that
/// an enrolled device cannot walk the short-code space.
async fn find(app: &App, caller: &DeviceCaller) -> Result<LoginRequest, ApiError> {
    let text = caller.str_claim("request").ok_or_else(|| ApiError::invalid_request("the proof must carry request"))?;
    let now = app.now();
    let found = match reference(app, text)? {
        Reference::Secret(s) => app.store.login_request_by_secret(&token_hash(&s)).await?,
        Reference::ShortCode(c) => {
            if app.store.app_device_lookup_failures(&caller.device.id, now).await? >= MAX_LOOKUP_FAILURES {
                return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "slow_down", "too many wrong short codes; wait 10 minutes"));
            }
            let r = app.store.login_request_by_short_code(&c).await?;
            if r.is_none() {
                app.store.record_app_device_lookup_failure(&caller.device.id, now, LOOKUP_WINDOW).await?;
            }
            r
        }
    };
    let row = found.ok_or_else(|| ApiError::not_found("unknown login request"))?;
    if row.status != LOGIN_PENDING {
        return Err(ApiError::conflict("this login request was already answered"));
    }
    if row.expires_at <= now {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "expired_token", "this login request has expired; start again on the computer"));
    }
    Ok(row)
}

async fn client_of(app: &App, client_id: &str) -> Result<Client, ApiError> {
    let id = ClientId::parse(client_id).ok_or_else(|| ApiError::internal("a stored client id is malformed"))?;
    app.store.client(&id).await?.ok_or_else(|| ApiError::not_found("the portal is no longer registered"))
}

/// What a portal will receive, as label keys with both languages' text.
fn data_labels(scopes_: &Scopes) -> Vec<Value> {
    scopes::claim_labels(scopes_).iter().map(|k| json!({"key": k, "vi": Locale::Vi.t(k), "en": Locale::En.t(k)})).collect()
}

async fn scopes_of_pending(app: &App, pending_id: &str) -> Result<Scopes, ApiError> {
    let row =
        app.store.pending(pending_id, app.now()).await?.ok_or_else(|| ApiError::not_found("the sign-in on the computer has ended"))?;
    let sign_in: SignIn = serde_json::from_str(&row.params).map_err(ApiError::internal)?;
    Ok(sign_in.purpose.scopes().clone())
}

fn run_json(r: Result<Response, ApiError>) -> Response {
    r.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /api/v1/login-requests/show`: the portal and the data, for the approval screen.
pub async fn api_show(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    run_json(
        async {
            let caller = app_device::authenticate(&app, &headers, "POST", "/api/v1/login-requests/show").await?;
            let row = find(&app, &caller).await?;
            let client = client_of(&app, &row.client_id).await?;
            let scopes_ = scopes_of_pending(&app, &row.pending_id).await?;
            Ok(json_response(
                StatusCode::OK,
                json!({
                    "kind": "login",
                    "portal": {"client_id": client.id.as_str(), "name": client.name},
                    "scopes": scopes_,
                    "data": data_labels(&scopes_),
                    "short_code": display_user_code(&row.short_code),
                    "expires_in": row.expires_at - app.now(),
                }),
            ))
        }
        .await,
    )
}

/// The approver's decision, from the proof: `decision` (approve | deny) and `uv` (the app
/// checked the person's biometrics or PIN).
fn decision(caller: &DeviceCaller) -> Result<(bool, bool), ApiError> {
    let approve = match caller.str_claim("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => return Err(ApiError::invalid_request("decision must be approve or deny")),
    };
    let uv = caller.claims.get("uv").and_then(Value::as_bool).unwrap_or(false);
    Ok((approve, uv))
}

/// `POST /api/v1/login-requests/approve`: approves (or denies) for the device's person.
pub async fn api_approve(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    run_json(
        async {
            let caller = app_device::authenticate(&app, &headers, "POST", "/api/v1/login-requests/approve").await?;
            let (approve, uv) = decision(&caller)?;
            let row = find(&app, &caller).await?;
            let now = app.now();
            let person_id = &caller.person.id;
            if !approve {
                if !app.store.deny_login_request(&row.secret_hash, &caller.device.id, now).await? {
                    return Err(lost_race(&app, &row.secret_hash).await);
                }
                let detail = json!({"device_id": caller.device.id});
                audit::record(&app.store, now, Event::AppLoginDenied, Some(person_id), Some(&row.client_id), detail).await?;
                return Ok(json_response(StatusCode::OK, json!({"status": "denied"})));
            }
            let (acr, amr) = app_device::approval_assurance(&caller.person, &caller.device, uv);
            let approval = LoginApproval { person_id, device_id: &caller.device.id, acr: acr.as_uri(), amr: &amr };
            if !app.store.approve_login_request(&row.secret_hash, &approval, now).await? {
                return Err(lost_race(&app, &row.secret_hash).await);
            }
            let detail = json!({"device_id": caller.device.id, "acr": acr.as_uri(), "amr": amr});
            audit::record(&app.store, now, Event::AppLoginApproved, Some(person_id), Some(&row.client_id), detail).await?;
            Ok(json_response(StatusCode::OK, json!({"status": "approved", "acr": acr.as_uri(), "amr": amr})))
        }
        .await,
    )
}

/// The request changed between reading and deciding: say what happened to it.
async fn lost_race(app: &App, secret_hash: &str) -> ApiError {
    match app.store.login_request_by_secret(secret_hash).await {
        Ok(Some(r)) if r.status == LOGIN_PENDING => {
            ApiError::new(StatusCode::BAD_REQUEST, "expired_token", "this login request has expired; start again on the computer")
        }
        Ok(_) => ApiError::conflict("this login request was already answered"),
        Err(e) => ApiError::internal(e),
    }
}

// ---- RFC 8628 device codes approved by the app ----

async fn find_device_code(app: &App, caller: &DeviceCaller) -> Result<crate::store::devices::DeviceCode, ApiError> {
    let typed = caller.str_claim("user_code").ok_or_else(|| ApiError::invalid_request("the proof must carry user_code"))?;
    let now = app.now();
    if app.store.app_device_lookup_failures(&caller.device.id, now).await? >= MAX_LOOKUP_FAILURES {
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "slow_down", "too many wrong codes; wait 10 minutes"));
    }
    let found = match normalise_user_code(typed) {
        Some(c) => app.store.pending_device_code(&c, now).await?,
        None => None,
    };
    match found {
        Some(row) => Ok(row),
        None => {
            app.store.record_app_device_lookup_failure(&caller.device.id, now, LOOKUP_WINDOW).await?;
            Err(ApiError::not_found("this code is wrong, has expired or was already answered"))
        }
    }
}

/// `POST /api/v1/device-approvals/show`.
pub async fn api_device_show(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    run_json(
        async {
            let caller = app_device::authenticate(&app, &headers, "POST", "/api/v1/device-approvals/show").await?;
            let row = find_device_code(&app, &caller).await?;
            let client = client_of(&app, &row.client_id).await?;
            Ok(json_response(
                StatusCode::OK,
                json!({
                    "kind": "device",
                    "portal": {"client_id": client.id.as_str(), "name": client.name},
                    "scopes": row.scopes,
                    "data": data_labels(&row.scopes),
                    "user_code": display_user_code(&row.user_code),
                    "expires_in": row.expires_at - app.now(),
                }),
            ))
        }
        .await,
    )
}

/// `POST /api/v1/device-approvals/approve`: decides an RFC 8628 device code for the device's
/// person, as `/device/confirm` does for a browser.
pub async fn api_device_approve(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    run_json(
        async {
            let caller = app_device::authenticate(&app, &headers, "POST", "/api/v1/device-approvals/approve").await?;
            let (approve, uv) = decision(&caller)?;
            let row = find_device_code(&app, &caller).await?;
            let client = client_of(&app, &row.client_id).await?;
            let now = app.now();
            let person_id = &caller.person.id;
            if !approve {
                if !app.store.deny_device_code(&row.user_code, &row.client_id, now).await? {
                    return Err(ApiError::conflict("this device request was already answered"));
                }
                let detail = json!({"scopes": row.scopes, "reason": "denied", "device_id": caller.device.id});
                audit::record(&app.store, now, Event::DeviceDenied, Some(person_id), Some(&row.client_id), detail).await?;
                return Ok(json_response(StatusCode::OK, json!({"status": "denied"})));
            }
            if acting_for::needs_choice(&row.scopes, None) {
                return Err(ApiError::invalid_request(
                    "this service asks for an organisation; approve it in a browser, where one can be chosen",
                ));
            }
            let (acr, amr) = app_device::approval_assurance(&caller.person, &caller.device, uv);
            if row.acr_values.as_deref().and_then(Acr::minimum_of).is_some_and(|required| acr < required) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "insufficient_user_authentication",
                    "this service asks for a higher level of assurance than this device provides",
                ));
            }
            let extra_claims = crate::signin::finish::grant_claims(&app, person_id, &row.scopes, None).await?;
            let approval = DeviceApproval {
                person_id: person_id.clone(),
                subject: crate::privacy::pairwise::subject(&app.secrets.pairwise, &client, person_id),
                auth_time: now,
                acr,
                amr: amr.clone(),
                // No browser session stands behind an app approval; the sid only names this one.
                sid: random_token(),
                extra_claims,
            };
            if !app.store.approve_device_code(&row.user_code, &row.client_id, &approval, now).await? {
                return Err(ApiError::conflict("this device request was already answered"));
            }
            let detail = json!({"scopes": row.scopes, "acr": approval.acr, "sid": approval.sid, "device_id": caller.device.id});
            audit::record(&app.store, now, Event::DeviceApproved, Some(person_id), Some(&row.client_id), detail).await?;
            Ok(json_response(StatusCode::OK, json!({"status": "approved", "acr": approval.acr, "amr": amr})))
        }
        .await,
    )
}
