//! The login pages: personal identification number + password, then TOTP when the person has
//! enrolled it. Other methods plug into the same page (see `web::pages::LoginMethod`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use super::code_delivery::{self, Requester, Via};
use super::one_time_code::{self, Checked, Purpose};
use super::{password, totp};
use crate::assurance::{Acr, Amr};
use crate::audit::{self, Event};
use crate::identity::{Person, PersonStatus, PersonalId};
use crate::signin::journey::{self, Authentication};
use crate::signin::pending::{load, load_form};
use crate::signin::{Pending, Stage};
use crate::state::App;
use crate::store::persons::LoginState;
use crate::web::client_addr::ClientAddr;
use crate::web::error::PageError;
use crate::web::form::Params;
use crate::web::lang::remember_lang;
use crate::web::pages::{CERTIFICATE_METHOD, LoginPage, PASSKEY_METHOD, PASSWORD_METHOD, TotpPage, render};

fn query(q: &Option<String>) -> Params {
    Params::parse_lenient(q.as_deref().unwrap_or_default().as_bytes()).unwrap_or_default()
}

fn form(body: &[u8]) -> Params {
    Params::parse(body).unwrap_or_default()
}

pub(super) fn render_login(app: &App, p: &Pending, error: Option<&'static str>, hint: &str) -> Response {
    let status = if error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    let page = LoginPage {
        locale: p.locale,
        switch_href: p.switch_href("/login"),
        portal: &p.client.name,
        request_id: &p.row.id,
        csrf: p.csrf(app),
        methods: vec![PASSWORD_METHOD, PASSKEY_METHOD, CERTIFICATE_METHOD, super::qr_login::APP_METHOD],
        login_hint: hint.to_string(),
        error,
        step_up: p.sign_in.step_up,
        certificate_paste: app.settings.pki.allow_pasted_tokens,
        upstreams: app.federation.buttons(),
    };
    render(status, &page)
}

/// The second-factor page: the app's code, or (`sent_to`) a code sent to this address.
fn render_totp(app: &App, p: &Pending, sent_to: Option<String>, error: Option<&'static str>) -> Response {
    let status = if error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    let page = TotpPage {
        locale: p.locale,
        switch_href: p.switch_href("/login/totp"),
        portal: &p.client.name,
        request_id: &p.row.id,
        csrf: p.csrf(app),
        sent_to,
        error,
    };
    render(status, &page)
}

pub async fn page(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let q = query(&q);
    let pending = match load(&app, &headers, &jar, q.get("r"), Stage::Login, q.get("lang")).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    // Pre-fill only something that looks like an identification number.
    let hint = pending.sign_in.purpose.login_hint().filter(|h| PersonalId::parse(h).is_ok()).unwrap_or_default().to_string();
    let jar = remember_lang(jar, q.get("lang"));
    // `idp_hint`: the portal already knows which upstream the person uses.
    if let Some(hint) = pending.sign_in.purpose.idp_hint().filter(|h| app.federation.knows(h)) {
        return (jar, super::upstream::redirect_to(&app, &pending, hint).await).into_response();
    }
    (jar, render_login(&app, &pending, None, &hint)).into_response()
}

pub async fn submit(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, addr: ClientAddr, body: Bytes) -> Response {
    let f = form(&body);
    let pending = match load_form(&app, &headers, &jar, &f, Stage::Login).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    match password_step(&app, jar, pending, &f, addr).await {
        Ok(r) | Err(r) => r,
    }
}

async fn password_step(app: &App, jar: CookieJar, pending: Pending, f: &Params, addr: ClientAddr) -> Result<Response, Response> {
    let locale = pending.locale;
    let internal = |e: &dyn std::fmt::Display| PageError::internal(locale, e).into_response();
    let typed = f.get("personal_id").unwrap_or_default().trim().to_string();
    let Ok(pid) = PersonalId::parse(&typed) else {
        return Err(render_login(app, &pending, Some("login.error.malformed_id"), ""));
    };
    let password = password::canonical(f.get("password").unwrap_or_default());
    let now = app.now();
    let found = app.store.person_for_login(&pid).await.map_err(|e| internal(&e))?;
    let Some((person, state)) = found else {
        // Same work as for a known account, so timing does not reveal which numbers exist.
        password::verify_blocking(None, password).await;
        audit::record(&app.store, now, Event::LoginFailed, None, Some(pending.client.id.as_str()), json!({"reason": "unknown_id"}))
            .await
            .map_err(|e| internal(&e))?;
        return Err(render_login(app, &pending, Some("login.error.invalid"), pid.as_str()));
    };
    if state.locked_until > now {
        return Err(render_login(app, &pending, Some("login.error.locked"), pid.as_str()));
    }
    if !password::verify_blocking(state.password_hash.clone(), password).await {
        let key = record_failure(app, &pending, &person, &state, "password").await.map_err(|e| internal(&e))?;
        return Err(render_login(app, &pending, Some(key), pid.as_str()));
    }
    if person.status != PersonStatus::Active {
        return Err(render_login(app, &pending, Some("login.error.inactive"), pid.as_str()));
    }
    if state.totp_secret_sealed.is_some() {
        return journey::move_to(app, jar, &pending, Stage::Totp, &person.id).await.map_err(IntoResponse::into_response);
    }
    // No authenticator app, and the portal asks for two factors: a code sent to the registry's
    // phone (or else e-mail) is the second. It reaches loa:2 and never more (see `Amr::Sms`).
    if wants_two_factors(&pending)
        && let Some(via) = Via::ALL.into_iter().find(|v| v.address(&person).is_some())
    {
        let by = Requester::Person { client_addr: addr.0 };
        let sent = code_delivery::send_code(app, &person, Purpose::SignIn, via, locale, &by).await.map_err(|e| internal(&e))?;
        if sent.is_ok() {
            return journey::move_to(app, jar, &pending, Stage::Totp, &person.id).await.map_err(IntoResponse::into_response);
        }
    }
    app.store.reset_login_failures(&person.id).await.map_err(|e| internal(&e))?;
    complete(app, jar, pending, &person, &[Amr::Pwd]).await
}

/// The portal asks for multi-factor (loa:2); loa:3 a sent code cannot give.
fn wants_two_factors(p: &Pending) -> bool {
    p.sign_in.purpose.required_acr() == Some(Acr::Loa2)
}

/// Counts a failed attempt; from `login_max_failures` on, the account is locked for a period
/// that doubles with each further failure. Returns the message to show.
async fn record_failure(
    app: &App,
    p: &Pending,
    person: &Person,
    state: &LoginState,
    factor: &str,
) -> Result<&'static str, crate::store::StoreError> {
    let s = &app.settings;
    let now = app.now();
    let failed = state.failed_logins + 1;
    let over = failed - s.login_max_failures;
    let locked_until = if over >= 0 { now + s.login_lock * (1i64 << over.min(10)) } else { 0 };
    app.store.record_login_failure(&person.id, failed, locked_until).await?;
    let client = Some(p.client.id.as_str());
    audit::record(&app.store, now, Event::LoginFailed, Some(&person.id), client, json!({"factor": factor, "failures": failed})).await?;
    if locked_until > 0 {
        audit::record(&app.store, now, Event::AccountLocked, Some(&person.id), client, json!({"until": locked_until})).await?;
        return Ok("login.error.locked");
    }
    Ok(if factor == "password" { "login.error.invalid" } else { "totp.error.invalid" })
}

/// The person is authenticated by these methods: on with the sign-in.
async fn complete(app: &App, jar: CookieJar, pending: Pending, person: &Person, methods: &[Amr]) -> Result<Response, Response> {
    journey::authenticated(app, jar, pending, Authentication::by_methods(person, methods)).await.map_err(IntoResponse::into_response)
}

pub async fn totp_page(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let q = query(&q);
    let p = match load(&app, &headers, &jar, q.get("r"), Stage::Totp, q.get("lang")).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let sent_to = match sent_code_address(&app, &p).await {
        Ok(s) => s,
        Err(e) => return PageError::internal(p.locale, e).into_response(),
    };
    (remember_lang(jar, q.get("lang")), render_totp(&app, &p, sent_to, None)).into_response()
}

/// Where the sign-in code went, for a person without an authenticator app (masked).
async fn sent_code_address(app: &App, p: &Pending) -> Result<Option<String>, crate::store::StoreError> {
    let Some(id) = &p.row.person_id else { return Ok(None) };
    let Some((person, state)) = app.store.person_for_login_by_id(id).await? else { return Ok(None) };
    if state.totp_secret_sealed.is_some() {
        return Ok(None);
    }
    Ok(Via::ALL.into_iter().find_map(|v| v.masked_address(&person)))
}

pub async fn totp_submit(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let f = form(&body);
    let pending = match load_form(&app, &headers, &jar, &f, Stage::Totp).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    match totp_step(&app, jar, pending, f.get("code").unwrap_or_default()).await {
        Ok(r) | Err(r) => r,
    }
}

async fn totp_step(app: &App, jar: CookieJar, pending: Pending, code: &str) -> Result<Response, Response> {
    let locale = pending.locale;
    let internal = |e: &dyn std::fmt::Display| PageError::internal(locale, e).into_response();
    let person_id = pending.row.person_id.clone().ok_or_else(|| PageError::expired(locale).into_response())?;
    let (person, state) = app
        .store
        .person_for_login_by_id(&person_id)
        .await
        .map_err(|e| internal(&e))?
        .ok_or_else(|| PageError::expired(locale).into_response())?;
    let now = app.now();
    if state.locked_until > now {
        return Err(render_totp(app, &pending, None, Some("login.error.locked")));
    }
    if state.totp_secret_sealed.is_none() {
        return sent_code_step(app, jar, pending, &person, &state, code).await;
    }
    // A recovery code stands in for the app once (the phone is lost): the person is told.
    if super::recovery_codes::looks_like(code) {
        if !super::recovery_codes::redeem(app, &person.id, code).await.map_err(|e| internal(&e))? {
            let key = record_failure(app, &pending, &person, &state, "recovery_code").await.map_err(|e| internal(&e))?;
            return Err(render_totp(app, &pending, None, Some(key)));
        }
        let left = app.store.recovery_codes_left(&person.id).await.map_err(|e| internal(&e))?;
        audit::record(&app.store, now, Event::RecoveryCodeUsed, Some(&person.id), Some(pending.client.id.as_str()), json!({"left": left}))
            .await
            .map_err(|e| internal(&e))?;
        app.store.reset_login_failures(&person.id).await.map_err(|e| internal(&e))?;
        return complete(app, jar, pending, &person, &[Amr::Pwd, Amr::Otp]).await;
    }
    let sealed = state.totp_secret_sealed.as_deref().ok_or_else(|| PageError::expired(locale).into_response())?;
    let secret = app.settings.master_key.open(&format!("totp:{}", person.id), sealed).map_err(|e| internal(&e))?;
    let step = totp::verify(&secret, code.trim(), now);
    let fresh = match step {
        Some(s) => app.store.claim_totp_step(&person.id, s).await.map_err(|e| internal(&e))?,
        None => false,
    };
    if !fresh {
        let key = record_failure(app, &pending, &person, &state, "otp").await.map_err(|e| internal(&e))?;
        return Err(render_totp(app, &pending, None, Some(key)));
    }
    app.store.reset_login_failures(&person.id).await.map_err(|e| internal(&e))?;
    complete(app, jar, pending, &person, &[Amr::Pwd, Amr::Otp]).await
}

/// The second factor by a code sent to the phone (amr `sms`) or e-mail (amr `otp`).
async fn sent_code_step(
    app: &App,
    jar: CookieJar,
    pending: Pending,
    person: &Person,
    state: &LoginState,
    code: &str,
) -> Result<Response, Response> {
    let internal = |e: &dyn std::fmt::Display| PageError::internal(pending.locale, e).into_response();
    let sent_to = Via::ALL.into_iter().find_map(|v| v.masked_address(person));
    match one_time_code::check(app, &person.id, Purpose::SignIn, code).await.map_err(|e| internal(&e))? {
        Checked::Accepted { channel } => {
            app.store.reset_login_failures(&person.id).await.map_err(|e| internal(&e))?;
            let second = if channel == Via::Sms.as_str() { Amr::Sms } else { Amr::Otp };
            complete(app, jar, pending, person, &[Amr::Pwd, second]).await
        }
        Checked::Wrong { .. } | Checked::NoCode => {
            let key = record_failure(app, &pending, person, state, "sent_code").await.map_err(|e| internal(&e))?;
            Err(render_totp(app, &pending, sent_to, Some(key)))
        }
    }
}
