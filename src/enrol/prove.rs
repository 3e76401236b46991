//! Proving who you are, to activate an account or recover it: the person's ID number and birth
//! date with an operator's activation code (`/activate/letter`) or with a code sent to the phone
//! or e-mail in the registry (`/{activate,recover}/send`, then `/{activate,recover}/code`). A
//! proof ends in an enrolment ticket (`ticket`) and the password page.
//!
//! No step tells an existing ID number from an unknown one: the same words, the same status, and
//! codes are sent in the background so the answer takes the same time.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;
use time::Date;

use super::pages::{CodePage, Mode, StartPage, parse_birthdate};
use super::ticket::{self, Proof, Step};
use crate::audit::{self, Event};
use crate::authn::code_delivery::{self as delivery, Requester, Via};
use crate::authn::one_time_code::{self as codes, Checked, Purpose};
use crate::identity::{Person, PersonStatus, PersonalId};
use crate::signin::session::browser_id;
use crate::state::App;
use crate::web::client_addr::ClientAddr;
use crate::web::cookies;
use crate::web::error::PageError;
use crate::web::form::Params;
use crate::web::i18n::Locale;
use crate::web::lang::{page_locale, remember_lang};
use crate::web::pages::render;

const CSRF_PURPOSE: &str = "enrol";

/// `GET /activate`.
pub async fn activate_page(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    start_page(&app, &headers, jar, q, Mode::Activate)
}

/// `GET /recover` ("Quên mật khẩu" on the login page).
pub async fn recover_page(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    start_page(&app, &headers, jar, q, Mode::Recover)
}

fn start_page(app: &App, headers: &HeaderMap, jar: CookieJar, q: Option<String>, mode: Mode) -> Response {
    let q = Params::from_query(&q);
    let locale = page_locale(app.settings.default_locale, headers, &jar, None, q.get("lang"));
    let (jar, browser) = browser_id(remember_lang(jar, q.get("lang")));
    let csrf = crate::web::csrf::token(&app.secrets.csrf, &browser, CSRF_PURPOSE);
    (jar, render(StatusCode::OK, &StartPage::new(locale, mode, csrf, String::new(), None))).into_response()
}

/// A posted form of these pages: its language, fields and the browser's CSRF token (checked).
struct Posted {
    locale: Locale,
    form: Params,
    csrf: String,
}

impl Posted {
    fn read(app: &App, headers: &HeaderMap, jar: &CookieJar, body: &[u8]) -> Result<Self, PageError> {
        let locale = page_locale(app.settings.default_locale, headers, jar, None, None);
        let form = Params::parse(body).map_err(|_| PageError::new(StatusCode::BAD_REQUEST, locale, "error.bad_form"))?;
        let csrf_error = || PageError::new(StatusCode::FORBIDDEN, locale, "error.csrf");
        let browser = jar.get(cookies::BROWSER).ok_or_else(csrf_error)?;
        let presented = form.get("csrf").unwrap_or_default();
        if !crate::web::csrf::verify(&app.secrets.csrf, browser.value(), CSRF_PURPOSE, presented) {
            return Err(csrf_error());
        }
        Ok(Self { locale, csrf: presented.to_string(), form })
    }

    fn field(&self, name: &str) -> &str {
        self.form.get(name).unwrap_or_default().trim()
    }

    fn internal(&self, e: impl crate::web::incident::Cause) -> PageError {
        PageError::internal(self.locale, e)
    }

    /// The start page again with an error.
    fn again(&self, mode: Mode, status: StatusCode, error: &'static str) -> Response {
        let pid = self.field("personal_id").chars().filter(char::is_ascii_digit).take(12).collect();
        render(status, &StartPage::new(self.locale, mode, self.csrf.clone(), pid, Some(error)))
    }

    /// The ID number and birth date, or the message saying which is malformed.
    fn identity(&self) -> Result<(PersonalId, Date), &'static str> {
        let pid = PersonalId::parse(self.field("personal_id")).map_err(|_| "login.error.malformed_id")?;
        let birth = parse_birthdate(self.field("birthdate")).ok_or("enrol.error.birthdate")?;
        Ok((pid, birth))
    }
}

/// The registry has no birth date for some people; for them the code alone must match.
fn birthdate_matches(person: &Person, typed: Date) -> bool {
    person.birthdate.is_none_or(|b| b == typed)
}

async fn refused(
    app: &App,
    person: Option<&Person>,
    purpose: Purpose,
    why: &str,
    addr: &ClientAddr,
) -> Result<(), crate::store::StoreError> {
    let detail = json!({"purpose": purpose.as_str(), "reason": why, "client_addr": addr.0});
    audit::record(&app.store, app.now(), Event::CodeRefused, person.map(|p| &p.id), None, detail).await
}

fn checked_reason(c: &Checked) -> &'static str {
    match c {
        Checked::Accepted { .. } => "accepted",
        Checked::Wrong { left: 0 } => "wrong_code_last_try",
        Checked::Wrong { .. } => "wrong_code",
        Checked::NoCode => "no_live_code",
    }
}

/// `POST /activate/letter` (form: `csrf`, `personal_id`, `birthdate`, `code`).
pub async fn letter(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, addr: ClientAddr, body: Bytes) -> Response {
    let p = match Posted::read(&app, &headers, &jar, &body) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    match letter_step(&app, jar, &p, &addr).await {
        Ok(r) | Err(r) => r,
    }
}

async fn letter_step(app: &App, jar: CookieJar, p: &Posted, addr: &ClientAddr) -> Result<Response, Response> {
    let mode = Mode::Activate;
    let internal = |e: crate::store::StoreError| p.internal(e).into_response();
    let (pid, birth) = p.identity().map_err(|key| p.again(mode, StatusCode::BAD_REQUEST, key))?;
    if !delivery::address_allows(app, &addr.0).await.map_err(internal)? {
        return Err(p.again(mode, StatusCode::TOO_MANY_REQUESTS, "enrol.error.too_many"));
    }
    let wrong = || p.again(mode, StatusCode::BAD_REQUEST, "enrol.error.details");
    let Some((person, _)) = app.store.person_for_login(&pid).await.map_err(internal)? else {
        refused(app, None, Purpose::Letter, "unknown_id", addr).await.map_err(internal)?;
        return Err(wrong());
    };
    // A wrong birth date does not spend one of the code's tries: a stranger who knows only the
    // ID number (it is printed on the card) cannot destroy the person's letter.
    if !birthdate_matches(&person, birth) {
        refused(app, Some(&person), Purpose::Letter, "birthdate", addr).await.map_err(internal)?;
        return Err(wrong());
    }
    let checked = codes::check(app, &person.id, Purpose::Letter, p.field("code")).await.map_err(internal)?;
    if !matches!(checked, Checked::Accepted { .. }) {
        refused(app, Some(&person), Purpose::Letter, checked_reason(&checked), addr).await.map_err(internal)?;
        return Err(wrong());
    }
    proved(app, jar, p, &person, Proof::Letter).await
}

/// The code was right: a locked or closed account still cannot go on (an operator must act);
/// otherwise the ticket starts and the password page follows.
async fn proved(app: &App, jar: CookieJar, p: &Posted, person: &Person, proof: Proof) -> Result<Response, Response> {
    if person.status != PersonStatus::Active {
        let mode = if proof.is_recovery() { Mode::Recover } else { Mode::Activate };
        return Err(p.again(mode, StatusCode::FORBIDDEN, "enrol.error.inactive"));
    }
    let jar = ticket::begin(app, jar, &person.id, proof).await.map_err(|e| p.internal(e).into_response())?;
    Ok((jar, Redirect::to(Step::Password.path())).into_response())
}

/// `POST /activate/send`.
pub async fn activate_send(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, addr: ClientAddr, body: Bytes) -> Response {
    send(app, &headers, &jar, addr, &body, Mode::Activate).await
}

/// `POST /recover/send`.
pub async fn recover_send(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, addr: ClientAddr, body: Bytes) -> Response {
    send(app, &headers, &jar, addr, &body, Mode::Recover).await
}

fn purpose_of(mode: Mode) -> Purpose {
    match mode {
        Mode::Activate => Purpose::Activation,
        Mode::Recover => Purpose::Recovery,
    }
}

/// Form: `csrf`, `personal_id`, `birthdate`, `via` (`sms` | `email`). Always the same answer.
async fn send(app: Arc<App>, headers: &HeaderMap, jar: &CookieJar, addr: ClientAddr, body: &[u8], mode: Mode) -> Response {
    let p = match Posted::read(&app, headers, jar, body) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let (pid, birth) = match p.identity() {
        Ok(v) => v,
        Err(key) => return p.again(mode, StatusCode::BAD_REQUEST, key),
    };
    let Some(via) = Via::parse(p.field("via")) else { return p.again(mode, StatusCode::BAD_REQUEST, "enrol.error.via") };
    match delivery::address_allows(&app, &addr.0).await {
        Ok(true) => {}
        Ok(false) => return p.again(mode, StatusCode::TOO_MANY_REQUESTS, "enrol.error.too_many"),
        Err(e) => return p.internal(e).into_response(),
    }
    let locale = p.locale;
    let background = app.clone();
    let pid_for_task = pid.clone();
    tokio::spawn(async move {
        if let Err(e) = send_if_eligible(&background, &pid_for_task, birth, via, mode, locale, addr).await {
            tracing::warn!(error = %e, "sending a one-time code failed");
        }
    });
    code_page(&app, &p, mode, pid.as_str(), via, StatusCode::OK, None)
}

fn code_page(app: &App, p: &Posted, mode: Mode, pid: &str, via: Via, status: StatusCode, error: Option<&'static str>) -> Response {
    let page = CodePage {
        locale: p.locale,
        switch_href: None,
        mode: mode.as_str(),
        csrf: p.csrf.clone(),
        personal_id: pid.to_string(),
        via: via.as_str(),
        sent_key: match via {
            Via::Sms => "enrol.code.sent_sms",
            Via::Email => "enrol.code.sent_email",
        },
        hint: p.locale.t_with("enrol.code.hint", &[("minutes", &app.settings.enrolment.code_minutes.to_string())]),
        error,
    };
    render(status, &page)
}

/// Activation is for an account without a password, recovery for one with a password; neither
/// for a locked or closed account, nor without the right birth date.
async fn send_if_eligible(
    app: &App,
    pid: &PersonalId,
    birth: Date,
    via: Via,
    mode: Mode,
    locale: Locale,
    addr: ClientAddr,
) -> Result<(), crate::store::StoreError> {
    let purpose = purpose_of(mode);
    let Some((person, state)) = app.store.person_for_login(pid).await? else {
        return refused(app, None, purpose, "unknown_id", &addr).await;
    };
    if !birthdate_matches(&person, birth) {
        return refused(app, Some(&person), purpose, "birthdate", &addr).await;
    }
    let fits = match mode {
        Mode::Activate => state.password_hash.is_none(),
        Mode::Recover => state.password_hash.is_some(),
    };
    if person.status != PersonStatus::Active || !fits {
        return refused(app, Some(&person), purpose, "not_eligible", &addr).await;
    }
    // A code that could not be sent is in the audit log; the person's page is the same either way.
    let _outcome = delivery::send_code(app, &person, purpose, via, locale, &Requester::Person { client_addr: addr.0 }).await?;
    Ok(())
}

/// `POST /activate/code`.
pub async fn activate_code(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, addr: ClientAddr, body: Bytes) -> Response {
    code(&app, &headers, jar, addr, &body, Mode::Activate).await
}

/// `POST /recover/code`.
pub async fn recover_code(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, addr: ClientAddr, body: Bytes) -> Response {
    code(&app, &headers, jar, addr, &body, Mode::Recover).await
}

/// Form: `csrf`, `personal_id`, `via`, `code`.
async fn code(app: &App, headers: &HeaderMap, jar: CookieJar, addr: ClientAddr, body: &[u8], mode: Mode) -> Response {
    let p = match Posted::read(app, headers, &jar, body) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    match code_step(app, jar, &p, &addr, mode).await {
        Ok(r) | Err(r) => r,
    }
}

async fn code_step(app: &App, jar: CookieJar, p: &Posted, addr: &ClientAddr, mode: Mode) -> Result<Response, Response> {
    let internal = |e: crate::store::StoreError| p.internal(e).into_response();
    let pid = PersonalId::parse(p.field("personal_id")).map_err(|_| p.again(mode, StatusCode::BAD_REQUEST, "login.error.malformed_id"))?;
    let via = Via::parse(p.field("via")).ok_or_else(|| p.again(mode, StatusCode::BAD_REQUEST, "enrol.error.via"))?;
    if !delivery::address_allows(app, &addr.0).await.map_err(internal)? {
        return Err(code_page(app, p, mode, pid.as_str(), via, StatusCode::TOO_MANY_REQUESTS, Some("enrol.error.too_many")));
    }
    let purpose = purpose_of(mode);
    let wrong = || code_page(app, p, mode, pid.as_str(), via, StatusCode::BAD_REQUEST, Some("enrol.error.details"));
    let Some((person, _)) = app.store.person_for_login(&pid).await.map_err(internal)? else {
        refused(app, None, purpose, "unknown_id", addr).await.map_err(internal)?;
        return Err(wrong());
    };
    let checked = codes::check(app, &person.id, purpose, p.field("code")).await.map_err(internal)?;
    let Checked::Accepted { channel } = &checked else {
        refused(app, Some(&person), purpose, checked_reason(&checked), addr).await.map_err(internal)?;
        return Err(wrong());
    };
    // The channel the code really went through, whatever the form says.
    let via = Via::parse(channel).unwrap_or(via);
    let proof = match mode {
        Mode::Activate => Proof::Activation(via),
        Mode::Recover => Proof::Recovery(via),
    };
    proved(app, jar, p, &person, proof).await
}
