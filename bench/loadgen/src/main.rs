//! Load generator for `bench/run`: drives one scenario against an OpenID provider (nixa or the
//! peer) with N concurrent clients for a fixed time, and prints one JSON line of results.
//!
//! Everything a flow needs before it can be measured (a signed-in browser session per client,
//! authorization codes, refresh and access tokens) is prepared first; the optional `--hook`
//! command runs with `start` and `end` around the measured phase only, so the caller's CPU and
//! database-counter snapshots cover measured operations and nothing else.
#![forbid(unsafe_code)]

mod surge;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use regex::Regex;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Clone)]
struct Opts {
    issuer: String,
    scenario: String,
    concurrency: usize,
    duration: Duration,
    rate: Option<f64>,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    user: String,
    password: String,
    body_file: Option<String>,
    hook: Option<String>,
    path: String,
    /// Further nodes of the same deployment (one issuer, one database); see `Worker::far`.
    nodes: Vec<String>,
    /// Scenario `surge`: the arrival rates as multiples of the measured capacity.
    multipliers: Vec<f64>,
    /// Unmeasured load before the measured phase (JIT, caches, pools), as the measured phase.
    warmup: Duration,
}

fn parse_args() -> Result<Opts, Error> {
    let mut m: HashMap<String, String> = HashMap::new();
    let mut args = std::env::args().skip(1);
    while let Some(k) = args.next() {
        let k = k.strip_prefix("--").ok_or_else(|| format!("unexpected argument {k}"))?.to_string();
        let v = args.next().ok_or_else(|| format!("--{k} needs a value"))?;
        m.insert(k, v);
    }
    let get = |k: &str, d: &str| m.get(k).cloned().unwrap_or_else(|| d.to_string());
    Ok(Opts {
        issuer: m.get("issuer").cloned().ok_or("--issuer is required")?.trim_end_matches('/').to_string(),
        scenario: m.get("scenario").cloned().ok_or("--scenario is required")?,
        concurrency: get("concurrency", "8").parse()?,
        duration: Duration::from_secs_f64(get("duration", "10").parse()?),
        rate: m.get("rate").map(|r| r.parse()).transpose()?,
        client_id: get("client-id", "demo-dvc"),
        client_secret: get("client-secret", "demo-dvc-secret-not-for-production"),
        redirect_uri: get("redirect-uri", "http://localhost:9000/callback"),
        user: get("user", "001090001234"),
        password: get("password", "demo-an-2026"),
        body_file: m.get("body-file").cloned(),
        hook: m.get("hook").cloned(),
        path: get("path", "/api/v1/credentials/verify"),
        nodes: m.get("nodes").map(|n| n.split(',').map(|s| s.trim_end_matches('/').to_string()).collect()).unwrap_or_default(),
        multipliers: get("multipliers", "5,10").split(',').map(|m| m.trim().parse::<f64>()).collect::<Result<_, _>>()?,
        warmup: Duration::from_secs_f64(get("warmup", "0").parse()?),
    })
}

/// Endpoints, from the provider's discovery document (nixa and the peer name them differently).
#[derive(Clone)]
struct Endpoints {
    discovery: String,
    authorization: String,
    token: String,
    userinfo: String,
    introspection: String,
    jwks: String,
}

impl Endpoints {
    /// The same endpoints on another node: the issuer's origin replaced by the node's.
    fn on(&self, issuer: &str, node: &str) -> Endpoints {
        let r = |u: &String| u.replacen(issuer, node, 1);
        Endpoints {
            discovery: r(&self.discovery),
            authorization: r(&self.authorization),
            token: r(&self.token),
            userinfo: r(&self.userinfo),
            introspection: r(&self.introspection),
            jwks: r(&self.jwks),
        }
    }
}

/// A browser: cookies kept by hand, redirects never followed automatically.
struct Browser {
    http: reqwest::Client,
    jar: HashMap<String, String>,
    /// Sent as `X-Forwarded-For` (scenario `surge`: each browser from its own address).
    forwarded_for: Option<String>,
}

struct Page {
    status: u16,
    location: Option<String>,
    body: String,
    url: String,
}

impl Browser {
    fn new(http: reqwest::Client) -> Self {
        Browser { http, jar: HashMap::new(), forwarded_for: None }
    }
    fn cookie(&self) -> String {
        self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }
    async fn send(&mut self, req: reqwest::RequestBuilder, url: &str) -> Result<Page, Error> {
        let req = if self.jar.is_empty() { req } else { req.header("cookie", self.cookie()) };
        let req = match &self.forwarded_for {
            Some(a) => req.header("x-forwarded-for", a),
            None => req,
        };
        let res = req.send().await?;
        for c in res.headers().get_all("set-cookie") {
            let pair = c.to_str()?.split(';').next().unwrap_or("");
            if let Some((k, v)) = pair.split_once('=') {
                self.jar.insert(k.trim().to_string(), v.to_string());
            }
        }
        let status = res.status().as_u16();
        let location = match res.headers().get("location") {
            Some(l) => Some(url::Url::parse(url)?.join(l.to_str()?)?.to_string()),
            None => None,
        };
        let body = res.text().await?;
        Ok(Page { status, location, body, url: url.to_string() })
    }
    async fn get(&mut self, url: &str) -> Result<Page, Error> {
        let req = self.http.get(url);
        self.send(req, url).await
    }
    async fn post(&mut self, url: &str, form: &[(String, String)]) -> Result<Page, Error> {
        let req = self.http.post(url).form(form);
        self.send(req, url).await
    }
}

fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn authorize_url(o: &Opts, e: &Endpoints, challenge: &str) -> Result<String, Error> {
    let state = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 12]>());
    let nonce = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 12]>());
    let mut u = url::Url::parse(&e.authorization)?;
    u.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &o.client_id)
        .append_pair("redirect_uri", &o.redirect_uri)
        // A portal entering with the citizen's session asks for identity only; a refresh token
        // (offline_access, granted with consent, OIDC Core §11) only where scenario 3 needs one.
        .append_pair("scope", if o.scenario == "refresh" { "openid profile offline_access" } else { "openid profile" })
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    if o.scenario == "refresh" {
        u.query_pairs_mut().append_pair("prompt", "consent");
    }
    Ok(u.to_string())
}

fn code_of(location: &str) -> Result<String, Error> {
    let u = url::Url::parse(location)?;
    if let Some((_, e)) = u.query_pairs().find(|(k, _)| k == "error") {
        return Err(format!("authorization error {e} ({location})").into());
    }
    Ok(u.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.to_string()).ok_or_else(|| format!("no code in {location}"))?)
}

/// The first HTML form on a page: its absolute action and its named inputs.
fn first_form(page: &Page) -> Result<(String, Vec<(String, String)>), Error> {
    let form_re = Regex::new(r#"(?s)<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>"#)?;
    let input_re = Regex::new(r#"<input[^>]*>"#)?;
    let name_re = Regex::new(r#"name="([^"]*)""#)?;
    let value_re = Regex::new(r#"value="([^"]*)""#)?;
    let caps = form_re.captures(&page.body).ok_or_else(|| format!("no form on {} ({}): {:.300}", page.url, page.status, page.body))?;
    let action = url::Url::parse(&page.url)?.join(&caps[1].replace("&amp;", "&"))?.to_string();
    let mut fields = Vec::new();
    for i in input_re.find_iter(&caps[2]) {
        if let Some(n) = name_re.captures(i.as_str()) {
            let v = value_re.captures(i.as_str()).map(|c| c[1].replace("&amp;", "&")).unwrap_or_default();
            fields.push((n[1].to_string(), v));
        }
    }
    Ok((action, fields))
}

/// Signs in through the provider's own pages (nixa: /login then /consent; the peer: its
/// development interactions, login then consent) and returns the first authorization code.
/// Afterwards the browser holds a live session and a remembered consent.
async fn sign_in(b: &mut Browser, o: &Opts, e: &Endpoints, challenge: &str) -> Result<String, Error> {
    let mut page = b.get(&authorize_url(o, e, challenge)?).await?;
    for _ in 0..20 {
        if let Some(loc) = page.location.clone() {
            if loc.starts_with(&o.redirect_uri) {
                return code_of(&loc);
            }
            page = b.get(&loc).await?;
            continue;
        }
        let mut form: Vec<(String, String)>;
        let action;
        let nixa_page = if page.url.contains("/login?") {
            Some("login")
        } else if page.url.contains("/consent?") {
            Some("consent")
        } else {
            None
        };
        if let Some(step) = nixa_page {
            // nixa's pages hold several forms (other sign-in methods, language); post the
            // password form or the consent approval with the page's request handle and CSRF token.
            let field = |n: &str| -> Result<String, Error> {
                let re = Regex::new(&format!(r#"name="{n}" value="([^"]*)""#))?;
                Ok(re.captures(&page.body).ok_or_else(|| format!("no {n} on {}", page.url))?[1].to_string())
            };
            form = vec![("r".into(), field("r")?), ("csrf".into(), field("csrf")?)];
            if step == "login" {
                form.push(("personal_id".into(), o.user.clone()));
                form.push(("password".into(), o.password.clone()));
            } else {
                form.push(("decision".into(), "approve".into()));
            }
            action = format!("{}/{step}", url::Url::parse(&page.url)?.origin().ascii_serialization());
        } else {
            // The peer's development interactions: one form per page (login, then consent).
            let (a, f) = first_form(&page)?;
            action = a;
            form = f;
            for (k, v) in form.iter_mut() {
                match k.as_str() {
                    "login" => *v = o.user.clone(),
                    "password" => *v = o.password.clone(),
                    _ => {}
                }
            }
        }
        page = b.post(&action, &form).await?;
    }
    Err("sign-in did not reach the redirect URI in 20 steps".into())
}

/// With a live session: authorize → code, no page in between.
async fn code_with_session(b: &mut Browser, o: &Opts, e: &Endpoints, challenge: &str) -> Result<String, Error> {
    let page = b.get(&authorize_url(o, e, challenge)?).await?;
    match page.location {
        Some(loc) if loc.starts_with(&o.redirect_uri) => code_of(&loc),
        other => Err(format!("authorize with a live session answered {} {:?}: {:.200}", page.status, other, page.body).into()),
    }
}

fn basic(o: &Opts) -> String {
    // RFC 6749 §2.3.1: form-urlencode id and secret before Base64 (both are URL-safe here).
    format!("Basic {}", STANDARD.encode(format!("{}:{}", o.client_id, o.client_secret)))
}

async fn token(http: &reqwest::Client, o: &Opts, e: &Endpoints, form: &[(&str, &str)]) -> Result<Value, Error> {
    let res = http.post(&e.token).header("authorization", basic(o)).form(form).send().await?;
    let status = res.status();
    let body: Value = res.json().await?;
    if !status.is_success() || body.get("access_token").is_none() {
        return Err(format!("token endpoint {status}: {body}").into());
    }
    Ok(body)
}

async fn exchange(http: &reqwest::Client, o: &Opts, e: &Endpoints, code: &str, verifier: &str) -> Result<Value, Error> {
    token(
        http,
        o,
        e,
        &[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", &o.redirect_uri), ("code_verifier", verifier)],
    )
    .await
}

async fn userinfo(http: &reqwest::Client, e: &Endpoints, at: &str) -> Result<(), Error> {
    let res = http.get(&e.userinfo).bearer_auth(at).send().await?;
    let status = res.status();
    let body: Value = res.json().await?;
    if !status.is_success() || body.get("sub").is_none() {
        return Err(format!("userinfo {status}: {body}").into());
    }
    Ok(())
}

fn text(v: &Value, k: &str) -> Result<String, Error> {
    Ok(v.get(k).and_then(Value::as_str).ok_or_else(|| format!("no {k} in {v}"))?.to_string())
}

/// One client's state between operations.
struct Worker {
    http: reqwest::Client,
    browser: Browser,
    /// Prepared codes with their verifiers (scenario `token`).
    codes: Vec<(String, String)>,
    refresh: String,
    access: String,
    body: Arc<Vec<u8>>,
    /// With several nodes: the node that redeems codes and answers userinfo in scenario `sso`,
    /// another one than the node that issued the code, so that the flow crosses nodes.
    far: Option<Endpoints>,
}

/// Sign-ins before the measured phase run one at a time: each hashes a password (Argon2, tens of
/// MB), and sixteen at once would set the server's peak RSS, which is meant to show the load.
static SIGN_IN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn prepare(o: &Opts, e: &Endpoints, http: &reqwest::Client, codes_needed: usize, body: Arc<Vec<u8>>) -> Result<Worker, Error> {
    let mut w = Worker {
        http: http.clone(),
        browser: Browser::new(http.clone()),
        codes: Vec::new(),
        refresh: String::new(),
        access: String::new(),
        body,
        far: None,
    };
    if matches!(o.scenario.as_str(), "sso" | "token" | "refresh" | "introspect") {
        let (verifier, challenge) = pkce();
        let code = {
            let _one = SIGN_IN.lock().await;
            sign_in(&mut w.browser, o, e, &challenge).await?
        };
        let t = exchange(http, o, e, &code, &verifier).await?;
        w.access = text(&t, "access_token")?;
        if o.scenario == "refresh" {
            w.refresh = text(&t, "refresh_token")?;
        }
        for _ in 0..codes_needed {
            let (verifier, challenge) = pkce();
            let code = code_with_session(&mut w.browser, o, e, &challenge).await?;
            w.codes.push((code, verifier));
        }
    }
    Ok(w)
}

async fn op(o: &Opts, e: &Endpoints, w: &mut Worker) -> Result<(), Error> {
    match o.scenario.as_str() {
        "sso" => {
            let (verifier, challenge) = pkce();
            let code = code_with_session(&mut w.browser, o, e, &challenge).await?;
            let far = w.far.as_ref().unwrap_or(e);
            let t = exchange(&w.http, o, far, &code, &verifier).await?;
            userinfo(&w.http, far, &text(&t, "access_token")?).await
        }
        "token" => {
            let (code, verifier) = w.codes.pop().ok_or("out of prepared codes")?;
            exchange(&w.http, o, e, &code, &verifier).await.map(|_| ())
        }
        "refresh" => {
            let t = token(&w.http, o, e, &[("grant_type", "refresh_token"), ("refresh_token", &w.refresh)]).await?;
            // Rotation: the next use presents the new token.
            if let Some(r) = t.get("refresh_token").and_then(Value::as_str) {
                w.refresh = r.to_string();
            }
            Ok(())
        }
        "introspect" => {
            let res = w.http.post(&e.introspection).header("authorization", basic(o)).form(&[("token", w.access.as_str())]).send().await?;
            let body: Value = res.json().await?;
            if body.get("active") != Some(&Value::Bool(true)) {
                return Err(format!("introspection: {body}").into());
            }
            Ok(())
        }
        "discovery" => {
            for u in [&e.discovery, &e.jwks] {
                let res = w.http.get(u).send().await?;
                if !res.status().is_success() {
                    return Err(format!("{u}: {}", res.status()).into());
                }
                res.bytes().await?;
            }
            Ok(())
        }
        "post" => {
            let url = format!("{}{}", o.issuer, o.path);
            let res = w.http.post(&url).header("content-type", "application/json").body(w.body.as_ref().clone()).send().await?;
            let status = res.status();
            let body = res.bytes().await?;
            if !status.is_success() {
                return Err(format!("{url}: {status}: {}", String::from_utf8_lossy(&body)).into());
            }
            Ok(())
        }
        s => Err(format!("unknown scenario {s}").into()),
    }
}

fn hook(o: &Opts, phase: &str) -> Result<(), Error> {
    if let Some(h) = &o.hook {
        let st = std::process::Command::new("sh").arg("-c").arg(format!("{h} {phase}")).status()?;
        if !st.success() {
            return Err(format!("hook {h} {phase} failed").into());
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("loadgen: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Error> {
    let o = parse_args()?;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).pool_max_idle_per_host(o.concurrency * 2).build()?;
    let discovery = format!("{}/.well-known/openid-configuration", o.issuer);
    let e = if o.scenario == "post" {
        Endpoints {
            discovery: discovery.clone(),
            authorization: String::new(),
            token: String::new(),
            userinfo: String::new(),
            introspection: String::new(),
            jwks: String::new(),
        }
    } else {
        let d: Value = http.get(&discovery).send().await?.json().await?;
        Endpoints {
            discovery: discovery.clone(),
            authorization: text(&d, "authorization_endpoint")?,
            token: text(&d, "token_endpoint")?,
            userinfo: text(&d, "userinfo_endpoint")?,
            introspection: text(&d, "introspection_endpoint")?,
            jwks: text(&d, "jwks_uri")?,
        }
    };
    if o.scenario == "surge" {
        // Arrivals that wait longer than this have given up (a person would).
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(Duration::from_secs(30)).build()?;
        return surge::run(&o, &e, &http).await;
    }
    let body = Arc::new(match &o.body_file {
        Some(f) => std::fs::read(f)?,
        None => Vec::new(),
    });
    // Codes outlive their preparation only briefly (nixa: 60 s), so the code-exchange scenario
    // prepares as many as the rate or a generous guess of the peak allows.
    let codes_needed = if o.scenario == "token" {
        let per_sec = o.rate.unwrap_or(4000.0);
        ((per_sec * (o.duration + o.warmup).as_secs_f64()) as usize).min(48_000) / o.concurrency + 1
    } else {
        0
    };
    let mut workers = Vec::new();
    let mut prep = tokio::task::JoinSet::new();
    // Client i talks to node i (round robin) and, in scenario `sso`, redeems at node i + 1.
    let nodes: Vec<Endpoints> = if o.nodes.is_empty() { vec![e.clone()] } else { o.nodes.iter().map(|n| e.on(&o.issuer, n)).collect() };
    for i in 0..o.concurrency {
        let (o, http, body) = (o.clone(), http.clone(), body.clone());
        let near = nodes[i % nodes.len()].clone();
        let far = (nodes.len() > 1).then(|| nodes[(i + 1) % nodes.len()].clone());
        prep.spawn(async move {
            let mut w = prepare(&o, &near, &http, codes_needed, body).await?;
            w.far = far;
            Ok::<_, Error>((near, w))
        });
    }
    while let Some(w) = prep.join_next().await {
        workers.push(w??);
    }
    if !o.warmup.is_zero() {
        let (warm, ..) = phase(&o, workers, o.warmup).await?;
        workers = warm;
    }
    hook(&o, "start")?;
    let started = Instant::now();
    let (_, mut lat, errors, first_error) = phase(&o, workers, o.duration).await?;
    let secs = started.elapsed().as_secs_f64();
    hook(&o, "end")?;
    lat.sort_unstable();
    let pct = |p: f64| if lat.is_empty() { 0.0 } else { lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)] as f64 / 1000.0 };
    let out = json!({
        "scenario": o.scenario,
        "concurrency": o.concurrency,
        "rate": o.rate,
        "ops": lat.len(),
        "errors": errors,
        "first_error": first_error,
        "secs": (secs * 1000.0).round() / 1000.0,
        "ops_per_sec": ((lat.len() as f64 / secs) * 10.0).round() / 10.0,
        "p50_ms": (pct(0.50) * 100.0).round() / 100.0,
        "p99_ms": (pct(0.99) * 100.0).round() / 100.0,
    });
    println!("{out}");
    Ok(())
}

type Phase = (Vec<(Endpoints, Worker)>, Vec<u32>, u64, Option<String>);

/// Runs every client's operations until `length` has passed: the workers back (for the next
/// phase), the latencies of the operations that succeeded in µs, the failures and the first.
async fn phase(o: &Opts, workers: Vec<(Endpoints, Worker)>, length: Duration) -> Result<Phase, Error> {
    let started = Instant::now();
    let deadline = started + length;
    let interval = o.rate.map(|r| Duration::from_secs_f64(o.concurrency as f64 / r));
    let mut set = tokio::task::JoinSet::new();
    for (i, (e, mut w)) in workers.into_iter().enumerate() {
        let o = o.clone();
        set.spawn(async move {
            let mut lat: Vec<u32> = Vec::new();
            let mut errors = 0u64;
            let mut first_error = None;
            // Paced clients start spread over one interval rather than all at once.
            let mut next = started + interval.map(|d| d.mul_f64(i as f64 / o.concurrency as f64)).unwrap_or_default();
            loop {
                if let Some(d) = interval {
                    tokio::time::sleep_until(next.into()).await;
                    next += d;
                }
                let t0 = Instant::now();
                if t0 >= deadline {
                    break;
                }
                match op(&o, &e, &mut w).await {
                    Ok(()) => lat.push(t0.elapsed().as_micros() as u32),
                    Err(err) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| err.to_string());
                        if o.scenario == "token" && w.codes.is_empty() {
                            break;
                        }
                    }
                }
            }
            (e, w, lat, errors, first_error)
        });
    }
    let (mut workers, mut lat, mut errors, mut first_error) = (Vec::new(), Vec::new(), 0, None);
    while let Some(r) = set.join_next().await {
        let (e, w, l, n, f) = r?;
        workers.push((e, w));
        lat.extend(l);
        errors += n;
        if first_error.is_none() {
            first_error = f;
        }
    }
    Ok((workers, lat, errors, first_error))
}
