//! Every bad request gets the error the specifications name, and nothing panics or leaks.

use crate::common;

use common::*;

fn assert_oauth_error(status: u16, body: &serde_json::Value, expected_status: u16, error: &str) {
    assert_eq!(body["error"], error, "body: {body}");
    assert_eq!(status, expected_status, "body: {body}");
    assert!(body["error_description"].is_string());
}

/// An authorization error that must come back to the portal's redirect URI.
async fn redirected_error(server: &TestServer, extra: &[(&str, &str)]) -> (String, Option<String>) {
    let (_, challenge) = pkce_pair();
    let page = server.browser().get(&authorize_url(server, DVC, DVC_REDIRECT, &challenge, extra)).await;
    assert_eq!(page.status, 303, "expected a redirect for {extra:?}: {}", page.body);
    assert!(page.location.as_deref().unwrap().starts_with(DVC_REDIRECT), "{:?}", page.location);
    assert_eq!(page.query("iss").as_deref(), Some(server.issuer.as_str()));
    (page.query("error").expect("error"), page.query("state"))
}

#[tokio::test]
async fn authorization_errors_go_to_the_portal_with_state_and_iss() {
    let server = TestServer::start().await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("code_challenge", "")], "invalid_request"),
        (&[("code_challenge_method", "plain")], "invalid_request"),
        (&[("code_challenge_method", "")], "invalid_request"),
        (&[("code_challenge", "tooshort")], "invalid_request"),
        (&[("response_type", "token")], "unsupported_response_type"),
        (&[("response_type", "")], "invalid_request"),
        (&[("response_mode", "fragment")], "invalid_request"),
        (&[("scope", "profile")], "invalid_scope"),
        (&[("scope", "openid admin")], "invalid_scope"),
        (&[("prompt", "none login")], "invalid_request"),
        (&[("prompt", "sideways")], "invalid_request"),
        (&[("max_age", "-1")], "invalid_request"),
        (&[("request", "eyJhbGciOiJub25lIn0.e30.")], "invalid_request_object"),
    ];
    for (extra, expected) in cases {
        let (error, state) = redirected_error(&server, extra).await;
        assert_eq!(error, *expected, "for {extra:?}");
        assert_eq!(state.as_deref(), Some("st-123"), "state is returned for {extra:?}");
    }
    // A repeated parameter (RFC 6749 §3.1).
    let (_, challenge) = pkce_pair();
    let url = authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[]) + "&scope=openid";
    let page = server.browser().get(&url).await;
    assert_eq!(page.query("error").as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn untrusted_client_or_redirect_uri_gets_a_page_never_a_redirect() {
    let server = TestServer::start().await;
    let (_, challenge) = pkce_pair();
    let cases: Vec<(String, &str)> = vec![
        (authorize_url(&server, DVC, "http://localhost:9000/callback/../evil", &challenge, &[]), "error.bad_redirect_uri"),
        (authorize_url(&server, DVC, "http://localhost:9000/callback?x=1", &challenge, &[]), "error.bad_redirect_uri"),
        (authorize_url(&server, DVC, "https://attacker.example/callback", &challenge, &[]), "error.bad_redirect_uri"),
        (authorize_url(&server, DVC, "", &challenge, &[]), "error.bad_redirect_uri"),
        (authorize_url(&server, "no-such-client", DVC_REDIRECT, &challenge, &[]), "error.unknown_client"),
        (authorize_url(&server, "", DVC_REDIRECT, &challenge, &[]), "error.missing_client"),
        (authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[]) + "&redirect_uri=https://attacker.example/cb", "error.malformed"),
        (server.url("/authorize?%zz=%"), "error.missing_client"),
    ];
    let en = nixa::web::i18n::Locale::En;
    for (url, key) in cases {
        let page = server.browser().get(&(url.clone() + "&ui_locales=en")).await;
        assert_eq!(page.status, 400, "{url}");
        assert!(page.location.is_none(), "no redirect to an unverified URI: {url}");
        assert!(page.body.contains(&html_escape(&en.t(key))), "{url} should explain {key}:\n{}", page.body);
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('\'', "&#39;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

#[tokio::test]
async fn token_endpoint_errors() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let http = backchannel();
    let token = server.url("/token");

    // Wrong verifier: invalid_grant, and the code is not burnt by the failed attempt.
    let (code, verifier) = code_for(&server, &browser, AN).await;
    let (s, b) = redeem(&server, &code, &(verifier.clone() + "x")).await;
    assert_oauth_error(s, &b, 400, "invalid_grant");
    // Missing verifier.
    let res = http
        .post(&token)
        .basic_auth(DVC, Some(DVC_SECRET))
        .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", DVC_REDIRECT)])
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    assert_oauth_error(s, &res.json().await.unwrap(), 400, "invalid_request");
    // Redirect URI differing from the authorization request.
    let res = http
        .post(&token)
        .basic_auth(DVC, Some(DVC_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://localhost:9000/other"),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    assert_oauth_error(s, &res.json().await.unwrap(), 400, "invalid_grant");
    // Bad secret: 401 with a Basic challenge.
    let res = http
        .post(&token)
        .basic_auth(DVC, Some("wrong"))
        .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", DVC_REDIRECT), ("code_verifier", &verifier)])
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("www-authenticate").is_some_and(|v| v.to_str().unwrap().starts_with("Basic")));
    let s = res.status().as_u16();
    assert_oauth_error(s, &res.json().await.unwrap(), 401, "invalid_client");
    // Unknown client.
    let res = http
        .post(&token)
        .basic_auth("nobody", Some("x"))
        .form(&[("grant_type", "authorization_code"), ("code", &code)])
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    assert_oauth_error(s, &res.json().await.unwrap(), 401, "invalid_client");
    // A confidential client may not skip authentication, nor use another method than registered.
    let res = http
        .post(&token)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", DVC),
            ("redirect_uri", DVC_REDIRECT),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    assert_oauth_error(s, &res.json().await.unwrap(), 401, "invalid_client");
    let res = http
        .post(&token)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", DVC),
            ("client_secret", DVC_SECRET),
            ("redirect_uri", DVC_REDIRECT),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    assert_oauth_error(s, &res.json().await.unwrap(), 401, "invalid_client");
    // Wrong grant type.
    let res = http.post(&token).basic_auth(DVC, Some(DVC_SECRET)).form(&[("grant_type", "password")]).send().await.unwrap();
    let s = res.status().as_u16();
    assert_oauth_error(s, &res.json().await.unwrap(), 400, "unsupported_grant_type");
    let res = http.post(&token).basic_auth(DVC, Some(DVC_SECRET)).form(&[("code", "x")]).send().await.unwrap();
    let s = res.status().as_u16();
    assert_oauth_error(s, &res.json().await.unwrap(), 400, "invalid_request");
    // Not a form.
    let res = http
        .post(&token)
        .basic_auth(DVC, Some(DVC_SECRET))
        .json(&serde_json::json!({"grant_type": "authorization_code"}))
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    assert_oauth_error(s, &res.json().await.unwrap(), 400, "invalid_request");
    // Repeated parameter.
    let res = http
        .post(&token)
        .basic_auth(DVC, Some(DVC_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=authorization_code&grant_type=authorization_code")
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    assert_oauth_error(s, &res.json().await.unwrap(), 400, "invalid_request");
    // A code issued to another client.
    let res = http
        .post(&token)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", TINH),
            ("redirect_uri", DVC_REDIRECT),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    let s = res.status().as_u16();
    assert_oauth_error(s, &res.json().await.unwrap(), 400, "invalid_grant");

    // After all these failures the right request still works (nothing was consumed).
    let (s, b) = redeem(&server, &code, &verifier).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["token_type"], "Bearer");
}

#[tokio::test]
async fn code_replay_is_refused_and_revokes_the_tokens_it_issued() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let (code, verifier) = code_for(&server, &browser, AN).await;
    let (s, first) = redeem(&server, &code, &verifier).await;
    assert_eq!(s, 200);
    let access = first["access_token"].as_str().unwrap().to_string();
    let userinfo = |t: String| {
        let url = server.url("/userinfo");
        async move { backchannel().get(url).bearer_auth(t).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(userinfo(access.clone()).await, 200);
    let (s, b) = redeem(&server, &code, &verifier).await;
    assert_oauth_error(s, &b, 400, "invalid_grant");
    assert_eq!(userinfo(access).await, 401, "the token issued from a replayed code is revoked");
    let replays = server.app.store.audit_entries(0, 1000).await.unwrap();
    assert!(replays.iter().any(|e| e.event == "token.code_replayed"), "replay is audited");
}

#[tokio::test]
async fn expired_code_is_refused() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let (code, verifier) = code_for(&server, &browser, AN).await;
    server.app.clock.advance(61);
    let (s, b) = redeem(&server, &code, &verifier).await;
    assert_oauth_error(s, &b, 400, "invalid_grant");
}

#[tokio::test]
async fn userinfo_errors_use_bearer_challenges() {
    let server = TestServer::start().await;
    let http = backchannel();
    let url = server.url("/userinfo");
    let res = http.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"nixa\"");
    let res = http.get(&url).bearer_auth("not-a-token").send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers()["www-authenticate"].to_str().unwrap().contains("error=\"invalid_token\""));
    let res = http.get(&url).header("authorization", "Basic Zm9vOmJhcg==").send().await.unwrap();
    assert_eq!(res.status(), 400);
    let res = http.get(format!("{url}?access_token=x")).send().await.unwrap();
    assert_eq!(res.status(), 401, "tokens in the query string are not accepted");

    // A valid token works by header and by POST body, and stops working once expired.
    let browser = server.browser();
    let (code, verifier) = code_for(&server, &browser, AN).await;
    let (_, tokens) = redeem(&server, &code, &verifier).await;
    let at = tokens["access_token"].as_str().unwrap();
    assert_eq!(http.post(&url).form(&[("access_token", at)]).send().await.unwrap().status(), 200);
    assert_eq!(http.post(&url).bearer_auth(at).form(&[("access_token", at)]).send().await.unwrap().status(), 400);
    server.app.clock.advance(601);
    assert_eq!(http.get(&url).bearer_auth(at).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn forms_need_their_csrf_token_and_their_browser() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let (_, challenge) = pkce_pair();
    let login = browser.follow(browser.get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[])).await).await;
    let r = login.field("r");
    let page = browser.post("/login", &[("r", &r), ("csrf", "forged"), ("personal_id", AN.0), ("password", AN.1)]).await;
    assert_eq!(page.status, 403);
    // Another browser cannot continue this sign-in, even with the right token.
    let csrf = login.field("csrf");
    let other = server.browser();
    let page = other.post("/login", &[("r", &r), ("csrf", &csrf), ("personal_id", AN.0), ("password", AN.1)]).await;
    assert_eq!(page.status, 400);
    assert!(other.get(&format!("/login?r={r}")).await.status == 400);
    // Unknown or missing request ids.
    assert_eq!(browser.get("/login?r=nope").await.status, 400);
    assert_eq!(browser.get("/login").await.status, 400);
    assert_eq!(browser.get("/consent?r=nope").await.status, 400);
}

#[tokio::test]
async fn wrong_passwords_are_refused_alike_and_lock_the_account() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let (_, challenge) = pkce_pair();
    let login = browser.follow(browser.get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("ui_locales", "en")])).await).await;
    let (r, csrf) = (login.field("r"), login.field("csrf"));
    let attempt = |pid: &'static str, pw: &'static str| {
        let (r, csrf) = (r.clone(), csrf.clone());
        let b = &browser;
        async move { b.post("/login", &[("r", &r), ("csrf", &csrf), ("personal_id", pid), ("password", pw)]).await }
    };
    let unknown = attempt("001099999999", "whatever").await;
    let wrong = attempt(AN.0, "wrong").await;
    assert_eq!((unknown.status, wrong.status), (401, 401));
    let msg = "The identification number or password is wrong.";
    assert!(unknown.body.contains(msg) && wrong.body.contains(msg), "the same message for unknown and wrong");
    let malformed = attempt("12345", "x").await;
    assert!(malformed.body.contains("exactly 12 digits"));
    for _ in 0..4 {
        attempt(AN.0, "wrong").await;
    }
    let locked = attempt(AN.0, AN.1).await;
    assert!(locked.body.contains("temporarily locked"), "five failures lock the account even for the right password");
    server.app.clock.advance(61);
    let ok = attempt(AN.0, AN.1).await;
    assert_eq!(ok.status, 303, "the lock expires: {}", ok.body);
    let audit = server.app.store.audit_entries(0, 100).await.unwrap();
    assert!(audit.iter().any(|e| e.event == "login.locked"));
    assert_eq!(nixa::audit::verify_chain(&server.app.store).await.unwrap(), Ok(audit.len() as u64));
}

#[tokio::test]
async fn garbage_never_causes_a_server_error() {
    let server = TestServer::start().await;
    let http = backchannel();
    let bodies: &[&[u8]] = &[b"", b"\xff\xfe", b"%", b"a=%zz", b"grant_type", &[b'a'; 70_000], b"code=\x00"];
    for path in ["/authorize", "/token", "/userinfo", "/login", "/login/totp", "/consent"] {
        for body in bodies {
            let res = http
                .post(server.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_vec())
                .send()
                .await
                .unwrap();
            assert!(res.status().as_u16() < 500, "POST {path} with {} bytes gave {}", body.len(), res.status());
            let text = res.text().await.unwrap();
            assert!(!text.contains("sqlx") && !text.contains("panicked"), "no internals leak from {path}");
        }
        for q in ["?", "?%ff", "?r=\u{0}", "?client_id=demo-dvc&redirect_uri=%", "?lang=xx&r=1"] {
            let res = http.get(format!("{}{q}", server.url(path))).send().await.unwrap();
            assert!(res.status().as_u16() < 500, "GET {path}{q} gave {}", res.status());
        }
    }
    let res = http.get(server.url("/nope")).send().await.unwrap();
    assert_eq!(res.status(), 404);
}
