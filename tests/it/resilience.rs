//! Surviving failures under load: the PostgreSQL primary stopped and a synchronous replica
//! promoted (nixa answers 503 meanwhile, reconnects by itself, and loses nothing it answered),
//! and nixa itself killed with SIGKILL (nothing answered is lost either). Each test drives a
//! steady load of complete sign-ins (with a refresh each) and keeps every rotated refresh token
//! the portal was given and the people's browsers; after the failure, every token must still
//! refresh and every session still be there.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::time::{Duration, Instant};

use crate::common;
use crate::observe::{dvc_authorize_url, spawn_nixa_in};
use common::private_pg::PrivatePostgres;
use common::*;
use serde_json::Value;

/// No throttling: one test client signs one person in many times a second.
const UNTHROTTLED: &str = "{pow_per_minute=0, signin_per_minute=0, requests_per_minute=0, portal_per_second=0}";

/// How one visit (sign-in, consent if asked, code exchange) ended.
#[derive(Debug)]
enum Visit {
    /// The portal got tokens and refreshed them once: answers that must never be lost. The
    /// browser keeps the person's session cookie.
    Done { refresh: String, consent_asked: bool, browser: reqwest::Client },
    /// A 503, or no answer (the connection refused or cut): the person tries again.
    Unavailable { status: Option<u16> },
    /// Any other answer: a wrong one.
    Wrong(String),
}

struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
    url: String,
}

impl Answer {
    fn field(&self, name: &str) -> String {
        let page = Page { status: self.status, location: None, body: self.body.clone(), url: self.url.clone(), retry_after: None };
        page.field(name)
    }
}

async fn answer(request: reqwest::RequestBuilder, url: String, expected: &[u16]) -> Result<Answer, Visit> {
    let res = request.timeout(Duration::from_secs(30)).send().await.map_err(|_| Visit::Unavailable { status: None })?;
    let status = res.status().as_u16();
    let location = res.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = res.text().await.map_err(|_| Visit::Unavailable { status: None })?;
    if status == 503 {
        return Err(Visit::Unavailable { status: Some(503) });
    }
    if !expected.contains(&status) {
        let shown = body.split("data-error=\"").nth(1).and_then(|b| b.split('"').next()).unwrap_or(&body);
        return Err(Visit::Wrong(format!("{status} at {url}: {shown}")));
    }
    Ok(Answer { status, location, body, url })
}

/// Follows the provider's own redirects to the page they end on, or to the portal's callback.
async fn follow(http: &reqwest::Client, issuer: &str, mut at: Answer) -> Result<Answer, Visit> {
    while let Some(next) = at.location.clone().filter(|l| l.starts_with('/') || l.starts_with(issuer)) {
        let url = if next.starts_with('/') { format!("{issuer}{next}") } else { next };
        at = answer(http.get(&url), url, &[200, 302, 303]).await?;
    }
    Ok(at)
}

async fn visit(issuer: &str) -> Visit {
    match try_visit(issuer).await {
        Ok(done) => done,
        Err(ended) => ended,
    }
}

async fn try_visit(issuer: &str) -> Result<Visit, Visit> {
    let http = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let (verifier, challenge) = pkce_pair();
    let url = dvc_authorize_url(issuer, &challenge).to_string();
    let login = follow(&http, issuer, answer(http.get(&url), url, &[302, 303]).await?).await?;
    if !login.url.contains("/login?r=") {
        return Err(Visit::Wrong(format!("expected the login page at {}", login.url)));
    }
    let form = [("r", login.field("r")), ("csrf", login.field("csrf")), ("personal_id", AN.0.into()), ("password", AN.1.into())];
    let post = format!("{issuer}/login");
    let mut at = follow(&http, issuer, answer(http.post(&post).form(&form), post, &[302, 303]).await?).await?;
    let consent_asked = at.url.contains("/consent?r=");
    if consent_asked {
        let form = [("r", at.field("r")), ("csrf", at.field("csrf")), ("decision", "approve".into())];
        let post = format!("{issuer}/consent");
        at = answer(http.post(&post).form(&form), post, &[302, 303]).await?;
    }
    let callback = at.location.clone().unwrap_or_default();
    let Some(code) = callback
        .strip_prefix(DVC_REDIRECT)
        .and_then(|q| url::Url::parse(&format!("http://x/{q}")).ok())
        .and_then(|u| u.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()))
    else {
        return Err(Visit::Wrong(format!("no code: {callback} {}", at.body)));
    };
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", DVC_REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    let token = format!("{issuer}/token");
    let tokens = answer(http.post(&token).basic_auth(DVC, Some(DVC_SECRET)).form(&form), token, &[200]).await?;
    let refresh_token = |body: &str| -> Result<String, Visit> {
        let tokens: Value = serde_json::from_str(body).map_err(|e| Visit::Wrong(e.to_string()))?;
        tokens["refresh_token"].as_str().map(str::to_owned).ok_or_else(|| Visit::Wrong(format!("no refresh token: {tokens}")))
    };
    let first = refresh_token(&tokens.body)?;
    // The portal refreshes once: the rotated token is the one that must work afterwards.
    let form = [("grant_type", "refresh_token"), ("refresh_token", first.as_str())];
    let token = format!("{issuer}/token");
    let refreshed = answer(http.post(&token).basic_auth(DVC, Some(DVC_SECRET)).form(&form), token, &[200]).await?;
    Ok(Visit::Done { refresh: refresh_token(&refreshed.body)?, consent_asked, browser: http })
}

/// Workers signing in back to back until stopped: each visit's end time and outcome.
struct Load {
    stop: Arc<AtomicBool>,
    visits: Arc<std::sync::Mutex<Vec<(Instant, Visit)>>>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    fn start(issuer: &str, workers: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let visits = Arc::new(std::sync::Mutex::new(Vec::new()));
        let workers = (0..workers)
            .map(|_| {
                let (issuer, stop, visits) = (issuer.to_string(), stop.clone(), visits.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        let v = visit(&issuer).await;
                        let unavailable = matches!(v, Visit::Unavailable { .. });
                        visits.lock().unwrap().push((Instant::now(), v));
                        if unavailable {
                            // A person does not retry in a tight loop (the answer says Retry-After).
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                })
            })
            .collect();
        Load { stop, visits, workers }
    }

    fn completed_since(&self, since: Instant) -> usize {
        self.visits.lock().unwrap().iter().filter(|(at, v)| *at > since && matches!(v, Visit::Done { .. })).count()
    }

    /// Waits until `n` visits have completed after `since`.
    async fn until_completed(&self, since: Instant, n: usize, within: Duration) {
        let deadline = Instant::now() + within;
        while self.completed_since(since) < n {
            assert!(Instant::now() < deadline, "{} visits completed in {within:?}", self.completed_since(since));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn finish(self) -> Vec<(Instant, Visit)> {
        self.stop.store(true, Ordering::SeqCst);
        for w in self.workers {
            w.await.expect("a load worker panicked");
        }
        let mut all = std::mem::take(&mut *self.visits.lock().unwrap());
        all.sort_by_key(|(at, _)| *at);
        all
    }
}

/// No visit got a wrong answer; the refresh tokens of the completed ones.
fn completed(visits: &[(Instant, Visit)]) -> Vec<String> {
    let wrong: Vec<&String> = visits.iter().filter_map(|(_, v)| if let Visit::Wrong(w) = v { Some(w) } else { None }).collect();
    assert!(wrong.is_empty(), "wrong answers: {wrong:#?}");
    visits.iter().filter_map(|(_, v)| if let Visit::Done { refresh, .. } = v { Some(refresh.clone()) } else { None }).collect()
}

/// The person's session still lives in this browser: a silent authorization gets a code.
async fn session_lives(issuer: &str, browser: &reqwest::Client) -> bool {
    let (_, challenge) = pkce_pair();
    let mut url = dvc_authorize_url(issuer, &challenge);
    url.query_pairs_mut().append_pair("prompt", "none");
    let res = browser.get(url.as_str()).send().await.unwrap();
    let location = res.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    location.starts_with(DVC_REDIRECT) && location.contains("code=")
}

/// Every refresh token a portal was given still works: nothing answered was lost.
async fn all_refresh(issuer: &str, tokens: &[String]) {
    for (i, t) in tokens.iter().enumerate() {
        let res = backchannel()
            .post(format!("{issuer}/token"))
            .basic_auth(DVC, Some(DVC_SECRET))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", t.as_str())])
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert_eq!(status, 200, "refresh token {i} of {}: {}", tokens.len(), res.text().await.unwrap());
    }
}

/// The address nixa's `database_url` names, moved from the primary to the promoted replica as a
/// failover manager moves a virtual IP (keepalived, pg_auto_failover's monitor and a proxy,
/// Patroni with HAProxy): a TCP relay whose target the test switches, cutting the connections
/// to the old primary.
struct ServiceAddress {
    port: u16,
    target: Arc<AtomicU16>,
    connections: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ServiceAddress {
    fn drop(&mut self) {
        self.task.abort();
        self.connections.lock().unwrap().iter().for_each(|c| c.abort());
    }
}

impl ServiceAddress {
    async fn start(target: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = Arc::new(AtomicU16::new(target));
        let connections: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (to, open) = (target.clone(), connections.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let port = to.load(Ordering::SeqCst);
                open.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        ServiceAddress { port, target, connections, task }
    }

    fn database_url(&self) -> String {
        format!("postgres://nixa@127.0.0.1:{}/postgres", self.port)
    }

    fn move_to(&self, port: u16) {
        self.target.store(port, Ordering::SeqCst);
        self.connections.lock().unwrap().drain(..).for_each(|c| c.abort());
    }
}

#[tokio::test]
async fn a_primary_failover_under_load_answers_503_meanwhile_recovers_by_itself_and_loses_nothing_answered() {
    let primary = PrivatePostgres::start();
    let replica = PrivatePostgres::replica_of(&primary);
    // Synchronous replication: a commit is acknowledged once the replica has it, so nothing
    // nixa answered can be missing after the promotion.
    primary.query("ALTER SYSTEM SET synchronous_standby_names = '*'");
    primary.query("SELECT pg_reload_conf()");
    let deadline = Instant::now() + Duration::from_secs(20);
    while primary.query("SELECT string_agg(sync_state, ',') FROM pg_stat_replication") != "sync" {
        assert!(Instant::now() < deadline, "the replica never became synchronous");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let address = ServiceAddress::start(primary.port).await;
    let dir = tempfile::tempdir().unwrap();
    let url = address.database_url();
    let nixa = spawn_nixa_in(dir.path(), &[("NIXA_DATABASE_URL", url.as_str()), ("NIXA_THROTTLE", UNTHROTTLED)]).await;

    let load = Load::start(&nixa.issuer, 4);
    let started = Instant::now();
    load.until_completed(started, 20, Duration::from_secs(60)).await;

    let stopped = Instant::now();
    primary.stop();
    // The failover manager's detection time, during which nixa has no database at all.
    tokio::time::sleep(Duration::from_secs(1)).await;
    replica.promote();
    address.move_to(replica.port);
    let switched = Instant::now();
    load.until_completed(switched, 20, Duration::from_secs(30)).await;
    let visits = load.finish().await;

    let log = std::fs::read_to_string(&nixa.stderr).unwrap_or_default();
    for line in log.lines().filter(|l| l.contains("internal error")).take(12) {
        eprintln!("{line}");
    }
    let tokens = completed(&visits);
    let first_back = visits.iter().find(|(at, v)| *at > switched && matches!(v, Visit::Done { .. })).map(|(at, _)| *at).unwrap();
    let unavailable: Vec<Option<u16>> =
        visits.iter().filter_map(|(_, v)| if let Visit::Unavailable { status } = v { Some(*status) } else { None }).collect();
    let answered_503 = unavailable.iter().filter(|s| **s == Some(503)).count();
    let (before, after) = (
        visits.iter().filter(|(at, v)| *at < stopped && matches!(v, Visit::Done { .. })).count(),
        visits.iter().filter(|(at, v)| *at > switched && matches!(v, Visit::Done { .. })).count(),
    );
    eprintln!(
        "failover: {before} sign-ins before the stop, {after} after the switch; service back {:.2} s after the primary stopped \
         ({:.2} s after the replica was promoted and the address moved); {} visits interrupted ({answered_503} answered 503, {} \
         without an answer); 0 wrong answers",
        (first_back - stopped).as_secs_f64(),
        (first_back - switched).as_secs_f64(),
        unavailable.len(),
        unavailable.len() - answered_503,
    );
    assert!(answered_503 >= 1, "the switch was answered with 503s: {unavailable:?}");
    assert!(first_back - switched < Duration::from_secs(15), "reconnected by itself within 15 s");
    // The consent given before the failover is still known: nobody was asked again after it.
    assert!(
        visits.iter().filter(|(at, _)| *at > switched).all(|(_, v)| !matches!(v, Visit::Done { consent_asked: true, .. })),
        "a consent was lost"
    );
    all_refresh(&nixa.issuer, &tokens).await;
    // The sessions of people who signed in before the stop are still there.
    for (_, v) in visits.iter().filter(|(at, _)| *at < stopped).take(5) {
        let Visit::Done { browser, .. } = v else { continue };
        assert!(session_lives(&nixa.issuer, browser).await, "a session answered before the failover was lost");
    }
    // The audit chain on the promoted replica is whole.
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_nixa"))
        .args(["--demo", "audit", "verify"])
        .env("NIXA_DATABASE_URL", replica.url())
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
}

#[tokio::test]
async fn nixa_killed_under_load_loses_nothing_it_answered() {
    let dir = tempfile::tempdir().unwrap();
    let mut nixa = spawn_nixa_in(dir.path(), &[("NIXA_THROTTLE", UNTHROTTLED)]).await;
    let load = Load::start(&nixa.issuer, 4);
    load.until_completed(Instant::now(), 20, Duration::from_secs(60)).await;
    nixa.child.kill().unwrap(); // SIGKILL: no shutdown, no flush
    nixa.child.wait().unwrap();
    let visits = load.finish().await;
    let tokens = completed(&visits);
    eprintln!("kill -9: {} sign-ins answered before the kill, {} interrupted", tokens.len(), visits.len() - tokens.len());

    // The same database, a new process.
    let again = spawn_nixa_in(dir.path(), &[("NIXA_THROTTLE", UNTHROTTLED)]).await;
    all_refresh(&again.issuer, &tokens).await;
    // Sessions too (the cookie names the server only, not its port).
    for (_, v) in visits.iter().take(5) {
        let Visit::Done { browser, .. } = v else { continue };
        assert!(session_lives(&again.issuer, browser).await, "a session answered before the kill was lost");
    }
    assert!(matches!(visit(&again.issuer).await, Visit::Done { consent_asked: false, .. }), "the consent survived");
}
