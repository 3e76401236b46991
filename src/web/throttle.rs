//! Throttling (GCRA, `governor`), in front of every surface that costs the server work or lets
//! someone guess: per client address, sign-in attempts (passwords, codes, certificates,
//! passkeys, device codes, activation and recovery) have a strict limit, every other POST and
//! `/authorize` a wider one; past a softer limit on guesses an address must prove work with each
//! password (`authn::proof_of_work`) before the strict limit refuses it. Over a limit, people get
//! a page in their language and APIs an OAuth error, both `429` with `Retry-After`; other
//! addresses are not affected. Authenticated portals have a rate of their own at the back-channel
//! endpoints (`check_portal`), and sign-in attempts may have a total over all addresses.
//!
//! The client address is the TCP peer's, IPv6 counted by its /64; only when the peer is one of
//! `trusted_proxies` is the last untrusted hop of `X-Forwarded-For` used instead. These counters
//! live in each node's memory (a node sees its own share of the traffic); account failures,
//! which must hold across nodes, are counted in the database (`authn::lockout`): that is the
//! per-account limit, and it spares the browser where the person signed in before.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::client_addr::ClientAddr;
use super::error::PageError;
use super::i18n::Locale;

/// `[throttle]` in nixa.toml.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThrottleConfig {
    /// Reverse proxies whose `X-Forwarded-For` is believed (addresses or CIDR blocks).
    pub trusted_proxies: Vec<String>,
    /// Sign-in attempts per client address per minute, and the burst allowed at once; 0 = off.
    pub signin_per_minute: u32,
    pub signin_burst: u32,
    /// Other POST requests and authorization requests per client address per minute; 0 = off.
    pub requests_per_minute: u32,
    pub requests_burst: u32,
    /// Authenticated calls per portal (client) per second at the token, PAR, introspection,
    /// revocation and device endpoints, so that one runaway integration cannot take the
    /// capacity of all the others; 0 = off.
    pub portal_per_second: u32,
    pub portal_burst: u32,
    /// Sign-in attempts per second over all addresses together; 0 = off (admission control
    /// already holds new arrivals back when the server is saturated, whatever its size).
    pub signin_global_per_second: u32,
    /// Past this many sign-in attempts per client address per minute (and this burst), the
    /// address must solve a proof-of-work puzzle with each password (`authn::proof_of_work`)
    /// for the next 10 minutes; 0 = never. Below `signin_per_minute`, the hard limit.
    pub pow_per_minute: u32,
    pub pow_burst: u32,
    /// The puzzle's difficulty: leading zero bits of a SHA-256 (16: about 65,000 hashes, a
    /// second or two in a phone's browser).
    pub pow_bits: u8,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        // A one-stop-shop counter or an office behind one NAT is many people: generous bursts.
        Self {
            trusted_proxies: Vec::new(),
            signin_per_minute: 30,
            signin_burst: 30,
            requests_per_minute: 300,
            requests_burst: 150,
            // Well above what the largest portal needs at the national peak (issue 21: 3,000
            // sign-ins/s in all, 20 refreshes per sign-in, spread over hundreds of portals).
            portal_per_second: 2_000,
            portal_burst: 4_000,
            signin_global_per_second: 0,
            pow_per_minute: 10,
            pow_burst: 10,
            pow_bits: 16,
        }
    }
}

impl ThrottleConfig {
    pub fn proxies(&self) -> Result<Vec<IpNet>, String> {
        self.trusted_proxies
            .iter()
            .map(|p| {
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("[throttle] trusted_proxies: {p:?} is not an address or CIDR block"))
            })
            .collect()
    }
}

/// How long an address that went past the softer limit must keep proving work.
const SUSPECT_FOR: Duration = Duration::from_secs(600);

fn limiter(per_minute: u32, burst: u32) -> Option<DefaultKeyedRateLimiter<String>> {
    let rate = NonZeroU32::new(per_minute)?;
    let burst = NonZeroU32::new(burst).unwrap_or(rate);
    Some(RateLimiter::keyed(Quota::per_minute(rate).allow_burst(burst)))
}

/// Which limit a request falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    SignIn,
    Request,
    Free,
}

/// Sign-in attempts: where a secret is guessed or a code sent.
const SIGN_IN_PATHS: &[&str] = &[
    "/login",
    "/login/totp",
    "/login/passkey",
    "/login/passkey/options",
    "/login/certificate",
    "/login/certificate/challenge",
    "/device",
    "/activate/letter",
    "/activate/send",
    "/activate/code",
    "/recover/send",
    "/recover/code",
];

/// The sign-in attempts that guess a secret (not those that only start a method or send a
/// code): these count toward the proof-of-work limit.
const GUESSES: &[&str] = &["/login", "/login/totp", "/login/passkey", "/login/certificate", "/device", "/activate/code", "/recover/code"];

pub fn classify(method: &Method, path: &str) -> Class {
    if *method == Method::POST && SIGN_IN_PATHS.contains(&path) {
        Class::SignIn
    } else if *method == Method::POST || path == "/authorize" || path.starts_with("/login/qr") {
        // The admin API authenticates every request with a bearer token: its own rules.
        if path.starts_with("/admin/") { Class::Free } else { Class::Request }
    } else {
        Class::Free
    }
}

/// The limiters and the proxies believed.
pub struct Throttle {
    sign_in: Option<DefaultKeyedRateLimiter<String>>,
    requests: Option<DefaultKeyedRateLimiter<String>>,
    /// Failed admin-API authentications (a guessed bearer token) count like sign-in attempts;
    /// an address over the limit is refused until the time it was told.
    admin_failures: Option<DefaultKeyedRateLimiter<String>>,
    admin_blocked: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
    portal: Option<DefaultKeyedRateLimiter<String>>,
    global_sign_in: Option<governor::DefaultDirectRateLimiter>,
    /// Past this softer limit an address must prove work; it stays a suspect until the time kept.
    prove_work: Option<DefaultKeyedRateLimiter<String>>,
    suspects: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
    trusted: Vec<IpNet>,
    /// The language of the 429 page when the request names none.
    default_locale: Locale,
}

impl Throttle {
    pub fn new(cfg: &ThrottleConfig, default_locale: Locale) -> Result<Self, String> {
        Ok(Self {
            sign_in: limiter(cfg.signin_per_minute, cfg.signin_burst),
            requests: limiter(cfg.requests_per_minute, cfg.requests_burst),
            admin_failures: limiter(cfg.signin_per_minute, cfg.signin_burst),
            admin_blocked: std::sync::Mutex::new(std::collections::HashMap::new()),
            portal: NonZeroU32::new(cfg.portal_per_second)
                .map(|rate| RateLimiter::keyed(Quota::per_second(rate).allow_burst(NonZeroU32::new(cfg.portal_burst).unwrap_or(rate)))),
            global_sign_in: NonZeroU32::new(cfg.signin_global_per_second).map(|rate| RateLimiter::direct(Quota::per_second(rate))),
            prove_work: limiter(cfg.pow_per_minute, cfg.pow_burst),
            suspects: std::sync::Mutex::new(std::collections::HashMap::new()),
            trusted: cfg.proxies()?,
            default_locale,
        })
    }

    /// The client's address: the peer's, or behind trusted proxies the nearest untrusted
    /// `X-Forwarded-For` hop (the ones further left could be made up by the client).
    pub fn client_addr(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> ClientAddr {
        let Some(mut ip) = peer else { return ClientAddr("unknown".into()) };
        if self.is_trusted(ip) {
            let mut hops: Vec<IpAddr> = headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|h| h.trim().parse::<IpAddr>().ok())
                .collect();
            if hops.is_empty() {
                hops = forwarded_for(headers);
            }
            for hop in hops.into_iter().rev() {
                ip = hop;
                if !self.is_trusted(hop) {
                    break;
                }
            }
        }
        ClientAddr::of(ip)
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.trusted.iter().any(|n| n.contains(&ip))
    }

    /// `Err(wait)` when the address is over the limit of its class (or, for sign-in
    /// attempts, all addresses together over theirs).
    pub fn check(&self, class: Class, addr: &ClientAddr) -> Result<(), Duration> {
        let limiter = match class {
            Class::SignIn => {
                if let Some(g) = &self.global_sign_in {
                    g.check().map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))?;
                }
                &self.sign_in
            }
            Class::Request => &self.requests,
            Class::Free => return Ok(()),
        };
        match limiter {
            Some(l) => l.check_key(&addr.0).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now())),
            None => Ok(()),
        }
    }

    /// `Err(wait)` when the portal is over its rate.
    pub fn check_portal(&self, client_id: &str) -> Result<(), Duration> {
        match &self.portal {
            Some(l) => l.check_key(&client_id.to_string()).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now())),
            None => Ok(()),
        }
    }

    /// Counts a sign-in attempt against the softer limit; past it, the address becomes a
    /// suspect that must prove work for a while.
    fn note_attempt(&self, addr: &ClientAddr) {
        let Some(l) = &self.prove_work else { return };
        if l.check_key(&addr.0).is_err() {
            let until = std::time::Instant::now() + SUSPECT_FOR;
            self.suspects.lock().unwrap_or_else(|e| e.into_inner()).insert(addr.0.clone(), until);
        }
    }

    /// Whether sign-in attempts from this address must carry a proof of work.
    pub fn must_prove_work(&self, addr: &ClientAddr) -> bool {
        let suspects = self.suspects.lock().unwrap_or_else(|e| e.into_inner());
        suspects.get(&addr.0).is_some_and(|until| *until > std::time::Instant::now())
    }

    /// Forgets addresses whose allowance is full again (the janitor calls this).
    pub fn forget_idle(&self) {
        for l in [&self.sign_in, &self.requests, &self.admin_failures, &self.portal, &self.prove_work].into_iter().flatten() {
            l.retain_recent();
        }
        let now = std::time::Instant::now();
        self.admin_blocked.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, until| *until > now);
        self.suspects.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, until| *until > now);
    }

    /// How long this address must still wait after too many failed admin authentications.
    fn admin_wait(&self, addr: &ClientAddr) -> Option<Duration> {
        let blocked = self.admin_blocked.lock().unwrap_or_else(|e| e.into_inner());
        blocked.get(&addr.0).and_then(|until| until.checked_duration_since(std::time::Instant::now()))
    }

    /// Counts a failed admin authentication; over the limit, the address waits.
    fn admin_failed(&self, addr: &ClientAddr) {
        let Some(l) = &self.admin_failures else { return };
        if let Err(not_until) = l.check_key(&addr.0) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            self.admin_blocked.lock().unwrap_or_else(|e| e.into_inner()).insert(addr.0.clone(), std::time::Instant::now() + wait);
        }
    }
}

/// The `for=` addresses of RFC 7239 `Forwarded` headers, in order: `for=192.0.2.60`,
/// `for="[2001:db8::1]:4711"`, `for="198.51.100.17:80"`; obfuscated or unknown ones are skipped.
fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    headers
        .get_all(header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .flat_map(|element| element.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            if !name.trim().eq_ignore_ascii_case("for") {
                return None;
            }
            let v = value.trim().trim_matches('"');
            if let Some(rest) = v.strip_prefix('[') {
                return rest.split(']').next()?.parse().ok();
            }
            v.parse::<IpAddr>().ok().or_else(|| v.rsplit_once(':').and_then(|(ip, _)| ip.parse().ok()))
        })
        .collect()
}

/// The paths answered as APIs (an OAuth error), not as pages.
pub fn is_api(path: &str) -> bool {
    ["/token", "/par", "/register", "/introspect", "/revoke", "/device_authorization", "/userinfo", "/api/", "/login/qr/status", "/admin/"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// The layer: finds the client address (kept in the request for handlers, and with the
/// User-Agent as the source of what the request records in the audit log), and answers 429 to
/// an address over its limit.
pub async fn layer(State(t): State<Arc<Throttle>>, mut req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let addr = t.client_addr(peer, req.headers());
    let class = classify(req.method(), req.uri().path());
    let admin = req.uri().path().starts_with("/admin/");
    let verdict = match t.check(class, &addr) {
        Ok(()) if admin => t.admin_wait(&addr).map_or(Ok(()), Err),
        other => other,
    };
    req.extensions_mut().insert(addr.clone());
    if let Err(wait) = verdict {
        crate::metrics::throttled(match class {
            _ if admin => "admin_failures",
            Class::SignIn => "sign_in",
            _ => "requests",
        });
        let mut res = too_many(&req, wait, t.default_locale);
        res.extensions_mut().insert(addr);
        return res;
    }
    if class == Class::SignIn && GUESSES.contains(&req.uri().path()) {
        t.note_attempt(&addr);
    }
    let user_agent = req.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    let source = crate::audit::Source::new(addr.0.clone(), user_agent);
    let mut res = crate::audit::from_source(source, next.run(req)).await;
    if admin && res.status() == StatusCode::UNAUTHORIZED {
        t.admin_failed(&addr);
    }
    // For the request log, outside this layer.
    res.extensions_mut().insert(addr);
    res
}

fn too_many(req: &Request, wait: Duration, default_locale: Locale) -> Response {
    let secs = wait.as_secs().max(1);
    let mut res = if is_api(req.uri().path()) {
        let body = serde_json::json!({
            "error": "temporarily_unavailable",
            "error_description": "too many requests from this address; retry later",
        });
        (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
    } else {
        let locale = super::lang::page_locale(
            default_locale,
            req.headers(),
            &axum_extra::extract::CookieJar::from_headers(req.headers()),
            None,
            None,
        );
        PageError::new(StatusCode::TOO_MANY_REQUESTS, locale, "error.too_many").into_response()
    };
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let t = Throttle::new(
            &ThrottleConfig { trusted_proxies: vec!["10.0.0.0/8".into(), "192.0.2.1".into()], ..Default::default() },
            Locale::Vi,
        )
        .unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9, 198.51.100.7, 10.1.2.3"));
        // From a trusted proxy: the nearest hop that is not a proxy.
        assert_eq!(t.client_addr(Some("10.0.0.1".parse().unwrap()), &h).0, "198.51.100.7");
        assert_eq!(t.client_addr(Some("::ffff:192.0.2.1".parse().unwrap()), &h).0, "198.51.100.7");
        // From anyone else: the peer, whatever the header says.
        assert_eq!(t.client_addr(Some("203.0.113.50".parse().unwrap()), &h).0, "203.0.113.50");
        assert!(Throttle::new(&ThrottleConfig { trusted_proxies: vec!["not-an-ip".into()], ..Default::default() }, Locale::Vi).is_err());
        // RFC 7239 `Forwarded`, when there is no X-Forwarded-For.
        let mut f = HeaderMap::new();
        f.insert(header::FORWARDED, HeaderValue::from_static("for=\"[2001:db8:cafe::17]:4711\";proto=https, for=198.51.100.17:80"));
        assert_eq!(t.client_addr(Some("10.0.0.1".parse().unwrap()), &f).0, "198.51.100.17");
        f.insert(header::FORWARDED, HeaderValue::from_static("for=\"[2001:db8:cafe::17]:4711\""));
        assert_eq!(t.client_addr(Some("10.0.0.1".parse().unwrap()), &f).0, "2001:db8:cafe:0::/64");
        f.insert(header::FORWARDED, HeaderValue::from_static("for=_hidden, for=unknown"));
        assert_eq!(t.client_addr(Some("10.0.0.1".parse().unwrap()), &f).0, "10.0.0.1");
        assert_eq!(t.client_addr(Some("203.0.113.50".parse().unwrap()), &f).0, "203.0.113.50");
    }

    #[test]
    fn portals_and_the_sign_in_total_have_their_own_limits() {
        let cfg = ThrottleConfig {
            portal_per_second: 2,
            portal_burst: 2,
            signin_global_per_second: 1,
            signin_per_minute: 100,
            ..Default::default()
        };
        let t = Throttle::new(&cfg, Locale::Vi).unwrap();
        assert!(t.check_portal("a").is_ok() && t.check_portal("a").is_ok());
        assert!(t.check_portal("a").is_err(), "portal a is over its rate");
        assert!(t.check_portal("b").is_ok(), "portal b is not affected");
        assert!(t.check(Class::SignIn, &ClientAddr("198.51.100.1".into())).is_ok());
        assert!(t.check(Class::SignIn, &ClientAddr("198.51.100.2".into())).is_err(), "the total is per second over all addresses");
        assert!(t.check(Class::Request, &ClientAddr("198.51.100.2".into())).is_ok(), "other requests do not count");
    }

    #[test]
    fn past_the_softer_limit_an_address_must_prove_work() {
        let t = Throttle::new(&ThrottleConfig { pow_per_minute: 2, pow_burst: 2, ..Default::default() }, Locale::Vi).unwrap();
        let (a, b) = (ClientAddr("198.51.100.7".into()), ClientAddr("198.51.100.8".into()));
        t.note_attempt(&a);
        t.note_attempt(&a);
        assert!(!t.must_prove_work(&a));
        t.note_attempt(&a);
        assert!(t.must_prove_work(&a) && !t.must_prove_work(&b));
    }

    #[test]
    fn limits_are_per_address_and_per_class() {
        let t = Throttle::new(&ThrottleConfig { signin_per_minute: 2, signin_burst: 2, ..Default::default() }, Locale::Vi).unwrap();
        let a = ClientAddr("198.51.100.7".into());
        let b = ClientAddr("198.51.100.8".into());
        assert!(t.check(Class::SignIn, &a).is_ok() && t.check(Class::SignIn, &a).is_ok());
        let wait = t.check(Class::SignIn, &a).unwrap_err();
        assert!(wait > Duration::from_secs(20) && wait <= Duration::from_secs(30), "{wait:?}");
        assert!(t.check(Class::SignIn, &b).is_ok(), "another address is not affected");
        assert!(t.check(Class::Request, &a).is_ok(), "nor another class");
        assert_eq!(classify(&Method::POST, "/login"), Class::SignIn);
        assert_eq!(classify(&Method::GET, "/authorize"), Class::Request);
        assert_eq!(classify(&Method::POST, "/token"), Class::Request);
        assert_eq!(classify(&Method::GET, "/jwks"), Class::Free);
        assert_eq!(classify(&Method::POST, "/admin/v1/clients"), Class::Free);
    }
}
