//! Logout: the end_session endpoint (OIDC RP-Initiated Logout 1.0) and logout tokens sent to
//! the portals of an ended session (OIDC Back-Channel Logout 1.0).
//!
//! A portal sends the browser to `/logout` with the ID token it received (`id_token_hint`). When
//! that token is ours and names this browser's session, the session ends at once; otherwise the
//! person confirms on a page first, so that a link on another site cannot sign anyone out
//! (logout CSRF). Ending a session ([`end_session`]) deletes it, revokes its tokens (refresh
//! tokens granted `offline_access` excepted), and owes every portal that received a code in it
//! and registered a `backchannel_logout_uri` a logout token. Deliveries are rows in
//! `logout_deliveries`: the first attempt starts at once in the background, failures are retried
//! with backoff by the janitor ([`run_deliveries`]), and every outcome is audited.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::JwkSet;
use serde::Serialize;
use serde_json::{Value, json};

use crate::client::{Client, ClientId};
use crate::identity::PersonId;

use crate::audit::{self, Event};
use crate::crypto::random_token;
use crate::protocol::jose;
use crate::signin::session;
use crate::state::App;
use crate::store::StoreError;
use crate::store::logout::{DELIVERY_DELIVERED, DELIVERY_FAILED, DELIVERY_PENDING, Delivery};
use crate::web::cookies;
use crate::web::error::PageError;
use crate::web::form::Params;
use crate::web::i18n::Locale;
use crate::web::pages::{LoggedOutPage, LogoutConfirmPage, render};

/// Back-Channel Logout §2.4: the event a logout token carries.
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Back-Channel Logout §2.4 recommends a lifetime of at most two minutes.
pub const LOGOUT_TOKEN_TTL: i64 = 120;
/// Attempts per delivery before it is given up.
pub const MAX_ATTEMPTS: i64 = 6;
/// Seconds to wait after the n-th failed attempt before the next one.
const BACKOFF: [i64; 5] = [30, 120, 600, 3600, 6 * 3600];
/// How long one delivery may take (connect, send, answer).
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);
/// Due deliveries taken per batch, and batches per run.
const BATCH: i64 = 100;
const MAX_BATCHES: usize = 20;

/// The wait after failed attempt number `attempt` (1-based).
pub fn retry_delay(attempt: i64) -> i64 {
    let i = usize::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(BACKOFF.len() - 1);
    BACKOFF[i]
}

// ---------------------------------------------------------------------------------------------
// Ending a session
// ---------------------------------------------------------------------------------------------

/// Why a session ended; recorded in the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutReason {
    /// RP-Initiated Logout with a valid `id_token_hint` for this session.
    RpInitiated { client_id: String },
    /// The person confirmed on the sign-out page, at a portal's request or not.
    Confirmed { client_id: Option<String> },
    /// Server code ended it (an operator, a disabled account…); the text says which.
    Server(&'static str),
}

impl LogoutReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            LogoutReason::RpInitiated { .. } => "rp_initiated",
            LogoutReason::Confirmed { .. } => "confirmed",
            LogoutReason::Server(why) => why,
        }
    }

    pub fn client_id(&self) -> Option<&str> {
        match self {
            LogoutReason::RpInitiated { client_id } => Some(client_id),
            LogoutReason::Confirmed { client_id } => client_id.as_deref(),
            LogoutReason::Server(_) => None,
        }
    }
}

/// What ending a session did.
#[derive(Debug, Clone)]
pub struct Ended {
    pub person_id: PersonId,
    /// Every portal that received a code in the session.
    pub portals: Vec<String>,
    /// The back-channel deliveries owed (one per portal with a `backchannel_logout_uri`).
    pub deliveries: Vec<String>,
    pub revoked_access_tokens: u64,
    pub revoked_refresh_tokens: u64,
}

/// Ends the session `sid`: deletes it, revokes its access tokens and its refresh tokens (not
/// those granted `offline_access`), audits it, and sends logout tokens to its portals in the
/// background (the first attempt starts now; this does not wait for it). `None` if there was no
/// such session (it ended already), in which case nothing is done: ending is idempotent and only
/// one caller notifies the portals.
///
/// The caller clears the browser's session cookie when there is a browser.
pub async fn end_session(app: &Arc<App>, sid: &str, reason: LogoutReason) -> Result<Option<Ended>, StoreError> {
    let now = app.now();
    let Some(record) = app.store.session_by_sid(sid).await? else { return Ok(None) };
    if !app.store.delete_session_by_sid(sid).await? {
        return Ok(None);
    }
    let portals = app.store.session_clients(sid).await?;
    let (revoked_access_tokens, revoked_refresh_tokens) = app.store.revoke_session_tokens(sid, now).await?;
    let mut deliveries = Vec::new();
    for client_id in &portals {
        let Some(id) = ClientId::parse(client_id) else { continue };
        let Some(client) = app.store.client(&id).await? else { continue };
        deliveries.extend(owe_logout(app, &client, sid, &record.person_id, now).await?);
    }
    let detail = json!({
        "sid": sid,
        "reason": reason.as_str(),
        "portals": portals,
        "backchannel_deliveries": deliveries.len(),
        "revoked_access_tokens": revoked_access_tokens,
        "revoked_refresh_tokens": revoked_refresh_tokens,
    });
    audit::record(&app.store, now, Event::LoggedOut, Some(&record.person_id), reason.client_id(), detail).await?;
    let ids = deliveries.iter().map(|d| d.id.clone()).collect();
    deliver_in_background(app, deliveries);
    Ok(Some(Ended { person_id: record.person_id, portals, deliveries: ids, revoked_access_tokens, revoked_refresh_tokens }))
}

/// Records a logout token owed to `client` for the session `sid` of this person, when the
/// portal has a back-channel endpoint; the token is signed at each attempt (it lives two
/// minutes), so none is sent yet.
pub async fn owe_logout(app: &App, client: &Client, sid: &str, person_id: &PersonId, now: i64) -> Result<Option<Delivery>, StoreError> {
    let Some(uri) = client.options.backchannel_logout_uri.clone() else { return Ok(None) };
    let d = Delivery {
        id: random_token(),
        client_id: client.id.clone(),
        uri,
        sid: sid.to_string(),
        subject: crate::privacy::pairwise::subject(&app.secrets.pairwise, client, person_id),
        person_id: Some(person_id.clone()),
        attempts: 0,
        next_attempt_at: now,
        status: DELIVERY_PENDING.to_string(),
        last_error: None,
        created_at: now,
    };
    app.store.insert_delivery(&d, "").await?;
    Ok(Some(d))
}

/// Makes the first attempt of these deliveries now, without waiting for it; the janitor retries.
pub fn deliver_in_background(app: &Arc<App>, deliveries: Vec<Delivery>) {
    if deliveries.is_empty() {
        return;
    }
    let app = app.clone();
    tokio::spawn(async move {
        let run = deliver(&app, deliveries).await;
        if run.errors > 0 {
            tracing::warn!(errors = run.errors, "recording back-channel logout deliveries failed; the janitor retries them");
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Back-channel delivery
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
struct LogoutTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
    sid: &'a str,
    events: Value,
}

/// A logout token (Back-Channel Logout §2.4) for `client`, signed with the key its ID tokens
/// are signed with, `typ` `logout+jwt` (§2.4, explicit typing); never a `nonce`.
pub fn logout_token(app: &App, client: &Client, subject: &str, sid: &str, now: i64) -> Result<String, crate::keys::KeyError> {
    let claims = LogoutTokenClaims {
        iss: &app.settings.issuer_str,
        sub: subject,
        aud: client.id.as_str(),
        iat: now,
        exp: now + LOGOUT_TOKEN_TTL,
        jti: random_token(),
        sid,
        events: json!({ BACKCHANNEL_EVENT: {} }),
    };
    let signer = app.keys.signer(client.id_token_alg)?;
    Ok(signer.sign_jwt("logout+jwt", &claims)?)
}

/// The result of a run over deliveries.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryRun {
    /// Attempts made (deliveries another task took first are not counted).
    pub attempted: usize,
    pub delivered: usize,
    /// Failed attempts that will be retried.
    pub retrying: usize,
    /// Failed attempts after which the delivery was given up.
    pub given_up: usize,
    /// Deliveries whose outcome could not be recorded (database errors, logged).
    pub errors: usize,
}

enum Outcome {
    Skipped,
    Delivered,
    Retrying,
    GivenUp,
}

/// Makes one attempt of every pending delivery that is due. The janitor calls this every tick;
/// tests call it after moving the clock.
pub async fn run_deliveries(app: &Arc<App>) -> Result<DeliveryRun, StoreError> {
    let mut total = DeliveryRun::default();
    for _ in 0..MAX_BATCHES {
        let due = app.store.due_deliveries(app.now(), BATCH).await?;
        let n = due.len();
        let run = deliver(app, due).await;
        total.attempted += run.attempted;
        total.delivered += run.delivered;
        total.retrying += run.retrying;
        total.given_up += run.given_up;
        total.errors += run.errors;
        // Every row taken has its next attempt moved into the future, so the next batch is new.
        if n < BATCH as usize {
            break;
        }
    }
    Ok(total)
}

/// Attempts the given deliveries concurrently.
async fn deliver(app: &Arc<App>, deliveries: Vec<Delivery>) -> DeliveryRun {
    let mut set = tokio::task::JoinSet::new();
    for d in deliveries {
        let app = app.clone();
        set.spawn(async move { attempt(&app, d).await });
    }
    let mut run = DeliveryRun::default();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(Outcome::Skipped)) => {}
            Ok(Ok(o)) => {
                run.attempted += 1;
                match o {
                    Outcome::Delivered => run.delivered += 1,
                    Outcome::Retrying => run.retrying += 1,
                    Outcome::GivenUp => run.given_up += 1,
                    Outcome::Skipped => {}
                }
                crate::metrics::backchannel_delivery(match o {
                    Outcome::Delivered => "delivered",
                    Outcome::Retrying => "retrying",
                    _ => "given_up",
                });
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "back-channel logout delivery could not be recorded");
                run.errors += 1;
            }
            Err(e) => {
                tracing::warn!(error = %e, "back-channel logout delivery task failed");
                run.errors += 1;
            }
        }
    }
    run
}

/// Why an attempt failed, and whether trying again could help.
struct Failure {
    error: String,
    permanent: bool,
}

async fn attempt(app: &Arc<App>, d: Delivery) -> Result<Outcome, StoreError> {
    let now = app.now();
    let number = d.attempts + 1;
    let retry_at = now + retry_delay(number);
    if !app.store.claim_delivery(&d.id, d.attempts, retry_at).await? {
        return Ok(Outcome::Skipped);
    }
    let mut token = String::new();
    let result = send(app, &d, now, &mut token).await;
    let person = d.person_id.as_ref();
    let client = Some(d.client_id.as_str());
    match result {
        Ok(status) => {
            app.store.record_delivery(&d.id, DELIVERY_DELIVERED, &token, None).await?;
            let detail = json!({"delivery": d.id, "sid": d.sid, "attempt": number, "status": status});
            audit::record(&app.store, app.now(), Event::BackchannelLogoutDelivered, person, client, detail).await?;
            Ok(Outcome::Delivered)
        }
        Err(f) => {
            let give_up = f.permanent || number >= MAX_ATTEMPTS;
            let status = if give_up { DELIVERY_FAILED } else { DELIVERY_PENDING };
            app.store.record_delivery(&d.id, status, &token, Some(&f.error)).await?;
            let detail = json!({
                "delivery": d.id,
                "sid": d.sid,
                "attempt": number,
                "error": f.error,
                "given_up": give_up,
                "next_attempt_at": (!give_up).then_some(retry_at),
            });
            audit::record(&app.store, app.now(), Event::BackchannelLogoutFailed, person, client, detail).await?;
            Ok(if give_up { Outcome::GivenUp } else { Outcome::Retrying })
        }
    }
}

/// Signs a fresh logout token and POSTs it (§2.5); 200 or 204 is success (§2.8).
async fn send(app: &App, d: &Delivery, now: i64, token: &mut String) -> Result<u16, Failure> {
    let permanent = |error: &str| Failure { error: error.to_string(), permanent: true };
    let id = ClientId::parse(&d.client_id).ok_or_else(|| permanent("the portal's client_id is malformed"))?;
    let client = app
        .store
        .client(&id)
        .await
        .map_err(|e| Failure { error: format!("loading the portal: {e}"), permanent: false })?
        .ok_or_else(|| permanent("the portal is no longer registered"))?;
    // The portal's current registration decides where (and whether) it is notified.
    let uri =
        client.options.backchannel_logout_uri.clone().ok_or_else(|| permanent("the portal no longer has a backchannel_logout_uri"))?;
    *token =
        logout_token(app, &client, &d.subject, &d.sid, now).map_err(|e| Failure { error: format!("signing: {e}"), permanent: false })?;
    // The guard refuses addresses no portal may make us call (a permanent failure: retrying
    // changes nothing until the registration does).
    let http = app.outbound.client_for(&uri).map_err(|e| Failure { error: e.to_string(), permanent: true })?;
    let res = http
        .post(&uri)
        .timeout(DELIVERY_TIMEOUT)
        .header(header::CACHE_CONTROL, "no-store")
        .form(&[("logout_token", token.as_str())])
        .send()
        .await
        .map_err(|e| Failure { error: describe(&e), permanent: false })?;
    let status = res.status().as_u16();
    if status == 200 || status == 204 { Ok(status) } else { Err(Failure { error: format!("HTTP {status}"), permanent: false }) }
}

fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_redirect() {
        "redirect"
    } else {
        "request failed"
    };
    // The URL is the portal's registered one; leave it out of the log line all the same.
    let mut text = format!("{kind}: {e}");
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "<backchannel_logout_uri>");
    }
    text.chars().take(300).collect()
}

// ---------------------------------------------------------------------------------------------
// The end_session endpoint
// ---------------------------------------------------------------------------------------------

/// What an `id_token_hint` of ours says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub client_id: String,
    pub subject: String,
    pub sid: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HintError {
    /// Not a JWT, not signed by one of our published keys, or not an ID token.
    Invalid,
    /// Signed by us but for another issuer (cannot happen with our own tokens).
    OtherIssuer,
}

/// Verifies an ID token we issued against our published keys. Expiry is not checked: RP-Initiated
/// Logout §2 lets a portal send an expired ID token as the hint.
pub fn verify_hint(app: &App, token: &str) -> Result<Hint, HintError> {
    if token.len() > 16 * 1024 {
        return Err(HintError::Invalid);
    }
    let set: JwkSet = serde_json::from_str(&app.keys.jwks()).map_err(|_| HintError::Invalid)?;
    let v = jose::verify_with_set(token, &set, &[Algorithm::ES256, Algorithm::RS256], None).map_err(|_| HintError::Invalid)?;
    // Our ID tokens are typed JWT; a logout token or a JWT access token is no ID token.
    if v.header.typ.as_deref().is_some_and(|t| !t.eq_ignore_ascii_case("JWT")) {
        return Err(HintError::Invalid);
    }
    if jose::str_claim(&v.claims, "iss") != Some(app.settings.issuer_str.as_str()) {
        return Err(HintError::OtherIssuer);
    }
    let client_id = match v.claims.get("aud") {
        Some(Value::String(a)) => a.clone(),
        Some(Value::Array(a)) if a.len() == 1 => a[0].as_str().ok_or(HintError::Invalid)?.to_string(),
        _ => return Err(HintError::Invalid),
    };
    let subject = jose::str_claim(&v.claims, "sub").ok_or(HintError::Invalid)?.to_string();
    let sid = jose::str_claim(&v.claims, "sid").map(str::to_owned);
    Ok(Hint { client_id, subject, sid })
}

/// A logout request whose parameters were checked.
struct LogoutRequest {
    hint: Option<Hint>,
    client: Option<Client>,
    /// Registered for `client` (exact match).
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    locale: Locale,
}

impl LogoutRequest {
    fn client_id(&self) -> Option<String> {
        self.client.as_ref().map(|c| c.id.as_str().to_string())
    }

    /// What the confirmation form carries, bound into its CSRF token.
    fn binding(&self) -> String {
        json!(["logout", self.client_id(), self.post_logout_redirect_uri, self.state]).to_string()
    }

    /// The same request in the other language.
    fn switch_href(&self) -> String {
        let other = self.locale.other();
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(c) = self.client_id() {
            q.append_pair("client_id", &c);
        }
        if let Some(u) = &self.post_logout_redirect_uri {
            q.append_pair("post_logout_redirect_uri", u);
        }
        if let Some(s) = &self.state {
            q.append_pair("state", s);
        }
        q.append_pair("lang", other.as_str());
        format!("/logout?{}", q.finish())
    }
}

fn bad(locale: Locale, key: &'static str) -> PageError {
    PageError::new(StatusCode::BAD_REQUEST, locale, key)
}

async fn validate(app: &App, headers: &HeaderMap, jar: &CookieJar, p: &Params) -> Result<LogoutRequest, PageError> {
    let locale = crate::web::lang::page_locale(app.settings.default_locale, headers, jar, p.get("ui_locales"), p.get("lang"));
    if p.duplicate().is_some() {
        return Err(bad(locale, "logout.error.malformed"));
    }
    let hint = match p.get("id_token_hint") {
        None => None,
        Some(t) => Some(verify_hint(app, t).map_err(|_| bad(locale, "logout.error.bad_hint"))?),
    };
    let named = match p.get("client_id") {
        None => None,
        Some(c) => Some(ClientId::parse(c).ok_or_else(|| bad(locale, "logout.error.unknown_client"))?),
    };
    let client_id = match (&hint, named) {
        (Some(h), Some(n)) if h.client_id != n.as_str() => return Err(bad(locale, "logout.error.client_mismatch")),
        (_, Some(n)) => Some(n),
        (Some(h), None) => Some(ClientId::parse(&h.client_id).ok_or_else(|| bad(locale, "logout.error.unknown_client"))?),
        (None, None) => None,
    };
    let client = match client_id {
        None => None,
        Some(id) => Some(
            app.store
                .client(&id)
                .await
                .map_err(|e| PageError::internal(locale, e))?
                .ok_or_else(|| bad(locale, "logout.error.unknown_client"))?,
        ),
    };
    let post_logout_redirect_uri = match p.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let c = client.as_ref().ok_or_else(|| bad(locale, "logout.error.needs_client"))?;
            // Exact string comparison, as for redirect URIs: never send anyone elsewhere.
            if !c.options.post_logout_redirect_uris.iter().any(|r| r == uri) {
                return Err(bad(locale, "logout.error.bad_redirect_uri"));
            }
            Some(uri.to_string())
        }
    };
    let state = p.get("state").map(str::to_owned);
    Ok(LogoutRequest { hint, client, post_logout_redirect_uri, state, locale })
}

pub async fn get(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let parsed = Params::parse_lenient(q.unwrap_or_default().as_bytes());
    handle(&app, &headers, jar, parsed.ok()).await
}

pub async fn post(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let params = form(&headers, &body);
    if params.is_some() && jar.get(cookies::SESSION).is_none() {
        // A portal's form POST is a cross-site POST, on which browsers withhold our SameSite=Lax
        // cookies; the same request as a top-level GET carries them. The body is already
        // application/x-www-form-urlencoded, so it is the query as it stands.
        // Only a well-formed body fits in a Location header; a control character or a space
        // (malformed form encoding) once made the redirect panic into a 500.
        return match std::str::from_utf8(&body) {
            Ok(q) if q.bytes().all(|b| b.is_ascii_graphic()) => Redirect::to(&format!("/logout?{q}")).into_response(),
            _ => handle(&app, &headers, jar, None).await,
        };
    }
    handle(&app, &headers, jar, params).await
}

fn form(headers: &HeaderMap, body: &[u8]) -> Option<Params> {
    let is_form =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return None;
    }
    Params::parse_lenient(body).ok()
}

async fn handle(app: &Arc<App>, headers: &HeaderMap, jar: CookieJar, params: Option<Params>) -> Response {
    let Some(p) = params else {
        let locale = crate::web::lang::page_locale(app.settings.default_locale, headers, &jar, None, None);
        return bad(locale, "logout.error.malformed").into_response();
    };
    let req = match validate(app, headers, &jar, &p).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let jar = crate::web::lang::remember_lang(jar, p.get("lang"));
    let current = match session::current(app, &jar, app.now()).await {
        Ok(s) => s,
        Err(e) => return PageError::internal(req.locale, e).into_response(),
    };
    let Some(current) = current else {
        // Nothing to end in this browser (it may have ended elsewhere): done.
        return signed_out(jar, &req);
    };
    let hint_names_this_session = req.hint.as_ref().and_then(|h| h.sid.as_deref()) == Some(current.record.sid.as_str());
    if hint_names_this_session {
        let reason = LogoutReason::RpInitiated { client_id: req.client_id().unwrap_or_default() };
        if let Err(e) = end_session(app, &current.record.sid, reason).await {
            return PageError::internal(req.locale, e).into_response();
        }
        return leave(app, jar, &req, &current.record.sid).await;
    }
    // No hint, or one for another session: the person decides.
    let (jar, browser) = session::browser_id(jar);
    let page = LogoutConfirmPage {
        locale: req.locale,
        switch_href: Some(req.switch_href()),
        portal: req.client.as_ref().map(|c| c.name.clone()),
        csrf: crate::web::csrf::token(&app.secrets.csrf, &browser, &req.binding()),
        client_id: req.client_id().unwrap_or_default(),
        post_logout_redirect_uri: req.post_logout_redirect_uri.clone().unwrap_or_default(),
        state: req.state.clone().unwrap_or_default(),
    };
    (jar, render(StatusCode::OK, &page)).into_response()
}

/// The confirmation form's submission.
pub async fn confirm(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let Some(p) = form(&headers, &body) else {
        let locale = crate::web::lang::page_locale(app.settings.default_locale, &headers, &jar, None, None);
        return bad(locale, "logout.error.malformed").into_response();
    };
    let req = match validate(&app, &headers, &jar, &p).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let presented = p.get("csrf").unwrap_or_default();
    let valid =
        jar.get(cookies::BROWSER).is_some_and(|b| crate::web::csrf::verify(&app.secrets.csrf, b.value(), &req.binding(), presented));
    if !valid {
        return PageError::new(StatusCode::FORBIDDEN, req.locale, "error.csrf").into_response();
    }
    match session::current(&app, &jar, app.now()).await {
        Ok(Some(s)) => {
            let reason = LogoutReason::Confirmed { client_id: req.client_id() };
            if let Err(e) = end_session(&app, &s.record.sid, reason).await {
                return PageError::internal(req.locale, e).into_response();
            }
            return leave(&app, jar, &req, &s.record.sid).await;
        }
        Ok(None) => {}
        Err(e) => return PageError::internal(req.locale, e).into_response(),
    }
    signed_out(jar, &req)
}

/// A session that came from an upstream provider ends there too (when it publishes an
/// end_session_endpoint); the upstream sends the browser back to `/logout/upstream/done`, which
/// finishes as [`signed_out`] would have.
async fn leave(app: &App, jar: CookieJar, req: &LogoutRequest, sid: &str) -> Response {
    let target = final_target(req);
    match crate::authn::upstream::logout_redirect(app, sid, target.as_deref(), req.locale).await {
        Some(url) => (jar.add(cookies::removal(cookies::SESSION)), Redirect::to(&url)).into_response(),
        None => signed_out(jar, req),
    }
}

/// The portal's post-logout redirect URI with its `state`.
fn final_target(req: &LogoutRequest) -> Option<String> {
    let uri = req.post_logout_redirect_uri.as_ref()?;
    Some(match (url::Url::parse(uri), &req.state) {
        (Ok(mut u), Some(state)) => {
            u.query_pairs_mut().append_pair("state", state);
            u.to_string()
        }
        _ => uri.clone(),
    })
}

/// The end of a logout: the session cookie goes, then back to the portal (with its `state`) or
/// the signed-out page.
fn signed_out(jar: CookieJar, req: &LogoutRequest) -> Response {
    let jar = jar.add(cookies::removal(cookies::SESSION));
    match final_target(req) {
        Some(target) => (jar, Redirect::to(&target)).into_response(),
        None => {
            let other = req.locale.other();
            let page = LoggedOutPage { locale: req.locale, switch_href: Some(format!("/logout?lang={}", other.as_str())) };
            (jar, render(StatusCode::OK, &page)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_bounded() {
        assert_eq!(retry_delay(1), 30);
        assert_eq!(retry_delay(2), 120);
        assert_eq!(retry_delay(3), 600);
        assert_eq!(retry_delay(100), 6 * 3600);
        assert_eq!(retry_delay(0), 30);
    }

    #[test]
    fn reasons() {
        assert_eq!(LogoutReason::RpInitiated { client_id: "a".into() }.client_id(), Some("a"));
        assert_eq!(LogoutReason::Confirmed { client_id: None }.as_str(), "confirmed");
        assert_eq!(LogoutReason::Server("operator").as_str(), "operator");
    }
}
