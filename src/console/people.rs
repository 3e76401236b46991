//! Console pages for the helpdesk: find a person (by personal ID, by name typed without
//! diacritics, by birth date, by phone), look at their account with a stated reason, lock and
//! unlock it with a reason, send a code, revoke its QR credentials with a reason. Every search and every look is audited (who, whom, why), and a look
//! is also in the person's own disclosure record.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use super::{ConsoleError, Operator, Role, with_operator};
use crate::audit::{self, Event};
use crate::identity::search::PersonQuery;
use crate::identity::{Person, PersonStatus, PersonalId};
use crate::state::App;
use crate::web::form::Params;
use crate::web::i18n::Locale;
use crate::web::pages::render;

/// The most people a search lists: a helpdesk narrows down, it does not browse.
const SEARCH_MAX: i64 = 50;

/// The most recent credentials a person's page lists (the revocation form offers every live one).
const CREDENTIALS_SHOWN: usize = 50;

pub struct PersonRow {
    pub personal_id: String,
    pub name: String,
    pub birthdate: String,
    pub status: String,
}

#[derive(Template)]
#[template(path = "console_people.html")]
pub struct SearchPage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub q: String,
    pub birthdate: String,
    pub searched: bool,
    pub rows: Vec<PersonRow>,
}

#[derive(Template)]
#[template(path = "console_person.html")]
pub struct PersonPage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub csrf: String,
    pub personal_id: String,
    /// Without a reason the page asks for one first.
    pub reason: String,
    pub name: String,
    pub birthdate: String,
    pub level: i64,
    pub status: String,
    pub locked: bool,
    pub factors: Vec<String>,
    pub organisations: Vec<String>,
    /// (when, portal, level, methods)
    pub sign_ins: Vec<(String, String, String, String)>,
    pub credentials: Vec<CredentialRow>,
    /// Indexes of the credentials that still verify (the revocation form offers them).
    pub live_credentials: Vec<i64>,
    pub notice: Option<String>,
    pub error: Option<String>,
}

/// An issued QR credential as the person page lists it.
pub struct CredentialRow {
    pub idx: i64,
    pub kind: String,
    pub issued: String,
    pub expires: String,
    /// The status's message key: live, expired, revoked by the owner or by an operator.
    pub status_key: &'static str,
}

fn credential_row(c: &crate::store::credentials::IssuedCredential, now: i64) -> CredentialRow {
    let status_key = match (c.revoked_by.as_deref(), c.revoked_at) {
        (Some("owner"), Some(_)) => "console.person.credential.revoked_by_owner",
        (_, Some(_)) => "console.person.credential.revoked",
        (_, None) if c.expires_at <= now => "console.person.credential.expired",
        _ => "console.person.credential.live",
    };
    CredentialRow {
        idx: c.idx,
        kind: c.kind.clone(),
        issued: crate::account::format_time(c.issued_at),
        expires: crate::account::format_time(c.expires_at),
        status_key,
    }
}

fn row(p: &Person) -> PersonRow {
    PersonRow {
        personal_id: p.personal_id.as_str().into(),
        name: p.full_name(),
        birthdate: p.birthdate_iso().unwrap_or_default(),
        status: p.status.as_str().into(),
    }
}

/// `GET /console/people[?q=…&birthdate=YYYY-MM-DD]`.
pub async fn search(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let q = Params::from_query(&q);
    let text = q.get("q").unwrap_or_default().to_string();
    let birthdate = q.get("birthdate").unwrap_or_default().to_string();
    with_operator(app, &headers, jar, q.get("lang").map(str::to_owned), |app, op| async move {
        op.require(Role::Helpdesk)?;
        let query = PersonQuery::parse(&text, Some(&birthdate));
        let searched = !query.is_empty();
        let found = if searched { app.store.search_persons(&query, SEARCH_MAX).await? } else { Vec::new() };
        if searched {
            // Which kinds of criteria, never the values (a name or a phone is personal data).
            let kinds: Vec<&str> = [
                query.personal_id.as_ref().map(|_| "personal_id"),
                query.name.as_ref().map(|_| "name"),
                query.birthdate.as_ref().map(|_| "birthdate"),
                query.phone.as_ref().map(|_| "phone"),
            ]
            .into_iter()
            .flatten()
            .collect();
            let detail = json!({"operator": op.actor().label(), "action": "person.searched", "criteria": kinds, "found": found.len()});
            audit::record(&app.store, app.now(), Event::OperatorRead, None, None, detail).await?;
        }
        let page = SearchPage {
            locale: op.locale,
            switch_href: Some(format!("/console/people?lang={}", op.locale.other().as_str())),
            rows: found.iter().map(row).collect(),
            q: text,
            birthdate,
            searched,
        };
        Ok(render(StatusCode::OK, &page))
    })
    .await
}

async fn person_by(app: &App, pid: &str) -> Result<Person, ConsoleError> {
    let pid = PersonalId::parse(pid).map_err(|_| ConsoleError::NotFound)?;
    Ok(app.store.person_for_login(&pid).await?.ok_or(ConsoleError::NotFound)?.0)
}

fn reason_ok(r: &str) -> Option<String> {
    crate::admin::portals::reason(r).ok()
}

async fn person_page(app: &App, op: &Operator, person: &Person, reason: String) -> Result<PersonPage, ConsoleError> {
    let pid = person.personal_id.as_str().to_string();
    let mut page = PersonPage {
        locale: op.locale,
        switch_href: Some(format!("/console/people/{pid}?lang={}", op.locale.other().as_str())),
        csrf: op.csrf(app),
        personal_id: pid,
        reason: reason.clone(),
        name: String::new(),
        birthdate: String::new(),
        level: 0,
        status: String::new(),
        locked: false,
        factors: Vec::new(),
        organisations: Vec::new(),
        sign_ins: Vec::new(),
        credentials: Vec::new(),
        live_credentials: Vec::new(),
        notice: None,
        error: None,
    };
    if reason.is_empty() {
        return Ok(page);
    }
    let state = app.store.person_for_login_by_id(&person.id).await?.map(|(_, s)| s);
    let mut factors = Vec::new();
    if state.as_ref().is_some_and(|s| s.password_hash.is_some()) {
        factors.push(op.locale.t("console.person.factor.password"));
    }
    if state.as_ref().is_some_and(|s| s.totp_secret_sealed.is_some()) {
        factors.push(op.locale.t("console.person.factor.totp"));
    }
    let passkeys = app.store.passkeys_of(&person.id).await?.len();
    if passkeys > 0 {
        factors.push(format!("{} × {passkeys}", op.locale.t("console.person.factor.passkey")));
    }
    let devices = app.store.app_devices_of(&person.id).await?.len();
    if devices > 0 {
        factors.push(format!("{} × {devices}", op.locale.t("console.person.factor.app")));
    }
    let organisations = app
        .store
        .representations(&person.id)
        .await?
        .into_iter()
        .map(|(o, role)| format!("{} ({}) · {}", o.name, o.code, role.as_str()))
        .collect();
    let sign_ins = app
        .store
        .sign_ins_of(&person.id, 20)
        .await?
        .into_iter()
        .map(|s| (crate::account::format_time(s.at), s.client_name, s.acr, s.methods.join(" + ")))
        .collect();
    page.name = person.full_name();
    page.birthdate = person.birthdate_iso().unwrap_or_default();
    page.level = person.account_level.as_i64();
    page.status = person.status.as_str().into();
    page.locked = person.status == PersonStatus::LockedByOperator;
    page.factors = factors;
    page.organisations = organisations;
    page.sign_ins = sign_ins;
    let now = app.now();
    let issued = app.store.credentials_of(crate::credentials::service::LIST_ID, person.personal_id.as_str()).await?;
    page.live_credentials = crate::credentials::revocation::live(&issued, now).iter().map(|c| c.idx).collect();
    page.credentials = issued.iter().take(CREDENTIALS_SHOWN).map(|c| credential_row(c, now)).collect();
    // Who looked at whom, and why: in the audit log and in the person's own record.
    let detail = json!({"operator": op.actor().label(), "action": "person.viewed", "reason": reason});
    audit::record(&app.store, now, Event::OperatorRead, Some(&person.id), None, detail).await?;
    let shown = ["name", "birthdate", "account_level", "factors", "organisations", "sign_ins", "credentials"];
    crate::privacy::disclosure::record_operator_read(&app.store, &person.id, &op.actor().label(), &shown, now).await?;
    Ok(page)
}

/// `GET /console/people/{personal_id}[?reason=…]`: asks why first, then shows the account.
pub async fn show(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    jar: CookieJar,
    Path(pid): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = Params::from_query(&q);
    let reason = q.get("reason").and_then(reason_ok).unwrap_or_default();
    let done = q.get("done").map(str::to_owned);
    with_operator(app, &headers, jar, q.get("lang").map(str::to_owned), |app, op| async move {
        op.require(Role::Helpdesk)?;
        let person = person_by(&app, &pid).await?;
        let mut page = person_page(&app, &op, &person, reason).await?;
        page.notice = done.filter(|d| d == "locked" || d == "unlocked").map(|d| op.locale.t(&format!("console.person.done.{d}")));
        Ok(render(StatusCode::OK, &page))
    })
    .await
}

/// The person's page again with what was refused, as `status`.
async fn refused(
    app: &App,
    op: &Operator,
    person: &Person,
    looked_for: String,
    key: &str,
    status: StatusCode,
) -> Result<Response, ConsoleError> {
    let mut page = person_page(app, op, person, looked_for).await?;
    page.error = Some(op.locale.t(key));
    Ok(render(status, &page))
}

/// Sends the person an activation or recovery code by SMS or e-mail (the same delivery, limits
/// and audit as the admin API), with a reason; the page says where it went, masked.
async fn send_code(app: &App, op: &Operator, person: &Person, f: &Params, looked_for: String) -> Result<Response, ConsoleError> {
    use crate::authn::code_delivery::{self as delivery, NotSent, Requester, Via};
    use crate::authn::one_time_code::Purpose;
    let looked = &looked_for;
    let refuse = |key: &'static str, status: StatusCode| refused(app, op, person, looked.clone(), key, status);
    let Some(why) = f.get("reason").and_then(reason_ok) else {
        return refuse("console.error.reason", StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let purpose = match f.get("purpose") {
        Some("activation") => Purpose::Activation,
        Some("recovery") => Purpose::Recovery,
        _ => return Err(ConsoleError::NotFound),
    };
    let Some(via) = f.get("via").and_then(Via::parse) else { return Err(ConsoleError::NotFound) };
    if person.status != PersonStatus::Active {
        return refuse("console.person.error.status", StatusCode::CONFLICT).await;
    }
    let Some(sent_to) = via.masked_address(person) else { return refuse("console.person.code.no_address", StatusCode::CONFLICT).await };
    let by = Requester::Operator { name: op.actor().label(), reason: why };
    match delivery::send_code(app, person, purpose, via, op.locale, &by).await? {
        Ok(()) => {}
        Err(NotSent::NoAddress) => return refuse("console.person.code.no_address", StatusCode::CONFLICT).await,
        Err(NotSent::PersonLimit) => return refuse("console.person.code.limit", StatusCode::TOO_MANY_REQUESTS).await,
        Err(NotSent::ChannelFailed) => return refuse("console.person.code.failed", StatusCode::BAD_GATEWAY).await,
    }
    let mut page = person_page(app, op, person, looked_for).await?;
    page.notice = Some(format!("{} {sent_to}", op.locale.t("console.person.code.sent")));
    Ok(render(StatusCode::OK, &page))
}

/// Revokes one of the person's live QR credentials, or all of them, with a reason (the same
/// revocation and audit as the command line and the admin API).
async fn revoke_credentials(app: &App, op: &Operator, person: &Person, f: &Params, looked_for: String) -> Result<Response, ConsoleError> {
    use crate::credentials::revocation::{self, Target};
    let holder = person.personal_id.as_str();
    let target = match f.get("idx") {
        Some("all") => Target::AllOf(holder),
        Some(n) => Target::One { idx: n.parse().map_err(|_| ConsoleError::NotFound)?, holder: Some(holder) },
        None => return Err(ConsoleError::NotFound),
    };
    let Some(why) = f.get("reason").and_then(reason_ok) else {
        return refused(app, op, person, looked_for, "console.error.reason", StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let revoked = revocation::revoke(&app.store, app.now(), target, &why, &op.actor()).await?;
    if revoked.is_empty() {
        return refused(app, op, person, looked_for, "console.person.credential.none_revoked", StatusCode::CONFLICT).await;
    }
    let mut page = person_page(app, op, person, looked_for).await?;
    page.notice = Some(format!("{} {}", op.locale.t("console.person.credential.done"), revoked.len()));
    Ok(render(StatusCode::OK, &page))
}

/// `POST /console/people/{personal_id}/lock` and `…/unlock`, with a reason.
pub async fn set_lock(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    jar: CookieJar,
    Path((pid, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let f = Params::parse(&body).unwrap_or_default();
    with_operator(app, &headers, jar, None, |app, op| async move {
        op.require(Role::Helpdesk)?;
        op.check_csrf(&app, &f)?;
        let person = person_by(&app, &pid).await?;
        let looked_for = f.get("view_reason").and_then(reason_ok).unwrap_or_default();
        let lock = match action.as_str() {
            "lock" => true,
            "unlock" => false,
            "send-code" => return send_code(&app, &op, &person, &f, looked_for).await,
            "revoke-credentials" => return revoke_credentials(&app, &op, &person, &f, looked_for).await,
            _ => return Err(ConsoleError::NotFound),
        };
        let Some(why) = f.get("reason").and_then(reason_ok) else {
            return refused(&app, &op, &person, looked_for, "console.error.reason", StatusCode::UNPROCESSABLE_ENTITY).await;
        };
        let next = match (person.status, lock) {
            (PersonStatus::Deceased, _) | (PersonStatus::LockedByOwner, false) => {
                return refused(&app, &op, &person, looked_for, "console.person.error.status", StatusCode::CONFLICT).await;
            }
            (_, true) => PersonStatus::LockedByOperator,
            (_, false) => PersonStatus::Active,
        };
        let now = app.now();
        app.store.set_person_status(&person.id, next.as_str(), now).await?;
        if lock {
            app.store.delete_sessions_of(&person.id).await?;
        }
        let detail =
            json!({"operator": op.actor().label(), "action": if lock { "person.locked" } else { "person.unlocked" }, "reason": why});
        audit::record(&app.store, now, Event::AdminChange, Some(&person.id), None, detail).await?;
        let done = if lock { "locked" } else { "unlocked" };
        let back =
            format!("/console/people/{}?done={done}&reason={}", person.personal_id.as_str(), super::portals::urlencoding(&looked_for));
        Ok(Redirect::to(&back).into_response())
    })
    .await
}
