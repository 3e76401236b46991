//! The person's own account page (`/account`) and the passkeys managed from it.
//!
//! Signing in to the account page reuses the ordinary sign-in: without a session, `/account`
//! starts a sign-in whose purpose is the account page (`signin::Purpose::AccountPage`), for the
//! built-in first-party client `nixa-account` (created on first use); it ends back here instead
//! of issuing a code. So every login method, throttling and audit rule applies unchanged, and
//! no code or token is minted.
//!
//! Adding a passkey or an authenticator app asks for a recent sign-in (`auth_time` within
//! [`RECENT_SECS`]) that was multi-factor (acr ≥ loa:2). A level-1 person with no second factor
//! cannot reach loa:2 by password, so for them a recent password sign-in is enough: the new
//! factor is then their first. Setting or changing the password asks for a recent sign-in; a
//! person who signed in with a certificate or an upstream provider can so set their first
//! password (`factors`).

pub mod consents;
pub mod data;
pub mod disclosures;
pub mod factors;
pub mod upstreams;
use std::sync::Arc;

use askama::Template;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use crate::assurance::Acr;
use crate::audit::{self, Event};
use crate::authn::passkey::{self, NAME_MAX, PasskeyError};
use crate::client::Client;
use crate::identity::{AccountLevel, Person};
use crate::signin::session::{self, BrowserSession};
use crate::signin::{Purpose, journey};
use crate::state::App;
use crate::store::StoreError;
use crate::web::error::{PageError, ScriptError};
use crate::web::form::Params;
use crate::web::i18n::Locale;
use crate::web::incident::Incident;
use crate::web::lang::{page_locale, remember_lang};
use crate::web::pages::render;

/// The built-in client the account page signs in through.
pub use crate::client::ACCOUNT_CLIENT;
/// How recent a sign-in must be to add a passkey.
pub const RECENT_SECS: i64 = 600;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("no live session")]
    NoSession,
    #[error("the form was not sent from the account page")]
    Csrf,
    #[error("a recent multi-factor sign-in is required")]
    Reauthenticate,
    #[error(transparent)]
    Passkey(#[from] PasskeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the account of this session is gone")]
    PersonGone,
}

impl AccountError {
    fn code(&self) -> &'static str {
        match self {
            AccountError::NoSession | AccountError::PersonGone => "login_required",
            AccountError::Csrf => "csrf",
            AccountError::Reauthenticate => "reauthentication_required",
            AccountError::Passkey(e) => e.code(),
            AccountError::Store(_) => "server_error",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            AccountError::NoSession | AccountError::PersonGone => StatusCode::UNAUTHORIZED,
            AccountError::Csrf | AccountError::Reauthenticate => StatusCode::FORBIDDEN,
            AccountError::Passkey(e) if e.is_internal() => StatusCode::INTERNAL_SERVER_ERROR,
            AccountError::Passkey(_) => StatusCode::BAD_REQUEST,
            AccountError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn message_key(&self) -> &'static str {
        match self {
            AccountError::NoSession | AccountError::PersonGone => "account.error.login_required",
            AccountError::Csrf => "error.csrf",
            AccountError::Reauthenticate => "account.error.reauthenticate",
            AccountError::Passkey(e) => e.message_key(),
            AccountError::Store(_) => "error.internal",
        }
    }

    fn json(&self) -> Response {
        if self.status() == StatusCode::INTERNAL_SERVER_ERROR {
            return ScriptError { status: self.status(), code: self.code(), incident: Some(Incident::of(self)) }.into_response();
        }
        ScriptError::new(self.status(), self.code()).into_response()
    }

    fn page(&self, locale: Locale) -> Response {
        if self.status() == StatusCode::INTERNAL_SERVER_ERROR {
            return PageError::internal_of(locale, self).into_response();
        }
        PageError::new(self.status(), locale, self.message_key()).into_response()
    }
}

/// What the account handlers start from: the live session, its person, and the page language.
struct Ctx {
    session: BrowserSession,
    person: Person,
    has_password: bool,
    has_totp: bool,
    /// The person's passkeys, read once: the rules and the page both need them.
    passkeys: Vec<crate::store::passkeys::PasskeyRecord>,
    locale: Locale,
}

impl Ctx {
    fn csrf(&self, app: &App) -> String {
        crate::web::csrf::token(&app.secrets.csrf, &self.session.id_hash, "account")
    }

    fn check_csrf(&self, app: &App, presented: &str) -> Result<(), AccountError> {
        if crate::web::csrf::verify(&app.secrets.csrf, &self.session.id_hash, "account", presented) {
            Ok(())
        } else {
            Err(AccountError::Csrf)
        }
    }

    fn has_second_factor(&self) -> bool {
        self.has_totp || !self.passkeys.is_empty()
    }

    fn recent(&self, now: i64) -> bool {
        now - self.session.record.auth_time <= RECENT_SECS
    }

    /// The registration rule of the module documentation. A level-1 person's first second
    /// factor needs only a recent sign-in; once they have one (app or passkey), adding or
    /// removing a factor needs a multi-factor sign-in, so a stolen password (or a recovery by
    /// SMS) cannot add the thief's own factor.
    fn may_register(&self, now: i64) -> bool {
        let first = self.person.account_level == AccountLevel::Level1 && !self.has_second_factor();
        self.recent(now) && (self.session.acr >= Acr::Loa2 || first)
    }
}

async fn context(app: &App, headers: &HeaderMap, jar: &CookieJar, lang: Option<&str>) -> Result<Ctx, (AccountError, Locale)> {
    let locale = page_locale(app.settings.default_locale, headers, jar, None, lang);
    let fail = |e: AccountError| (e, locale);
    let s = session::current(app, jar, app.now()).await.map_err(|e| fail(e.into()))?.ok_or(fail(AccountError::NoSession))?;
    let (person, state) =
        app.store.person_for_login_by_id(&s.record.person_id).await.map_err(|e| fail(e.into()))?.ok_or(fail(AccountError::PersonGone))?;
    let passkeys = app.store.passkeys_of(&person.id).await.map_err(|e| fail(e.into()))?;
    Ok(Ctx {
        session: s,
        has_password: state.password_hash.is_some(),
        has_totp: state.totp_secret_sealed.is_some(),
        passkeys,
        person,
        locale,
    })
}

// ------------------------------------------------------------------------------ signing in

async fn account_client(app: &App) -> Result<Client, StoreError> {
    journey::built_in_client(app, ACCOUNT_CLIENT, "nixa", "/account").await
}

/// Starts a sign-in that returns to the account page: the browser goes to the login page.
async fn start_sign_in(app: &App, jar: CookieJar, locale: Locale) -> Response {
    start_sign_in_with(app, jar, locale, None).await
}

/// The same, straight to one upstream provider (to link it to the account).
async fn start_sign_in_with(app: &App, jar: CookieJar, locale: Locale, idp_hint: Option<String>) -> Response {
    let client = match account_client(app).await {
        Ok(c) => c,
        Err(e) => return PageError::internal(locale, e).into_response(),
    };
    let purpose = Purpose::AccountPage { idp_hint, ui_locales: Some(locale.as_str().into()) };
    journey::start(app, jar, &client, purpose, locale).await.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /account/signin`: sign in (again), e.g. to make the session recent enough for adding a
/// passkey.
pub async fn sign_in(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let q = Params::from_query(&q);
    let locale = page_locale(app.settings.default_locale, &headers, &jar, None, q.get("lang"));
    start_sign_in(&app, jar, locale).await
}

// ------------------------------------------------------------------------------------ page

pub struct PasskeyRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: Option<String>,
    pub synced: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub name: String,
    pub personal_id: String,
    pub level: i64,
    pub csrf: String,
    pub passkeys: Vec<PasskeyRow>,
    pub may_register: bool,
    pub name_max: usize,
    pub error: Option<&'static str>,
    /// Upstream sign-in providers and whether each is linked to this account.
    pub upstreams: Vec<upstreams::UpstreamRow>,
    /// The portals the person allowed to receive their data.
    pub consents: Vec<consents::ConsentRow>,
    /// The password and authenticator-app section.
    pub factors: factors::FactorsView,
    /// My data, sessions, sign-in history, correction requests, the latest disclosures.
    pub data: data::DataView,
    pub correction_fields: &'static [&'static str],
    pub message_max: usize,
    /// The person's identity QR (SVG data URI), and a presentation QR when one was asked for.
    pub qr: Option<String>,
    pub presentation_qr: Option<String>,
}

/// `12 digits` → first three and last three shown.
pub fn mask_personal_id(pid: &str) -> String {
    let n = pid.chars().count();
    pid.chars().enumerate().map(|(i, c)| if i < 3 || i + 3 >= n { c } else { '•' }).collect()
}

pub(crate) fn format_time(t: i64) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(t).ok().and_then(|d| d.format(&f).ok()).unwrap_or_default()
}

/// Claim 169 fields a person may tick for a presentation QR.
use crate::credentials::person::PRESENTABLE;

/// A signed QR of the person as an SVG data URI: the identity credential (24 h, re-issued on each
/// view) or, with `fields`, a presentation credential of those fields, a fresh nonce and `minutes`.
fn person_qr(app: &App, p: &crate::identity::person::Person, fields: Option<&[String]>, minutes: i64) -> Option<String> {
    let issued = crate::credentials::person::issue(app, p, fields, minutes, None).ok()?;
    let svg = crate::credentials::render::svg(&issued.text).ok()?;
    Some(format!("data:image/svg+xml;base64,{}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, svg)))
}

async fn render_page(app: &App, ctx: &Ctx, status: StatusCode, error: Option<&'static str>) -> Response {
    render_page_with(app, ctx, status, error, None).await
}

async fn render_page_with(app: &App, ctx: &Ctx, status: StatusCode, error: Option<&'static str>, q: Option<&Params>) -> Response {
    let p = &ctx.person;
    let name = [p.family_name.as_str(), p.middle_name.as_str(), p.given_name.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let other = ctx.locale.other();
    let presentation: Option<(Vec<String>, i64)> = q.filter(|q| q.get("present").is_some()).map(|q| {
        let fields: Vec<String> = PRESENTABLE.iter().filter(|f| q.get(&format!("f_{f}")).is_some()).map(|f| f.to_string()).collect();
        let minutes = q.get("minutes").and_then(|m| m.parse::<i64>().ok()).unwrap_or(5).clamp(1, 60);
        (fields, minutes)
    });
    let page = AccountPage {
        locale: ctx.locale,
        switch_href: Some(format!("/account?lang={}", other.as_str())),
        name,
        personal_id: mask_personal_id(p.personal_id.as_str()),
        level: p.account_level.as_i64(),
        csrf: ctx.csrf(app),
        passkeys: ctx
            .passkeys
            .iter()
            .map(|r| PasskeyRow {
                id: r.id.clone(),
                name: r.name.clone(),
                created: format_time(r.created_at),
                last_used: r.last_used_at.map(format_time),
                synced: r.backup_eligible,
            })
            .collect(),
        may_register: ctx.may_register(app.now()),
        factors: match factors::view(app, ctx).await {
            Ok(f) => f,
            Err(e) => return PageError::internal(ctx.locale, e).into_response(),
        },
        name_max: NAME_MAX,
        data: match data::view(app, ctx).await {
            Ok(d) => d,
            Err(e) => return PageError::internal(ctx.locale, e).into_response(),
        },
        correction_fields: &data::FIELDS,
        message_max: data::MESSAGE_MAX,
        error,
        upstreams: match upstreams::rows(app, &p.id).await {
            Ok(r) => r,
            Err(e) => return PageError::internal(ctx.locale, e).into_response(),
        },
        consents: match consents::rows(app, &p.id).await {
            Ok(r) => r,
            Err(e) => return PageError::internal(ctx.locale, e).into_response(),
        },
        qr: person_qr(app, p, None, crate::credentials::person::IDENTITY_MINUTES),
        presentation_qr: presentation.as_ref().and_then(|(fields, minutes)| person_qr(app, p, Some(fields), *minutes)),
    };
    // The QR codes shown are releases too: the identity QR once a day (it is re-issued on every
    // view), each presentation QR on its own.
    let now = app.now();
    let day = format!("qr-identity:{}:{}", p.id, now.div_euclid(86_400));
    let mut shown = vec![("qr_identity", day, PRESENTABLE.to_vec())];
    if let (Some((fields, _)), Some(_)) = (&presentation, &page.presentation_qr) {
        let source = format!("qr:{}", crate::crypto::random_token());
        shown.push(("qr_presentation", source, fields.iter().map(String::as_str).collect()));
    }
    for (channel, source, fields) in shown {
        if let Err(e) = crate::privacy::disclosure::record_credential(&app.store, &p.id, channel, source, &fields, now).await {
            return PageError::internal(ctx.locale, e).into_response();
        }
    }
    render(status, &page)
}

/// `GET /account`: the account page, or a sign-in that comes back to it.
pub async fn page(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let q = Params::from_query(&q);
    match context(&app, &headers, &jar, q.get("lang")).await {
        Ok(ctx) => {
            let jar = remember_lang(jar, q.get("lang"));
            (jar, render_page_with(&app, &ctx, StatusCode::OK, None, Some(&q)).await).into_response()
        }
        Err((AccountError::NoSession | AccountError::PersonGone, locale)) => {
            start_sign_in(&app, remember_lang(jar, q.get("lang")), locale).await
        }
        Err((e, locale)) => e.page(locale),
    }
}

// -------------------------------------------------------------------------------- passkeys

/// `POST /account/passkeys/options` (form: `csrf`): options for `navigator.credentials.create`.
pub async fn register_options(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let f = Params::parse(&body).unwrap_or_default();
    let ctx = match context(&app, &headers, &jar, None).await {
        Ok(c) => c,
        Err((e, _)) => return e.json(),
    };
    let run = async {
        ctx.check_csrf(&app, f.get("csrf").unwrap_or_default())?;
        if !ctx.may_register(app.now()) {
            return Err(AccountError::Reauthenticate);
        }
        Ok(passkey::start_registration(&app, &ctx.person, &ctx.session.id_hash).await?)
    };
    match run.await {
        Ok((id, ccr)) => Json(json!({"ceremony": id, "options": ccr})).into_response(),
        Err(e) => e.json(),
    }
}

/// `POST /account/passkeys` (form: `csrf`, `ceremony`, `name`, `credential` = the
/// authenticator's response as JSON): stores the new passkey.
pub async fn register(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let f = Params::parse(&body).unwrap_or_default();
    let ctx = match context(&app, &headers, &jar, None).await {
        Ok(c) => c,
        Err((e, locale)) => return e.page(locale),
    };
    let run = async {
        ctx.check_csrf(&app, f.get("csrf").unwrap_or_default())?;
        if !ctx.may_register(app.now()) {
            return Err(AccountError::Reauthenticate);
        }
        let (ceremony, credential, name) =
            (f.get("ceremony").unwrap_or_default(), f.get("credential").unwrap_or_default(), f.get("name").unwrap_or_default());
        let record = passkey::finish_registration(&app, &ctx.person, &ctx.session.id_hash, ceremony, credential, name).await?;
        let detail = json!({"passkey": record.id, "aaguid": record.aaguid, "backup_eligible": record.backup_eligible});
        audit::record(&app.store, app.now(), Event::PasskeyRegistered, Some(&ctx.person.id), None, detail).await?;
        Ok(())
    };
    match run.await {
        Ok(()) => Redirect::to("/account").into_response(),
        Err(e @ (AccountError::Csrf | AccountError::Store(_))) => e.page(ctx.locale),
        Err(e) if e.status() == StatusCode::INTERNAL_SERVER_ERROR => e.page(ctx.locale),
        Err(e) => render_page(&app, &ctx, e.status(), Some(e.message_key())).await,
    }
}

/// A form posted from the account page: the person's context and the fields, once the session
/// and the CSRF token are checked (otherwise the page that says why).
async fn posted_form(app: &App, headers: &HeaderMap, jar: &CookieJar, body: &[u8]) -> Result<(Ctx, Params), Response> {
    let ctx = context(app, headers, jar, None).await.map_err(|(e, locale)| e.page(locale))?;
    let f = Params::parse(body).map_err(|_| PageError::new(StatusCode::BAD_REQUEST, ctx.locale, "error.bad_form").into_response())?;
    ctx.check_csrf(app, f.get("csrf").unwrap_or_default()).map_err(|e| e.page(ctx.locale))?;
    Ok((ctx, f))
}

/// `POST /account/passkeys/remove` (form: `csrf`, `id`).
pub async fn remove(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let (ctx, f) = match posted_form(&app, &headers, &jar, &body).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let removed = match app.store.delete_passkey(&ctx.person.id, f.get("id").unwrap_or_default()).await {
        Ok(r) => r,
        Err(e) => return PageError::internal(ctx.locale, e).into_response(),
    };
    let Some(record) = removed else {
        return render_page(&app, &ctx, StatusCode::NOT_FOUND, Some("account.error.no_such_passkey")).await;
    };
    let detail = json!({"passkey": record.id, "name": record.name});
    if let Err(e) = audit::record(&app.store, app.now(), Event::PasskeyRemoved, Some(&ctx.person.id), None, detail).await {
        return PageError::internal(ctx.locale, e).into_response();
    }
    Redirect::to("/account").into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_the_middle_of_the_personal_id() {
        assert_eq!(super::mask_personal_id("001090001234"), "001••••••234");
    }
}
