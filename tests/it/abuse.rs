//! Under attack (issue 16): guessing passwords in parallel, locking people out as a weapon,
//! telling who has an account from the lock.

use std::time::Instant;

use crate::common::*;

/// A browser on the login page of a fresh sign-in at the demo portal: (browser, r, csrf).
async fn on_login_page(server: &TestServer) -> (Browser, String, String) {
    let b = server.browser();
    let (_, challenge) = pkce_pair();
    let login = b.follow(b.get(&authorize_url(server, DVC, DVC_REDIRECT, &challenge, &[])).await).await;
    let (r, csrf) = (login.field("r"), login.field("csrf"));
    (b, r, csrf)
}

async fn try_password(b: &Browser, r: &str, csrf: &str, pid: &str, password: &str) -> Page {
    b.post("/login", &[("r", r), ("csrf", csrf), ("personal_id", pid), ("password", password)]).await
}

async fn failures(server: &TestServer, pid: &str) -> i64 {
    let id = server.app.store.person_for_login(&nixa::identity::PersonalId::parse(pid).unwrap()).await.unwrap().unwrap().0.id;
    let (_, state) = server.app.store.person_for_login_by_id(&id).await.unwrap().unwrap();
    state.failed_logins
}

/// `n` wrong passwords for `pid` at once, each from its own browser; the pages.
async fn parallel_wrong(server: &TestServer, pid: &'static str, n: usize) -> Vec<Page> {
    let mut forms = Vec::new();
    for _ in 0..n {
        forms.push(on_login_page(server).await);
    }
    let mut set = tokio::task::JoinSet::new();
    for (b, r, csrf) in forms {
        set.spawn(async move { try_password(&b, &r, &csrf, pid, "not the password").await });
    }
    let mut pages = Vec::new();
    while let Some(p) = set.join_next().await {
        pages.push(p.unwrap());
    }
    pages
}

#[tokio::test]
async fn fifty_parallel_wrong_passwords_count_as_fifty() {
    let server = TestServer::start_with(|c| c.login_max_failures = 1000).await;
    let pages = parallel_wrong(&server, AN.0, 50).await;
    assert!(pages.iter().all(|p| p.status == 401));
    assert_eq!(failures(&server, AN.0).await, 50, "no attempt may overwrite another's count");
}

#[tokio::test]
async fn a_burst_checks_no_more_passwords_than_the_threshold_and_the_right_one_is_refused_after() {
    let server = TestServer::start().await;
    let pages = parallel_wrong(&server, AN.0, 50).await;
    let locked = pages.iter().filter(|p| p.error_key().as_deref() == Some("login.error.locked")).count();
    assert!(locked >= 45, "beyond the threshold attempts are refused unchecked ({locked} of 50 said locked)");
    // At most five passwords were compared: the others were refused before any check.
    let audit = server.app.store.audit_entries(0, 10_000).await.unwrap();
    let checked = audit.iter().filter(|e| e.event == "login.failed" && e.detail.contains("\"factor\":\"password\"")).count();
    assert!(checked <= 5, "{checked} passwords were checked");
    // The right password from a browser the person never used is refused while the lock holds.
    let (b, r, csrf) = on_login_page(&server).await;
    let page = try_password(&b, &r, &csrf, AN.0, AN.1).await;
    assert_eq!((page.status, page.error_key().as_deref()), (401, Some("login.error.locked")));
}

#[tokio::test]
async fn a_thousand_wrong_passwords_do_not_lock_the_owner_out_of_their_known_browser() {
    let server = TestServer::start().await;
    // The owner signs in once from their phone's browser.
    let phone = server.browser();
    code_for(&server, &phone, AN).await;
    // An attacker tries a thousand passwords, fifty at a time, from other browsers.
    for _ in 0..20 {
        parallel_wrong(&server, AN.0, 50).await;
    }
    // Elsewhere the account is locked…
    let (b, r, csrf) = on_login_page(&server).await;
    assert_eq!(try_password(&b, &r, &csrf, AN.0, AN.1).await.error_key().as_deref(), Some("login.error.locked"));
    // …but on the phone the owner signs in.
    let (verifier, challenge) = pkce_pair();
    let page = phone.sign_in(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("prompt", "login")]), AN).await;
    let page = if page.url.contains("/consent?r=") { phone.consent(&page, "approve").await } else { page };
    let code = page.query("code").unwrap_or_else(|| panic!("the owner is locked out: {}", page.body));
    assert_eq!(redeem(&server, &code, &verifier).await.0, 200);
}

/// A page with what differs per request taken out: the sign-in's id, its CSRF token, the ID.
fn comparable(page: &Page, r: &str, csrf: &str, pid: &str) -> (u16, String) {
    (page.status, page.body.replace(r, "R").replace(csrf, "CSRF").replace(pid, "ID"))
}

#[tokio::test]
async fn an_unknown_id_number_answers_like_a_known_one_through_the_lock() {
    let server = TestServer::start().await;
    let unknown = "001099999999";
    let (mut known_times, mut unknown_times) = (Vec::new(), Vec::new());
    for attempt in 1..=7 {
        let (b, r, csrf) = on_login_page(&server).await;
        let t = Instant::now();
        let k = try_password(&b, &r, &csrf, AN.0, "not the password").await;
        known_times.push(t.elapsed());
        let known = comparable(&k, &r, &csrf, AN.0);
        let (b, r, csrf) = on_login_page(&server).await;
        let t = Instant::now();
        let u = try_password(&b, &r, &csrf, unknown, "not the password").await;
        unknown_times.push(t.elapsed());
        let stranger = comparable(&u, &r, &csrf, unknown);
        assert_eq!(known, stranger, "attempt {attempt}");
        let expected = if attempt >= 5 { "login.error.locked" } else { "login.error.invalid" };
        assert_eq!(k.error_key().as_deref(), Some(expected), "attempt {attempt}");
    }
    // A locked account is not answered faster than an unknown ID (it once took 2–3 ms instead of
    // the Argon2 time). Contention from other tests only adds time, so compare the fastest.
    let fastest = |t: &[std::time::Duration]| t[4..].iter().min().unwrap().as_secs_f64();
    let (k, u) = (fastest(&known_times), fastest(&unknown_times));
    assert!(k > 0.3 * u, "fastest locked answer {k:.4} s for the known ID, {u:.4} s for the unknown");
}

#[tokio::test]
async fn a_per_address_limit_answers_429_and_lets_other_addresses_through() {
    let server = TestServer::start_with(|c| {
        c.throttle = nixa::web::throttle::ThrottleConfig {
            trusted_proxies: vec!["127.0.0.1".into()],
            signin_per_minute: 3,
            signin_burst: 3,
            requests_per_minute: 5,
            requests_burst: 5,
            ..Default::default()
        }
    })
    .await;
    let http = backchannel();
    let login = |from: &'static str, lang: &'static str| {
        let http = http.clone();
        let url = server.url("/login");
        async move {
            http.post(url)
                .header("x-forwarded-for", from)
                .header("accept-language", lang)
                .form(&[("r", "x"), ("csrf", "x"), ("personal_id", AN.0), ("password", "x")])
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..3 {
        assert_ne!(login("198.51.100.7", "vi").await.status(), 429);
    }
    let page = login("198.51.100.7", "en").await;
    assert_eq!(page.status(), 429);
    let wait: u64 = page.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=20).contains(&wait), "Retry-After {wait}");
    let body = page.text().await.unwrap();
    assert!(body.contains("<html lang=\"en\"") && body.contains("Too many requests"), "a page in the person's language: {body}");
    // Another address is not affected; IPv6 neighbours in one /64 share a counter.
    assert_ne!(login("198.51.100.8", "vi").await.status(), 429);
    for _ in 0..3 {
        login("2001:db8:5:6::1", "vi").await;
    }
    assert_eq!(login("2001:db8:5:6::ffff", "vi").await.status(), 429);

    // An API gets an OAuth error.
    let token = |from: &'static str| {
        let http = http.clone();
        let url = server.url("/token");
        async move { http.post(url).header("x-forwarded-for", from).form(&[("grant_type", "authorization_code")]).send().await.unwrap() }
    };
    for _ in 0..5 {
        assert_ne!(token("203.0.113.1").await.status(), 429);
    }
    let r = token("203.0.113.1").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn forwarded_for_is_ignored_from_an_untrusted_peer() {
    let server = TestServer::start_with(|c| {
        c.throttle = nixa::web::throttle::ThrottleConfig { signin_per_minute: 2, signin_burst: 2, ..Default::default() }
    })
    .await;
    let http = backchannel();
    let mut statuses = Vec::new();
    // Each request claims another address; the peer (loopback) is not a trusted proxy.
    for i in 0..4 {
        let r = http
            .post(server.url("/login"))
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .form(&[("r", "x"), ("csrf", "x"), ("personal_id", AN.0), ("password", "x")])
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(&statuses[2..], &[429, 429], "{statuses:?}");
}

/// Tokens for AN at the demo portal with `offline_access`: the refresh token.
async fn refresh_token_for(server: &TestServer) -> String {
    let b = server.browser();
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(server, DVC, DVC_REDIRECT, &challenge, &[("scope", "openid offline_access")]);
    let mut page = b.sign_in(&url, AN).await;
    if page.url.contains("/consent?r=") {
        page = b.consent(&page, "approve").await;
    }
    let (status, tokens) = redeem(server, &page.query("code").unwrap(), &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    tokens["refresh_token"].as_str().unwrap().to_string()
}

async fn refresh(server: &TestServer, rt: &str) -> (u16, serde_json::Value) {
    let r = backchannel()
        .post(server.url("/token"))
        .basic_auth(DVC, Some(DVC_SECRET))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn reuse_alarms(server: &TestServer) -> Vec<String> {
    let audit = server.app.store.audit_entries(0, 10_000).await.unwrap();
    audit.into_iter().filter(|e| e.event == "token.refresh_reused").map(|e| e.detail).collect()
}

#[tokio::test]
async fn the_refresh_grace_is_for_one_lost_response_once() {
    let server = TestServer::start().await;
    // The client refreshes; the response is lost (or stolen on the way).
    let rt0 = refresh_token_for(&server).await;
    let (status, _lost) = refresh(&server, &rt0).await;
    assert_eq!(status, 200);
    // A thief replays the old token within the grace period and gets a pair…
    let (status, stolen) = refresh(&server, &rt0).await;
    assert_eq!(status, 200);
    let rt2 = stolen["refresh_token"].as_str().unwrap().to_string();
    // …but the real client's retry is a second presentation: reuse, the family dies, audited.
    let (status, body) = refresh(&server, &rt0).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(refresh(&server, &rt2).await.0, 400, "the thief's token is revoked with the family");
    assert!(reuse_alarms(&server).await.iter().any(|d| d.contains("grace_used")));

    // The displaced successor presented later (the client had it after all) is reuse too.
    let rt0 = refresh_token_for(&server).await;
    let rt1b = refresh(&server, &rt0).await.1["refresh_token"].as_str().unwrap().to_string();
    let rt2b = refresh(&server, &rt0).await.1["refresh_token"].as_str().unwrap().to_string();
    let (status, _) = refresh(&server, &rt1b).await;
    assert_eq!(status, 400);
    assert_eq!(refresh(&server, &rt2b).await.0, 400, "the family is revoked");
    assert!(reuse_alarms(&server).await.iter().any(|d| d.contains("displaced")));
}

#[tokio::test]
async fn smaller_findings_of_the_review() {
    let server = TestServer::start().await;
    // A token with clients:write alone cannot create a first-party client (public subjects).
    let t = operator_token(&server, &["clients:write"]).await;
    let body = serde_json::json!({"client_name": "Cổng", "redirect_uris": ["https://cong.gov.vn/cb"], "first_party": true});
    let r = backchannel().post(server.url("/admin/v1/clients")).bearer_auth(&t).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let problem: serde_json::Value = r.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap_or_default().contains("clients:first_party"), "{problem}");

    // POST /logout with a control character in the body: the malformed-request page, not a 500.
    let r = backchannel()
        .post(server.url("/logout"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("client_id=demo-dvc&state=a\u{1}b")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Two native apps on loopback redirect URIs do not share a pairwise subject.
    let native = |name: &str| nixa::oidc::registration::ClientSpec {
        name: name.into(),
        redirect_uris: vec!["http://127.0.0.1:8765/cb".into()],
        auth_method: Some("none".into()),
        ..Default::default()
    };
    let (a, _) = nixa::oidc::registration::build(&native("A")).unwrap();
    let (b, _) = nixa::oidc::registration::build(&native("B")).unwrap();
    assert_ne!(a.sector, b.sector);

    // No HSTS for an http issuer (development); an https issuer gets it (`web::security`).
    let r = backchannel().get(server.url("/jwks")).send().await.unwrap();
    assert!(r.headers().get("strict-transport-security").is_none());
}

#[tokio::test]
async fn an_https_issuer_sends_strict_transport_security() {
    let server = TestServer::start_with(|c| c.issuer = Some("https://id.example.gov.vn".into())).await;
    let r = backchannel().get(format!("http://{}/jwks", server_addr(&server))).send().await.unwrap();
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
}

/// The listening address of a test server whose issuer is not its address.
fn server_addr(server: &TestServer) -> String {
    server.listen_addr.to_string()
}

#[tokio::test]
async fn no_fetch_reaches_loopback_private_or_metadata_addresses_unless_allowed() {
    let server = TestServer::start_with(|c| c.outbound_allow = Vec::new()).await;
    let t = nixa::crypto::random_token();
    let scopes = ["clients:write", "upstreams:write"].iter().map(|s| s.to_string()).collect();
    let op = nixa::store::operators::OperatorToken { name: "ops".into(), scopes, expires_at: server.app.now() + 3600 };
    server.app.store.insert_operator_token(&nixa::crypto::token_hash(&t), &op, server.app.now()).await.unwrap();
    let admin = |method: reqwest::Method, path: &str, body: serde_json::Value| {
        backchannel().request(method, server.url(path)).bearer_auth(&t).json(&body).send()
    };

    // An upstream issuer at the cloud metadata address, or on loopback: refused, 422.
    for issuer in ["https://169.254.169.254", "http://127.0.0.1:8080", "https://[::ffff:10.0.0.1]", "https://100.64.1.1"] {
        let body = serde_json::json!({"id": "x", "display_name": "X", "issuer": issuer, "client_id": "c", "client_secret": "s", "trust_level": "urn:vn:eid:loa:1"});
        let r = admin(reqwest::Method::PUT, "/admin/v1/upstreams/x", body).await.unwrap();
        let status = r.status().as_u16();
        let problem: serde_json::Value = r.json().await.unwrap();
        assert_eq!(status, 422, "{issuer}: {problem}");
    }

    // A sector document on a port of this machine: one generic answer, whether something listens
    // there or not (no port scanning through registration).
    let mut answers = Vec::new();
    for port in [9u16, server.listen_addr.port()] {
        let body = serde_json::json!({
            "client_name": "Cổng", "redirect_uris": ["https://a.gov.vn/cb"],
            "options": {"sector_identifier_uri": format!("https://127.0.0.1:{port}/s.json")},
        });
        let r = admin(reqwest::Method::POST, "/admin/v1/clients", body).await.unwrap();
        answers.push((r.status().as_u16(), r.text().await.unwrap()));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, 422);
    assert!(!answers[0].1.contains("HTTP") && answers[0].1.contains("could not be fetched"), "{}", answers[0].1);

    // A back-channel logout to loopback is given up, never sent.
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    let receiver = axum::Router::new().route(
        "/bcl",
        axum::routing::post(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { "ok" }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    let spec = nixa::oidc::registration::ClientSpec {
        name: "Cổng".into(),
        redirect_uris: vec!["http://localhost:9000/cb".into()],
        scopes: nixa::protocol::scopes::SUPPORTED.iter().map(|s| s.to_string()).collect(),
        options: nixa::client::ClientOptions { backchannel_logout_uri: Some(format!("http://127.0.0.1:{port}/bcl")), ..Default::default() },
        ..Default::default()
    };
    let (client, secret) = nixa::oidc::registration::build(&spec).unwrap();
    server.app.store.put_client(&client, server.app.now()).await.unwrap();
    let b = server.browser();
    let (verifier, challenge) = pkce_pair();
    let mut page = b.sign_in(&authorize_url(&server, client.id.as_str(), "http://localhost:9000/cb", &challenge, &[]), AN).await;
    if page.url.contains("/consent?r=") {
        page = b.consent(&page, "approve").await;
    }
    let code = page.query("code").unwrap();
    let r = backchannel()
        .post(server.url("/token"))
        .basic_auth(client.id.as_str(), secret.as_deref())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://localhost:9000/cb"),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let sid = server
        .app
        .store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .iter()
        .rev()
        .find(|e| e.event == "login.succeeded")
        .unwrap()
        .detail
        .clone();
    let sid: serde_json::Value = serde_json::from_str(&sid).unwrap();
    nixa::oidc::logout::end_session(&server.app, sid["sid"].as_str().unwrap(), nixa::oidc::logout::LogoutReason::Server("test"))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    nixa::oidc::logout::run_deliveries(&server.app).await.unwrap();
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing reached the loopback receiver");
    let failed = server.app.store.audit_entries(0, 10_000).await.unwrap();
    assert!(failed.iter().any(|e| e.event == "backchannel_logout.failed" && e.detail.contains("not reachable")), "the refusal is recorded");
}

#[tokio::test]
async fn slow_and_idle_connections_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start_with(|c| {
        c.http = nixa::web::serve::HttpLimits { header_timeout_secs: 1, body_timeout_secs: 1, max_connections: 100 }
    })
    .await;
    let addr = server.listen_addr;
    // Closed, or answered and closed, within a few seconds: never left open.
    async fn closed_within(mut s: tokio::net::TcpStream, secs: u64, what: &str) -> Vec<u8> {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(std::time::Duration::from_secs(secs), s.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "{what}: the connection was still open after {secs} s ({})", String::from_utf8_lossy(&buf));
        buf
    }
    // Idle: connects and says nothing.
    let idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    closed_within(idle, 4, "idle").await;
    // Trickling headers.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /jwks HTTP/1.1\r\nHost: localhost\r\n").await.unwrap();
    closed_within(slow, 4, "trickling headers").await;
    // A body that never arrives in full.
    let mut half = tokio::net::TcpStream::connect(addr).await.unwrap();
    half.write_all(b"POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=").await.unwrap();
    let answer = closed_within(half, 4, "half a body").await;
    // Answered (the body could not be read: 400 or 408) and closed, or just closed.
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 400") || answer.starts_with("HTTP/1.1 408"), "{answer}");
    // A kept-alive connection that idles after a request is closed too.
    let mut kept = tokio::net::TcpStream::connect(addr).await.unwrap();
    kept.write_all(b"GET /jwks HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let answer = closed_within(kept, 4, "idle keep-alive").await;
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"), "the request itself was answered");
    // An ordinary request still works.
    assert_eq!(backchannel().get(server.url("/jwks")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn guessing_admin_tokens_is_throttled_per_address() {
    let server = TestServer::start_with(|c| {
        c.throttle = nixa::web::throttle::ThrottleConfig {
            trusted_proxies: vec!["127.0.0.1".into()],
            signin_per_minute: 3,
            signin_burst: 3,
            ..Default::default()
        }
    })
    .await;
    let call = |from: &'static str, token: &'static str| {
        let url = server.url("/admin/v1/clients");
        async move { backchannel().get(url).header("x-forwarded-for", from).bearer_auth(token).send().await.unwrap().status().as_u16() }
    };
    for _ in 0..4 {
        assert_eq!(call("198.51.100.9", "guess").await, 401);
    }
    assert_eq!(call("198.51.100.9", "guess").await, 429, "after the limit the address waits");
    assert_eq!(call("198.51.100.10", "guess").await, 401, "another address is not affected");
}

/// A web server that accepts connections and never answers: a fetch from nixa to it waits (up
/// to the guarded client's 10 s) until `release` closes them.
struct Tarpit {
    port: u16,
    held: std::sync::Arc<std::sync::Mutex<Vec<tokio::net::TcpStream>>>,
    _task: tokio::task::JoinHandle<()>,
}

impl Tarpit {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = held.clone();
        let _task = tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                keep.lock().unwrap().push(s);
            }
        });
        Self { port, held, _task }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/sector.json", self.port)
    }

    async fn wait_for(&self, n: usize) {
        for _ in 0..100 {
            if self.held.lock().unwrap().len() >= n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the tarpit did not see {n} connections");
    }

    fn release(&self) {
        self.held.lock().unwrap().clear();
    }
}

/// A request that holds a slot for as long as the tarpit holds its sector document: a dynamic
/// registration (a new arrival, so it takes a slot only while new arrivals are let in).
fn slow_registration(server: &TestServer, token: &str, tarpit: &Tarpit) -> tokio::task::JoinHandle<u16> {
    let body = serde_json::json!({"redirect_uris": ["https://a.example.vn/cb"], "sector_identifier_uri": tarpit.url()});
    let req = backchannel().post(server.url("/register")).bearer_auth(token).json(&body);
    tokio::spawn(async move { req.send().await.unwrap().status().as_u16() })
}

fn admission(max_in_flight: usize, entry_reserve: usize) -> nixa::web::admission::AdmissionConfig {
    nixa::web::admission::AdmissionConfig {
        max_in_flight,
        entry_reserve,
        password_queue: usize::MAX,
        queue_timeout_ms: 300,
        retry_after_secs: 3,
    }
}

#[tokio::test]
async fn a_saturated_server_holds_new_arrivals_in_line_and_recovers_by_itself() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::start_with(|c| c.admission = admission(4, 2)).await;
    let (_, challenge) = pkce_pair();
    let authorize = authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[]);
    let par = || async {
        let res = backchannel()
            .post(server.url("/par"))
            .basic_auth(DVC, Some(DVC_SECRET))
            .form(&[
                ("response_type", "code"),
                ("client_id", DVC),
                ("redirect_uri", DVC_REDIRECT),
                ("scope", "openid"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ])
            .send()
            .await
            .unwrap();
        let retry = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
        (res.status().as_u16(), retry, res.json::<serde_json::Value>().await.unwrap())
    };
    let b = server.browser();

    // Bodies sent slowly hold connections, not slots: people still get in.
    let mut slow = Vec::new();
    for _ in 0..6 {
        let mut s = tokio::net::TcpStream::connect(server.listen_addr).await.unwrap();
        s.write_all(b"POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\ngrant_type=").await.unwrap();
        slow.push(s);
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_ne!(b.get(&authorize).await.status, 503, "a trickled body takes no slot");
    let too_large = backchannel().post(server.url("/token")).body(vec![b'a'; 70 * 1024]).send().await.unwrap();
    assert_eq!(too_large.status(), 413);

    // Two registrations wait on a sector document that never comes: the reserve is reached.
    let registrar = operator_token(&server, &["clients:register"]).await;
    let tarpit = Tarpit::start().await;
    let held = [slow_registration(&server, &registrar, &tarpit), slow_registration(&server, &registrar, &tarpit)];
    tarpit.wait_for(2).await;

    // A person arriving waits in line, in their language, and the page tries again by itself.
    let waiting = b.get(&authorize).await;
    assert_eq!((waiting.status, waiting.error_key().as_deref(), waiting.retry_after.as_deref()), (503, Some("busy"), Some("3")));
    assert!(waiting.body.contains("lang=\"vi\"") && waiting.body.contains("hàng chờ"), "{}", waiting.body);
    assert!(waiting.body.contains("id=\"busy-retry\"") && waiting.body.contains("/static/retry.js"));
    let en = b.http.get(&authorize).header("accept-language", "en").send().await.unwrap();
    assert_eq!(en.status(), 503);
    assert!(en.text().await.unwrap().contains("you are in line"));
    // A portal's new request is told when to come back.
    let (status, retry, body) = par().await;
    assert_eq!((status, retry.as_deref(), body["error"].as_str()), (503, Some("3"), Some("temporarily_unavailable")));
    // Keys, discovery and health are never held back.
    for path in ["/jwks", "/.well-known/openid-configuration", "/healthz", "/static/retry.js"] {
        assert_eq!(backchannel().get(server.url(path)).send().await.unwrap().status(), 200, "{path}");
    }
    // Someone half-way through still gets a slot of the reserve.
    let token = backchannel().post(server.url("/token")).basic_auth(DVC, Some(DVC_SECRET)).form(&[("grant_type", "nonsense")]).send();
    assert_eq!(token.await.unwrap().status(), 400, "a continuing request is admitted");
    // The surge ends: the server takes people in again by itself.
    tarpit.release();
    for h in held {
        assert_eq!(h.await.unwrap(), 400, "the registrations end with their own answer (no sector document)");
    }
    let page = b.get(&authorize).await;
    assert!(page.location.as_deref().is_some_and(|l| l.contains("/login")), "on to the sign-in: {} {:?}", page.status, page.location);
    assert_eq!(par().await.0, 201);
    drop(slow);
}

#[tokio::test]
async fn with_every_slot_taken_a_continuing_request_waits_its_time_then_is_told_to_come_back() {
    let server = TestServer::start_with(|c| c.admission = admission(2, 0)).await;
    let registrar = operator_token(&server, &["clients:register"]).await;
    let tarpit = Tarpit::start().await;
    let held = [slow_registration(&server, &registrar, &tarpit), slow_registration(&server, &registrar, &tarpit)];
    tarpit.wait_for(2).await;
    let token = || backchannel().post(server.url("/token")).basic_auth(DVC, Some(DVC_SECRET)).form(&[("grant_type", "nonsense")]).send();
    let started = std::time::Instant::now();
    let refused = token().await.unwrap();
    assert_eq!(refused.status(), 503);
    assert!(started.elapsed() >= std::time::Duration::from_millis(250), "it waited in line first");
    assert_eq!(refused.headers().get("retry-after").unwrap(), "3");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    // A slot frees while it waits: it is served.
    let waiting = tokio::spawn(token());
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    tarpit.release();
    assert_eq!(waiting.await.unwrap().unwrap().status(), 400, "served once a slot was free");
    for h in held {
        h.await.unwrap();
    }
}

#[tokio::test]
async fn a_password_check_refused_for_a_long_line_is_not_counted_against_the_account() {
    let server = TestServer::start_with(|c| {
        c.login_max_failures = 1000;
        c.admission = nixa::web::admission::AdmissionConfig { queue_timeout_ms: 1, password_queue: usize::MAX, ..Default::default() };
    })
    .await;
    let pages = parallel_wrong(&server, AN.0, 24).await;
    let busy: Vec<_> = pages.iter().filter(|p| p.status == 503).collect();
    let checked = pages.iter().filter(|p| p.status == 401).count();
    assert_eq!(busy.len() + checked, 24, "every attempt was either checked or told to wait");
    assert!(!busy.is_empty(), "24 checks at once with no wait allowed: some were told to wait");
    for p in &busy {
        assert_eq!(p.error_key().as_deref(), Some("login.error.busy"));
        assert!(p.retry_after.is_some());
        assert!(p.body.contains("name=\"password\""), "the form is shown again");
    }
    assert_eq!(failures(&server, AN.0).await, checked as i64, "only checked passwords count");
}

#[tokio::test]
async fn audit_entries_carry_the_client_address_and_user_agent_under_the_chain() {
    use sqlx::Connection;
    let server = TestServer::start_with(|c| c.throttle.trusted_proxies = vec!["127.0.0.1".into()]).await;
    let b = server.browser();
    let (_, challenge) = pkce_pair();
    let login = b.follow(b.get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[])).await).await;
    let form = [("r", login.field("r")), ("csrf", login.field("csrf")), ("personal_id", AN.0.into()), ("password", "wrong".into())];
    let res = b
        .http
        .post(server.url("/login"))
        .header("x-forwarded-for", "203.0.113.77")
        .header("user-agent", "Mozilla/5.0 (Linux; Android 10)\tChrome/120")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let store = &server.app.store;
    let entries = store.audit_entries(0, 10_000).await.unwrap();
    let failed = entries.iter().rev().find(|e| e.event == "login.failed").expect("the failure is recorded");
    assert_eq!(failed.client_addr.as_deref(), Some("203.0.113.77"));
    assert_eq!(failed.user_agent.as_deref(), Some("Mozilla/5.0 (Linux; Android 10)Chrome/120"), "control characters dropped");
    assert!(nixa::audit::verify_chain(store).await.unwrap().is_ok());
    // The source is under the chain: changing it (or removing it) is found.
    let mut conn = sqlx::AnyConnection::connect(&server.app.settings.database_url).await.unwrap();
    for forged in [Some("198.51.100.1"), None] {
        sqlx::query("UPDATE audit_log SET client_addr = $1 WHERE seq = $2").bind(forged).bind(failed.seq).execute(&mut conn).await.unwrap();
        assert_eq!(nixa::audit::verify_chain(store).await.unwrap(), Err(nixa::audit::ChainError::Altered(failed.seq)), "{forged:?}");
    }
}

#[tokio::test]
async fn a_session_left_unused_ends_although_its_lifetime_has_not() {
    let server = TestServer::start_with(|c| c.session_idle_secs = 30 * 60).await;
    let b = server.browser();
    code_for(&server, &b, AN).await;
    let (_, challenge) = pkce_pair();
    let url = authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[]);
    // Used every 25 minutes, for longer than the idle limit in all: the session lives on.
    for _ in 0..3 {
        server.app.clock.advance(25 * 60);
        assert!(b.get(&url).await.location.unwrap_or_default().starts_with(DVC_REDIRECT), "single sign-on while in use");
    }
    // Left alone for 31 minutes: it is over, 106 minutes into its 8 hours.
    server.app.clock.advance(31 * 60);
    let next = b.get(&url).await.location.unwrap_or_default();
    assert!(next.contains("/login"), "asked to sign in again, went to {next}");
}

#[tokio::test]
async fn guessing_device_user_codes_from_fresh_browsers_is_limited_per_address() {
    let server = TestServer::start_with(|c| {
        c.throttle = nixa::web::throttle::ThrottleConfig { signin_per_minute: 3, signin_burst: 3, ..Default::default() }
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        // A new cookie jar every time: the per-browser limit of the device page never sees a repeat.
        let b = server.browser();
        let form = b.get("/device").await;
        let csrf = form.field("csrf");
        statuses.push(b.post("/device", &[("csrf", &csrf), ("user_code", "BCDF-GHJK")]).await.status);
    }
    assert!(statuses[..3].iter().all(|s| *s != 429), "{statuses:?}");
    assert_eq!(statuses[3], 429, "the address is limited, whatever its cookies: {statuses:?}");
}

#[tokio::test]
async fn a_portal_over_its_rate_gets_429_and_other_portals_do_not() {
    let server = TestServer::start_with(|c| {
        c.throttle.portal_per_second = 1;
        c.throttle.portal_burst = 2;
    })
    .await;
    let call = |client: &'static str, secret: Option<&'static str>| {
        let url = server.url("/token");
        async move {
            let req = backchannel().post(url);
            let req = match secret {
                Some(s) => req.basic_auth(client, Some(s)),
                None => req.form(&[("client_id", client), ("grant_type", "authorization_code"), ("code", "x")]),
            };
            let req = if secret.is_some() { req.form(&[("grant_type", "authorization_code"), ("code", "x")]) } else { req };
            let res = req.send().await.unwrap();
            let retry = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
            (res.status().as_u16(), retry, res.json::<serde_json::Value>().await.unwrap())
        }
    };
    for _ in 0..2 {
        assert_eq!(call(DVC, Some(DVC_SECRET)).await.0, 400, "within the burst: the request itself is judged");
    }
    let (status, retry, body) = call(DVC, Some(DVC_SECRET)).await;
    assert_eq!((status, retry.as_deref(), body["error"].as_str()), (429, Some("1"), Some("temporarily_unavailable")));
    assert_eq!(call("demo-tinh", None).await.0, 400, "another portal is not affected");
    // A wrong secret is not counted against the portal it names.
    assert_eq!(call(DVC, Some("wrong")).await.0, 401);
}

/// The proof-of-work puzzle on a login page, if any.
fn puzzle_on(page: &Page) -> Option<String> {
    let marker = "data-proof-of-work=\"";
    let start = page.body.find(marker)? + marker.len();
    Some(page.body[start..].split('"').next()?.to_string())
}

#[tokio::test]
async fn an_address_trying_many_passwords_must_prove_work_before_it_is_blocked() {
    let server = TestServer::start_with(|c| {
        c.login_max_failures = 1000;
        c.throttle.signin_per_minute = 100;
        c.throttle.signin_burst = 100;
        c.throttle.pow_per_minute = 2;
        c.throttle.pow_burst = 2;
        c.throttle.pow_bits = 8;
    })
    .await;
    let (b, r, csrf) = on_login_page(&server).await;
    for _ in 0..2 {
        let page = try_password(&b, &r, &csrf, AN.0, "wrong").await;
        assert_eq!(page.error_key().as_deref(), Some("login.error.invalid"));
        assert!(puzzle_on(&page).is_none(), "no work asked of an address below the softer limit");
    }
    // Past it: the attempt is refused unchecked, and the page carries a puzzle.
    let refused = try_password(&b, &r, &csrf, AN.0, AN.1).await;
    assert_eq!((refused.status, refused.error_key().as_deref()), (401, Some("login.error.proof_of_work")));
    assert_eq!(failures(&server, AN.0).await, 2, "the unchecked attempt is not counted");
    let puzzle = puzzle_on(&refused).expect("a puzzle on the page");
    assert!(refused.body.contains("/static/proof-of-work.js"));
    // A wrong answer, or an answer to a puzzle made up, is refused too.
    let post = |pow: String, password: &'static str| {
        let (b, r, csrf) = (&b, r.clone(), csrf.clone());
        async move {
            b.post("/login", &[("r", &r), ("csrf", &csrf), ("personal_id", AN.0), ("password", password), ("proof_of_work", &pow)]).await
        }
    };
    let unsolved = (0..10_000u32).find(|c| !nixa::authn::proof_of_work::solves(&puzzle, &c.to_string(), 8)).unwrap();
    assert_eq!(post(format!("{puzzle}:{unsolved}"), AN.1).await.error_key().as_deref(), Some("login.error.proof_of_work"));
    let forged = "v1.nonce.9999999999.8.forged";
    let forged_answer = (0..100_000u32).find(|c| nixa::authn::proof_of_work::solves(forged, &c.to_string(), 8)).unwrap();
    assert_eq!(post(format!("{forged}:{forged_answer}"), AN.1).await.error_key().as_deref(), Some("login.error.proof_of_work"));
    // With the work done, the password is checked: the person gets in.
    let counter = (0..100_000u32).find(|c| nixa::authn::proof_of_work::solves(&puzzle, &c.to_string(), 8)).unwrap();
    let answer = format!("{puzzle}:{counter}");
    let signed_in = post(answer.clone(), AN.1).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    // The same answer does not serve twice; the next login page from this address has a puzzle.
    let (b2, r2, csrf2) = on_login_page(&server).await;
    let again =
        b2.post("/login", &[("r", &r2), ("csrf", &csrf2), ("personal_id", AN.0), ("password", AN.1), ("proof_of_work", &answer)]).await;
    assert_eq!(again.error_key().as_deref(), Some("login.error.proof_of_work"));
    let fresh = b2.get(&format!("/login?r={r2}")).await;
    assert!(puzzle_on(&fresh).is_some_and(|p| p != puzzle), "a new puzzle on the page itself");
}
