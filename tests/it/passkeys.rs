//! Passkeys: registration on the account page and usernameless sign-in, driven by a software
//! authenticator (webauthn-authenticator-rs `SoftPasskey`) acting as the browser's WebAuthn API.

use crate::common;

use std::collections::HashMap;

use common::*;
use serde_json::Value;
use url::Url;
use webauthn_authenticator_rs::error::WebauthnCError;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::{AuthenticatorBackend, AuthenticatorBackendHashedClientData};
use webauthn_rs_proto::{
    AllowCredentials, CreationChallengeResponse, PublicKeyCredential, PublicKeyCredentialCreationOptions,
    PublicKeyCredentialRequestOptions, RegisterPublicKeyCredential, RequestChallengeResponse,
};

/// `SoftPasskey` with what a platform passkey adds: it keeps the user handle of each credential
/// and returns it in assertions, and it picks a credential itself when the request lists none
/// (discoverable / usernameless sign-in). SoftPasskey refuses resident-key requests, so the
/// wrapper stores residency itself; user verification is asserted (`falsify_uv`).
struct Authenticator {
    inner: SoftPasskey,
    handles: HashMap<Vec<u8>, Vec<u8>>,
    chosen: Option<Vec<u8>>,
}

impl Authenticator {
    fn new() -> Self {
        Self { inner: SoftPasskey::new(true), handles: HashMap::new(), chosen: None }
    }

    fn register(&mut self, origin: &str, options: &Value) -> RegisterPublicKeyCredential {
        let ccr: CreationChallengeResponse = serde_json::from_value(options.clone()).expect("creation options");
        let sel = ccr.public_key.authenticator_selection.as_ref().expect("authenticator selection");
        assert!(sel.require_resident_key, "discoverable credentials are required");
        assert_eq!(sel.user_verification, webauthn_rs_proto::UserVerificationPolicy::Required);
        AuthenticatorBackend::perform_register(self, Url::parse(origin).unwrap(), ccr.public_key, 60_000).expect("register")
    }

    fn assert(&mut self, origin: &str, options: &Value) -> PublicKeyCredential {
        let rcr: RequestChallengeResponse = serde_json::from_value(options.clone()).expect("request options");
        assert!(rcr.public_key.allow_credentials.is_empty(), "usernameless: no credential list");
        AuthenticatorBackend::perform_auth(self, Url::parse(origin).unwrap(), rcr.public_key, 60_000).expect("assert")
    }
}

impl AuthenticatorBackendHashedClientData for Authenticator {
    fn perform_register(
        &mut self,
        client_data_hash: Vec<u8>,
        mut options: PublicKeyCredentialCreationOptions,
        timeout_ms: u32,
    ) -> Result<RegisterPublicKeyCredential, WebauthnCError> {
        let user = options.user.id.to_vec();
        if let Some(sel) = options.authenticator_selection.as_mut() {
            sel.require_resident_key = false;
            sel.resident_key = None;
        }
        let cred = AuthenticatorBackendHashedClientData::perform_register(&mut self.inner, client_data_hash, options, timeout_ms)?;
        self.handles.insert(cred.raw_id.to_vec(), user);
        self.chosen = Some(cred.raw_id.to_vec());
        Ok(cred)
    }

    fn perform_auth(
        &mut self,
        client_data_hash: Vec<u8>,
        mut options: PublicKeyCredentialRequestOptions,
        timeout_ms: u32,
    ) -> Result<PublicKeyCredential, WebauthnCError> {
        if options.allow_credentials.is_empty() {
            let id = self.chosen.clone().ok_or(WebauthnCError::NoSelectedToken)?;
            options.allow_credentials = vec![AllowCredentials { type_: "public-key".into(), id: id.into(), transports: None }];
        }
        let mut cred = AuthenticatorBackendHashedClientData::perform_auth(&mut self.inner, client_data_hash, options, timeout_ms)?;
        cred.response.user_handle = self.handles.get(cred.raw_id.as_slice()).cloned().map(Into::into);
        Ok(cred)
    }
}

fn json(page: &Page) -> Value {
    serde_json::from_str(&page.body).unwrap_or_else(|_| panic!("expected JSON, got {}: {}", page.status, page.body))
}

/// The message key a page shows in its error paragraph.
fn error_key(page: &Page) -> String {
    let marker = "data-error=\"";
    let start = page.body.find(marker).unwrap_or_else(|| panic!("no error on page ({}):\n{}", page.status, page.body)) + marker.len();
    let end = page.body[start..].find('"').unwrap() + start;
    page.body[start..end].to_string()
}

/// Signs in to the account page (password, then TOTP if asked) and returns the account page.
async fn account_sign_in(server: &TestServer, browser: &Browser, who: (&str, &str)) -> Page {
    let mut page = browser.sign_in("/account/signin", who).await;
    if page.body.contains("action=\"/login/totp\"") {
        page = browser.submit_totp(&page, &totp_now(server)).await;
    }
    assert_eq!(page.status, 200, "expected the account page:\n{}", page.body);
    assert!(page.url.ends_with("/account"), "at {}", page.url);
    page
}

/// Registers a passkey from the account page; returns the response to the final POST.
async fn register(server: &TestServer, browser: &Browser, auth: &mut Authenticator, account: &Page, name: &str) -> Page {
    let csrf = account.field("csrf");
    let opts = browser.post("/account/passkeys/options", &[("csrf", &csrf)]).await;
    assert_eq!(opts.status, 200, "{}", opts.body);
    let opts = json(&opts);
    let cred = auth.register(&server.issuer, &opts["options"]);
    let cred = serde_json::to_string(&cred).unwrap();
    let ceremony = opts["ceremony"].as_str().unwrap();
    browser.post("/account/passkeys", &[("csrf", &csrf), ("ceremony", ceremony), ("name", name), ("credential", &cred)]).await
}

/// A sign-in at demo-dvc up to the login page: (verifier, r, csrf).
async fn login_page(server: &TestServer, browser: &Browser) -> (String, String, String) {
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(server, DVC, DVC_REDIRECT, &challenge, &[]);
    let login = browser.follow(browser.get(&url).await).await;
    assert!(login.url.contains("/login?r="), "at {}", login.url);
    assert!(login.body.contains("id=\"passkey-signin\""), "the login page offers passkeys");
    assert!(login.body.contains("autocomplete=\"username webauthn\""), "conditional mediation on the ID field");
    (verifier, login.field("r"), login.field("csrf"))
}

async fn passkey_options(browser: &Browser, r: &str, csrf: &str) -> Value {
    let page = browser.post(&format!("/login/passkey/options?r={r}"), &[("csrf", csrf)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    json(&page)
}

async fn submit_assertion(browser: &Browser, r: &str, csrf: &str, ceremony: &str, cred: &PublicKeyCredential) -> Page {
    let cred = serde_json::to_string(cred).unwrap();
    browser.post("/login/passkey", &[("r", r), ("csrf", csrf), ("ceremony", ceremony), ("credential", &cred)]).await
}

/// A level-2 person registers a passkey, then signs in with it alone (usernameless) into a
/// portal: loa:3 with hwk + user (a device-bound credential).
#[tokio::test]
async fn register_then_sign_in_usernameless_level2() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let account = account_sign_in(&server, &browser, BINH).await;
    assert!(account.body.contains("079••••••678"), "the personal ID is masked:\n{}", account.body);
    assert!(account.body.contains("data-level=\"2\""));
    assert!(account.body.contains("href=\"/account/devices\""), "the devices link is there");
    assert!(account.body.contains("id=\"passkey-register\"") && account.body.contains("id=\"passkey-name\""));
    let mut auth = Authenticator::new();
    let done = register(&server, &browser, &mut auth, &account, "Khóa của Bình").await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/account"));
    let listed = browser.get("/account").await;
    assert!(listed.body.contains("Khóa của Bình"), "{}", listed.body);

    // Another browser, no session, no identification number typed.
    let other = server.browser();
    let (verifier, r, csrf) = login_page(&server, &other).await;
    let opts = passkey_options(&other, &r, &csrf).await;
    assert_eq!(opts["options"]["mediation"], "conditional");
    let cred = auth.assert(&server.issuer, &opts["options"]);
    let mut page = other.follow(submit_assertion(&other, &r, &csrf, opts["ceremony"].as_str().unwrap(), &cred).await).await;
    if page.url.contains("/consent?r=") {
        page = other.consent(&page, "approve").await;
    }
    let code = page.query("code").unwrap_or_else(|| panic!("no code: {} {:?} {}", page.status, page.location, page.body));
    let (status, tokens) = redeem(&server, &code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = id_token_claims(&tokens);
    assert_eq!(claims["acr"], "urn:vn:eid:loa:3");
    assert_eq!(claims["amr"], serde_json::json!(["hwk", "user", "mfa"]));

    let listed = browser.get("/account").await;
    assert!(!listed.body.contains(&nixa::web::i18n::Locale::Vi.t("account.passkeys.never")), "last use recorded");
    let events: Vec<String> = server.app.store.audit_entries(0, 1000).await.unwrap().into_iter().map(|e| e.event).collect();
    assert!(events.contains(&"passkey.registered".to_string()) && events.contains(&"passkey.used".to_string()), "{events:?}");
}

/// A level-1 person without TOTP may register after a recent password sign-in; the passkey
/// then signs in at loa:2 (multi-factor, but not a level-2 account).
#[tokio::test]
async fn level1_password_session_registers_and_reaches_loa2() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let account = account_sign_in(&server, &browser, AN).await;
    let mut auth = Authenticator::new();
    assert_eq!(register(&server, &browser, &mut auth, &account, "Laptop").await.status, 303);

    let other = server.browser();
    let (verifier, r, csrf) = login_page(&server, &other).await;
    let opts = passkey_options(&other, &r, &csrf).await;
    let cred = auth.assert(&server.issuer, &opts["options"]);
    let mut page = other.follow(submit_assertion(&other, &r, &csrf, opts["ceremony"].as_str().unwrap(), &cred).await).await;
    if page.url.contains("/consent?r=") {
        page = other.consent(&page, "approve").await;
    }
    let (status, tokens) = redeem(&server, &page.query("code").expect("code"), &verifier).await;
    assert_eq!(status, 200);
    let claims = id_token_claims(&tokens);
    assert_eq!(claims["acr"], "urn:vn:eid:loa:2");
    assert_eq!(claims["amr"], serde_json::json!(["hwk", "user", "mfa"]));
}

#[tokio::test]
async fn account_without_session_starts_a_sign_in_that_returns_there() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let page = browser.get("/account").await;
    assert_eq!(page.status, 303);
    assert!(page.location.as_deref().unwrap().starts_with("/login?r="), "{:?}", page.location);
    let opts = browser.post("/account/passkeys/options", &[("csrf", "x")]).await;
    assert_eq!(opts.status, 401);
    assert_eq!(json(&opts)["error"], "login_required");
}

#[tokio::test]
async fn wrong_origin_replay_and_expiry_are_refused() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let account = account_sign_in(&server, &browser, BINH).await;
    let mut auth = Authenticator::new();
    assert_eq!(register(&server, &browser, &mut auth, &account, "Key").await.status, 303);

    // An authenticator response made for another origin (a phishing site relaying the challenge).
    let b = server.browser();
    let (_, r, csrf) = login_page(&server, &b).await;
    let opts = passkey_options(&b, &r, &csrf).await;
    let phished = auth.assert("https://nixa.example.net", &opts["options"]);
    let page = submit_assertion(&b, &r, &csrf, opts["ceremony"].as_str().unwrap(), &phished).await;
    assert_eq!(page.status, 401);
    assert_eq!(error_key(&page), "passkey.error.refused");
    // That ceremony is spent, even for a good response.
    let good = auth.assert(&server.issuer, &opts["options"]);
    let page = submit_assertion(&b, &r, &csrf, opts["ceremony"].as_str().unwrap(), &good).await;
    assert_eq!(error_key(&page), "passkey.error.expired");

    // A used assertion, replayed: under its own (spent) ceremony, and under a fresh one.
    let opts = passkey_options(&b, &r, &csrf).await;
    let used = auth.assert(&server.issuer, &opts["options"]);
    let ok = submit_assertion(&b, &r, &csrf, opts["ceremony"].as_str().unwrap(), &used).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let c = server.browser();
    let (_, r2, csrf2) = login_page(&server, &c).await;
    let page = submit_assertion(&c, &r2, &csrf2, opts["ceremony"].as_str().unwrap(), &used).await;
    assert_eq!(error_key(&page), "passkey.error.expired", "a ceremony is single use and bound to its sign-in");
    let fresh = passkey_options(&c, &r2, &csrf2).await;
    let page = submit_assertion(&c, &r2, &csrf2, fresh["ceremony"].as_str().unwrap(), &used).await;
    assert_eq!(page.status, 401);
    assert_eq!(error_key(&page), "passkey.error.refused", "the challenge does not match");

    // Expired: a ceremony answers for five minutes.
    let opts = passkey_options(&c, &r2, &csrf2).await;
    let late = auth.assert(&server.issuer, &opts["options"]);
    server.app.clock.advance(301);
    let page = submit_assertion(&c, &r2, &csrf2, opts["ceremony"].as_str().unwrap(), &late).await;
    assert_eq!(error_key(&page), "passkey.error.expired");
}

/// Two sign-ins in two browsers; the assertion made second (higher counter) is used first, so
/// the other one then arrives with a counter at or below the stored one: a cloned authenticator.
#[tokio::test]
async fn counter_regression_is_refused() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let account = account_sign_in(&server, &browser, AN).await;
    let mut auth = Authenticator::new();
    assert_eq!(register(&server, &browser, &mut auth, &account, "Key").await.status, 303);
    let (b1, b2) = (server.browser(), server.browser());
    let (_, r1, csrf1) = login_page(&server, &b1).await;
    let (_, r2, csrf2) = login_page(&server, &b2).await;
    let o1 = passkey_options(&b1, &r1, &csrf1).await;
    let o2 = passkey_options(&b2, &r2, &csrf2).await;
    let older = auth.assert(&server.issuer, &o1["options"]);
    let newer = auth.assert(&server.issuer, &o2["options"]);
    assert_eq!(submit_assertion(&b2, &r2, &csrf2, o2["ceremony"].as_str().unwrap(), &newer).await.status, 303);
    let page = submit_assertion(&b1, &r1, &csrf1, o1["ceremony"].as_str().unwrap(), &older).await;
    assert_eq!(page.status, 401);
    assert_eq!(error_key(&page), "passkey.error.refused");
}

#[tokio::test]
async fn removed_passkey_is_refused() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let account = account_sign_in(&server, &browser, BINH).await;
    let mut auth = Authenticator::new();
    assert_eq!(register(&server, &browser, &mut auth, &account, "Old phone").await.status, 303);
    let listed = browser.get("/account").await;
    let marker = "data-passkey=\"";
    let start = listed.body.find(marker).expect("a listed passkey") + marker.len();
    let id = listed.body[start..start + 43].to_string();

    let csrf = listed.field("csrf");
    let no_csrf = browser.post("/account/passkeys/remove", &[("id", &id)]).await;
    assert_eq!(no_csrf.status, 403);
    assert_eq!(error_key(&no_csrf), "error.csrf");
    let other = server.browser();
    let not_theirs = account_sign_in(&server, &other, AN).await;
    let page = other.post("/account/passkeys/remove", &[("csrf", &not_theirs.field("csrf")), ("id", &id)]).await;
    assert_eq!(page.status, 404);
    assert_eq!(error_key(&page), "account.error.no_such_passkey");

    let gone = browser.post("/account/passkeys/remove", &[("csrf", &csrf), ("id", &id)]).await;
    assert_eq!(gone.status, 303);
    assert!(!browser.get("/account").await.body.contains("Old phone"));

    let b = server.browser();
    let (_, r, csrf) = login_page(&server, &b).await;
    let opts = passkey_options(&b, &r, &csrf).await;
    let cred = auth.assert(&server.issuer, &opts["options"]);
    let page = submit_assertion(&b, &r, &csrf, opts["ceremony"].as_str().unwrap(), &cred).await;
    assert_eq!(page.status, 401);
    assert_eq!(error_key(&page), "passkey.error.unknown");
}

#[tokio::test]
async fn registration_needs_a_recent_session_and_csrf() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let account = account_sign_in(&server, &browser, AN).await;
    let csrf = account.field("csrf");

    let page = browser.post("/account/passkeys/options", &[]).await;
    assert_eq!(page.status, 403);
    assert_eq!(json(&page)["error"], "csrf");

    // A ceremony started while recent, answered after five minutes: expired.
    let opts = json(&browser.post("/account/passkeys/options", &[("csrf", &csrf)]).await);
    let mut auth = Authenticator::new();
    let cred = serde_json::to_string(&auth.register(&server.issuer, &opts["options"])).unwrap();
    server.app.clock.advance(301);
    let ceremony = opts["ceremony"].as_str().unwrap();
    let page = browser.post("/account/passkeys", &[("csrf", &csrf), ("ceremony", ceremony), ("name", "K"), ("credential", &cred)]).await;
    assert_eq!(page.status, 400);
    assert_eq!(error_key(&page), "passkey.error.expired");

    // Ten minutes after the sign-in: no longer recent.
    server.app.clock.advance(300);
    let page = browser.post("/account/passkeys/options", &[("csrf", &csrf)]).await;
    assert_eq!(page.status, 403);
    assert_eq!(json(&page)["error"], "reauthentication_required");
    let page = browser.post("/account/passkeys", &[("csrf", &csrf), ("ceremony", ceremony), ("name", "K"), ("credential", &cred)]).await;
    assert_eq!(page.status, 403);
    assert_eq!(error_key(&page), "account.error.reauthenticate");
    let shown = browser.get("/account").await;
    assert!(shown.body.contains("id=\"passkey-reauth\"") && !shown.body.contains("id=\"passkey-register\""));

    // Signing in again makes it recent.
    let again = account_sign_in(&server, &browser, AN).await;
    assert!(again.body.contains("id=\"passkey-register\""));
    assert_eq!(register(&server, &browser, &mut Authenticator::new(), &again, "K").await.status, 303);
}

#[tokio::test]
async fn login_csrf_missing_is_403() {
    let server = TestServer::start().await;
    let b = server.browser();
    let (_, r, csrf) = login_page(&server, &b).await;
    let page = b.post(&format!("/login/passkey/options?r={r}"), &[]).await;
    assert_eq!(page.status, 403);
    assert_eq!(json(&page)["error"], "csrf");
    let opts = passkey_options(&b, &r, &csrf).await;
    let page = b.post("/login/passkey", &[("r", &r), ("ceremony", opts["ceremony"].as_str().unwrap()), ("credential", "{}")]).await;
    assert_eq!(page.status, 403);
    assert_eq!(error_key(&page), "error.csrf");
    // The ceremony survived the forged request; a malformed response spends it and is refused.
    let page = b
        .post("/login/passkey", &[("r", &r), ("csrf", &csrf), ("ceremony", opts["ceremony"].as_str().unwrap()), ("credential", "{}")])
        .await;
    assert_eq!(error_key(&page), "passkey.error.refused");
}

#[tokio::test]
async fn officials_are_held_to_the_aaguid_allow_list() {
    let server = TestServer::start_with(|c| c.passkey_official_aaguids = vec!["cb69481e-8ff7-4039-93ec-0a2729a154a8".into()]).await;
    // AN is an official of the demo agency; SoftPasskey's AAGUID is all zeros.
    let browser = server.browser();
    let account = account_sign_in(&server, &browser, AN).await;
    let page = register(&server, &browser, &mut Authenticator::new(), &account, "K").await;
    assert_eq!(page.status, 400);
    assert_eq!(error_key(&page), "passkey.error.aaguid");
    // BINH is not an official: any authenticator.
    let other = server.browser();
    let account = account_sign_in(&server, &other, BINH).await;
    assert_eq!(register(&server, &other, &mut Authenticator::new(), &account, "K").await.status, 303);
}

#[tokio::test]
async fn passkey_script_is_served_under_the_csp() {
    let server = TestServer::start().await;
    let res = backchannel().get(server.url("/static/passkey.js")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    let body = res.text().await.unwrap();
    assert!(body.contains("navigator.credentials.get") && body.contains("navigator.credentials.create"));
}
