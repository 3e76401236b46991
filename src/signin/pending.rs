//! A sign-in parked between pages (`auth_requests`), loaded back for the browser that started
//! it, at the stage the page serves.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use super::purpose::SignIn;
use super::session::{self, BrowserSession};
use super::stage::Stage;
use crate::client::{Client, ClientId};
use crate::crypto::{ct_eq, token_hash};
use crate::state::App;
use crate::store::grants::PendingRequest;
use crate::web::cookies;
use crate::web::error::{PageError, ScriptError};
use crate::web::form::Params;
use crate::web::i18n::Locale;
use crate::web::lang::page_locale;

pub struct Pending {
    pub row: PendingRequest,
    pub stage: Stage,
    pub sign_in: SignIn,
    pub client: Client,
    pub locale: Locale,
    pub browser: String,
}

impl Pending {
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

    /// Whom the person is signing in to, as the pages name it: the portal, or for the account
    /// page the platform's own account (the built-in client's name is an internal one).
    pub fn portal_name(&self) -> String {
        match self.sign_in.purpose {
            super::Purpose::AccountPage { .. } => self.locale.t("account.portal_name"),
            super::Purpose::Console { .. } => self.locale.t("console.portal_name"),
            _ => self.client.name.clone(),
        }
    }

    /// The link that shows the same page in the other language.
    pub fn switch_href(&self, path: &str) -> Option<String> {
        let other = self.locale.other();
        Some(format!("{path}?r={}&lang={}", self.row.id, other.as_str()))
    }
}

/// Loads a sign-in in progress for this browser at the expected stage.
pub async fn load(
    app: &App,
    headers: &HeaderMap,
    jar: &CookieJar,
    request_id: Option<&str>,
    stage: Stage,
    lang: Option<&str>,
) -> Result<Pending, PageError> {
    let fallback = page_locale(app.settings.default_locale, headers, jar, None, lang);
    let expired = || PageError::expired(fallback);
    let id = request_id.filter(|r| r.len() <= 64).ok_or_else(expired)?;
    let row = app.store.pending(id, app.now()).await.map_err(|e| PageError::internal(fallback, e))?.ok_or_else(expired)?;
    let browser = jar.get(cookies::BROWSER).map(|c| c.value().to_string()).ok_or_else(expired)?;
    if !ct_eq(token_hash(&browser).as_bytes(), row.browser_hash.as_bytes()) || row.stage != stage.as_str() {
        return Err(expired());
    }
    let mut sign_in: SignIn = serde_json::from_str(&row.params).map_err(|e| PageError::internal(fallback, e))?;
    // Only a settled consent leads to the organisation page (also for sign-ins parked before
    // the flag was stored).
    sign_in.consented |= stage == Stage::Organisation;
    let client_id = ClientId::parse(&row.client_id).ok_or_else(expired)?;
    let client = app
        .store
        .client(&client_id)
        .await
        .map_err(|e| PageError::internal(fallback, e))?
        .ok_or_else(|| PageError::new(StatusCode::BAD_REQUEST, fallback, "error.unknown_client"))?;
    let locale = page_locale(app.settings.default_locale, headers, jar, sign_in.purpose.ui_locales(), lang);
    Ok(Pending { row, stage, sign_in, client, locale, browser })
}

/// Loads the sign-in a page form was posted for (`r`) and checks the form's CSRF token.
pub async fn load_form(app: &App, headers: &HeaderMap, jar: &CookieJar, form: &Params, stage: Stage) -> Result<Pending, PageError> {
    let pending = load(app, headers, jar, form.get("r"), stage, None).await?;
    pending.check_csrf(app, form.get("csrf").unwrap_or_default())?;
    Ok(pending)
}

/// For a login page's script (`POST …?r=…`, form `csrf`): the sign-in and its CSRF check, with
/// failures as the JSON `{"error": …}` the script reads.
pub async fn load_for_script(
    app: &App,
    headers: &HeaderMap,
    jar: &CookieJar,
    query: Option<&str>,
    body: &[u8],
) -> Result<Pending, Response> {
    let json_error = |status: StatusCode, error: &'static str| ScriptError::new(status, error).into_response();
    let q = Params::parse_lenient(query.unwrap_or_default().as_bytes()).unwrap_or_default();
    let f = Params::parse(body).unwrap_or_default();
    let r = q.get("r").or_else(|| f.get("r"));
    let pending = load(app, headers, jar, r, Stage::Login, None).await.map_err(|e| json_error(e.status, "request_expired"))?;
    if pending.check_csrf(app, f.get("csrf").unwrap_or_default()).is_err() {
        return Err(json_error(StatusCode::FORBIDDEN, "csrf"));
    }
    Ok(pending)
}

/// Loads a sign-in at a stage that follows authentication, with the session of the person it
/// was advanced for.
pub async fn load_with_session(
    app: &App,
    headers: &HeaderMap,
    jar: &CookieJar,
    request_id: Option<&str>,
    stage: Stage,
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
