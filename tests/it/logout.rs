//! RP-Initiated Logout and Back-Channel Logout over real HTTP: a portal's logout request, the
//! confirmation page, token revocation, and logout tokens received by small portal servers.

use crate::common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use common::*;
use jsonwebtoken::Algorithm;
use nixa::client::ClientOptions;
use nixa::keys::{Alg, SigningKey};
use nixa::oidc::logout::{BACKCHANNEL_EVENT, LogoutReason, MAX_ATTEMPTS, retry_delay, run_deliveries};
use nixa::oidc::registration::{self, ClientSpec};
use serde_json::{Value, json};
use sqlx::Connection;

const SIGNED_OUT: &str = "http://localhost:9000/signed-out";
const SIGNED_OUT_2: &str = "http://localhost:9000/bye";
const TWO: &str = "portal-two";
const TWO_REDIRECT: &str = "https://portal-two.gov.vn/callback";

// ----- a portal's back-channel logout endpoint ------------------------------------------------

#[derive(Default)]
struct ReceiverState {
    /// (endpoint name, logout_token) in arrival order.
    posts: Mutex<Vec<(String, String)>>,
    /// Endpoint name → how many more requests to answer with 500.
    failures: Mutex<HashMap<String, usize>>,
}

struct Receiver {
    base: String,
    state: Arc<ReceiverState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    async fn start() -> Self {
        let state = Arc::new(ReceiverState::default());
        let app = axum::Router::new().route("/bcl/{name}", axum::routing::post(receive)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, state, task }
    }

    fn uri(&self, name: &str) -> String {
        format!("{}/bcl/{name}", self.base)
    }

    fn fail_next(&self, name: &str, times: usize) {
        self.state.failures.lock().unwrap().insert(name.to_string(), times);
    }

    fn tokens(&self, name: &str) -> Vec<String> {
        self.state.posts.lock().unwrap().iter().filter(|(n, _)| n == name).map(|(_, t)| t.clone()).collect()
    }

    fn count(&self) -> usize {
        self.state.posts.lock().unwrap().len()
    }
}

async fn receive(State(state): State<Arc<ReceiverState>>, Path(name): Path<String>, headers: HeaderMap, body: String) -> StatusCode {
    // Back-Channel Logout §2.5: a form POST with exactly one parameter, logout_token.
    let form_type = headers.get("content-type").and_then(|v| v.to_str().ok()) == Some("application/x-www-form-urlencoded");
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap_or_default();
    let token = match pairs.as_slice() {
        [(k, v)] if form_type && k == "logout_token" => v.clone(),
        _ => return StatusCode::BAD_REQUEST,
    };
    state.posts.lock().unwrap().push((name.clone(), token));
    let mut failures = state.failures.lock().unwrap();
    match failures.get_mut(&name) {
        Some(n) if *n > 0 => {
            *n -= 1;
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::OK,
    }
}

// ----- helpers --------------------------------------------------------------------------------

/// demo-dvc with post-logout URIs and a back-channel endpoint, and a second portal (another
/// sector, public client) registered through the shared registration code.
async fn register_portals(server: &TestServer, receiver: &Receiver) {
    let mut dvc = nixa::demo::demo_client(&nixa::demo::CLIENTS[0]);
    dvc.options.post_logout_redirect_uris = vec![SIGNED_OUT.into(), SIGNED_OUT_2.into()];
    dvc.options.backchannel_logout_uri = Some(receiver.uri("dvc"));
    server.app.store.put_client(&dvc, 0).await.unwrap();
    let (two, secret) = registration::build(&ClientSpec {
        id: Some(TWO.into()),
        name: "Cổng thứ hai".into(),
        redirect_uris: vec![TWO_REDIRECT.into()],
        auth_method: Some("none".into()),
        scopes: nixa::protocol::scopes::SUPPORTED.iter().map(|s| s.to_string()).collect(),
        options: ClientOptions {
            backchannel_logout_uri: Some(receiver.uri("two")),
            post_logout_redirect_uris: vec!["https://portal-two.gov.vn/signed-out".into()],
            ..ClientOptions::default()
        },
        ..ClientSpec::default()
    })
    .unwrap();
    assert!(secret.is_none());
    server.app.store.put_client(&two, 0).await.unwrap();
}

fn jwt_part(jwt: &str, i: usize) -> Value {
    serde_json::from_slice(&nixa::crypto::b64url_decode(jwt.split('.').nth(i).unwrap()).unwrap()).unwrap()
}

struct Signed {
    id_token: String,
    access_token: String,
    sid: String,
    sub: String,
}

/// Signs AN in at demo-dvc in `browser` and redeems the code.
async fn sign_in_dvc(server: &TestServer, browser: &Browser) -> Signed {
    let (code, verifier) = code_for(server, browser, AN).await;
    let (status, body) = redeem(server, &code, &verifier).await;
    assert_eq!(status, 200, "{body}");
    let id_token = body["id_token"].as_str().unwrap().to_string();
    let claims = jwt_part(&id_token, 1);
    Signed {
        access_token: body["access_token"].as_str().unwrap().to_string(),
        sid: claims["sid"].as_str().unwrap().to_string(),
        sub: claims["sub"].as_str().unwrap().to_string(),
        id_token,
    }
}

/// SSO at the second portal in the same browser (consent, then the code), redeemed as the public
/// client it is; returns its ID token claims.
async fn sso_two(server: &TestServer, browser: &Browser) -> Value {
    let (verifier, challenge) = pkce_pair();
    let page = browser.follow(browser.get(&authorize_url(server, TWO, TWO_REDIRECT, &challenge, &[])).await).await;
    let back = browser.consent(&page, "approve").await;
    let code = back.query("code").expect("code for the second portal");
    let res = backchannel()
        .post(server.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", TWO_REDIRECT),
            ("code_verifier", &verifier),
            ("client_id", TWO),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    jwt_part(body["id_token"].as_str().unwrap(), 1)
}

fn logout_url(params: &[(&str, &str)]) -> String {
    let mut u = url::Url::parse("http://x/logout").unwrap();
    u.query_pairs_mut().extend_pairs(params);
    format!("/logout?{}", u.query().unwrap_or_default())
}

/// Whether the browser's session still lives: a silent authorization gets a code.
async fn has_session(server: &TestServer, browser: &Browser) -> bool {
    let (_, challenge) = pkce_pair();
    let page = browser.get(&authorize_url(server, DVC, DVC_REDIRECT, &challenge, &[("prompt", "none")])).await;
    match page.query("error").as_deref() {
        None => {
            assert!(page.query("code").is_some());
            true
        }
        Some("login_required") => false,
        Some(other) => panic!("unexpected error {other}"),
    }
}

async fn userinfo_status(server: &TestServer, token: &str) -> (u16, String) {
    let res = backchannel().get(server.url("/userinfo")).bearer_auth(token).send().await.unwrap();
    let challenge = res.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (res.status().as_u16(), challenge)
}

async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..400 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Verifies a logout token with the provider's published keys, as a portal does, and returns
/// its claims after the checks of Back-Channel Logout §2.6.
async fn verified_logout_token(server: &TestServer, token: &str, aud: &str) -> serde_json::Map<String, Value> {
    let jwks: Value = backchannel().get(server.url("/jwks")).send().await.unwrap().json().await.unwrap();
    let set = nixa::protocol::jose::parse_key_set(&jwks).unwrap();
    let v = nixa::protocol::jose::verify_with_set(token, &set, &[Algorithm::ES256, Algorithm::RS256], Some("logout+jwt"))
        .expect("the logout token verifies with the published keys");
    assert_eq!(v.header.typ.as_deref(), Some("logout+jwt"));
    assert_eq!(v.header.alg, Algorithm::ES256, "signed like the portal's ID tokens");
    let c = v.claims;
    assert_eq!(c["iss"], server.issuer.as_str());
    assert_eq!(c["aud"], aud);
    assert!(c.get("nonce").is_none(), "a logout token never carries a nonce");
    assert_eq!(c["events"], json!({ BACKCHANNEL_EVENT: {} }));
    let (iat, exp) = (c["iat"].as_i64().unwrap(), c["exp"].as_i64().unwrap());
    assert!(exp > iat && exp - iat <= 120, "lives at most two minutes");
    assert!((iat - server.app.now()).abs() < 30);
    assert!(c["jti"].as_str().is_some_and(|j| j.len() >= 22));
    assert!(c["sub"].as_str().is_some() && c["sid"].as_str().is_some());
    c
}

// ----- tests ----------------------------------------------------------------------------------

#[tokio::test]
async fn discovery_advertises_logout() {
    let server = TestServer::start().await;
    let d: Value = backchannel().get(server.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert_eq!(d["end_session_endpoint"], server.url("/logout"));
    assert_eq!(d["backchannel_logout_supported"], true);
    assert_eq!(d["backchannel_logout_session_supported"], true);
}

#[tokio::test]
async fn logout_with_an_id_token_hint_returns_to_the_portal_and_ends_everything_of_the_session() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    register_portals(&server, &receiver).await;
    let browser = server.browser();
    let s = sign_in_dvc(&server, &browser).await;
    assert_eq!(userinfo_status(&server, &s.access_token).await.0, 200);

    // Two refresh tokens of this session, inserted directly (the refresh grant is not on this
    // branch): one for offline_access, which outlives the session, and one without.
    let person = server.app.store.session_by_sid(&s.sid).await.unwrap().unwrap().person_id;
    let mut conn = sqlx::AnyConnection::connect(&server.app.settings.database_url).await.unwrap();
    for (hash, scopes) in [("rt-offline", "openid offline_access profile"), ("rt-online", "openid profile")] {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, family_id, client_id, person_id, subject, scopes, auth_time, acr, amr, sid, \
                 created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
        )
        .bind(hash)
        .bind(format!("family-{hash}"))
        .bind(DVC)
        .bind(&person)
        .bind(&s.sub)
        .bind(scopes)
        .bind(server.app.now())
        .bind("urn:vn:eid:loa:1")
        .bind("pwd")
        .bind(&s.sid)
        .bind(server.app.now())
        .bind(server.app.now() + 30 * 24 * 3600)
        .execute(&mut conn)
        .await
        .unwrap();
    }

    let out =
        browser.get(&logout_url(&[("id_token_hint", &s.id_token), ("post_logout_redirect_uri", SIGNED_OUT), ("state", "bye-1")])).await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert_eq!(out.location.as_deref(), Some("http://localhost:9000/signed-out?state=bye-1"), "the registered URI, with state");
    assert_eq!(out.query("state").as_deref(), Some("bye-1"));

    // The session is gone, in this browser and on the server.
    assert!(!has_session(&server, &browser).await, "prompt=none gets login_required after logout");
    assert!(server.app.store.session_by_sid(&s.sid).await.unwrap().is_none());
    // Its access token is revoked.
    let (status, challenge) = userinfo_status(&server, &s.access_token).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("invalid_token"), "{challenge}");
    // Refresh tokens: offline_access survives, the other is revoked.
    let revoked: Vec<(String, Option<i64>)> =
        sqlx::query_as("SELECT token_hash, revoked_at FROM refresh_tokens ORDER BY token_hash").fetch_all(&mut conn).await.unwrap();
    assert_eq!(revoked[0].0, "rt-offline");
    assert_eq!(revoked[0].1, None, "offline_access refresh tokens survive logout");
    assert_eq!(revoked[1].0, "rt-online");
    assert!(revoked[1].1.is_some(), "the session's other refresh tokens are revoked");

    // Audited, with what was revoked.
    let log = events(&server).await;
    let (_, client, detail) = log.iter().find(|(e, ..)| e == "session.logged_out").expect("session.logged_out audited");
    assert_eq!(client.as_deref(), Some(DVC));
    assert_eq!(detail["reason"], "rp_initiated");
    assert_eq!(detail["sid"], s.sid.as_str());
    assert_eq!(detail["revoked_access_tokens"], 1);
    assert_eq!(detail["revoked_refresh_tokens"], 1);

    // The portal is told over the back channel too.
    let token = eventually("the logout token", || async { receiver.tokens("dvc").pop() }).await;
    let claims = verified_logout_token(&server, &token, DVC).await;
    assert_eq!(claims["sid"], s.sid.as_str());
    assert_eq!(claims["sub"], s.sub.as_str());

    // Logging out again (a double click, or a second tab) is harmless: back to the portal, and no
    // second notice.
    let again = browser.get(&logout_url(&[("id_token_hint", &s.id_token), ("post_logout_redirect_uri", SIGNED_OUT)])).await;
    assert_eq!(again.status, 303);
    assert_eq!(again.query("state"), None);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.count(), 1);
    assert_eq!(events(&server).await.iter().filter(|(e, ..)| e == "session.logged_out").count(), 1);
}

#[tokio::test]
async fn a_logout_request_may_be_posted() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    register_portals(&server, &receiver).await;
    let browser = server.browser();
    let s = sign_in_dvc(&server, &browser).await;
    let form = [("id_token_hint", s.id_token.as_str()), ("post_logout_redirect_uri", SIGNED_OUT), ("state", "p-1")];

    // Posted without our cookies (a cross-site POST, where SameSite=Lax withholds them): the same
    // request comes back as a GET navigation, which carries them.
    let stranger = server.browser();
    let again = stranger.post("/logout", &form).await;
    assert_eq!(again.status, 303);
    let get = again.location.clone().unwrap();
    assert!(get.starts_with("/logout?id_token_hint="), "{get}");
    assert_eq!(browser.get(&get).await.location.as_deref(), Some("http://localhost:9000/signed-out?state=p-1"));
    assert!(!has_session(&server, &browser).await);

    // Posted with the session cookie: handled at once.
    let s = sign_in_dvc(&server, &browser).await;
    let form = [("id_token_hint", s.id_token.as_str()), ("post_logout_redirect_uri", SIGNED_OUT), ("state", "p-2")];
    let out = browser.post("/logout", &form).await;
    assert_eq!(out.location.as_deref(), Some("http://localhost:9000/signed-out?state=p-2"));
    assert!(!has_session(&server, &browser).await);
    // A duplicated parameter is refused.
    let dup = browser.follow(browser.post("/logout", &[("state", "a"), ("state", "b")]).await).await;
    assert_eq!(dup.status, 400);
}

#[tokio::test]
async fn bad_requests_show_an_error_page_and_never_redirect() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    register_portals(&server, &receiver).await;
    let browser = server.browser();
    let s = sign_in_dvc(&server, &browser).await;
    let claims = jwt_part(&s.id_token, 1);
    let header = jwt_part(&s.id_token, 0);
    let kid = header["kid"].as_str().unwrap().to_string();

    let refused = |page: &Page, text: &str| {
        assert_eq!(page.status, 400, "{}", page.body);
        assert!(page.location.is_none(), "no redirect on an error");
        assert!(page.body.contains("id=\"error-message\"") && page.body.contains(text), "{}", page.body);
    };

    // A post-logout URI that is not registered, or only nearly so.
    for uri in [
        "https://evil.example/",
        "http://localhost:9000/signed-out/",
        "http://localhost:9000/signed-out?x=1",
        "http://LOCALHOST:9000/signed-out",
    ] {
        let page = browser.get(&logout_url(&[("id_token_hint", &s.id_token), ("post_logout_redirect_uri", uri), ("state", "x")])).await;
        refused(&page, "chưa được đăng ký");
    }
    // …or one registered for another portal.
    let page = browser
        .get(&logout_url(&[("id_token_hint", &s.id_token), ("post_logout_redirect_uri", "https://portal-two.gov.vn/signed-out")]))
        .await;
    refused(&page, "chưa được đăng ký");
    // A post-logout URI without any client to check it against.
    let page = browser.get(&logout_url(&[("post_logout_redirect_uri", SIGNED_OUT)])).await;
    refused(&page, "client_id");
    // client_id and the hint disagree.
    let page = browser.get(&logout_url(&[("id_token_hint", &s.id_token), ("client_id", TINH)])).await;
    refused(&page, "client_id");
    // An unknown portal.
    let page = browser.get(&logout_url(&[("client_id", "nobody")])).await;
    refused(&page, "không được đăng ký");

    // Forged hints: our kid but another key; another key and kid; our key but another issuer;
    // our signature over an altered payload; not a JWT at all; a logout token instead of an ID token.
    let attacker = nixa::keys::signing::generate(Alg::ES256).unwrap();
    let same_kid = SigningKey::from_pkcs8(Alg::ES256, kid.clone(), &attacker.pkcs8).unwrap().sign_jwt("JWT", &claims).unwrap();
    let own_kid = SigningKey::from_pkcs8(Alg::ES256, attacker.kid.clone(), &attacker.pkcs8).unwrap().sign_jwt("JWT", &claims).unwrap();
    let mut elsewhere = claims.clone();
    elsewhere["iss"] = json!("https://other-issuer.example");
    let other_issuer = server.app.keys.signer(Alg::ES256).unwrap().sign_jwt("JWT", &elsewhere).unwrap();
    let mut altered = claims.clone();
    altered["sid"] = json!("another-session");
    let parts: Vec<&str> = s.id_token.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], nixa::crypto::b64url(altered.to_string().as_bytes()), parts[2]);
    let dvc = server.app.store.client(&nixa::client::ClientId::parse(DVC).unwrap()).await.unwrap().unwrap();
    let logout_token = nixa::oidc::logout::logout_token(&server.app, &dvc, &s.sub, &s.sid, server.app.now()).unwrap();
    for hint in [same_kid, own_kid, other_issuer, tampered, "not-a-jwt".to_string(), logout_token] {
        let page = browser.get(&logout_url(&[("id_token_hint", &hint), ("post_logout_redirect_uri", SIGNED_OUT), ("state", "x")])).await;
        refused(&page, "id_token_hint");
    }
    // In English when the portal asks for it.
    let page = browser.get(&logout_url(&[("id_token_hint", "not-a-jwt"), ("ui_locales", "en")])).await;
    refused(&page, "was not issued by this service");

    // None of this ended the session or told any portal anything.
    assert!(has_session(&server, &browser).await);
    assert_eq!(userinfo_status(&server, &s.access_token).await.0, 200);
    assert!(!events(&server).await.iter().any(|(e, ..)| e == "session.logged_out"));
    assert_eq!(receiver.count(), 0);

    // An expired hint is still a valid hint (RP-Initiated Logout §2).
    server.app.clock.advance(server.app.settings.id_token_ttl + 60);
    let out = browser.get(&logout_url(&[("id_token_hint", &s.id_token), ("post_logout_redirect_uri", SIGNED_OUT)])).await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert!(!has_session(&server, &browser).await);
}

#[tokio::test]
async fn without_a_hint_the_person_confirms_with_csrf_protection() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    register_portals(&server, &receiver).await;
    let browser = server.browser();
    let first = sign_in_dvc(&server, &browser).await;

    // A bare link (what another site could embed) only shows a question, in Vietnamese.
    let ask = browser.get("/logout").await;
    assert_eq!(ask.status, 200, "{}", ask.body);
    assert!(ask.body.contains("<html lang=\"vi\">") && ask.body.contains("action=\"/logout/confirm\""));
    assert!(ask.body.contains("Bạn có muốn đăng xuất"));
    assert!(has_session(&server, &browser).await, "showing the question ends nothing");

    // The form without its CSRF token, with a wrong one, or from a page of another browser.
    let csrf = ask.field("csrf");
    let no_csrf = browser.post("/logout/confirm", &[]).await;
    assert_eq!(no_csrf.status, 403);
    let wrong = browser.post("/logout/confirm", &[("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]).await;
    assert_eq!(wrong.status, 403);
    let stranger = server.browser();
    let elsewhere = stranger.post("/logout/confirm", &[("csrf", &csrf)]).await;
    assert_eq!(elsewhere.status, 403, "the token is bound to the browser");
    assert!(has_session(&server, &browser).await, "no logout without the person's confirmation");
    assert_eq!(userinfo_status(&server, &first.access_token).await.0, 200);

    // Confirmed: signed out, and told so.
    let done = browser.post("/logout/confirm", &[("csrf", &csrf)]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("id=\"logout-done\"") && done.body.contains("Bạn đã đăng xuất"));
    assert!(!has_session(&server, &browser).await);
    assert_eq!(userinfo_status(&server, &first.access_token).await.0, 401);
    let log = events(&server).await;
    let (_, client, detail) = log.iter().find(|(e, ..)| e == "session.logged_out").unwrap();
    assert_eq!((client.as_deref(), detail["reason"].as_str()), (None, Some("confirmed")));
    eventually("the logout token", || async { receiver.tokens("dvc").pop() }).await;

    // Signed in again: the old ID token names a session that is over, so it does not end the new
    // one silently; the question comes, in English, with the portal named.
    let second = sign_in_dvc(&server, &browser).await;
    assert_ne!(second.sid, first.sid);
    let ask = browser
        .get(&logout_url(&[
            ("id_token_hint", &first.id_token),
            ("post_logout_redirect_uri", SIGNED_OUT),
            ("state", "s-2"),
            ("ui_locales", "en"),
        ]))
        .await;
    assert_eq!(ask.status, 200, "{}", ask.body);
    assert!(ask.body.contains("<html lang=\"en\">") && ask.body.contains("Do you want to sign out"));
    assert!(ask.body.contains("Cổng Dịch vụ công (demo)"), "the asking portal is named");
    assert!(has_session(&server, &browser).await);
    let form = |csrf: &str, uri: &str, state: &str| {
        vec![
            ("csrf".to_string(), csrf.to_string()),
            ("client_id".to_string(), ask.field("client_id")),
            ("post_logout_redirect_uri".to_string(), uri.to_string()),
            ("state".to_string(), state.to_string()),
            ("lang".to_string(), ask.field("lang")),
        ]
    };
    let post = |fields: Vec<(String, String)>| {
        let b = &browser;
        async move {
            let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            b.post("/logout/confirm", &f).await
        }
    };
    let csrf = ask.field("csrf");
    // Another registered URI, or another state, does not match the token.
    assert_eq!(post(form(&csrf, SIGNED_OUT_2, "s-2")).await.status, 403);
    assert_eq!(post(form(&csrf, SIGNED_OUT, "other")).await.status, 403);
    assert!(has_session(&server, &browser).await);
    let back = post(form(&csrf, SIGNED_OUT, "s-2")).await;
    assert_eq!(back.status, 303, "{}", back.body);
    assert!(back.location.as_deref().unwrap().starts_with(SIGNED_OUT));
    assert_eq!(back.query("state").as_deref(), Some("s-2"));
    assert!(!has_session(&server, &browser).await);

    // Without any session there is nothing to confirm: the signed-out page, or the portal.
    let page = browser.get("/logout?ui_locales=en").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("You are signed out"));
    let page = browser.get(&logout_url(&[("client_id", DVC), ("post_logout_redirect_uri", SIGNED_OUT), ("state", "z")])).await;
    assert_eq!(page.status, 303);
    assert_eq!(page.query("state").as_deref(), Some("z"));
}

#[tokio::test]
async fn every_portal_of_the_session_receives_a_logout_token_with_its_sid() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    register_portals(&server, &receiver).await;
    let browser = server.browser();
    let s = sign_in_dvc(&server, &browser).await;
    let two = sso_two(&server, &browser).await;
    assert_eq!(two["sid"], s.sid.as_str(), "SSO: one session");
    assert_ne!(two["sub"], s.sub.as_str(), "another sector, another pairwise subject");
    // A third portal in the session that registered no back-channel endpoint.
    let (_, challenge) = pkce_pair();
    let page = browser.follow(browser.get(&authorize_url(&server, TINH, TINH_REDIRECT, &challenge, &[])).await).await;
    assert!(browser.consent(&page, "approve").await.query("code").is_some());
    // Another browser (another session, here of the same person) at the same portal: not affected.
    let other = server.browser();
    let o = sign_in_dvc(&server, &other).await;

    let out = browser.get(&logout_url(&[("id_token_hint", &s.id_token), ("post_logout_redirect_uri", SIGNED_OUT)])).await;
    assert_eq!(out.status, 303);

    eventually("both logout tokens", || async { (receiver.count() >= 2).then_some(()) }).await;
    let dvc = verified_logout_token(&server, &receiver.tokens("dvc")[0], DVC).await;
    let second = verified_logout_token(&server, &receiver.tokens("two")[0], TWO).await;
    assert_eq!(dvc["sid"], s.sid.as_str());
    assert_eq!(second["sid"], s.sid.as_str(), "the same sid to every portal");
    assert_eq!(dvc["sub"], s.sub.as_str());
    assert_eq!(second["sub"], two["sub"], "each portal gets its own subject");
    assert_ne!(dvc["jti"], second["jti"]);

    // Each delivery is recorded and audited; the portal without an endpoint is listed, not called.
    let rows = eventually("both deliveries recorded", || async {
        let rows = server.app.store.deliveries_for_session(&s.sid).await.unwrap();
        rows.iter().all(|d| d.status == "delivered").then_some(rows)
    })
    .await;
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|d| d.attempts == 1 && d.last_error.is_none()));
    // The delivery row is marked before its audit entry is written: wait for both entries.
    let log = eventually("both deliveries audited", || async {
        let log = events(&server).await;
        let audited = log.iter().filter(|(e, ..)| e == "backchannel_logout.delivered").count();
        (audited >= 2).then_some(log)
    })
    .await;
    let (_, _, detail) = log.iter().find(|(e, ..)| e == "session.logged_out").unwrap();
    assert_eq!(detail["portals"], json!([DVC, TINH, TWO]));
    assert_eq!(detail["backchannel_deliveries"], 2);
    let mut delivered: Vec<_> =
        log.iter().filter(|(e, ..)| e == "backchannel_logout.delivered").map(|(_, c, _)| c.clone().unwrap()).collect();
    delivered.sort();
    assert_eq!(delivered, [DVC, TWO]);

    // The other person's session and tokens are untouched.
    assert!(has_session(&server, &other).await);
    assert_eq!(userinfo_status(&server, &o.access_token).await.0, 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.count(), 2, "nobody else was notified");
}

#[tokio::test]
async fn a_failed_delivery_is_retried_with_backoff_until_delivered() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    register_portals(&server, &receiver).await;
    receiver.fail_next("dvc", 1);
    let browser = server.browser();
    let s = sign_in_dvc(&server, &browser).await;
    let out = browser.get(&logout_url(&[("id_token_hint", &s.id_token), ("post_logout_redirect_uri", SIGNED_OUT)])).await;
    assert_eq!(out.status, 303, "a failing portal does not hold up the person's logout");

    // The first attempt went out at once and failed.
    let failed = eventually("the failed attempt audited", || async {
        events(&server).await.into_iter().find(|(e, ..)| e == "backchannel_logout.failed")
    })
    .await;
    assert_eq!(failed.1.as_deref(), Some(DVC));
    assert_eq!(failed.2["attempt"], 1);
    assert_eq!(failed.2["error"], "HTTP 500");
    assert_eq!(failed.2["given_up"], false);
    assert_eq!(receiver.tokens("dvc").len(), 1);

    // Not due before the backoff has passed.
    let early = run_deliveries(&server.app).await.unwrap();
    assert_eq!(early.attempted, 0);
    server.app.clock.advance(retry_delay(1) + 1);
    let run = run_deliveries(&server.app).await.unwrap();
    assert_eq!((run.attempted, run.delivered), (1, 1), "{run:?}");

    let tokens = receiver.tokens("dvc");
    assert_eq!(tokens.len(), 2);
    assert_ne!(tokens[0], tokens[1], "every attempt carries a freshly signed token");
    let retried = verified_logout_token(&server, &tokens[1], DVC).await;
    assert_eq!(retried["sid"], s.sid.as_str());
    let row = &server.app.store.deliveries_for_session(&s.sid).await.unwrap()[0];
    assert_eq!((row.status.as_str(), row.attempts), ("delivered", 2));
    assert_eq!(row.last_error, None);

    // The audit log shows the failure, then the delivery.
    let log: Vec<String> = events(&server).await.into_iter().map(|(e, ..)| e).filter(|e| e.starts_with("backchannel_logout.")).collect();
    assert_eq!(log, ["backchannel_logout.failed", "backchannel_logout.delivered"]);
    assert_eq!(run_deliveries(&server.app).await.unwrap().attempted, 0, "nothing left to do");
}

#[tokio::test]
async fn a_delivery_is_given_up_after_the_last_attempt_and_end_session_is_idempotent() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    register_portals(&server, &receiver).await;
    receiver.fail_next("dvc", usize::MAX);
    let browser = server.browser();
    let s = sign_in_dvc(&server, &browser).await;

    // Other server code ends a session through the same function.
    let ended = nixa::oidc::logout::end_session(&server.app, &s.sid, LogoutReason::Server("operator")).await.unwrap().expect("ended");
    assert_eq!(ended.portals, [DVC]);
    assert_eq!(ended.deliveries.len(), 1);
    assert_eq!(ended.revoked_access_tokens, 1);
    assert!(nixa::oidc::logout::end_session(&server.app, &s.sid, LogoutReason::Server("operator")).await.unwrap().is_none());
    assert!(!has_session(&server, &browser).await);

    eventually("the first attempt", || async { (receiver.count() == 1).then_some(()) }).await;
    eventually("the first failure recorded", || async {
        let d = server.app.store.delivery(&ended.deliveries[0]).await.unwrap().unwrap();
        d.last_error.is_some().then_some(())
    })
    .await;
    for attempt in 2..=MAX_ATTEMPTS {
        server.app.clock.advance(retry_delay(attempt - 1) + 1);
        let run = run_deliveries(&server.app).await.unwrap();
        assert_eq!(run.attempted, 1, "attempt {attempt}: {run:?}");
        assert_eq!(run.given_up, usize::from(attempt == MAX_ATTEMPTS));
    }
    let d = server.app.store.delivery(&ended.deliveries[0]).await.unwrap().unwrap();
    assert_eq!((d.status.as_str(), d.attempts), ("failed", MAX_ATTEMPTS));
    server.app.clock.advance(24 * 3600);
    assert_eq!(run_deliveries(&server.app).await.unwrap().attempted, 0, "given up for good");
    assert_eq!(receiver.tokens("dvc").len() as i64, MAX_ATTEMPTS);
    let failures: Vec<Value> =
        events(&server).await.into_iter().filter(|(e, ..)| e == "backchannel_logout.failed").map(|(_, _, d)| d).collect();
    assert_eq!(failures.len() as i64, MAX_ATTEMPTS);
    assert_eq!(failures.last().unwrap()["given_up"], true);
    let (_, _, detail) = events(&server).await.into_iter().find(|(e, ..)| e == "session.logged_out").unwrap();
    assert_eq!(detail["reason"], "operator");
}

#[tokio::test]
async fn codes_are_kept_while_their_session_lives() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let s = sign_in_dvc(&server, &browser).await;
    let app = &server.app;
    app.clock.advance(app.settings.code_ttl + 3600);
    app.store.purge_expired(app.now()).await.unwrap();
    assert_eq!(app.store.session_clients(&s.sid).await.unwrap(), [DVC], "the session's portals are still known");
    app.clock.advance(app.settings.session_ttl);
    app.store.purge_expired(app.now()).await.unwrap();
    assert!(app.store.session_clients(&s.sid).await.unwrap().is_empty(), "purged with their session");
}

/// Decree 13/2023, the right to withdraw (issue 17): withdrawing on the account page ends what
/// the portal holds and makes it ask again; the other portal keeps its consent and the session.
#[tokio::test]
async fn withdrawing_a_consent_ends_the_portals_access_and_it_must_ask_again() {
    let server = TestServer::start().await;
    let receiver = Receiver::start().await;
    register_portals(&server, &receiver).await;
    let b = server.browser();
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("scope", "openid profile offline_access")]);
    let consent = b.sign_in(&url, AN).await;
    assert!(consent.url.contains("/consent?r="), "the first sign-in asks");
    let back = b.consent(&consent, "approve").await;
    let (status, tokens) = redeem(&server, &back.query("code").unwrap(), &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let (rt, at) = (tokens["refresh_token"].as_str().unwrap().to_string(), tokens["access_token"].as_str().unwrap().to_string());
    let claims = jwt_part(tokens["id_token"].as_str().unwrap(), 1);
    sso_two(&server, &b).await;

    // The account page lists both portals with what each receives.
    let account = b.get("/account").await;
    assert_eq!(account.status, 200, "{}", account.body);
    for client in [DVC, TWO] {
        assert!(account.body.contains(&format!("data-client=\"{client}\"")), "{client} listed");
    }
    assert!(account.body.contains("Họ và tên") || account.body.contains("Full name"), "claims by their labels");
    // Signing out is one link away: the logout confirmation, then the session ends.
    assert!(account.body.contains("href=\"/logout\" id=\"sign-out\""));
    let confirm = b.get("/logout").await;
    assert_eq!(confirm.status, 200, "the sign-out asks to confirm: {}", confirm.body);
    let csrf = account.field("csrf");
    assert_eq!(b.post("/account/consents/withdraw", &[("csrf", "forged"), ("client_id", DVC)]).await.status, 403);
    let done = b.post("/account/consents/withdraw", &[("csrf", &csrf), ("client_id", DVC)]).await;
    assert_eq!((done.status, done.location.as_deref()), (303, Some("/account#consents")));

    // The portal's tokens no longer work, offline access included.
    let refresh = backchannel()
        .post(server.url("/token"))
        .basic_auth(DVC, Some(DVC_SECRET))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", rt.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), 400);
    assert_eq!(refresh.json::<Value>().await.unwrap()["error"], "invalid_grant");
    assert_eq!(userinfo_status(&server, &at).await.0, 401);
    // It is told the person left its session.
    let token = eventually("a logout token at the portal", || async { receiver.tokens("dvc").first().cloned() }).await;
    let logout = verified_logout_token(&server, &token, DVC).await;
    assert_eq!((logout["sid"].as_str(), logout["sub"].as_str()), (claims["sid"].as_str(), claims["sub"].as_str()));
    assert!(receiver.tokens("two").is_empty(), "the other portal is not told anything");
    // The session lives on; the portal must ask again, the other one need not.
    assert!(has_session_at(&server, &b, TWO, TWO_REDIRECT).await, "single sign-on at the other portal");
    let (_, challenge) = pkce_pair();
    let again = b.follow(b.get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[])).await).await;
    assert!(again.url.contains("/consent?r="), "asked again: {}", again.url);
    let account = b.get("/account").await;
    assert!(!account.body.contains(&format!("data-client=\"{DVC}\"")) && account.body.contains(&format!("data-client=\"{TWO}\"")));
    let (_, client, detail) = events(&server).await.into_iter().find(|(e, ..)| e == "consent.withdrawn").expect("audited");
    assert_eq!(client.as_deref(), Some(DVC));
    assert_eq!((detail["revoked_refresh_tokens"].as_u64(), detail["backchannel_deliveries"].as_u64()), (Some(1), Some(1)));
    // Withdrawing what is not there says so.
    let twice = b.post("/account/consents/withdraw", &[("csrf", &csrf), ("client_id", DVC)]).await;
    assert_eq!((twice.status, twice.error_key().as_deref()), (404, Some("account.consents.none_such")));
}

/// Whether a silent authorization at this (public) portal gets a code.
async fn has_session_at(server: &TestServer, browser: &Browser, client: &str, redirect: &str) -> bool {
    let (_, challenge) = pkce_pair();
    let page = browser.get(&authorize_url(server, client, redirect, &challenge, &[("prompt", "none")])).await;
    page.query("code").is_some()
}

/// The sign-in to the account page names the person's account, never the built-in client's
/// internal name (issue 17: "continuing to nixa").
#[tokio::test]
async fn the_account_sign_in_names_the_account_not_an_internal_client() {
    let server = TestServer::start().await;
    let b = server.browser();
    let login = b.follow(b.get("/account").await).await;
    assert!(login.url.contains("/login?r="), "{}", login.url);
    assert!(login.body.contains("Tài khoản định danh điện tử của bạn"), "{}", login.body);
    let en = b.get(&format!("{}&lang=en", login.url)).await;
    assert!(en.body.contains("your electronic identification account"));
    // The second step (the authenticator app of the level-2 demo person) too, in the language
    // chosen just now.
    let totp =
        b.post("/login", &[("r", &login.field("r")), ("csrf", &login.field("csrf")), ("personal_id", BINH.0), ("password", BINH.1)]).await;
    let totp = b.follow(totp).await;
    assert!(totp.url.contains("/login/totp"), "{}", totp.url);
    assert!(
        totp.body.contains("<strong>your electronic identification account</strong>") && !totp.body.contains(">nixa<"),
        "{}",
        totp.body
    );
}
