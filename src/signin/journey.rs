//! Moving a sign-in along: [`start`] when a portal, a device or the account page asks for one,
//! [`authenticated`] when any method has proved who the person is, [`advance`] after every
//! other step. Each asks the policy (`policy::next`) what is still needed and goes there: a
//! page (the sign-in is parked, or moved to that stage) or the end (`finish`).

use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::{Value, json};

use super::finish::{self, complete, error_redirect};
use super::pending::Pending;
use super::policy::{Facts, Next, next};
use super::purpose::{Purpose, SignIn};
use super::session::{self, BrowserSession, browser_id};
use super::stage::Stage;
use crate::assurance::{Acr, Amr, SessionFit, session_fit};
use crate::audit::{self, Event};
use crate::client::Client;
use crate::crypto::{random_token, token_hash};
use crate::identity::{Person, PersonId, PersonStatus};
use crate::protocol::error::OAuthError;
use crate::state::App;
use crate::store::StoreError;
use crate::store::grants::PendingRequest;
use crate::web::error::PageError;
use crate::web::i18n::Locale;

/// One of the platform's own sign-in clients (the account page, the console): a first-party
/// public client whose only redirect is the page itself, created on first use.
pub async fn built_in_client(app: &App, id: &str, name: &str, path: &str) -> Result<Client, StoreError> {
    let id = crate::client::ClientId::parse(id).ok_or_else(|| StoreError::Corrupt(format!("built-in client id {id:?}")))?;
    if let Some(c) = app.store.client(&id).await? {
        return Ok(c);
    }
    let redirect_uris = vec![app.settings.url(path)];
    let sector = crate::client::validate_redirect_uris(&redirect_uris)
        .unwrap_or_else(|_| app.settings.issuer.host_str().unwrap_or_default().to_string());
    let client = Client {
        id,
        name: name.into(),
        secret_hash: None,
        auth_method: crate::client::AuthMethod::None,
        redirect_uris,
        allowed_scopes: vec!["openid".into()],
        id_token_alg: crate::keys::Alg::ES256,
        sector,
        first_party: true,
        claims_profile: crate::client::ClaimsProfile::Standard,
        options: crate::client::ClientOptions::default(),
        disabled: None,
        previous_secret: None,
    };
    app.store.put_client(&client, app.now()).await?;
    Ok(client)
}

/// Starts a sign-in: reuses the browser's session when it fits (SSO), and either ends at once
/// or parks the sign-in at the first page it needs.
pub async fn start(app: &App, jar: CookieJar, client: &Client, purpose: Purpose, locale: Locale) -> Result<Response, PageError> {
    let internal = |e: StoreError| PageError::internal(locale, e);
    let now = app.now();
    let mut sign_in = SignIn::new(purpose);
    let mut reusable = None;
    // A sign-in that must authenticate afresh (`prompt=login`, the account page) has no use for
    // the session: it is not looked up.
    let session = if sign_in.purpose.forces_login() { None } else { session::current(app, &jar, now).await.map_err(internal)? };
    if let Some(s) = session {
        let active = app.store.person(&s.record.person_id).await.map_err(internal)?.is_some_and(|p| p.status == PersonStatus::Active);
        let p = &sign_in.purpose;
        let fit = if active {
            session_fit(s.acr, s.record.auth_time, now, p.required_acr(), p.max_age(), p.forces_login())
        } else {
            SessionFit::Reauthenticate
        };
        sign_in.step_up = fit == SessionFit::StepUp;
        reusable = (fit == SessionFit::Reuse).then_some(s);
    }
    let facts = facts(app, client, &sign_in, reusable.as_ref()).await.map_err(internal)?;
    sign_in.consented |= facts.consent_on_record;
    match (next(&sign_in, facts), reusable) {
        (Next::Done, Some(s)) => complete(app, jar, client, &sign_in, &s, locale).await,
        (Next::Refuse(code, why), _) => Ok(refuse_silently(app, &sign_in, code, why)),
        (Next::Ask(stage), s) => park(app, jar, client, &sign_in, stage, s.as_ref().map(|s| &s.record.person_id), locale).await,
        // The policy ends only an authenticated sign-in.
        (Next::Done, None) => park(app, jar, client, &sign_in, Stage::Login, None, locale).await,
    }
}

/// After a step of a parked sign-in, with the session of the person it belongs to.
pub async fn advance(app: &App, jar: CookieJar, mut pending: Pending, session: &BrowserSession) -> Result<Response, PageError> {
    let locale = pending.locale;
    let facts = facts(app, &pending.client, &pending.sign_in, Some(session)).await.map_err(|e| PageError::internal(locale, e))?;
    pending.sign_in.consented |= facts.consent_on_record;
    match next(&pending.sign_in, facts) {
        Next::Done => finish::finish(app, jar, pending, session).await,
        Next::Ask(stage) => move_to(app, jar, &pending, stage, &session.record.person_id).await,
        Next::Refuse(code, why) => {
            if !app.store.take_pending(&pending.row.id).await.map_err(|e| PageError::internal(locale, e))? {
                return Err(PageError::expired(locale));
            }
            Ok((jar, refuse_silently(app, &pending.sign_in, code, why)).into_response())
        }
    }
}

/// What a method proved: who, how strongly, and what its audit record adds.
pub struct Authentication<'a> {
    pub person_id: &'a PersonId,
    pub acr: Acr,
    pub amr: Vec<Amr>,
    /// The method's own facts for the audit record (`method`, `device_id`, `upstream`, …).
    pub detail: Value,
    /// A brokered sign-in: the upstream and its ID token, kept to log out there too.
    pub upstream_session: Option<(&'a str, &'a str)>,
}

impl<'a> Authentication<'a> {
    /// The acr and amr that these methods give this person (`assurance::evaluate`).
    pub fn by_methods(person: &'a Person, methods: &[Amr]) -> Self {
        let (acr, amr) = crate::assurance::evaluate(person.account_level, methods);
        Self { person_id: &person.id, acr, amr, detail: json!({}), upstream_session: None }
    }
}

/// The person is authenticated, by whichever method: the session starts (a new one, no
/// fixation), the sign-in is recorded, and the sign-in carries on.
pub async fn authenticated(app: &App, jar: CookieJar, mut pending: Pending, auth: Authentication<'_>) -> Result<Response, PageError> {
    let locale = pending.locale;
    pending.sign_in.authenticated = true;
    let internal = |e: StoreError| PageError::internal(locale, e);
    let now = app.now();
    let (jar, s) = session::start(app, jar, auth.person_id, auth.acr, &auth.amr, now).await.map_err(internal)?;
    if let Some((upstream, id_token)) = auth.upstream_session {
        app.store.put_upstream_session(&s.record.sid, upstream, id_token, s.record.expires_at).await.map_err(internal)?;
    }
    let mut detail = json!({"acr": auth.acr.as_uri(), "amr": s.record.amr, "sid": s.record.sid});
    // A browser this person never signed in from (other browsers known): the notifier tells them.
    let browser = crate::crypto::token_hash(&pending.browser);
    if app.store.remember_browser(auth.person_id, &browser, now).await.map_err(internal)?
        && app.store.known_browser_count(auth.person_id).await.map_err(internal)? > 1
    {
        detail["new_browser"] = json!(true);
    }
    let new_browser = detail.get("new_browser").is_some();
    if let (Some(all), Value::Object(extra)) = (detail.as_object_mut(), auth.detail) {
        all.extend(extra);
    }
    let source = audit::current_source();
    let history = crate::store::sign_ins::SignIn {
        person_id: auth.person_id.clone(),
        at: now,
        client_id: pending.client.id.as_str().to_string(),
        client_name: pending.client.name.clone(),
        methods: s.record.amr.clone(),
        acr: auth.acr.as_uri().to_string(),
        new_browser,
        network: source.as_ref().and_then(|s| audit::approximate_network(&s.client_addr)),
        user_agent: source.and_then(|s| s.user_agent),
    };
    app.store.insert_sign_in(&history).await.map_err(internal)?;
    audit::record(&app.store, now, Event::LoginSucceeded, Some(auth.person_id), Some(pending.client.id.as_str()), detail)
        .await
        .map_err(internal)?;
    advance(app, jar, pending, &s).await
}

/// Moves a parked sign-in to `stage` for `person_id` (also within a method: password → TOTP)
/// and sends the browser there.
pub async fn move_to(app: &App, jar: CookieJar, pending: &Pending, stage: Stage, person_id: &PersonId) -> Result<Response, PageError> {
    let locale = pending.locale;
    let params = serde_json::to_string(&pending.sign_in).map_err(|e| PageError::internal(locale, e))?;
    let moved = app
        .store
        .advance_pending(&pending.row.id, pending.stage.as_str(), stage.as_str(), Some(person_id), &params)
        .await
        .map_err(|e| PageError::internal(locale, e))?;
    if !moved {
        return Err(PageError::expired(locale));
    }
    Ok((jar, Redirect::to(&stage.url(&pending.row.id))).into_response())
}

/// What the policy needs to know beyond the parked parameters. The stored consent is read only
/// for a portal whose authenticated sign-in has not settled it yet; when the person was last
/// asked about satisfaction only when the question is on and the person authenticated.
async fn facts(app: &App, client: &Client, sign_in: &SignIn, session: Option<&BrowserSession>) -> Result<Facts, StoreError> {
    let consent_on_record = match (&sign_in.purpose, session) {
        (Purpose::Portal(req), Some(s)) if !sign_in.consented && !req.prompt.consent => {
            let granted = app.store.consented_scopes(&s.record.person_id, client.id.as_str()).await?;
            granted.is_some_and(|g| crate::privacy::consent::covers(&g, &req.scopes))
        }
        _ => false,
    };
    let every = app.settings.satisfaction_every;
    let satisfaction_due = match (&sign_in.purpose, session) {
        (Purpose::Portal(_), Some(s)) if every > 0 && sign_in.authenticated && !sign_in.rated => {
            app.store.satisfaction_asked_at(&s.record.person_id).await?.is_none_or(|at| at <= app.now() - every)
        }
        _ => false,
    };
    Ok(Facts { authenticated: session.is_some(), consent_on_record, satisfaction_due })
}

/// Parks a new sign-in at `stage` and sends the browser to that page.
async fn park(
    app: &App,
    jar: CookieJar,
    client: &Client,
    sign_in: &SignIn,
    stage: Stage,
    person_id: Option<&PersonId>,
    locale: Locale,
) -> Result<Response, PageError> {
    let (jar, browser) = browser_id(jar);
    let now = app.now();
    let row = PendingRequest {
        id: random_token(),
        browser_hash: token_hash(&browser),
        client_id: client.id.clone(),
        params: serde_json::to_string(sign_in).map_err(|e| PageError::internal(locale, e))?,
        person_id: person_id.cloned(),
        stage: stage.as_str().to_string(),
        expires_at: now + app.settings.sign_in_ttl,
    };
    app.store.insert_pending(&row, now).await.map_err(|e| PageError::internal(locale, e))?;
    Ok((jar, Redirect::to(&stage.url(&row.id))).into_response())
}

/// A portal told that its sign-in cannot go on (`prompt=none`, an unmeetable essential acr).
/// Only a portal's request can be silent or carry an essential acr.
fn refuse_silently(app: &App, sign_in: &SignIn, code: crate::protocol::error::ErrorCode, why: &'static str) -> Response {
    match &sign_in.purpose {
        Purpose::Portal(req) => error_redirect(app, &req.redirect_uri, req.state.as_deref(), &OAuthError::new(code, why)),
        _ => PageError::expired(app.settings.default_locale).into_response(),
    }
}
