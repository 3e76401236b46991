//! After the proof: the new password (`/enrol/password`), the authenticator app (`/enrol/totp`,
//! required for a level-2 account and for a password too short to stand alone), the recovery
//! codes, and the end (`/enrol/done`). A recovery ends every session of the person (portals are
//! told by back-channel logout), revokes every refresh token and tells the person on the channel
//! the code did not go through.
//!
//! What each path restores is the README's recovery table: a recovery sets a password and
//! nothing else, so a person who lost their second factor too stays at single factor until a
//! strong proof (an operator's activation code, a certificate, an upstream sign-in at level 2)
//! lets them set up a new one.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use super::pages::{DonePage, PasswordPage, RecoveryCodesPage, TotpSetupPage};
use super::password_rules::{self, MIN_ALONE, MIN_WITH_SECOND_FACTOR, PersonalDetails};
use super::ticket::{self, Step, Ticket};
use super::totp_setup;
use crate::audit::{self, Event};
use crate::authn::{password, totp};
use crate::identity::{AccountLevel, PersonId};
use crate::oidc::logout::{LogoutReason, end_session};
use crate::state::App;
use crate::store::StoreError;
use crate::web::error::PageError;
use crate::web::form::Params;
use crate::web::i18n::Locale;
use crate::web::lang::{page_locale, remember_lang};
use crate::web::pages::render;

/// The ticket of this browser at `step`; elsewhere, a redirect to where it is.
async fn at_step(app: &App, jar: &CookieJar, locale: Locale, wanted: fn(Step) -> bool) -> Result<Ticket, Response> {
    let t = ticket::current(app, jar)
        .await
        .map_err(|e| PageError::internal(locale, e).into_response())?
        .ok_or_else(|| PageError::new(StatusCode::BAD_REQUEST, locale, "enrol.error.expired").into_response())?;
    if wanted(t.step) { Ok(t) } else { Err(Redirect::to(t.step.path()).into_response()) }
}

/// The language a step page is shown in: `?lang` (the language switch, remembered), else as
/// before.
fn chosen_locale(app: &App, headers: &HeaderMap, jar: CookieJar, q: &Option<String>) -> (CookieJar, Locale) {
    let q = Params::from_query(q);
    let locale = page_locale(app.settings.default_locale, headers, &jar, None, q.get("lang"));
    (remember_lang(jar, q.get("lang")), locale)
}

/// The language switch of a step page the person can reload (not the one-time pages).
fn switch(path: &str, locale: Locale) -> Option<String> {
    Some(format!("{path}?lang={}", locale.other().as_str()))
}

fn locale_of(app: &App, headers: &HeaderMap, jar: &CookieJar) -> Locale {
    page_locale(app.settings.default_locale, headers, jar, None, None)
}

/// The posted form, its CSRF token checked against the ticket.
fn posted(app: &App, t: &Ticket, locale: Locale, body: &[u8]) -> Result<Params, PageError> {
    let f = Params::parse(body).map_err(|_| PageError::new(StatusCode::BAD_REQUEST, locale, "error.bad_form"))?;
    if t.csrf_ok(app, f.get("csrf").unwrap_or_default()) { Ok(f) } else { Err(PageError::new(StatusCode::FORBIDDEN, locale, "error.csrf")) }
}

/// The shortest password this person may choose now. In an activation a second factor follows
/// whenever the password is shorter than 15 characters; in a recovery only the factors the
/// person already has stand beside it.
fn minimum(t: &Ticket) -> usize {
    if t.proof.is_recovery() && !t.has_second_factor { MIN_ALONE } else { MIN_WITH_SECOND_FACTOR }
}

fn password_page(app: &App, t: &Ticket, locale: Locale, status: StatusCode, error: Option<&'static str>) -> Response {
    let min = minimum(t);
    let page = PasswordPage {
        locale,
        switch_href: switch(Step::Password.path(), locale),
        action: Step::Password.path(),
        csrf: t.csrf(app),
        username: t.person.personal_id.to_string(),
        rule: locale.t_with(
            if min >= MIN_ALONE { "enrol.password.rule_min_alone" } else { "enrol.password.rule_min" },
            &[("min", &min.to_string())],
        ),
        recovery: t.proof.is_recovery(),
        error,
    };
    render(status, &page)
}

/// `GET /enrol/password`.
pub async fn password_form(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let (jar, locale) = chosen_locale(&app, &headers, jar, &q);
    match at_step(&app, &jar, locale, |s| s == Step::Password).await {
        Ok(t) => (jar, password_page(&app, &t, locale, StatusCode::OK, None)).into_response(),
        Err(r) => r,
    }
}

/// `POST /enrol/password` (form: `csrf`, `password`, `confirm`).
pub async fn password_submit(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let locale = locale_of(&app, &headers, &jar);
    match set_password(&app, &jar, locale, &body).await {
        Ok(r) | Err(r) => r,
    }
}

async fn set_password(app: &Arc<App>, jar: &CookieJar, locale: Locale, body: &[u8]) -> Result<Response, Response> {
    let t = at_step(app, jar, locale, |s| s == Step::Password).await?;
    let f = posted(app, &t, locale, body).map_err(IntoResponse::into_response)?;
    let internal = |e: &dyn crate::web::incident::Cause| PageError::internal_of(locale, e).into_response();
    let (new, confirm) = (f.get("password").unwrap_or_default(), f.get("confirm").unwrap_or_default());
    let p = &t.person;
    let who = PersonalDetails::of(p);
    let alone = minimum(&t) >= MIN_ALONE;
    if let Err(refusal) = password_rules::check(new, confirm, alone, &who) {
        return Err(password_page(app, &t, locale, StatusCode::BAD_REQUEST, Some(refusal.message_key())));
    }
    let next = if t.proof.is_recovery() {
        Step::Done
    } else {
        let short = password::canonical(new).chars().count() < MIN_ALONE;
        Step::Totp { required: p.account_level == AccountLevel::Level2 || short }
    };
    let turn = password::turn(app.admission.password_wait()).await.map_err(|_| app.admission.busy_page(locale))?;
    let hash = turn.hash(new.to_string()).await.map_err(|e| internal(&e))?;
    // Claim the step before storing: a second tab posting the same form changes nothing.
    if !t.advance(app, next, None).await.map_err(|e| internal(&e))? {
        return Err(Redirect::to(next.path()).into_response());
    }
    let now = app.now();
    app.store.set_password_hash(&p.id, &hash, now).await.map_err(|e| internal(&e))?;
    app.store.reset_login_failures(&p.id).await.map_err(|e| internal(&e))?;
    let detail = json!({"proof": t.proof.as_str()});
    if t.proof.is_recovery() {
        let ended = end_everything(app, &p.id).await.map_err(|e| internal(&e))?;
        let detail = json!({"proof": t.proof.as_str(), "sessions_ended": ended.0, "refresh_tokens_revoked": ended.1});
        audit::record(&app.store, now, Event::Recovered, Some(&p.id), None, detail).await.map_err(|e| internal(&e))?;
    } else {
        audit::record(&app.store, now, Event::Activated, Some(&p.id), None, detail.clone()).await.map_err(|e| internal(&e))?;
        if t.had_password {
            audit::record(&app.store, now, Event::PasswordChanged, Some(&p.id), None, detail).await.map_err(|e| internal(&e))?;
        }
    }
    Ok(Redirect::to(next.path()).into_response())
}

/// Ends every session of the person (each portal told by back-channel logout) and revokes every
/// refresh token, `offline_access` ones included. Returns (sessions, refresh tokens).
pub async fn end_everything(app: &Arc<App>, person: &PersonId) -> Result<(usize, u64), StoreError> {
    let sids = app.store.session_sids_of(person).await?;
    let mut ended = 0;
    for sid in &sids {
        if end_session(app, sid, LogoutReason::Server("recovery")).await?.is_some() {
            ended += 1;
        }
    }
    let revoked = app.store.revoke_person_refresh(person, app.now()).await?;
    Ok((ended, revoked))
}

fn is_totp(s: Step) -> bool {
    matches!(s, Step::Totp { .. })
}

fn totp_page(app: &App, t: &Ticket, locale: Locale, secret: &[u8], status: StatusCode, error: Option<&'static str>) -> Response {
    let shown = totp_setup::show(app, &t.person, secret);
    let required = matches!(t.step, Step::Totp { required: true });
    let page = TotpSetupPage {
        locale,
        switch_href: switch("/enrol/totp", locale),
        action: "/enrol/totp",
        skip_action: (!required).then_some("/enrol/skip"),
        csrf: t.csrf(app),
        pending: None,
        qr: shown.qr,
        key: shown.key,
        required,
        error,
    };
    render(status, &page)
}

/// `GET /enrol/totp`: a new secret on first view, the same one on reload.
pub async fn totp_form(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let (jar, locale) = chosen_locale(&app, &headers, jar, &q);
    let run = async {
        let t = at_step(&app, &jar, locale, is_totp).await?;
        let internal = |e: &dyn crate::web::incident::Cause| PageError::internal_of(locale, e).into_response();
        let secret = match &t.totp_sealed {
            Some(sealed) => totp_setup::open_pending(&app, &t.id_hash, sealed).map_err(|e| internal(&e))?,
            None => {
                let secret = totp::new_secret();
                let sealed = totp_setup::seal_pending(&app, &t.id_hash, &secret).map_err(|e| internal(&e))?;
                t.advance(&app, t.step, Some(&sealed)).await.map_err(|e| internal(&e))?;
                secret
            }
        };
        Ok::<_, Response>(totp_page(&app, &t, locale, &secret, StatusCode::OK, None))
    };
    let page = run.await.unwrap_or_else(|r| r);
    (jar, page).into_response()
}

/// `POST /enrol/totp` (form: `csrf`, `code`): the app's first code confirms the secret.
pub async fn totp_submit(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let locale = locale_of(&app, &headers, &jar);
    let run = async {
        let t = at_step(&app, &jar, locale, is_totp).await?;
        let f = posted(&app, &t, locale, &body).map_err(IntoResponse::into_response)?;
        let internal = |e: &dyn crate::web::incident::Cause| PageError::internal_of(locale, e).into_response();
        let Some(sealed) = &t.totp_sealed else { return Err(Redirect::to("/enrol/totp").into_response()) };
        let secret = totp_setup::open_pending(&app, &t.id_hash, sealed).map_err(|e| internal(&e))?;
        let Some(codes) =
            totp_setup::confirm(&app, &t.person, &secret, f.get("code").unwrap_or_default()).await.map_err(|e| internal(&e))?
        else {
            return Err(totp_page(&app, &t, locale, &secret, StatusCode::BAD_REQUEST, Some("enrol.totp.error")));
        };
        t.advance(&app, Step::Done, None).await.map_err(|e| internal(&e))?;
        let now = app.now();
        let pid = Some(&t.person.id);
        audit::record(&app.store, now, Event::TotpEnrolled, pid, None, json!({"proof": t.proof.as_str()}))
            .await
            .map_err(|e| internal(&e))?;
        audit::record(&app.store, now, Event::RecoveryCodesIssued, pid, None, json!({"count": codes.len()}))
            .await
            .map_err(|e| internal(&e))?;
        Ok(render(StatusCode::OK, &RecoveryCodesPage { locale, switch_href: None, codes, continue_href: "/enrol/done" }))
    };
    run.await.unwrap_or_else(|r| r)
}

/// `POST /enrol/skip` (form: `csrf`): "later", where a second factor is optional.
pub async fn skip(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let locale = locale_of(&app, &headers, &jar);
    let run = async {
        let t = at_step(&app, &jar, locale, |s| s == Step::Totp { required: false }).await?;
        posted(&app, &t, locale, &body).map_err(IntoResponse::into_response)?;
        t.advance(&app, Step::Done, None).await.map_err(|e| PageError::internal(locale, e).into_response())?;
        Ok::<_, Response>(Redirect::to(Step::Done.path()).into_response())
    };
    run.await.unwrap_or_else(|r| r)
}

/// `GET /enrol/done`: the ticket ends; the person signs in with what they set.
pub async fn done(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar) -> Response {
    let locale = locale_of(&app, &headers, &jar);
    let t = match at_step(&app, &jar, locale, |s| s == Step::Done).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let jar = match ticket::end(&app, jar, &t).await {
        Ok(j) => j,
        Err(e) => return PageError::internal(locale, e).into_response(),
    };
    let (title_key, text_key) = if t.proof.is_recovery() {
        ("enrol.done.recovered", "enrol.done.recovered_text")
    } else {
        ("enrol.done.activated", "enrol.done.activated_text")
    };
    (jar, render(StatusCode::OK, &DonePage { locale, switch_href: None, title_key, text_key })).into_response()
}
