//! Dynamic client registration (RFC 7591), its management protocol (RFC 7592) and sector
//! identifier documents (OIDC Core §8.1), end to end against a real server.

use crate::common;

use std::sync::Arc;

use common::*;
use serde_json::{Value, json};

struct Answer {
    status: u16,
    body: Value,
    challenge: Option<String>,
    cache: Option<String>,
}

async fn call(server: &TestServer, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Answer {
    let mut req = backchannel().request(method.parse().unwrap(), server.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let res = req.send().await.unwrap();
    let header = |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_string());
    let (status, challenge, cache) = (res.status().as_u16(), header("www-authenticate"), header("cache-control"));
    let text = res.text().await.unwrap();
    Answer { status, body: serde_json::from_str(&text).unwrap_or(Value::String(text)), challenge, cache }
}

async fn register(server: &TestServer, token: &str, body: Value) -> Answer {
    call(server, "POST", "/register", Some(token), Some(&body)).await
}

fn assert_error(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status, status, "{:?}", a.body);
    assert_eq!(a.body["error"], code, "{:?}", a.body);
    assert!(a.body["error_description"].is_string());
}

/// A sector owner's web server: serves `/sector.json` with the given redirect URIs.
async fn sector_server(uris: &[&str]) -> (u16, tokio::task::JoinHandle<()>) {
    let doc = Arc::new(json!(uris).to_string());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new()
        .route("/sector.json", axum::routing::get(move || async move { ([("content-type", "application/json")], doc.to_string()) }))
        .route("/moved.json", axum::routing::get(|| async { axum::response::Redirect::temporary("/sector.json") }));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (port, task)
}

/// Signs AN in at a registered portal and returns (code, verifier).
async fn code_at(server: &TestServer, client_id: &str, redirect: &str) -> (String, String) {
    let (verifier, challenge) = pkce_pair();
    let browser = server.browser();
    let mut page = browser.sign_in(&authorize_url(server, client_id, redirect, &challenge, &[("scope", "openid")]), AN).await;
    if page.url.contains("/consent?r=") {
        page = browser.consent(&page, "approve").await;
    }
    assert!(page.location.as_deref().is_some_and(|l| l.starts_with(redirect)), "back at the portal: {:?} {}", page.location, page.body);
    (page.query("code").expect("code"), verifier)
}

async fn redeem_as(server: &TestServer, id: &str, secret: &str, redirect: &str, code: &str, verifier: &str) -> (u16, Value) {
    let res = backchannel()
        .post(server.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect), ("code_verifier", verifier)])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

fn sub_of(tokens: &Value) -> String {
    let jwt = tokens["id_token"].as_str().expect("id_token");
    let payload = nixa::crypto::b64url_decode(jwt.split('.').nth(1).unwrap()).unwrap();
    serde_json::from_slice::<Value>(&payload).unwrap()["sub"].as_str().unwrap().to_string()
}

/// Registers a confidential client and signs in with it; returns the subject it sees.
async fn sub_at(server: &TestServer, token: &str, redirect: &str, sector_uri: Option<&str>) -> String {
    let mut body = json!({"client_name": "Cổng thử", "redirect_uris": [redirect]});
    if let Some(s) = sector_uri {
        body["sector_identifier_uri"] = json!(s);
    }
    let reg = register(server, token, body).await;
    assert_eq!(reg.status, 201, "{:?}", reg.body);
    let (id, secret) = (reg.body["client_id"].as_str().unwrap(), reg.body["client_secret"].as_str().unwrap());
    let (code, verifier) = code_at(server, id, redirect).await;
    let (status, tokens) = redeem_as(server, id, secret, redirect, &code, &verifier).await;
    assert_eq!(status, 200, "{tokens:?}");
    sub_of(&tokens)
}

#[tokio::test]
async fn register_then_sign_in_with_the_new_client() {
    let server = TestServer::start().await;
    let (_, discovery) = {
        let a = call(&server, "GET", "/.well-known/openid-configuration", None, None).await;
        (a.status, a.body)
    };
    assert_eq!(discovery["registration_endpoint"], server.url("/register"));

    let token = operator_token(&server, &["clients:register"]).await;
    let redirect = "https://portal.example.vn/callback";
    let body = json!({
        "client_name": "Cổng dịch vụ thử",
        "redirect_uris": [redirect],
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "openid profile",
        "post_logout_redirect_uris": ["https://portal.example.vn/bye"],
        "logo_uri": "https://portal.example.vn/logo.png",
        "software_statement_unknown_extension": {"ignored": true},
    });
    let reg = register(&server, &token, body).await;
    assert_eq!(reg.status, 201, "{:?}", reg.body);
    assert_eq!(reg.cache.as_deref(), Some("no-store"));
    let b = &reg.body;
    let id = b["client_id"].as_str().unwrap();
    let secret = b["client_secret"].as_str().unwrap();
    assert!(secret.len() >= 43);
    assert_eq!(b["client_secret_expires_at"], 0);
    assert!((b["client_id_issued_at"].as_i64().unwrap() - server.app.now()).abs() < 60);
    assert_eq!(b["registration_client_uri"], server.url(&format!("/register/{id}")));
    assert_eq!(b["registration_access_token"].as_str().unwrap().len(), 43, "256 bits, base64url");
    assert_eq!(b["redirect_uris"], json!([redirect]));
    assert_eq!(b["scope"], "openid profile");
    assert_eq!(b["subject_type"], "pairwise");
    assert_eq!(b["id_token_signed_response_alg"], "RS256", "the OIDC Registration default");
    assert_eq!(b["application_type"], "web");
    assert_eq!(b["response_types"], json!(["code"]));
    assert_eq!(b["post_logout_redirect_uris"], json!(["https://portal.example.vn/bye"]));
    assert!(b.get("logo_uri").is_none(), "unknown metadata is ignored, not echoed");

    // Only the hash of the registration access token is stored.
    let stored = server.app.store.registration(&nixa::client::ClientId::parse(id).unwrap()).await.unwrap().unwrap();
    let rat = b["registration_access_token"].as_str().unwrap();
    assert_eq!(stored.token_hash.as_deref(), Some(nixa::crypto::token_hash(rat).as_str()));

    let (code, verifier) = code_at(&server, id, redirect).await;
    let (status, tokens) = redeem_as(&server, id, "wrong-secret", redirect, &code, &verifier).await;
    assert_eq!((status, tokens["error"].as_str()), (401, Some("invalid_client")));
    let (code, verifier) = code_at(&server, id, redirect).await;
    let (status, tokens) = redeem_as(&server, id, secret, redirect, &code, &verifier).await;
    assert_eq!(status, 200, "{tokens:?}");
    assert!(tokens["access_token"].is_string() && tokens["id_token"].is_string());

    let audit = server.app.store.audit_entries(0, 1000).await.unwrap();
    assert!(audit.iter().any(|e| e.event == "client.registered" && e.client_id.as_deref() == Some(id)));
}

#[tokio::test]
async fn initial_access_token_is_required() {
    let server = TestServer::start().await;
    let body = json!({"redirect_uris": ["https://portal.example.vn/cb"]});
    let none = call(&server, "POST", "/register", None, Some(&body)).await;
    assert_error(&none, 401, "invalid_token");
    // RFC 6750 §3.1: no error code in the challenge when no credentials were sent.
    assert_eq!(none.challenge.as_deref(), Some("Bearer realm=\"nixa\""));
    let bad = register(&server, "not-a-token", body.clone()).await;
    assert_error(&bad, 401, "invalid_token");
    assert!(bad.challenge.unwrap().contains("error=\"invalid_token\""));
    // A valid operator token without clients:register is a scope problem: 403 (RFC 6750 §3.1).
    let writer = operator_token(&server, &["clients:write", "clients:read"]).await;
    let weak = register(&server, &writer, body.clone()).await;
    assert_error(&weak, 403, "insufficient_scope");
    assert!(weak.challenge.unwrap().contains("scope=\"clients:register\""));
    // Expired operator tokens stop working.
    let ok = operator_token(&server, &["clients:register"]).await;
    assert_eq!(register(&server, &ok, body.clone()).await.status, 201);
    server.app.clock.advance(3601);
    assert_error(&register(&server, &ok, body).await, 401, "invalid_token");
}

#[tokio::test]
async fn metadata_is_validated_with_exact_errors() {
    let server = TestServer::start().await;
    let token = operator_token(&server, &["clients:register"]).await;
    let cb = "https://portal.example.vn/cb";
    let cases: Vec<(Value, &str)> = vec![
        (json!({"redirect_uris": ["http://portal.example.vn/cb"]}), "invalid_redirect_uri"),
        (json!({"redirect_uris": ["https://portal.example.vn/cb#frag"]}), "invalid_redirect_uri"),
        (json!({"redirect_uris": []}), "invalid_redirect_uri"),
        (json!({"client_name": "x"}), "invalid_redirect_uri"),
        (json!({"redirect_uris": ["https://a.example.vn/cb", "https://b.example.vn/cb"]}), "invalid_redirect_uri"),
        (json!({"redirect_uris": [cb], "id_token_signed_response_alg": "none"}), "invalid_client_metadata"),
        (json!({"redirect_uris": [cb], "id_token_signed_response_alg": "HS256"}), "invalid_client_metadata"),
        (json!({"redirect_uris": [cb], "token_endpoint_auth_method": "private_key_jwt"}), "invalid_client_metadata"),
        (json!({"redirect_uris": [cb], "token_endpoint_auth_method": "client_secret_jwt"}), "invalid_client_metadata"),
        (json!({"redirect_uris": [cb], "response_types": ["code", "token"]}), "invalid_client_metadata"),
        (json!({"redirect_uris": [cb], "grant_types": ["implicit"]}), "invalid_client_metadata"),
        (json!({"redirect_uris": [cb], "grant_types": ["refresh_token"]}), "invalid_client_metadata"),
        (json!({"redirect_uris": [cb], "scope": "openid admin"}), "invalid_client_metadata"),
        (json!({"redirect_uris": [cb], "subject_type": "public"}), "invalid_client_metadata"),
        (json!({"redirect_uris": [cb], "subject_type": "secret"}), "invalid_client_metadata"),
        (json!({"redirect_uris": [cb], "application_type": "desktop"}), "invalid_client_metadata"),
        (json!({"redirect_uris": [cb], "jwks_uri": "http://keys.example.vn/jwks"}), "invalid_client_metadata"),
        (json!({"redirect_uris": [cb], "backchannel_logout_uri": "https://portal.example.vn/logout#x"}), "invalid_client_metadata"),
        (json!({"redirect_uris": [cb], "sector_identifier_uri": "http://sector.example.vn/s.json"}), "invalid_client_metadata"),
        (json!({"redirect_uris": [cb], "token_endpoint_auth_signing_alg": "ES256"}), "invalid_client_metadata"),
        (json!({"redirect_uris": "https://portal.example.vn/cb"}), "invalid_client_metadata"),
        (json!([cb]), "invalid_client_metadata"),
    ];
    for (body, code) in cases {
        let a = register(&server, &token, body.clone()).await;
        assert_eq!(a.status, 400, "{body} → {:?}", a.body);
        assert_eq!(a.body["error"], code, "{body} → {:?}", a.body);
    }
    let bad_json = backchannel()
        .post(server.url("/register"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), 400);
    assert_eq!(bad_json.json::<Value>().await.unwrap()["error"], "invalid_client_metadata");

    // The positive counterparts.
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "use": "sig", "kid": "k1",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]});
    let pkj = register(
        &server,
        &token,
        json!({"redirect_uris": [cb], "token_endpoint_auth_method": "private_key_jwt", "jwks": jwks,
        "token_endpoint_auth_signing_alg": "ES256", "id_token_signed_response_alg": "ES256"}),
    )
    .await;
    assert_eq!(pkj.status, 201, "{:?}", pkj.body);
    assert!(pkj.body.get("client_secret").is_none() && pkj.body.get("client_secret_expires_at").is_none());
    assert_eq!(pkj.body["token_endpoint_auth_signing_alg"], "ES256");
    assert_eq!(pkj.body["jwks"]["keys"][0]["kid"], "k1");
    let native = register(
        &server,
        &token,
        json!({"redirect_uris": ["vn.gov.app:/cb", "vn.gov.app:/cb2"], "application_type": "native",
        "token_endpoint_auth_method": "none"}),
    )
    .await;
    assert_eq!(native.status, 201, "{:?}", native.body);
    assert_eq!(native.body["token_endpoint_auth_method"], "none");
    let loopback = register(&server, &token, json!({"redirect_uris": ["http://127.0.0.1:7000/cb"]})).await;
    assert_eq!(loopback.status, 201, "{:?}", loopback.body);
    // public subjects only for an initial access token that may register first-party portals.
    let first = operator_token(&server, &["clients:register", "clients:first_party"]).await;
    let public = register(&server, &first, json!({"redirect_uris": [cb], "subject_type": "public"})).await;
    assert_eq!(public.status, 201, "{:?}", public.body);
    assert_eq!(public.body["subject_type"], "public");
}

#[tokio::test]
async fn sector_identifier_shares_pairwise_subjects_across_hosts() {
    let server = TestServer::start().await;
    let token = operator_token(&server, &["clients:register"]).await;
    let (a, b, c) = ("https://a.example.vn/cb", "https://b.example.vn/cb", "https://c.example.vn/cb");
    let (port, _s1) = sector_server(&[a, b, "https://a.example.vn/other"]).await;
    let (other_port, _s2) = sector_server(&[c]).await;
    let sector = format!("http://127.0.0.1:{port}/sector.json");
    // Another sector: a different host (localhost) serving another document.
    let other_sector = format!("http://localhost:{other_port}/sector.json");

    let sub_a = sub_at(&server, &token, a, Some(&sector)).await;
    let sub_b = sub_at(&server, &token, b, Some(&sector)).await;
    let sub_c = sub_at(&server, &token, c, Some(&other_sector)).await;
    let sub_plain = sub_at(&server, &token, a, None).await;
    assert_eq!(sub_a, sub_b, "one sector, one subject, although the portals are on different hosts");
    assert_ne!(sub_a, sub_c, "another sector sees another subject");
    assert_ne!(sub_a, sub_plain, "without the sector document, the redirect host is the sector");
    assert!(sub_a != AN.0 && sub_c != AN.0, "never the personal ID");

    // Several hosts are fine when the sector document lists them all…
    let both = register(&server, &token, json!({"redirect_uris": [a, b], "sector_identifier_uri": sector})).await;
    assert_eq!(both.status, 201, "{:?}", both.body);
    assert_eq!(both.body["sector_identifier_uri"], sector);
    // …and refused when it does not list one of them.
    let missing = register(&server, &token, json!({"redirect_uris": [a, c], "sector_identifier_uri": sector})).await;
    assert_error(&missing, 400, "invalid_client_metadata");
    assert!(missing.body["error_description"].as_str().unwrap().contains(c));
    // Unreachable, non-200, redirected: all invalid_client_metadata.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    for uri in [
        format!("http://127.0.0.1:{closed_port}/sector.json"),
        format!("http://127.0.0.1:{port}/nothing.json"),
        format!("http://127.0.0.1:{port}/moved.json"),
    ] {
        let r = register(&server, &token, json!({"redirect_uris": [a], "sector_identifier_uri": uri})).await;
        assert_error(&r, 400, "invalid_client_metadata");
    }
}

#[tokio::test]
async fn admin_api_checks_the_sector_document_too() {
    let server = TestServer::start().await;
    let token = operator_token(&server, &["clients:write"]).await;
    let (port, _s) = sector_server(&["https://a.example.vn/cb"]).await;
    let sector = format!("http://127.0.0.1:{port}/sector.json");
    let create = |uris: Value| {
        let body = json!({"client_name": "Cổng", "redirect_uris": uris, "options": {"sector_identifier_uri": sector}});
        let server = &server;
        let token = token.clone();
        async move { call(server, "POST", "/admin/v1/clients", Some(&token), Some(&body)).await }
    };
    let ok = create(json!(["https://a.example.vn/cb"])).await;
    assert_eq!(ok.status, 201, "{:?}", ok.body);
    let stored =
        server.app.store.client(&nixa::client::ClientId::parse(ok.body["client_id"].as_str().unwrap()).unwrap()).await.unwrap().unwrap();
    assert_eq!(stored.sector, "127.0.0.1");
    let bad = create(json!(["https://b.example.vn/cb"])).await;
    assert_eq!(bad.status, 422, "{:?}", bad.body);
    assert!(bad.body["detail"].as_str().unwrap().starts_with("sector_identifier_uri"));
}

#[tokio::test]
async fn management_protocol_reads_updates_and_deletes() {
    let server = TestServer::start().await;
    let token = operator_token(&server, &["clients:register"]).await;
    let cb = "https://portal.example.vn/cb";
    let reg = register(&server, &token, json!({"client_name": "Cổng A", "redirect_uris": [cb]})).await;
    assert_eq!(reg.status, 201);
    let id = reg.body["client_id"].as_str().unwrap().to_string();
    let secret = reg.body["client_secret"].as_str().unwrap().to_string();
    let rat = reg.body["registration_access_token"].as_str().unwrap().to_string();
    let path = format!("/register/{id}");
    let other = register(&server, &token, json!({"redirect_uris": ["https://other.example.vn/cb"]})).await;
    let other_rat = other.body["registration_access_token"].as_str().unwrap().to_string();

    // Read.
    let read = call(&server, "GET", &path, Some(&rat), None).await;
    assert_eq!(read.status, 200, "{:?}", read.body);
    assert_eq!(read.cache.as_deref(), Some("no-store"));
    assert_eq!(read.body["client_name"], "Cổng A");
    assert_eq!(read.body["registration_access_token"], rat.as_str());
    assert_eq!(read.body["registration_client_uri"], server.url(&path));
    assert_eq!(read.body["client_id_issued_at"], reg.body["client_id_issued_at"]);
    assert!(read.body.get("client_secret").is_none(), "secrets are stored hashed and never returned again");
    // Another client's token, a bad token, no token, the operator token: 401 invalid_token.
    for t in [Some(other_rat.as_str()), Some("nonsense"), Some(token.as_str())] {
        assert_error(&call(&server, "GET", &path, t, None).await, 401, "invalid_token");
    }
    assert_error(&call(&server, "GET", &path, None, None).await, 401, "invalid_token");

    // Update: the metadata is replaced, the secret and the registration token stay.
    let mut meta = read.body.clone();
    for k in ["registration_access_token", "registration_client_uri", "client_id_issued_at", "client_secret_expires_at"] {
        meta.as_object_mut().unwrap().remove(k);
    }
    meta["client_name"] = json!("Cổng A mới");
    meta["redirect_uris"] = json!([cb, "https://portal.example.vn/cb2"]);
    meta["client_secret"] = json!(secret);
    let put = call(&server, "PUT", &path, Some(&rat), Some(&meta)).await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    assert_eq!(put.body["client_name"], "Cổng A mới");
    assert_eq!(put.body["redirect_uris"].as_array().unwrap().len(), 2);
    assert!(put.body.get("client_secret").is_none(), "the secret is kept, not rotated");
    assert_eq!(put.body["registration_access_token"], rat.as_str(), "the registration token is kept");
    let (code, verifier) = code_at(&server, &id, "https://portal.example.vn/cb2").await;
    let (status, tokens) = redeem_as(&server, &id, &secret, "https://portal.example.vn/cb2", &code, &verifier).await;
    assert_eq!(status, 200, "{tokens:?}");

    // Rejected updates.
    let bad_updates: Vec<(Value, u16, &str)> = vec![
        (json!({"client_id": "someone-else", "redirect_uris": [cb]}), 400, "invalid_client_metadata"),
        (json!({"redirect_uris": [cb]}), 400, "invalid_client_metadata"),
        (json!({"client_id": id, "redirect_uris": [cb], "registration_access_token": rat}), 400, "invalid_client_metadata"),
        (json!({"client_id": id, "redirect_uris": [cb], "client_secret": "chosen-by-client"}), 400, "invalid_client_metadata"),
        (json!({"client_id": id, "redirect_uris": ["https://elsewhere.example.vn/cb"]}), 400, "invalid_client_metadata"),
        (json!({"client_id": id, "redirect_uris": [cb], "subject_type": "public"}), 400, "invalid_client_metadata"),
        (json!({"client_id": id, "redirect_uris": ["http://portal.example.vn/cb"]}), 400, "invalid_redirect_uri"),
        (json!({"client_id": id, "redirect_uris": [cb], "id_token_signed_response_alg": "none"}), 400, "invalid_client_metadata"),
    ];
    for (body, status, code) in bad_updates {
        let a = call(&server, "PUT", &path, Some(&rat), Some(&body)).await;
        assert_eq!((a.status, a.body["error"].as_str()), (status, Some(code)), "{body} → {:?}", a.body);
    }
    let foreign = call(&server, "PUT", &path, Some(&other_rat), Some(&json!({"client_id": id, "redirect_uris": [cb]}))).await;
    assert_error(&foreign, 401, "invalid_token");
    // Switching to a public client drops the secret.
    let public = call(
        &server,
        "PUT",
        &path,
        Some(&rat),
        Some(&json!({"client_id": id, "redirect_uris": [cb], "token_endpoint_auth_method": "none"})),
    )
    .await;
    assert_eq!(public.status, 200, "{:?}", public.body);
    let (code, verifier) = code_at(&server, &id, cb).await;
    let (status, tokens) = redeem_as(&server, &id, &secret, cb, &code, &verifier).await;
    assert_eq!((status, tokens["error"].as_str()), (401, Some("invalid_client")));
    // …and back to a confidential one issues a fresh secret, returned once.
    let conf = call(&server, "PUT", &path, Some(&rat), Some(&json!({"client_id": id, "redirect_uris": [cb]}))).await;
    assert_eq!(conf.status, 200, "{:?}", conf.body);
    let secret = conf.body["client_secret"].as_str().expect("a new secret").to_string();

    // Delete: another client's token cannot, the client's own can; everything issued goes.
    let (code, verifier) = code_at(&server, &id, cb).await;
    assert_error(&call(&server, "DELETE", &path, Some(&other_rat), None).await, 401, "invalid_token");
    let del = call(&server, "DELETE", &path, Some(&rat), None).await;
    assert_eq!(del.status, 204, "{:?}", del.body);
    let (status, tokens) = redeem_as(&server, &id, &secret, cb, &code, &verifier).await;
    assert_eq!((status, tokens["error"].as_str()), (401, Some("invalid_client")), "a deleted client gets no tokens");
    assert_error(&call(&server, "GET", &path, Some(&rat), None).await, 401, "invalid_token");
    assert!(server.app.store.client(&nixa::client::ClientId::parse(&id).unwrap()).await.unwrap().is_none());
    let events: Vec<String> = server.app.store.audit_entries(0, 1000).await.unwrap().into_iter().map(|e| e.event).collect();
    assert!(events.contains(&"client.updated".to_string()) && events.contains(&"client.deleted".to_string()));
    // The other client is untouched.
    assert_eq!(
        call(&server, "GET", &format!("/register/{}", other.body["client_id"].as_str().unwrap()), Some(&other_rat), None).await.status,
        200
    );
}

#[tokio::test]
async fn a_token_used_for_a_missing_client_is_revoked() {
    let server = TestServer::start().await;
    let token = operator_token(&server, &["clients:register"]).await;
    let reg = register(&server, &token, json!({"redirect_uris": ["https://portal.example.vn/cb"]})).await;
    let rat = reg.body["registration_access_token"].as_str().unwrap();
    let own = format!("/register/{}", reg.body["client_id"].as_str().unwrap());
    assert_eq!(call(&server, "GET", &own, Some(rat), None).await.status, 200);
    // RFC 7592 §2.1: same 401 as for an existing client, and the token is revoked.
    assert_error(&call(&server, "GET", "/register/no-such-client", Some(rat), None).await, 401, "invalid_token");
    assert_error(&call(&server, "GET", &own, Some(rat), None).await, 401, "invalid_token");
    // Demo clients registered by operators have no registration access token at all.
    assert_error(&call(&server, "GET", &format!("/register/{DVC}"), Some(rat), None).await, 401, "invalid_token");
}
