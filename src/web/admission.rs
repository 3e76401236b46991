//! Admission control (issue 16): when the server is saturated, people are told to wait in line
//! and portals to come back (`503` with `Retry-After`), instead of timeouts or 5xx errors.
//!
//! Saturation is read from two lines: requests being served (`max_in_flight`, a semaphore that
//! also bounds the database pool's queue, since only admitted requests query it) and password
//! checks waiting for a CPU turn (`authn::password::waiting`). New arrivals (an authorization
//! request, the first page of a sign-in, activation or recovery, a pushed request) are held back
//! first, while `entry_reserve` slots are kept for people already half-way through a sign-in:
//! finishing a started sign-in is worth more than starting one. A request that continues a
//! journey waits up to `queue_timeout_ms` for a slot before it is refused. Cheap public
//! documents (discovery, keys, status lists, health, static files) and the admin API (few,
//! authenticated, needed by the operator during the surge) are never held back.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::i18n::Locale;
use super::pages::{BusyPage, render};

/// `[admission]` in nixa.toml.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdmissionConfig {
    /// Requests served at once; 0 = no limit.
    pub max_in_flight: usize,
    /// Slots new arrivals may not take: kept for people already signing in.
    pub entry_reserve: usize,
    /// Password checks waiting for a turn beyond which new arrivals wait in line.
    pub password_queue: usize,
    /// How long a request (or a password check) may wait for its turn.
    pub queue_timeout_ms: u64,
    /// What `Retry-After` says, and when the waiting page tries again by itself.
    pub retry_after_secs: u64,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        // 256 slots keep the database pool's line short (a query takes about a millisecond);
        // 32 waiting password checks are a quarter of a second of argon2 on two cores.
        Self { max_in_flight: 256, entry_reserve: 32, password_queue: 32, queue_timeout_ms: 2_000, retry_after_secs: 5 }
    }
}

impl AdmissionConfig {
    pub fn check(&self) -> Result<(), String> {
        if self.max_in_flight > 0 && self.entry_reserve >= self.max_in_flight {
            return Err("[admission] entry_reserve must be smaller than max_in_flight".into());
        }
        if self.retry_after_secs == 0 {
            return Err("[admission] retry_after_secs must be at least 1".into());
        }
        Ok(())
    }
}

/// How a request is admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Never held back.
    Exempt,
    /// Starts a journey: held back first.
    Entry,
    /// Continues one: waits for a slot.
    Continuing,
}

pub fn classify(method: &Method, path: &str) -> Kind {
    const EXEMPT: &[&str] = &["/healthz", "/readyz", "/jwks", "/static/", "/.well-known/", "/credentials/status/", "/admin/"];
    const ENTRY_PAGES: &[&str] = &["/authorize", "/login", "/activate", "/recover", "/account/signin", "/device"];
    const ENTRY_APIS: &[&str] = &["/par", "/device_authorization", "/register"];
    if EXEMPT.iter().any(|p| path.starts_with(p)) {
        Kind::Exempt
    } else if (*method == Method::GET && ENTRY_PAGES.contains(&path)) || (*method == Method::POST && ENTRY_APIS.contains(&path)) {
        Kind::Entry
    } else {
        Kind::Continuing
    }
}

pub struct Admission {
    cfg: AdmissionConfig,
    slots: Option<Arc<Semaphore>>,
    default_locale: Locale,
}

impl Admission {
    pub fn new(cfg: &AdmissionConfig, default_locale: Locale) -> Self {
        let slots = (cfg.max_in_flight > 0).then(|| Arc::new(Semaphore::new(cfg.max_in_flight)));
        Self { cfg: cfg.clone(), slots, default_locale }
    }

    /// How long a password check may wait for a CPU turn.
    pub fn password_wait(&self) -> Duration {
        Duration::from_millis(self.cfg.queue_timeout_ms)
    }

    pub fn retry_after(&self) -> u64 {
        self.cfg.retry_after_secs
    }

    /// A page saying the request was not carried out and when to send it again.
    pub fn busy_page(&self, locale: Locale) -> Response {
        crate::metrics::shed("password_check");
        unavailable(super::error::PageError::new(StatusCode::SERVICE_UNAVAILABLE, locale, "error.busy").into_response(), self.retry_after())
    }

    /// New arrivals wait while the reserve is reached or the password line is long.
    fn entries_held(&self, slots: &Semaphore) -> bool {
        slots.available_permits() <= self.cfg.entry_reserve || crate::authn::password::waiting() >= self.cfg.password_queue
    }
}

/// The largest request body read before a slot is taken (the route table's own limit is the
/// same; a larger one is refused here).
pub const MAX_BODY: usize = 64 * 1024;

/// The layer. A request takes a slot only once it has arrived whole: a client that sends its
/// body slowly holds a connection (bounded by `[http]`), never a slot that someone else needs.
pub async fn layer(State(a): State<Arc<Admission>>, req: Request, next: Next) -> Response {
    let Some(slots) = a.slots.clone() else { return next.run(req).await };
    let kind = classify(req.method(), req.uri().path());
    if kind == Kind::Exempt {
        return next.run(req).await;
    }
    let req = match arrived_whole(req).await {
        Ok(r) => r,
        Err(status) => return status.into_response(),
    };
    let permit = if kind == Kind::Entry {
        if a.entries_held(&slots) { None } else { slots.try_acquire_owned().ok() }
    } else {
        tokio::time::timeout(Duration::from_millis(a.cfg.queue_timeout_ms), slots.acquire_owned()).await.ok().and_then(Result::ok)
    };
    match permit {
        Some(_permit) => next.run(req).await,
        None => refuse(&req, &a),
    }
}

/// The request with its body read: `413` when it is too large, `408` when it was not sent in
/// time (`[http] body_timeout_secs`).
async fn arrived_whole(req: Request) -> Result<Request, StatusCode> {
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => Ok(Request::from_parts(parts, axum::body::Body::from(bytes))),
        Err(e) if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>()) => {
            Err(StatusCode::PAYLOAD_TOO_LARGE)
        }
        Err(_) => Err(StatusCode::REQUEST_TIMEOUT),
    }
}

/// `503` with `Retry-After`: an OAuth error for APIs, the waiting page for people.
fn refuse(req: &Request, a: &Admission) -> Response {
    crate::metrics::shed("request");
    let secs = a.cfg.retry_after_secs;
    if super::throttle::is_api(req.uri().path()) {
        let body = serde_json::json!({
            "error": "temporarily_unavailable",
            "error_description": "the service is busy; retry after the time in Retry-After",
        });
        return unavailable((StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response(), secs);
    }
    let jar = axum_extra::extract::CookieJar::from_headers(req.headers());
    let q = super::form::Params::from_query(&req.uri().query().map(str::to_string));
    let locale = super::lang::page_locale(a.default_locale, req.headers(), &jar, q.get("ui_locales"), q.get("lang"));
    // A page asked for with GET is asked for again by itself; a form is not sent again (it may
    // hold a password): the person sends it again when they choose.
    let get = *req.method() == Method::GET;
    let page = BusyPage {
        locale,
        switch_href: get.then(|| with_lang(req.uri(), locale.other())),
        retry_secs: secs,
        again: get.then(|| req.uri().to_string()),
    };
    // A language chosen here is remembered for the pages after the wait.
    let jar = super::lang::remember_lang(jar, q.get("lang"));
    unavailable((jar, render(StatusCode::SERVICE_UNAVAILABLE, &page)).into_response(), secs)
}

/// The same address with `lang` set to `locale`.
fn with_lang(uri: &axum::http::Uri, locale: Locale) -> String {
    let pairs = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).filter(|(k, _)| k != "lang");
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(pairs).append_pair("lang", locale.as_str());
    format!("{}?{}", uri.path(), query.finish())
}

/// Makes `res` a `503` that says when to come back.
pub fn unavailable(mut res: Response, retry_after_secs: u64) -> Response {
    *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    if let Ok(v) = HeaderValue::from_str(&retry_after_secs.max(1).to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_continuations_and_documents_are_told_apart() {
        assert_eq!(classify(&Method::GET, "/authorize"), Kind::Entry);
        assert_eq!(classify(&Method::GET, "/login"), Kind::Entry);
        assert_eq!(classify(&Method::POST, "/par"), Kind::Entry);
        assert_eq!(classify(&Method::POST, "/login"), Kind::Continuing);
        assert_eq!(classify(&Method::POST, "/authorize"), Kind::Continuing);
        assert_eq!(classify(&Method::POST, "/token"), Kind::Continuing);
        assert_eq!(classify(&Method::GET, "/consent"), Kind::Continuing);
        assert_eq!(classify(&Method::GET, "/jwks"), Kind::Exempt);
        assert_eq!(classify(&Method::GET, "/.well-known/openid-configuration"), Kind::Exempt);
        assert_eq!(classify(&Method::POST, "/admin/v1/clients"), Kind::Exempt);
        assert!(AdmissionConfig::default().check().is_ok());
        assert!(AdmissionConfig { entry_reserve: 256, ..Default::default() }.check().is_err());
        assert!(AdmissionConfig { max_in_flight: 0, entry_reserve: 32, ..Default::default() }.check().is_ok());
    }

    #[test]
    fn the_language_switch_keeps_the_request() {
        let uri: axum::http::Uri = "/authorize?client_id=a&lang=vi&scope=openid%20profile".parse().unwrap();
        assert_eq!(with_lang(&uri, Locale::En), "/authorize?client_id=a&scope=openid+profile&lang=en");
    }
}
