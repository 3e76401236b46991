//! The account page's password and authenticator app: set or change the password (after a
//! recent sign-in, under the same rules as activation), set up the app (the passkey rule of the
//! module above), remove it or print new recovery codes (after a recent multi-factor sign-in).
//! Each change is audited, and the notifier tells the person.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use super::{AccountError, Ctx, context, posted_form, render_page};
use crate::assurance::Acr;
use crate::audit::{self, Event};
use crate::authn::{password, totp};
use crate::enrol::pages::{RecoveryCodesPage, TotpSetupPage};
use crate::enrol::password_rules::{self, MIN_ALONE, MIN_WITH_SECOND_FACTOR, PersonalDetails};
use crate::enrol::totp_setup;
use crate::state::App;
use crate::store::StoreError;
use crate::web::error::PageError;
use crate::web::pages::render;

/// What the page shows about the password and the app.
pub struct FactorsView {
    pub has_password: bool,
    pub has_totp: bool,
    /// How many recovery codes are left, in words.
    pub codes_left_text: String,
    /// The password may be set or changed now (recent sign-in).
    pub may_change_password: bool,
    /// The shortest password allowed, and the rule in words.
    pub password_rule: String,
    pub may_set_up_totp: bool,
    /// The app may be removed or new recovery codes printed (recent multi-factor sign-in).
    pub may_manage_totp: bool,
}

fn minimum(ctx: &Ctx) -> usize {
    if ctx.has_second_factor() { MIN_WITH_SECOND_FACTOR } else { MIN_ALONE }
}

fn strong_and_recent(ctx: &Ctx, now: i64) -> bool {
    ctx.recent(now) && ctx.session.acr >= Acr::Loa2
}

pub(super) async fn view(app: &App, ctx: &Ctx) -> Result<FactorsView, StoreError> {
    let now = app.now();
    let min = minimum(ctx);
    let key = if min >= MIN_ALONE { "enrol.password.rule_min_alone" } else { "enrol.password.rule_min" };
    Ok(FactorsView {
        has_password: ctx.has_password,
        has_totp: ctx.has_totp,
        codes_left_text: if ctx.has_totp {
            let left = app.store.recovery_codes_left(&ctx.person.id).await?;
            ctx.locale.t_with("account.totp.codes_left", &[("n", &left.to_string())])
        } else {
            String::new()
        },
        may_change_password: ctx.recent(now),
        password_rule: ctx.locale.t_with(key, &[("min", &min.to_string())]),
        may_set_up_totp: !ctx.has_totp && ctx.may_register(now),
        may_manage_totp: ctx.has_totp && strong_and_recent(ctx, now),
    })
}

/// The handler's start: the session's context and the form, its CSRF token checked.
/// `POST /account/password` (form: `csrf`, `password`, `confirm`).
pub async fn set_password(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let run = async {
        let (ctx, f) = posted_form(&app, &headers, &jar, &body).await?;
        let internal = |e: &dyn crate::web::incident::Cause| PageError::internal_of(ctx.locale, e).into_response();
        if !ctx.recent(app.now()) {
            return Err(render_page(&app, &ctx, StatusCode::FORBIDDEN, Some("account.error.recent")).await);
        }
        let p = &ctx.person;
        let who = PersonalDetails::of(p);
        let (new, confirm) = (f.get("password").unwrap_or_default(), f.get("confirm").unwrap_or_default());
        if let Err(refusal) = password_rules::check(new, confirm, minimum(&ctx) >= MIN_ALONE, &who) {
            return Err(render_page(&app, &ctx, StatusCode::BAD_REQUEST, Some(refusal.message_key())).await);
        }
        let turn = password::turn(app.admission.password_wait()).await.map_err(|_| app.admission.busy_page(ctx.locale))?;
        let hash = turn.hash(new.to_string()).await.map_err(|e| internal(&e))?;
        let now = app.now();
        app.store.set_password_hash(&p.id, &hash, now).await.map_err(|e| internal(&e))?;
        let detail = json!({"via": "account", "first": !ctx.has_password, "session_acr": ctx.session.acr.as_uri()});
        audit::record(&app.store, now, Event::PasswordChanged, Some(&p.id), None, detail).await.map_err(|e| internal(&e))?;
        Ok(Redirect::to("/account#factors").into_response())
    };
    run.await.unwrap_or_else(|r| r)
}

/// The pending secret is sealed to the session: useless in another browser or after sign-out.
fn pending_context(ctx: &Ctx) -> String {
    format!("account:{}", ctx.session.id_hash)
}

fn totp_page(app: &App, ctx: &Ctx, secret: &[u8], status: StatusCode, error: Option<&'static str>) -> Response {
    let sealed = match totp_setup::seal_pending(app, &pending_context(ctx), secret) {
        Ok(s) => s,
        Err(e) => return PageError::internal(ctx.locale, e).into_response(),
    };
    let shown = totp_setup::show(app, &ctx.person, secret);
    let page = TotpSetupPage {
        locale: ctx.locale,
        switch_href: None,
        action: "/account/totp",
        skip_action: None,
        csrf: ctx.csrf(app),
        pending: Some(sealed),
        qr: shown.qr,
        key: shown.key,
        required: false,
        error,
    };
    render(status, &page)
}

/// `GET /account/totp`: a new secret to scan.
pub async fn totp_form(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar) -> Response {
    let ctx = match context(&app, &headers, &jar, None).await {
        Ok(c) => c,
        Err((e, locale)) => return e.page(locale),
    };
    if ctx.has_totp || !ctx.may_register(app.now()) {
        return render_page(&app, &ctx, StatusCode::FORBIDDEN, Some(AccountError::Reauthenticate.message_key())).await;
    }
    totp_page(&app, &ctx, &totp::new_secret(), StatusCode::OK, None)
}

/// `POST /account/totp` (form: `csrf`, `pending`, `code`).
pub async fn totp_submit(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let run = async {
        let (ctx, f) = posted_form(&app, &headers, &jar, &body).await?;
        let internal = |e: &dyn crate::web::incident::Cause| PageError::internal_of(ctx.locale, e).into_response();
        if ctx.has_totp || !ctx.may_register(app.now()) {
            return Err(render_page(&app, &ctx, StatusCode::FORBIDDEN, Some(AccountError::Reauthenticate.message_key())).await);
        }
        let secret = totp_setup::open_pending(&app, &pending_context(&ctx), f.get("pending").unwrap_or_default())
            .map_err(|_| PageError::new(StatusCode::BAD_REQUEST, ctx.locale, "error.bad_form").into_response())?;
        let confirmed =
            totp_setup::confirm(&app, &ctx.person, &secret, f.get("code").unwrap_or_default()).await.map_err(|e| internal(&e))?;
        let Some(codes) = confirmed else {
            return Err(totp_page(&app, &ctx, &secret, StatusCode::BAD_REQUEST, Some("enrol.totp.error")));
        };
        let now = app.now();
        let pid = Some(&ctx.person.id);
        audit::record(&app.store, now, Event::TotpEnrolled, pid, None, json!({"via": "account"})).await.map_err(|e| internal(&e))?;
        audit::record(&app.store, now, Event::RecoveryCodesIssued, pid, None, json!({"count": codes.len()}))
            .await
            .map_err(|e| internal(&e))?;
        Ok(render(StatusCode::OK, &RecoveryCodesPage { locale: ctx.locale, switch_href: None, codes, continue_href: "/account" }))
    };
    run.await.unwrap_or_else(|r| r)
}

/// `POST /account/totp/remove` (form: `csrf`): the app and its recovery codes go.
pub async fn totp_remove(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let run = async {
        let (ctx, _) = posted_form(&app, &headers, &jar, &body).await?;
        let internal = |e: &dyn crate::web::incident::Cause| PageError::internal_of(ctx.locale, e).into_response();
        if !ctx.has_totp || !strong_and_recent(&ctx, app.now()) {
            return Err(render_page(&app, &ctx, StatusCode::FORBIDDEN, Some(AccountError::Reauthenticate.message_key())).await);
        }
        let now = app.now();
        app.store.set_totp_secret(&ctx.person.id, None, now).await.map_err(|e| internal(&e))?;
        app.store.replace_recovery_codes(&ctx.person.id, &[], now).await.map_err(|e| internal(&e))?;
        audit::record(&app.store, now, Event::TotpRemoved, Some(&ctx.person.id), None, json!({"via": "account"}))
            .await
            .map_err(|e| internal(&e))?;
        Ok(Redirect::to("/account#factors").into_response())
    };
    run.await.unwrap_or_else(|r| r)
}

/// `POST /account/recovery-codes` (form: `csrf`): ten new codes; the old ones stop working.
pub async fn new_recovery_codes(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let run = async {
        let (ctx, _) = posted_form(&app, &headers, &jar, &body).await?;
        let internal = |e: &dyn crate::web::incident::Cause| PageError::internal_of(ctx.locale, e).into_response();
        if !ctx.has_totp || !strong_and_recent(&ctx, app.now()) {
            return Err(render_page(&app, &ctx, StatusCode::FORBIDDEN, Some(AccountError::Reauthenticate.message_key())).await);
        }
        let codes = crate::authn::recovery_codes::issue(&app, &ctx.person.id).await.map_err(|e| internal(&e))?;
        let detail = json!({"count": codes.len(), "via": "account"});
        audit::record(&app.store, app.now(), Event::RecoveryCodesIssued, Some(&ctx.person.id), None, detail)
            .await
            .map_err(|e| internal(&e))?;
        Ok(render(StatusCode::OK, &RecoveryCodesPage { locale: ctx.locale, switch_href: None, codes, continue_href: "/account" }))
    };
    run.await.unwrap_or_else(|r| r)
}
