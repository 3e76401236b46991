//! The device authorization grant (RFC 8628): the device's requests, the person's pages, and
//! the token endpoint's answers while polling.

use crate::common;

use common::*;
use nixa::client::{ClientOptions, GRANT_DEVICE_CODE};
use nixa::oidc::registration::{ClientSpec, build};
use serde_json::Value;

const TV: &str = "smart-tv";
const OTHER_TV: &str = "other-tv";
const KIOSK: &str = "public-kiosk";

/// Registers a client allowed the device grant; returns its secret (none for a public client).
async fn device_client(server: &TestServer, id: &str, public: bool, scopes: &[&str]) -> Option<String> {
    let spec = ClientSpec {
        id: Some(id.into()),
        name: format!("Smart TV {id}"),
        redirect_uris: vec!["https://tv.example.gov.vn/cb".into()],
        auth_method: public.then(|| "none".to_string()),
        // No scopes named: every supported one (a registration without scopes gets `openid` only).
        scopes: if scopes.is_empty() { nixa::protocol::scopes::SUPPORTED.to_vec() } else { scopes.to_vec() }
            .iter()
            .map(|s| s.to_string())
            .collect(),
        options: ClientOptions { grant_types: vec![GRANT_DEVICE_CODE.into()], ..Default::default() },
        ..Default::default()
    };
    let (client, secret) = build(&spec).unwrap();
    server.app.store.put_client(&client, server.app.now()).await.unwrap();
    secret
}

fn with_auth(req: reqwest::RequestBuilder, client: &str, secret: Option<&str>) -> reqwest::RequestBuilder {
    match secret {
        Some(s) => req.basic_auth(client, Some(s)),
        None => req,
    }
}

async fn json_of(res: reqwest::Response) -> (u16, Value, Option<String>) {
    let status = res.status().as_u16();
    let cache = res.headers().get("cache-control").map(|v| v.to_str().unwrap().to_string());
    (status, res.json().await.expect("json body"), cache)
}

async fn device_authorize(server: &TestServer, client: &str, secret: Option<&str>, extra: &[(&str, &str)]) -> (u16, Value, Option<String>) {
    let mut form: Vec<(&str, &str)> = vec![("client_id", client)];
    form.extend_from_slice(extra);
    let req = backchannel().post(server.url("/device_authorization")).form(&form);
    json_of(with_auth(req, client, secret).send().await.unwrap()).await
}

async fn poll(server: &TestServer, client: &str, secret: Option<&str>, device_code: &str) -> (u16, Value) {
    let form = [("grant_type", GRANT_DEVICE_CODE), ("device_code", device_code), ("client_id", client)];
    let req = backchannel().post(server.url("/token")).form(&form);
    let (status, body, _) = json_of(with_auth(req, client, secret).send().await.unwrap()).await;
    (status, body)
}

/// A status and JSON body, with or without the Cache-Control header.
trait Answer {
    fn parts(&self) -> (u16, &Value);
}

impl Answer for (u16, Value) {
    fn parts(&self) -> (u16, &Value) {
        (self.0, &self.1)
    }
}

impl Answer for (u16, Value, Option<String>) {
    fn parts(&self) -> (u16, &Value) {
        (self.0, &self.1)
    }
}

fn assert_error(got: &impl Answer, status: u16, code: &str) {
    let (got_status, body) = got.parts();
    assert_eq!(body["error"], code, "{body}");
    assert_eq!(got_status, status, "{body}");
}

/// Enters a user code on /device; returns the answer to the POST.
async fn enter_code(browser: &Browser, typed: &str) -> Page {
    let form = browser.get(&format!("/device?user_code={typed}")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = form.field("csrf");
    browser.post("/device", &[("csrf", &csrf), ("user_code", typed)]).await
}

fn error_key(page: &Page) -> String {
    page.error_key().unwrap_or_else(|| panic!("no error on the page:\n{}", page.body))
}

/// Approves or denies on /device/confirm.
async fn decide(browser: &Browser, confirm: &Page, decision: &str) -> Page {
    assert!(confirm.url.contains("/device/confirm?r="), "expected the device page, at {}:\n{}", confirm.url, confirm.body);
    let (r, csrf) = (confirm.field("r"), confirm.field("csrf"));
    browser.post("/device/confirm", &[("r", &r), ("csrf", &csrf), ("decision", decision)]).await
}

/// From a user code to the confirmation page, signing in with a password on the way.
async fn sign_in_for_code(browser: &Browser, typed: &str, who: (&str, &str)) -> Page {
    let entered = enter_code(browser, typed).await;
    assert_eq!(entered.status, 303, "{}", entered.body);
    let login = browser.follow(entered).await;
    assert!(login.url.contains("/login?r="), "expected the login page, at {}", login.url);
    let (r, csrf) = (login.field("r"), login.field("csrf"));
    browser.follow(browser.post("/login", &[("r", &r), ("csrf", &csrf), ("personal_id", who.0), ("password", who.1)]).await).await
}

#[tokio::test]
async fn a_device_signs_in_once_the_person_approves() {
    let server = TestServer::start().await;
    let secret = device_client(&server, TV, false, &[]).await;
    let other_secret = device_client(&server, OTHER_TV, false, &[]).await;
    let secret = secret.as_deref();

    let discovery: Value = backchannel().get(server.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
    assert_eq!(discovery["device_authorization_endpoint"], server.url("/device_authorization"));
    assert!(discovery["grant_types_supported"].as_array().unwrap().contains(&Value::from(GRANT_DEVICE_CODE)));

    let (status, body, cache) = device_authorize(&server, TV, secret, &[("scope", "openid profile")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cache.as_deref(), Some("no-store"));
    let device_code = body["device_code"].as_str().unwrap().to_string();
    assert_eq!(nixa::crypto::b64url_decode(&device_code).unwrap().len(), 32, "256 random bits");
    let user_code = body["user_code"].as_str().unwrap().to_string();
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(user_code.chars().filter(|c| *c != '-').all(|c| "BCDFGHJKLMNPQRSTVWXZ".contains(c)), "{user_code}");
    assert_eq!(body["verification_uri"], server.url("/device"));
    assert_eq!(body["verification_uri_complete"], format!("{}?user_code={user_code}", server.url("/device")));
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["interval"], 5);

    // Only the hash of the device code is stored.
    let stored = server.app.store.device_code(&nixa::crypto::token_hash(&device_code)).await.unwrap().unwrap();
    assert_eq!(stored.status, "pending");

    assert_error(&poll(&server, TV, secret, &device_code).await, 400, "authorization_pending");

    // The person opens the link from the device (prefilled) and types the code loosely.
    let browser = server.browser();
    let prefilled = browser.get(body["verification_uri_complete"].as_str().unwrap()).await;
    assert_eq!(prefilled.status, 200);
    assert!(prefilled.body.contains(&format!("value=\"{user_code}\"")), "prefilled from user_code");
    let typed = user_code.replace('-', "").to_lowercase();
    let confirm = sign_in_for_code(&browser, &typed, AN).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(confirm.body.contains("Smart TV smart-tv"), "the portal's name is shown");
    assert!(confirm.body.contains(&user_code), "the code is shown to compare with the device");
    assert!(confirm.body.contains("data-claim=\"claim.name\"") && !confirm.body.contains("data-claim=\"claim.email\""));

    // Nothing is issued before the decision.
    server.app.clock.advance(5);
    assert_error(&poll(&server, TV, secret, &device_code).await, 400, "authorization_pending");

    let done = decide(&browser, &confirm, "approve").await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("id=\"device-approved\""), "{}", done.body);

    // Another client cannot use this device code, even an approved one.
    server.app.clock.advance(5);
    assert_error(&poll(&server, OTHER_TV, other_secret.as_deref(), &device_code).await, 400, "invalid_grant");

    let (status, tokens) = poll(&server, TV, secret, &device_code).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "openid profile");
    let claims = jwt_payload(tokens["id_token"].as_str().unwrap());
    let (person, _) = server.app.store.person_for_login(&nixa::identity::PersonalId::parse(AN.0).unwrap()).await.unwrap().unwrap();
    let client = server.app.store.client(&nixa::client::ClientId::parse(TV).unwrap()).await.unwrap().unwrap();
    let expected_sub = nixa::privacy::pairwise::subject(&server.app.secrets.pairwise, &client, &person.id);
    assert_eq!(claims["sub"], expected_sub.as_str(), "pairwise subject for this client");
    assert_ne!(claims["sub"], AN.0);
    assert_eq!(claims["aud"], TV);
    assert_eq!(claims["iss"], server.issuer.as_str());
    assert_eq!(claims["acr"], "urn:vn:eid:loa:1");
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert!(claims.get("nonce").is_none(), "no nonce in the device grant");
    assert!(claims["at_hash"].is_string() && claims["sid"].is_string() && claims["auth_time"].is_i64());

    let info: Value = backchannel()
        .get(server.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], claims["sub"]);
    assert!(info["name"].is_string(), "{info}");

    // Tokens are issued exactly once.
    server.app.clock.advance(5);
    assert_error(&poll(&server, TV, secret, &device_code).await, 400, "invalid_grant");
    // And an approved or used code cannot be entered again.
    let again = enter_code(&browser, &user_code).await;
    assert_eq!(again.status, 400);
    assert_eq!(error_key(&again), "device.error.invalid_code");
}

#[tokio::test]
async fn polling_too_fast_slows_the_device_down() {
    let server = TestServer::start().await;
    device_client(&server, KIOSK, true, &[]).await;
    let (status, body, _) = device_authorize(&server, KIOSK, None, &[("scope", "openid")]).await;
    assert_eq!(status, 200, "{body}");
    let code = body["device_code"].as_str().unwrap();
    assert_error(&poll(&server, KIOSK, None, code).await, 400, "authorization_pending");
    assert_error(&poll(&server, KIOSK, None, code).await, 400, "slow_down");
    // The interval is now 10 seconds: 10 is enough, 5 more is not.
    server.app.clock.advance(10);
    assert_error(&poll(&server, KIOSK, None, code).await, 400, "authorization_pending");
    server.app.clock.advance(5);
    assert_error(&poll(&server, KIOSK, None, code).await, 400, "slow_down");
    server.app.clock.advance(15);
    assert_error(&poll(&server, KIOSK, None, code).await, 400, "authorization_pending");
}

#[tokio::test]
async fn a_denied_request_is_refused_and_a_live_session_goes_straight_to_the_decision() {
    let server = TestServer::start().await;
    let secret = device_client(&server, TV, false, &[]).await;
    let secret = secret.as_deref();
    let (_, body, _) = device_authorize(&server, TV, secret, &[("scope", "openid profile")]).await;
    let browser = server.browser();
    let confirm = sign_in_for_code(&browser, body["user_code"].as_str().unwrap(), AN).await;
    let done = decide(&browser, &confirm, "deny").await;
    assert_eq!(done.status, 200);
    assert!(done.body.contains("id=\"device-denied\""), "{}", done.body);
    assert_error(&poll(&server, TV, secret, body["device_code"].as_str().unwrap()).await, 400, "access_denied");
    // The decision cannot be submitted twice.
    assert_eq!(decide(&browser, &confirm, "approve").await.status, 400);

    // Signed in already: the next code goes to the decision without a login page.
    let (_, second, _) = device_authorize(&server, TV, secret, &[("scope", "openid")]).await;
    let entered = enter_code(&browser, second["user_code"].as_str().unwrap()).await;
    assert_eq!(entered.status, 303);
    let confirm = browser.follow(entered).await;
    assert!(confirm.url.contains("/device/confirm?r="), "{}", confirm.url);

    // The decision form needs its CSRF token.
    let r = confirm.field("r");
    let forged = browser.post("/device/confirm", &[("r", &r), ("decision", "approve")]).await;
    assert_eq!(forged.status, 403);
    assert!(forged.body.contains("error-message"));
    // And another browser cannot use this sign-in at all.
    let stranger = server.browser().post("/device/confirm", &[("r", &r), ("csrf", &confirm.field("csrf")), ("decision", "approve")]).await;
    assert_eq!(stranger.status, 400);
    let done = decide(&browser, &confirm, "approve").await;
    assert!(done.body.contains("id=\"device-approved\""), "{}", done.body);
    let (status, tokens) = poll(&server, TV, secret, second["device_code"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{tokens}");
}

#[tokio::test]
async fn an_expired_device_code_is_reported_as_expired() {
    let server = TestServer::start_with(|c| c.device_code_ttl_secs = 120).await;
    let secret = device_client(&server, TV, false, &[]).await;
    let secret = secret.as_deref();
    let (_, body, _) = device_authorize(&server, TV, secret, &[("scope", "openid")]).await;
    assert_eq!(body["expires_in"], 120, "configurable lifetime");
    server.app.clock.advance(121);
    assert_error(&poll(&server, TV, secret, body["device_code"].as_str().unwrap()).await, 400, "expired_token");
    let late = enter_code(&server.browser(), body["user_code"].as_str().unwrap()).await;
    assert_eq!(late.status, 400);
    assert_eq!(error_key(&late), "device.error.invalid_code");
}

#[tokio::test]
async fn the_device_authorization_endpoint_refuses_what_the_client_may_not_ask() {
    let server = TestServer::start().await;
    let secret = device_client(&server, TV, false, &["openid", "profile"]).await;
    let secret = secret.as_deref();

    // A client registered without the grant, at both endpoints.
    assert_error(&device_authorize(&server, DVC, Some(DVC_SECRET), &[("scope", "openid")]).await, 400, "unauthorized_client");
    let (_, body, _) = device_authorize(&server, TV, secret, &[("scope", "openid")]).await;
    assert_error(&poll(&server, DVC, Some(DVC_SECRET), body["device_code"].as_str().unwrap()).await, 400, "unauthorized_client");

    for scope in ["profile", "openid admin", "openid email"] {
        assert_error(&device_authorize(&server, TV, secret, &[("scope", scope)]).await, 400, "invalid_scope");
    }
    assert_error(&device_authorize(&server, TV, secret, &[]).await, 400, "invalid_scope");
    assert_error(&device_authorize(&server, TV, Some("wrong-secret"), &[("scope", "openid")]).await, 401, "invalid_client");
    assert_error(&device_authorize(&server, "nobody", None, &[("scope", "openid")]).await, 401, "invalid_client");
    let dup = device_authorize(&server, TV, secret, &[("scope", "openid"), ("scope", "openid profile")]).await;
    assert_error(&dup, 400, "invalid_request");

    // At the token endpoint: an unknown device code and a missing one.
    assert_error(&poll(&server, TV, secret, "not-a-device-code").await, 400, "invalid_grant");
    let res =
        with_auth(backchannel().post(server.url("/token")).form(&[("grant_type", GRANT_DEVICE_CODE)]), TV, secret).send().await.unwrap();
    let (status, body, _) = json_of(res).await;
    assert_error(&(status, body), 400, "invalid_request");
}

#[tokio::test]
async fn wrong_user_codes_are_limited_per_browser() {
    let server = TestServer::start().await;
    let secret = device_client(&server, TV, false, &[]).await;
    let (_, body, _) = device_authorize(&server, TV, secret.as_deref(), &[("scope", "openid")]).await;
    let right = body["user_code"].as_str().unwrap();
    let wrong = if right.starts_with('B') { "CCCC-CCCC" } else { "BBBB-BBBB" };

    // The form needs its CSRF token, and a token from another browser does not do.
    let guesser = server.browser();
    let missing = guesser.post("/device", &[("user_code", right)]).await;
    assert_eq!(missing.status, 403);
    assert!(missing.body.contains("error-message"));
    let foreign = server.browser().get("/device").await.field("csrf");
    guesser.get("/device").await;
    assert_eq!(guesser.post("/device", &[("csrf", &foreign), ("user_code", right)]).await.status, 403);

    for attempt in 1..=5 {
        let page = enter_code(&guesser, if attempt == 3 { "not a code" } else { wrong }).await;
        assert_eq!(page.status, 400, "attempt {attempt}");
        assert_eq!(error_key(&page), "device.error.invalid_code");
    }
    // Blocked: even the right code is not looked at.
    let blocked = enter_code(&guesser, right).await;
    assert_eq!(blocked.status, 429);
    assert_eq!(error_key(&blocked), "device.error.too_many");

    // Another browser is not affected, and the window ends.
    assert_eq!(enter_code(&server.browser(), right).await.status, 303);
    server.app.clock.advance(601);
    let (_, fresh, _) = device_authorize(&server, TV, secret.as_deref(), &[("scope", "openid")]).await;
    assert_eq!(enter_code(&guesser, fresh["user_code"].as_str().unwrap()).await.status, 303);
}

#[tokio::test]
async fn acr_values_ask_for_a_step_up_and_an_organisation_can_be_chosen() {
    let server = TestServer::start().await;
    let secret = device_client(&server, TV, false, &[]).await;
    let secret = secret.as_deref();
    let browser = server.browser();
    // A level-1 session first.
    let (_, first, _) = device_authorize(&server, TV, secret, &[("scope", "openid")]).await;
    decide(&browser, &sign_in_for_code(&browser, first["user_code"].as_str().unwrap(), AN).await, "approve").await;

    let scope = [("scope", "openid profile vn_org"), ("acr_values", "urn:vn:eid:loa:2")];
    let (_, body, _) = device_authorize(&server, TV, secret, &scope).await;
    let entered = enter_code(&browser, body["user_code"].as_str().unwrap()).await;
    let login = browser.follow(entered).await;
    assert!(login.url.contains("/login?r="), "a stronger sign-in is needed, at {}", login.url);
    let (r, csrf) = (login.field("r"), login.field("csrf"));
    let totp =
        browser.follow(browser.post("/login", &[("r", &r), ("csrf", &csrf), ("personal_id", BINH.0), ("password", BINH.1)]).await).await;
    let code = nixa::authn::totp::current_code(nixa::demo::DEMO_TOTP_SECRET, server.app.now()).unwrap();
    let confirm = browser.submit_totp(&totp, &code).await;
    assert!(confirm.body.contains("data-claim=\"claim.vn_org\""), "{}", confirm.body);
    let choose = browser.follow(decide(&browser, &confirm, "approve").await).await;
    assert!(choose.url.contains("/organisation?r="), "{}", choose.url);
    let (r, csrf) = (choose.field("r"), choose.field("csrf"));
    let done = browser.post("/organisation", &[("r", &r), ("csrf", &csrf), ("org", nixa::demo::ORG_TAX_CODE)]).await;
    assert!(done.body.contains("id=\"device-approved\""), "{}", done.body);

    let (status, tokens) = poll(&server, TV, secret, body["device_code"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = jwt_payload(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["acr"], "urn:vn:eid:loa:2");
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["vn_org"]["code"], nixa::demo::ORG_TAX_CODE);
}

#[tokio::test]
async fn a_person_without_an_organisation_cannot_approve_a_vn_org_device() {
    let server = TestServer::start().await;
    let secret = device_client(&server, TV, false, &[]).await;
    let secret = secret.as_deref();
    let (_, body, _) = device_authorize(&server, TV, secret, &[("scope", "openid vn_org")]).await;
    let browser = server.browser();
    let confirm = sign_in_for_code(&browser, body["user_code"].as_str().unwrap(), AN).await;
    let refused = browser.follow(decide(&browser, &confirm, "approve").await).await;
    assert_eq!(refused.status, 200, "{}", refused.body);
    assert!(refused.body.contains("data-message=\"device.done.no_organisation\""), "{}", refused.body);
    assert_error(&poll(&server, TV, secret, body["device_code"].as_str().unwrap()).await, 400, "access_denied");
}
