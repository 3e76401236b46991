//! A sign-in in progress, carried between the authorization endpoint, the login pages and the
//! consent page, and its end: the authorization code sent back to the portal.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};

use super::client::{Client, ClientId};
use super::error::OAuthError;
use super::request::{AuthorizationRequest, redirect_with};
use crate::app::App;
use crate::authn::session::{self, BrowserSession, browser_id};
use crate::identity::acting_for::{self, ActingFor};
use crate::keys::secret::{ct_eq, random_token, token_hash};
use crate::store::StoreError;
use crate::store::grants::{CodeGrant, PendingRequest};
use crate::web::cookies;
use crate::web::error::PageError;
use crate::web::i18n::Locale;

pub const STAGE_LOGIN: &str = "login";
pub const STAGE_TOTP: &str = "totp";
pub const STAGE_CONSENT: &str = "consent";
pub const STAGE_ORG: &str = "organisation";
/// RFC 8628: the person approves or denies a device's request on `/device/confirm`.
pub const STAGE_DEVICE: &str = "device";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingParams {
    pub request: AuthorizationRequest,
    /// The existing session was too weak for the request's acr.
    pub step_up: bool,
    /// The organisation chosen on the organisation page.
    #[serde(default)]
    pub acting_for: Option<ActingFor>,
    /// RFC 8628: this sign-in approves the device code with this user code instead of sending
    /// a code to a portal; `request` then has no redirect URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_user_code: Option<String>,
    /// The person signs in to their own account page (`/account`): no portal, no code.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub account_page: bool,
}

impl PendingParams {
    pub fn new(request: AuthorizationRequest, step_up: bool) -> Self {
        Self { request, step_up, acting_for: None, device_user_code: None, account_page: false }
    }
}

pub struct Pending {
    pub row: PendingRequest,
    pub params: PendingParams,
    pub client: Client,
    pub locale: Locale,
    pub browser: String,
}

impl Pending {
    pub fn request(&self) -> &AuthorizationRequest {
        &self.params.request
    }

    pub fn csrf(&self, app: &App) -> String {
        crate::web::csrf::token(&app.secrets.csrf, &self.browser, &self.row.id)
    }

    pub fn check_csrf(&self, app: &App, presented: &str) -> Result<(), PageError> {
        if crate::web::csrf::verify(&app.secrets.csrf, &self.browser, &self.row.id, presented) {
            Ok(())
        } else {
            Err(PageError::new(StatusCode::FORBIDDEN, self.locale, "error.csrf"))
        }
    }

    /// The link that shows the same page in the other language.
    pub fn switch_href(&self, path: &str) -> Option<String> {
        let other = if self.locale == Locale::Vi { Locale::En } else { Locale::Vi };
        Some(format!("{path}?r={}&lang={}", self.row.id, other.as_str()))
    }
}

/// Page language: an explicit choice (`lang` link, then its cookie), then the portal's
/// `ui_locales`, then the browser's Accept-Language, then the configured default.
pub fn page_locale(app: &App, headers: &HeaderMap, jar: &CookieJar, ui_locales: Option<&str>, lang: Option<&str>) -> Locale {
    lang.and_then(Locale::parse)
        .or_else(|| jar.get(cookies::LANG).and_then(|c| Locale::parse(c.value())))
        .or_else(|| ui_locales.and_then(Locale::from_ui_locales))
        .or_else(|| {
            headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Locale::from_accept_language)
        })
        .unwrap_or(app.settings.default_locale)
}

/// Remembers an explicit language choice.
pub fn remember_lang(jar: CookieJar, lang: Option<&str>) -> CookieJar {
    match lang.and_then(Locale::parse) {
        Some(l) => jar.add(cookies::build(cookies::LANG, l.as_str().to_string(), Some(365 * 24 * 3600))),
        None => jar,
    }
}

/// Loads a sign-in in progress for this browser at the expected stage.
pub async fn load(
    app: &App,
    headers: &HeaderMap,
    jar: &CookieJar,
    request_id: Option<&str>,
    stage: &str,
    lang: Option<&str>,
) -> Result<Pending, PageError> {
    let fallback = page_locale(app, headers, jar, None, lang);
    let expired = || PageError::expired(fallback);
    let id = request_id.filter(|r| r.len() <= 64).ok_or_else(expired)?;
    let row = app.store.pending(id, app.now()).await.map_err(|e| PageError::internal(fallback, e))?.ok_or_else(expired)?;
    let browser = jar.get(cookies::BROWSER).map(|c| c.value().to_string()).ok_or_else(expired)?;
    if !ct_eq(token_hash(&browser).as_bytes(), row.browser_hash.as_bytes()) || row.stage != stage {
        return Err(expired());
    }
    let params: PendingParams = serde_json::from_str(&row.params).map_err(|e| PageError::internal(fallback, e))?;
    let client_id = ClientId::parse(&row.client_id).ok_or_else(expired)?;
    let client = app
        .store
        .client(&client_id)
        .await
        .map_err(|e| PageError::internal(fallback, e))?
        .ok_or_else(|| PageError::new(StatusCode::BAD_REQUEST, fallback, "error.unknown_client"))?;
    let locale = page_locale(app, headers, jar, params.request.ui_locales.as_deref(), lang);
    Ok(Pending { row, params, client, locale, browser })
}

/// Loads the sign-in a page form was posted for (`r`) and checks the form's CSRF token.
pub async fn load_form(app: &App, headers: &HeaderMap, jar: &CookieJar, form: &crate::web::form::Params, stage: &str) -> Result<Pending, PageError> {
    let pending = load(app, headers, jar, form.get("r"), stage, None).await?;
    pending.check_csrf(app, form.get("csrf").unwrap_or_default())?;
    Ok(pending)
}

/// For a login page's script (`POST …?r=…`, form `csrf`): the sign-in and its CSRF check, with
/// failures as the JSON `{"error": …}` the script reads.
pub async fn load_for_script(app: &App, headers: &HeaderMap, jar: &CookieJar, query: Option<&str>, body: &[u8]) -> Result<Pending, Response> {
    let json_error = |status: StatusCode, error: &str| (status, axum::Json(serde_json::json!({ "error": error }))).into_response();
    let q = crate::web::form::Params::parse_lenient(query.unwrap_or_default().as_bytes()).unwrap_or_default();
    let f = crate::web::form::Params::parse(body).unwrap_or_default();
    let r = q.get("r").or_else(|| f.get("r"));
    let pending = load(app, headers, jar, r, STAGE_LOGIN, None).await.map_err(|e| json_error(e.status, "request_expired"))?;
    if pending.check_csrf(app, f.get("csrf").unwrap_or_default()).is_err() {
        return Err(json_error(StatusCode::FORBIDDEN, "csrf"));
    }
    Ok(pending)
}

/// Parks a request while the person signs in or consents, and sends the browser to that page.
pub async fn park(
    app: &App,
    jar: CookieJar,
    client: &Client,
    params: PendingParams,
    stage: &'static str,
    person_id: Option<&str>,
    locale: Locale,
) -> Result<Response, PageError> {
    let (jar, browser) = browser_id(jar);
    let now = app.now();
    let row = PendingRequest {
        id: random_token(),
        browser_hash: token_hash(&browser),
        client_id: client.id.as_str().to_string(),
        params: serde_json::to_string(&params).map_err(|e| PageError::internal(locale, e))?,
        person_id: person_id.map(str::to_owned),
        stage: stage.to_string(),
        expires_at: now + app.settings.sign_in_ttl,
    };
    app.store.insert_pending(&row, now).await.map_err(|e| PageError::internal(locale, e))?;
    Ok((jar, Redirect::to(&stage_url(stage, &row.id))).into_response())
}

fn stage_url(stage: &str, id: &str) -> String {
    let page = match stage {
        STAGE_CONSENT => "/consent",
        STAGE_ORG => "/organisation",
        STAGE_TOTP => "/login/totp",
        STAGE_DEVICE => "/device/confirm",
        _ => "/login",
    };
    format!("{page}?r={id}")
}

/// Loads a sign-in at a stage that follows authentication, with the session of the person it
/// was advanced for.
pub async fn load_with_session(
    app: &App,
    headers: &HeaderMap,
    jar: &CookieJar,
    request_id: Option<&str>,
    stage: &str,
    lang: Option<&str>,
) -> Result<(Pending, BrowserSession), PageError> {
    let pending = load(app, headers, jar, request_id, stage, lang).await?;
    let locale = pending.locale;
    let s = session::current(app, jar, app.now()).await.map_err(|e| PageError::internal(locale, e))?;
    match s {
        Some(s) if pending.row.person_id.as_deref() == Some(s.record.person_id.as_str()) => Ok((pending, s)),
        _ => Err(PageError::expired(locale)),
    }
}

/// After consent was given (or was not needed): choose an organisation if the portal asks for
/// one, otherwise finish.
pub async fn after_consent(app: &App, jar: CookieJar, pending: Pending, session: &BrowserSession) -> Result<Response, PageError> {
    if acting_for::needs_choice(&pending.request().scopes, pending.params.acting_for.as_ref()) {
        let locale = pending.locale;
        let moved = app
            .store
            .advance_pending(&pending.row.id, &pending.row.stage, STAGE_ORG, Some(&session.record.person_id))
            .await
            .map_err(|e| PageError::internal(locale, e))?;
        if !moved {
            return Err(PageError::expired(locale));
        }
        return Ok((jar, Redirect::to(&stage_url(STAGE_ORG, &pending.row.id))).into_response());
    }
    finish(app, jar, pending, session).await
}

/// After a successful sign-in: ask for consent if needed, otherwise finish.
pub async fn after_authentication(app: &App, jar: CookieJar, pending: Pending, session: &BrowserSession) -> Result<Response, PageError> {
    let locale = pending.locale;
    let req = pending.request();
    let person_id = &session.record.person_id;
    if pending.params.account_page {
        return crate::account::after_sign_in(app, jar, &pending).await;
    }
    if pending.params.device_user_code.is_some() {
        // The device page asks every time, whatever was consented before (RFC 8628 §5.4: the
        // person must see which portal the device speaks for).
        let from = pending.row.stage.as_str();
        let moved = app
            .store
            .advance_pending(&pending.row.id, from, STAGE_DEVICE, Some(person_id))
            .await
            .map_err(|e| PageError::internal(locale, e))?;
        if !moved {
            return Err(PageError::expired(locale));
        }
        return Ok((jar, Redirect::to(&stage_url(STAGE_DEVICE, &pending.row.id))).into_response());
    }
    let granted = app
        .store
        .consented_scopes(person_id, pending.client.id.as_str())
        .await
        .map_err(|e| PageError::internal(locale, e))?;
    let needs_consent = req.prompt.consent || !granted.is_some_and(|g| crate::privacy::consent::covers(&g, &req.scopes));
    if needs_consent {
        let from = pending.row.stage.as_str();
        let moved = app
            .store
            .advance_pending(&pending.row.id, from, STAGE_CONSENT, Some(person_id))
            .await
            .map_err(|e| PageError::internal(locale, e))?;
        if !moved {
            return Err(PageError::expired(locale));
        }
        return Ok((jar, Redirect::to(&stage_url(STAGE_CONSENT, &pending.row.id))).into_response());
    }
    after_consent(app, jar, pending, session).await
}

/// Ends the sign-in: the parked request is consumed (once) and the portal receives a code.
pub async fn finish(app: &App, jar: CookieJar, pending: Pending, session: &BrowserSession) -> Result<Response, PageError> {
    let locale = pending.locale;
    if !app.store.take_pending(&pending.row.id).await.map_err(|e| PageError::internal(locale, e))? {
        return Err(PageError::expired(locale));
    }
    if let Some(user_code) = pending.params.device_user_code.as_deref() {
        return super::device_page::approve(app, jar, &pending, session, user_code).await;
    }
    let url = issue_code(app, &pending.client, pending.request(), session, pending.params.acting_for.as_ref())
        .await
        .map_err(|e| PageError::internal(locale, e))?;
    Ok((jar, Redirect::to(&url)).into_response())
}

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
        let met = matches!(essential, super::claims_request::EssentialAcr::AtLeast(a) if session.acr >= a);
        if !met {
            let e = OAuthError::new(super::error::ErrorCode::AccessDenied, "the essential acr was not reached");
            return Ok(redirect_with(
                &req.redirect_uri,
                &app.settings.issuer_str,
                req.state.as_deref(),
                &[("error", e.code.as_str()), ("error_description", &e.description)],
            ));
        }
    }
    let extra_claims = acting_for::extra_claims(&app.store, &session.record.person_id, &req.scopes, acting_for).await?;
    let code = random_token();
    let now = app.now();
    let grant = CodeGrant {
        code_hash: token_hash(&code),
        grant_id: random_token(),
        client_id: client.id.as_str().to_string(),
        redirect_uri: req.redirect_uri.clone(),
        code_challenge: req.code_challenge.clone(),
        person_id: session.record.person_id.clone(),
        subject: crate::privacy::pairwise::subject(&app.secrets.pairwise, client, &session.record.person_id),
        scopes: req.scopes.clone(),
        nonce: req.nonce.clone(),
        auth_time: session.record.auth_time,
        acr: session.record.acr.clone(),
        amr: session.record.amr.clone(),
        sid: session.record.sid.clone(),
        // FAPI 2.0 §5.3.2.1: codes live at most 60 seconds (the configured default already is).
        expires_at: now + app.settings.code_ttl.min(60),
        used_at: None,
        extra_claims,
        jkt: req.dpop_jkt.clone(),
        claims_request: req.claims.clone(),
    };
    app.store.insert_code(&grant).await?;
    Ok(redirect_with(&req.redirect_uri, &app.settings.issuer_str, req.state.as_deref(), &[("code", &code)]))
}

/// An error sent back to the portal (RFC 6749 §4.1.2.1), with `state` and `iss`.
pub fn error_redirect(app: &App, redirect_uri: &str, state: Option<&str>, error: &OAuthError) -> Response {
    let url = redirect_with(
        redirect_uri,
        &app.settings.issuer_str,
        state,
        &[("error", error.code.as_str()), ("error_description", &error.description)],
    );
    Redirect::to(&url).into_response()
}
