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
use super::{lockout, password, proof_of_work, totp};
use crate::assurance::{Acr, Amr};
use crate::audit::{self, Event};
use crate::identity::{Person, PersonStatus, PersonalId};
use crate::signin::journey::{self, Authentication};
use crate::signin::pending::{load, load_form};
use crate::signin::{Pending, Stage};
use crate::state::App;
use crate::store::StoreError;
use crate::store::lockout::Counted;
use crate::store::persons::LoginState;
use crate::web::admission;
use crate::web::client_addr::ClientAddr;
use crate::web::error::PageError;
use crate::web::form::Params;
use crate::web::lang::remember_lang;
use crate::web::pages::{CERTIFICATE_METHOD, LoginPage, PASSKEY_METHOD, PASSWORD_METHOD, TotpPage, render};

fn form(body: &[u8]) -> Params {
    Params::parse(body).unwrap_or_default()
}

pub(super) fn render_login(app: &App, p: &Pending, error: Option<&'static str>, hint: &str) -> Response {
    render_login_with(app, p, error, hint, None)
}

/// The login page, with a proof-of-work puzzle for the password form when one is due.
fn render_login_with(app: &App, p: &Pending, error: Option<&'static str>, hint: &str, proof_of_work: Option<String>) -> Response {
    let status = if error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    let portal = p.portal_name();
    let page = LoginPage {
        locale: p.locale,
        switch_href: p.switch_href("/login"),
        portal: &portal,
        request_id: &p.row.id,
        csrf: p.csrf(app),
        methods: methods_for(crate::audit::current_source().and_then(|s| s.user_agent).as_deref()),
        login_hint: hint.to_string(),
        error,
        step_up: p.sign_in.step_up,
        certificate_paste: app.settings.pki.allow_pasted_tokens,
        upstreams: app.federation.buttons(),
        proof_of_work,
    };
    render(status, &page)
}

/// The sign-in methods in the order that suits the device: on a phone the app leads and there is
/// no certificate button (no mobile browser runs the Web eID extension); elsewhere the password
/// form leads and the app's QR code comes last.
pub fn methods_for(user_agent: Option<&str>) -> Vec<crate::web::pages::LoginMethod> {
    let phone = user_agent.is_some_and(|ua| ["Android", "iPhone", "iPad", "Mobile"].iter().any(|m| ua.contains(m)));
    if phone {
        vec![super::qr_login::APP_METHOD, PASSWORD_METHOD, PASSKEY_METHOD]
    } else {
        vec![PASSWORD_METHOD, PASSKEY_METHOD, CERTIFICATE_METHOD, super::qr_login::APP_METHOD]
    }
}

#[cfg(test)]
mod device_tests {
    use super::methods_for;

    #[test]
    fn a_phone_leads_with_the_app_and_has_no_certificate_button() {
        let ids = |ua: Option<&str>| methods_for(ua).iter().map(|m| m.id).collect::<Vec<_>>();
        let phone = "Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36";
        assert_eq!(ids(Some(phone))[0], "app");
        assert!(!ids(Some(phone)).contains(&"certificate"));
        let desktop = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
        assert_eq!(ids(Some(desktop)), ["password", "passkey", "certificate", "app"]);
        assert_eq!(ids(None), ["password", "passkey", "certificate", "app"]);
    }
}

/// The second-factor page: the app's code, or (`sent_to`) a code sent to this address.
fn render_totp(app: &App, p: &Pending, sent_to: Option<String>, error: Option<&'static str>) -> Response {
    let status = if error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    let portal = p.portal_name();
    let page = TotpPage {
        locale: p.locale,
        switch_href: p.switch_href("/login/totp"),
        portal: &portal,
        request_id: &p.row.id,
        csrf: p.csrf(app),
        sent_to,
        error,
    };
    render(status, &page)
}

pub async fn page(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, addr: ClientAddr, RawQuery(q): RawQuery) -> Response {
    let q = Params::from_query(&q);
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
    let puzzle = app.throttle.must_prove_work(&addr).then(|| proof_of_work::issue(&app, &addr));
    (jar, render_login_with(&app, &pending, None, &hint, puzzle)).into_response()
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
    let internal = |e: &dyn crate::web::incident::Cause| PageError::internal_of(locale, e).into_response();
    // An address that tried too many passwords shows work first; the page it gets back (for
    // any refusal) carries the next puzzle.
    let must_prove = app.throttle.must_prove_work(&addr);
    let render_login = |app: &App, pending: &Pending, error: Option<&'static str>, hint: &str| {
        render_login_with(app, pending, error, hint, must_prove.then(|| proof_of_work::issue(app, &addr)))
    };
    let typed = f.get("personal_id").unwrap_or_default().trim().to_string();
    if must_prove && proof_of_work::check(app, &addr, f.get("proof_of_work")).await.map_err(|e| internal(&e))?.is_err() {
        let hint = PersonalId::parse(&typed).map(|p| p.as_str().to_string()).unwrap_or_default();
        return Err(render_login(app, &pending, Some("login.error.proof_of_work"), &hint));
    }
    let Ok(pid) = PersonalId::parse(&typed) else {
        return Err(render_login(app, &pending, Some("login.error.malformed_id"), ""));
    };
    let password = password::canonical(f.get("password").unwrap_or_default());
    let found = app.store.person_for_login(&pid).await.map_err(|e| internal(&e))?;
    let counter = lockout::counter_for(app, &pid, found.as_ref().map(|(p, _)| &p.id), &pending.browser).await.map_err(|e| internal(&e))?;
    // A turn at the password check before the attempt is counted: when the line is too long,
    // nothing is checked and nothing counted (`web::admission`).
    let Ok(turn) = password::turn(app.admission.password_wait()).await else {
        let page = render_login(app, &pending, Some("login.error.busy"), pid.as_str());
        return Err(admission::unavailable(page, app.admission.retry_after()));
    };
    let Some(claimed) = lockout::claim(app, &counter).await.map_err(|e| internal(&e))? else {
        // Locked: the same Argon2 work and the same words for every ID number, known or not.
        turn.verify(None, password).await;
        let person = found.as_ref().map(|(p, _)| p);
        app.stats.record(crate::stats::Observation::failed_sign_in(app.now(), pending.client.id.as_str(), "password"));
        audit::record(
            &app.store,
            app.now(),
            Event::LoginFailed,
            person.map(|p| &p.id),
            Some(pending.client.id.as_str()),
            json!({"reason": "locked"}),
        )
        .await
        .map_err(|e| internal(&e))?;
        return Err(render_login(app, &pending, Some("login.error.locked"), pid.as_str()));
    };
    // An ID number without an account, or an account without a password, is checked against a
    // dummy hash: the same time as a real check.
    let hash = found.as_ref().and_then(|(_, s)| s.password_hash.clone());
    let right = turn.verify(hash, password).await;
    let (person, state) = match found {
        Some(found) if right => found,
        other => {
            let key = failed(app, &pending, other.as_ref().map(|(p, _)| p), &claimed, "password").await.map_err(|e| internal(&e))?;
            return Err(render_login(app, &pending, Some(key), pid.as_str()));
        }
    };
    if person.status != PersonStatus::Active {
        return Err(render_login(app, &pending, Some("login.error.inactive"), pid.as_str()));
    }
    if state.totp_secret_sealed.is_some() {
        return journey::move_to(app, jar, &pending, Stage::Totp, &person.id).await.map_err(IntoResponse::into_response);
    }
    // No authenticator app, and the portal asks for two factors: a code sent to the registry's
    // phone (or else e-mail) is the second. It reaches loa:2 and never more (see `Amr::Sms`).
    if wants_two_factors(&pending)
        && let Some(via) = Via::preferred(&person)
    {
        let by = Requester::Person { client_addr: addr.0 };
        let sent = code_delivery::send_code(app, &person, Purpose::SignIn, via, locale, &by).await.map_err(|e| internal(&e))?;
        if sent.is_ok() {
            return journey::move_to(app, jar, &pending, Stage::Totp, &person.id).await.map_err(IntoResponse::into_response);
        }
    }
    lockout::reset(app, &counter).await.map_err(|e| internal(&e))?;
    complete(app, jar, pending, &person, &[Amr::Pwd]).await
}

/// The portal asks for multi-factor (loa:2); loa:3 a sent code cannot give.
fn wants_two_factors(p: &Pending) -> bool {
    p.sign_in.purpose.required_acr() == Some(Acr::Loa2)
}

/// Records a failed attempt (already counted by its claim) and returns the message to show: the
/// attempt that reached the threshold has locked the counter.
async fn failed(app: &App, p: &Pending, person: Option<&Person>, claimed: &Counted, factor: &str) -> Result<&'static str, StoreError> {
    let now = app.now();
    let client = Some(p.client.id.as_str());
    let id = person.map(|p| &p.id).or(p.row.person_id.as_ref());
    let detail = match id {
        Some(_) => json!({"factor": factor, "failures": claimed.failures}),
        None => json!({"reason": "unknown_id", "failures": claimed.failures}),
    };
    app.stats.record(crate::stats::Observation::failed_sign_in(now, p.client.id.as_str(), factor));
    audit::record(&app.store, now, Event::LoginFailed, id, client, detail).await?;
    if lockout::locked_after(app, claimed) {
        if let Some(id) = id {
            audit::record(&app.store, now, Event::AccountLocked, Some(id), client, json!({"until": claimed.locked_until})).await?;
        }
        return Ok("login.error.locked");
    }
    Ok(if factor == "password" { "login.error.invalid" } else { "totp.error.invalid" })
}

/// The person is authenticated by these methods: on with the sign-in.
async fn complete(app: &App, jar: CookieJar, pending: Pending, person: &Person, methods: &[Amr]) -> Result<Response, Response> {
    journey::authenticated(app, jar, pending, Authentication::by_methods(person, methods)).await.map_err(IntoResponse::into_response)
}

pub async fn totp_page(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let q = Params::from_query(&q);
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
    Ok(Via::preferred(&person).and_then(|v| v.masked_address(&person)))
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
    let internal = |e: &dyn crate::web::incident::Cause| PageError::internal_of(locale, e).into_response();
    let person_id = pending.row.person_id.clone().ok_or_else(|| PageError::expired(locale).into_response())?;
    let (person, state) = app
        .store
        .person_for_login_by_id(&person_id)
        .await
        .map_err(|e| internal(&e))?
        .ok_or_else(|| PageError::expired(locale).into_response())?;
    let sent_to = match state.totp_secret_sealed {
        Some(_) => None,
        None => Via::preferred(&person).and_then(|v| v.masked_address(&person)),
    };
    // The second factor is claimed on the same counter as the password was.
    let counter = lockout::counter_for(app, &person.personal_id, Some(&person.id), &pending.browser).await.map_err(|e| internal(&e))?;
    let Some(claimed) = lockout::claim(app, &counter).await.map_err(|e| internal(&e))? else {
        return Err(render_totp(app, &pending, sent_to, Some("login.error.locked")));
    };
    let (proved, factor) = second_factor(app, &person, &state, code).await.map_err(|e| internal(&e))?;
    let Some(second) = proved else {
        let key = failed(app, &pending, Some(&person), &claimed, factor).await.map_err(|e| internal(&e))?;
        return Err(render_totp(app, &pending, sent_to, Some(key)));
    };
    lockout::reset(app, &counter).await.map_err(|e| internal(&e))?;
    complete(app, jar, pending, &person, &[Amr::Pwd, second]).await
}

/// Checks the second factor: the app's code, a recovery code in its place (the phone is lost; the
/// person is told), or, without an app, the code sent by SMS (amr `sms`) or e-mail (amr `otp`).
/// Returns the method proved, if any, and the factor's name for the audit.
async fn second_factor(
    app: &App,
    person: &Person,
    state: &LoginState,
    code: &str,
) -> Result<(Option<Amr>, &'static str), SecondFactorError> {
    let Some(sealed) = state.totp_secret_sealed.as_deref() else {
        return Ok(match one_time_code::check(app, &person.id, Purpose::SignIn, code).await? {
            Checked::Accepted { channel } if channel == Via::Sms.as_str() => (Some(Amr::Sms), "sent_code"),
            Checked::Accepted { .. } => (Some(Amr::Otp), "sent_code"),
            Checked::Wrong { .. } | Checked::NoCode => (None, "sent_code"),
        });
    };
    if super::recovery_codes::looks_like(code) {
        if !super::recovery_codes::redeem(app, &person.id, code).await? {
            return Ok((None, "recovery_code"));
        }
        let left = app.store.recovery_codes_left(&person.id).await?;
        audit::record(&app.store, app.now(), Event::RecoveryCodeUsed, Some(&person.id), None, json!({"left": left})).await?;
        return Ok((Some(Amr::Otp), "recovery_code"));
    }
    let secret = app.settings.master_key.open(&format!("totp:{}", person.id), sealed)?;
    let fresh = match totp::verify(&secret, code.trim(), app.now()) {
        Some(step) => app.store.claim_totp_step(&person.id, step).await?,
        None => false,
    };
    Ok((fresh.then_some(Amr::Otp), "otp"))
}

#[derive(Debug, thiserror::Error)]
enum SecondFactorError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Seal(#[from] crate::keys::master::MasterKeyError),
}
