//! The mobile app API and cross-device (QR) sign-in: device binding through the device grant,
//! QR approval by the app, the desktop continuing in its own browser only, revocation, and RFC
//! 8628 device codes approved by the app.

use crate::common;

use common::*;
use nixa::app_client::{AppClient, AppClientError, DeviceState};
use serde_json::{Value, json};

/// The error of an app API call: (status, error, description).
fn api_error(r: Result<Value, AppClientError>) -> (u16, String, String) {
    match r {
        Err(AppClientError::Api { status, error, description }) => (status, error, description),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Signs `who` in through the device grant (approved in a browser) and binds a device key.
async fn enroll(server: &TestServer, who: (&str, &str)) -> (AppClient, DeviceState) {
    let mut app = AppClient::new(&server.issuer).unwrap();
    let a = app.start_enrollment("openid profile").await.unwrap();
    assert_eq!(app.poll_token(&a.device_code).await.unwrap(), None, "pending before approval");
    let browser = server.browser();
    let form = browser.get(&format!("/device?user_code={}", a.user_code)).await;
    let entered = browser.post("/device", &[("csrf", &form.field("csrf")), ("user_code", &a.user_code)]).await;
    let login = browser.follow(entered).await;
    let (r, csrf) = (login.field("r"), login.field("csrf"));
    let mut page =
        browser.follow(browser.post("/login", &[("r", &r), ("csrf", &csrf), ("personal_id", who.0), ("password", who.1)]).await).await;
    if page.body.contains("action=\"/login/totp\"") {
        let code = nixa::authn::totp::current_code(nixa::demo::DEMO_TOTP_SECRET, server.app.now()).unwrap();
        page = browser.submit_totp(&page, &code).await;
    }
    assert!(page.url.contains("/device/confirm?r="), "at {}:\n{}", page.url, page.body);
    let done = browser.post("/device/confirm", &[("r", &page.field("r")), ("csrf", &page.field("csrf")), ("decision", "approve")]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    // The interval of RFC 8628 applies between polls.
    server.app.clock.advance(6);
    app.clock_skew += 6;
    let token = app.poll_token(&a.device_code).await.unwrap().expect("a token once approved");
    let state = app.register(&token, "Test phone").await.unwrap();
    (app, state)
}

/// A desktop sign-in at the demo portal up to the QR page; returns (verifier, QR page).
async fn qr_page(server: &TestServer, browser: &Browser) -> (String, Page) {
    let (verifier, challenge) = pkce_pair();
    let login = browser.follow(browser.get(&authorize_url(server, DVC, DVC_REDIRECT, &challenge, &[])).await).await;
    assert!(login.url.contains("/login?r="), "{}", login.url);
    let r = login.field("r");
    assert!(login.body.contains(&format!("href=\"/login/qr?r={r}\"")), "the login page offers the app:\n{}", login.body);
    let page = browser.get(&format!("/login/qr?r={r}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    (verifier, page)
}

fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let i = body.find(start).unwrap_or_else(|| panic!("no {start} in:\n{body}")) + start.len();
    let j = body[i..].find(end).unwrap() + i;
    &body[i..j]
}

fn qr_text(page: &Page) -> String {
    between(&page.body, "id=\"same-device\" href=\"", "\"").replace("&#x2f;", "/").replace("&#58;", ":")
}

fn short_code(page: &Page) -> String {
    between(&page.body, "id=\"short-code\">", "<").to_string()
}

async fn status_of(browser: &Browser, r: &str) -> (u16, Value) {
    let page = browser.get(&format!("/login/qr/status?r={r}")).await;
    (page.status, serde_json::from_str(&page.body).unwrap())
}

async fn continue_with(browser: &Browser, page: &Page) -> Page {
    browser.post("/login/qr/continue", &[("r", &page.field("r")), ("csrf", &page.field("csrf"))]).await
}

#[tokio::test]
async fn a_qr_sign_in_approved_by_the_app_continues_on_the_desktop() {
    let server = TestServer::start().await;
    let (app, device) = enroll(&server, AN).await;
    let desktop = server.browser();
    let (verifier, page) = qr_page(&server, &desktop).await;
    assert!(page.body.contains("src=\"data:image/svg+xml;base64,"), "an SVG QR:\n{}", page.body);
    assert!(page.body.contains("/static/qr-login.js"));
    let script = desktop.get("/static/qr-login.js").await;
    assert_eq!(script.status, 200);
    assert!(script.body.contains("/login/qr/continue") || script.body.contains("form.submit()"));
    let r = page.field("r");
    let text = qr_text(&page);
    assert!(text.starts_with("nixa-login:1:") && text.ends_with(&server.issuer), "{text}");
    assert_eq!(short_code(&page).len(), 9, "XXXX-XXXX");
    assert_eq!(status_of(&desktop, &r).await.1["status"], "pending");

    // The app names the portal and the data before approving.
    let shown = app.show_login(&device, &text).await.unwrap();
    assert_eq!(shown["portal"]["name"], "Cổng Dịch vụ công (demo)");
    assert_eq!(shown["portal"]["client_id"], DVC);
    assert_eq!(shown["short_code"], short_code(&page));
    assert!(shown["data"].as_array().unwrap().iter().any(|d| d["key"] == "claim.name" && d["vi"].is_string() && d["en"].is_string()));

    // Continuing before the approval is refused and says why.
    let early = continue_with(&desktop, &page).await;
    assert_eq!(early.status, 409, "{}", early.body);

    let approved = app.decide_login(&device, &text, true, true).await.unwrap();
    assert_eq!(approved["status"], "approved");
    // A password-only binding caps the app at loa:1 even though the approval is two factors.
    assert_eq!(approved["acr"], "urn:vn:eid:loa:1");
    assert_eq!(approved["amr"], json!(["swk", "user", "mfa"]));

    // A second approval of the same request: 409 invalid_request.
    let (status, error, description) = api_error(app.decide_login(&device, &text, true, true).await);
    assert_eq!((status, error.as_str()), (409, "invalid_request"));
    assert_eq!(description, "this login request was already answered");

    // Another browser polling the same r learns nothing.
    let stranger = server.browser();
    assert_eq!(status_of(&stranger, &r).await, (404, json!({"status": "unknown"})));
    assert_eq!(status_of(&desktop, &r).await.1["status"], "approved");

    // The same browser continues: consent, then a code for the portal.
    let next = desktop.follow(continue_with(&desktop, &page).await).await;
    let done = desktop.consent(&next, "approve").await;
    let code = done.query("code").unwrap_or_else(|| panic!("no code: {:?} {}", done.location, done.body));
    let (status, tokens) = redeem(&server, &code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = jwt_payload(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["acr"], "urn:vn:eid:loa:1");
    assert_eq!(claims["amr"], json!(["swk", "user", "mfa"]));

    // Spent: continuing again is refused.
    let again = continue_with(&desktop, &page).await;
    assert_eq!(again.status, 400, "{}", again.body);
}

#[tokio::test]
async fn a_device_bound_after_two_factors_signs_in_at_loa2_by_short_code() {
    let server = TestServer::start().await;
    let (app, device) = enroll(&server, BINH).await;
    let desktop = server.browser();
    let (verifier, page) = qr_page(&server, &desktop).await;
    let code = short_code(&page).to_lowercase().replace('-', " ");
    let approved = app.decide_login(&device, &code, true, true).await.unwrap();
    assert_eq!(approved["acr"], "urn:vn:eid:loa:2");
    let next = desktop.follow(continue_with(&desktop, &page).await).await;
    let done = desktop.consent(&next, "approve").await;
    let (status, tokens) = redeem(&server, &done.query("code").unwrap(), &verifier).await;
    assert_eq!(status, 200);
    let claims = jwt_payload(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["acr"], "urn:vn:eid:loa:2");

    // Without user verification on the phone the approval is one factor.
    let (_, page) = qr_page(&server, &server.browser()).await;
    let approved = app.decide_login(&device, &qr_text(&page), true, false).await.unwrap();
    assert_eq!((approved["acr"].as_str(), approved["amr"].clone()), (Some("urn:vn:eid:loa:1"), json!(["swk"])));
}

#[tokio::test]
async fn an_expired_request_cannot_be_approved() {
    let server = TestServer::start().await;
    let (mut app, device) = enroll(&server, AN).await;
    let desktop = server.browser();
    let (_, page) = qr_page(&server, &desktop).await;
    server.app.clock.advance(121);
    app.clock_skew += 121;
    let (status, error, _) = api_error(app.show_login(&device, &qr_text(&page)).await);
    assert_eq!((status, error.as_str()), (400, "expired_token"));
    let (status, error, description) = api_error(app.decide_login(&device, &qr_text(&page), true, true).await);
    assert_eq!((status, error.as_str()), (400, "expired_token"));
    assert_eq!(description, "this login request has expired; start again on the computer");
    assert_eq!(status_of(&desktop, &page.field("r")).await.1["status"], "expired");
    let refused = continue_with(&desktop, &page).await;
    assert_eq!(refused.status, 410, "{}", refused.body);
    assert!(refused.body.contains("id=\"short-code\""), "a new code is shown:\n{}", refused.body);
}

#[tokio::test]
async fn an_approval_cannot_be_spent_by_another_browser() {
    let server = TestServer::start().await;
    let (app, device) = enroll(&server, AN).await;
    let victim = server.browser();
    let (_, page) = qr_page(&server, &victim).await;
    app.decide_login(&device, &qr_text(&page), true, true).await.unwrap();

    // The attacker photographed the QR and holds r; their browser has its own sign-in and CSRF.
    let attacker = server.browser();
    let (_, own) = qr_page(&server, &attacker).await;
    let stolen = attacker.post("/login/qr/continue", &[("r", &page.field("r")), ("csrf", &own.field("csrf"))]).await;
    assert_eq!(stolen.status, 400, "{}", stolen.body);
    assert!(stolen.body.contains("expired") || stolen.body.contains("hết hạn"), "{}", stolen.body);
    // Nor does the attacker's own sign-in pick up the victim's approval.
    let own_continue = continue_with(&attacker, &own).await;
    assert_eq!(own_continue.status, 409, "{}", own_continue.body);
    // The victim's browser still continues.
    let next = continue_with(&victim, &page).await;
    assert_eq!(next.status, 303, "{}", next.body);
}

#[tokio::test]
async fn a_denied_request_is_shown_as_refused() {
    let server = TestServer::start().await;
    let (app, device) = enroll(&server, AN).await;
    let desktop = server.browser();
    let (_, page) = qr_page(&server, &desktop).await;
    assert_eq!(app.decide_login(&device, &qr_text(&page), false, false).await.unwrap()["status"], "denied");
    assert_eq!(status_of(&desktop, &page.field("r")).await.1["status"], "denied");
    let refused = continue_with(&desktop, &page).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
}

#[tokio::test]
async fn a_device_revoked_on_the_account_page_can_no_longer_approve() {
    let server = TestServer::start().await;
    let (app, device) = enroll(&server, AN).await;
    let listed = app.devices(&device).await.unwrap();
    assert_eq!(listed["devices"][0]["device_id"], device.device_id.as_str());
    assert_eq!(listed["devices"][0]["bound_acr"], "urn:vn:eid:loa:1");
    assert_eq!(listed["devices"][0]["current"], true);

    let browser = server.browser();
    let anonymous = browser.get("/account/devices").await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.body.contains("id=\"sign-in-first\""), "{}", anonymous.body);
    code_for(&server, &browser, AN).await;
    let page = browser.get("/account/devices?lang=en").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&format!("data-device=\"{}\"", device.device_id)));
    assert!(page.body.contains("Test phone"));
    let forged = browser.post("/account/devices/revoke", &[("device_id", &device.device_id), ("csrf", "forged")]).await;
    assert_eq!(forged.status, 403);
    let revoked = browser.post("/account/devices/revoke", &[("device_id", &device.device_id), ("csrf", &page.field("csrf"))]).await;
    assert_eq!((revoked.status, revoked.location.as_deref()), (303, Some("/account/devices?done=revoked")));
    let after = browser.get("/account/devices?lang=en").await;
    assert!(after.body.contains("Revoked"), "{}", after.body);
    let twice = browser.post("/account/devices/revoke", &[("device_id", &device.device_id), ("csrf", &page.field("csrf"))]).await;
    assert_eq!(twice.status, 404);

    let desktop = server.browser();
    let (_, qr) = qr_page(&server, &desktop).await;
    let (status, error, description) = api_error(app.decide_login(&device, &qr_text(&qr), true, true).await);
    assert_eq!((status, error.as_str(), description.as_str()), (401, "invalid_token", "this device was revoked"));
    assert_eq!(status_of(&desktop, &qr.field("r")).await.1["status"], "pending");
}

#[tokio::test]
async fn device_proofs_are_checked() {
    let server = TestServer::start().await;
    let (app, device) = enroll(&server, AN).await;
    let http = backchannel();
    let url = server.url("/api/v1/devices");
    let send = |proof: String| http.get(&url).header("authorization", format!("Device {proof}")).send();

    let res = http.get(&url).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 401);
    // A proof for another URL, and a replayed proof.
    let other = app.proof(&device, "GET", "/api/v1/login-requests/show", json!({})).unwrap();
    let body: Value = send(other).await.unwrap().json().await.unwrap();
    assert_eq!(body, json!({"error": "invalid_token", "error_description": "the proof was made for another URL (htu)"}));
    let proof = app.proof(&device, "GET", "/api/v1/devices", json!({})).unwrap();
    assert_eq!(send(proof.clone()).await.unwrap().status().as_u16(), 200);
    let body: Value = send(proof).await.unwrap().json().await.unwrap();
    assert_eq!(body["error_description"], "the proof was used before (jti)");
    // Another key claiming this device id.
    let (pkcs8, _) = nixa::app_client::generate_key().unwrap();
    let impostor = DeviceState { pkcs8: nixa::crypto::b64url(&pkcs8), ..device.clone() };
    let forged = app.proof(&impostor, "GET", "/api/v1/devices", json!({})).unwrap();
    let body: Value = send(forged).await.unwrap().json().await.unwrap();
    assert_eq!(body["error_description"], "the device signature does not verify");
    // An old proof.
    let proof = app.proof(&device, "GET", "/api/v1/devices", json!({})).unwrap();
    server.app.clock.advance(300);
    let body: Value = send(proof).await.unwrap().json().await.unwrap();
    assert_eq!(body["error_description"], "the proof is too old or from the future (iat)");
}

#[tokio::test]
async fn only_a_fresh_app_token_binds_a_device() {
    let server = TestServer::start().await;
    // A portal's token is not the app's.
    let browser = server.browser();
    let (code, verifier) = code_for(&server, &browser, AN).await;
    let (_, tokens) = redeem(&server, &code, &verifier).await;
    let app = AppClient::new(&server.issuer).unwrap();
    let (status, error, description) = api_error(app.register(tokens["access_token"].as_str().unwrap(), "x").await.map(|_| Value::Null));
    assert_eq!((status, error.as_str()), (401, "invalid_token"));
    assert_eq!(description, "the access token was not issued to the national app");
    let (status, error, _) = api_error(app.register("not-a-token", "x").await.map(|_| Value::Null));
    assert_eq!((status, error.as_str()), (401, "invalid_token"));
}

#[tokio::test]
async fn the_app_approves_an_rfc8628_device_code() {
    let server = TestServer::start().await;
    let (app, device) = enroll(&server, AN).await;
    // A second device (a TV) asks through the device grant.
    let tv = AppClient::new(&server.issuer).unwrap();
    let a = tv.start_enrollment("openid profile").await.unwrap();
    let shown = app.show_device_code(&device, &a.user_code).await.unwrap();
    assert_eq!(shown["portal"]["client_id"], "vn-eid-app");
    assert_eq!(shown["user_code"], a.user_code.as_str());
    let approved = app.decide_device_code(&device, &a.user_code, true, true).await.unwrap();
    assert_eq!(approved["status"], "approved");
    let token = tv.poll_token(&a.device_code).await.unwrap().expect("tokens after the app approved");
    assert!(!token.is_empty());
    let (status, error, _) = api_error(app.decide_device_code(&device, &a.user_code, true, true).await);
    assert_eq!((status, error.as_str()), (404, "invalid_request"));
    let (status, error, _) = api_error(app.show_device_code(&device, "BCDF-GHJK").await);
    assert_eq!((status, error.as_str()), (404, "invalid_request"));
}

#[tokio::test]
async fn the_state_file_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.json");
    let state = DeviceState { issuer: "http://localhost:1".into(), device_id: "d".into(), pkcs8: "k".into() };
    state.save(&path).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(DeviceState::load(&path).unwrap().device_id, "d");
}

/// `GET /api/v1/credentials/qr`: the app (device proof) or a signed-in browser gets the
/// person's identity credential, or a presentation credential of the chosen fields only; both
/// verify at `POST /api/v1/credentials/verify`.
#[tokio::test]
async fn the_app_and_the_browser_fetch_the_persons_own_qr_credentials() {
    let server = TestServer::start().await;
    let (app, device) = enroll(&server, AN).await;
    let http = backchannel();
    let url = server.url("/api/v1/credentials/qr");
    let fetch = |query: &str| {
        let proof = app.proof(&device, "GET", "/api/v1/credentials/qr", json!({})).unwrap();
        http.get(format!("{url}{query}")).header("authorization", format!("Device {proof}")).send()
    };
    let verify_url = server.url("/api/v1/credentials/verify");
    let verify = |text: String| {
        let verify_url = verify_url.clone();
        async move {
            let v: Value = backchannel().post(verify_url).json(&json!({"text": text})).send().await.unwrap().json().await.unwrap();
            v
        }
    };

    let res = fetch("").await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let identity: Value = res.json().await.unwrap();
    assert_eq!(identity["kind"], "identity");
    assert!(identity["svg"].as_str().unwrap().starts_with("data:image/svg+xml;base64,"));
    let report = verify(identity["text"].as_str().unwrap().to_string()).await;
    assert_eq!(report["valid"], true, "{report}");
    assert!(report.to_string().contains(AN.0), "the identity credential carries the personal ID: {report}");

    // The clock may tick between the server's reading and ours (a loaded CI machine did).
    let before = server.app.now();
    let presentation: Value = fetch("?fields=fullName,nationality&minutes=10").await.unwrap().json().await.unwrap();
    let after = server.app.now();
    assert_eq!(presentation["kind"], "presentation");
    assert!(presentation["nonce"].as_str().is_some_and(|n| !n.is_empty()));
    let expires_at = presentation["expires_at"].as_i64().unwrap();
    assert!((before + 600..=after + 600).contains(&expires_at), "ten minutes: {expires_at} not in {before}+600..={after}+600");
    let report = verify(presentation["text"].as_str().unwrap().to_string()).await;
    assert_eq!(report["valid"], true, "{report}");
    assert!(!report.to_string().contains(AN.0), "only the chosen fields: {report}");
    assert!(report["subject"].is_null(), "a presentation names no stable subject: {report}");
    assert!(identity["status_index"].is_u64() && presentation["status_index"].is_null(), "the app's identity credential can be revoked");

    for (query, want) in [
        ("?fields=fullName,address", "fields: address is not one of"),
        ("?fields=id&minutes=90", "minutes must be 1 to 60"),
        ("?minutes=5", "minutes applies"),
    ] {
        let res = fetch(query).await.unwrap();
        assert_eq!(res.status().as_u16(), 400, "{query}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request");
        assert!(body["error_description"].as_str().unwrap().starts_with(want), "{query}: {body}");
    }
    let res = http.get(&url).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 401, "neither a device proof nor a session");
    let proof = app.proof(&device, "GET", "/api/v1/devices", json!({})).unwrap();
    let res = http.get(&url).header("authorization", format!("Device {proof}")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 401, "a proof for another path");

    // A signed-in browser, by its session cookie.
    let browser = server.browser();
    code_for(&server, &browser, AN).await;
    let page = browser.get("/api/v1/credentials/qr?fields=id").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body: Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(body["kind"], "presentation");
}

/// `POST /api/v1/credentials/revoke`: the owner revokes a printed credential of theirs; the
/// status list then says so; somebody else's index is not found.
#[tokio::test]
async fn the_owner_revokes_a_credential_and_verifiers_see_it() {
    use nixa::credentials::issue::{self, PersonIdentity, Request, Subject};
    let server = TestServer::start().await;
    let (app, device) = enroll(&server, AN).await;
    let (binh_app, binh_device) = enroll(&server, BINH).await;
    let creds = &server.app.credentials;
    let now = server.app.now();
    let idx = creds.allocate_status(&server.app.store, AN.0, "person", now, now + 3600).await.unwrap();
    let uri = creds.status_uri();
    let identity = PersonIdentity { id: AN.0.into(), full_name: "Nguyễn Văn An".into(), ..Default::default() };
    let req = Request {
        issuer: &creds.issuer,
        subject_id: AN.0,
        subject: Subject::Person(identity.claim169(None)),
        iat: now,
        exp: now + 3600,
        nonce: None,
        status: Some((&uri, idx)),
    };
    let text = issue::issue(&creds.signer, &req).unwrap();
    let http = backchannel();
    let verify = || http.post(server.url("/api/v1/credentials/verify")).json(&json!({"text": text})).send();
    let report: Value = verify().await.unwrap().json().await.unwrap();
    assert_eq!(report["valid"], true, "{report}");

    let revoke = |a: &AppClient, d: &DeviceState, idx: u64| {
        let proof = a.proof(d, "POST", "/api/v1/credentials/revoke", json!({})).unwrap();
        http.post(server.url("/api/v1/credentials/revoke"))
            .header("authorization", format!("Device {proof}"))
            .json(&json!({"idx": idx}))
            .send()
    };
    let res = revoke(&binh_app, &binh_device, idx).await.unwrap();
    assert_eq!(res.status().as_u16(), 404, "not Binh's credential");
    let report: Value = verify().await.unwrap().json().await.unwrap();
    assert_eq!(report["valid"], true, "still valid after a refused revocation");
    let res = revoke(&app, &device, idx).await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let report: Value = verify().await.unwrap().json().await.unwrap();
    assert_eq!(report["valid"], false, "{report}");
    assert!(report.to_string().contains("revoked"), "{report}");
    assert_eq!(revoke(&app, &device, idx).await.unwrap().status().as_u16(), 404, "already revoked");
    let log = server.app.store.audit_entries(0, 1000).await.unwrap();
    assert!(log.iter().any(|e| e.event == "credential.revoked" && e.detail.contains("owner")));
}

/// `nixa qr verify --fetch-status`: the verifier fetches the issuer's signed status list from the
/// URL in the credential and keeps it for the list's `ttl`, so a revocation shows once the
/// cached list is stale (here: another cache directory), not on every scan.
#[tokio::test]
async fn an_offline_verifier_caches_the_status_list_for_its_ttl() {
    use nixa::credentials::issue::{self, PersonIdentity, Request, Subject};
    let server = TestServer::start().await;
    let creds = &server.app.credentials;
    let now = server.app.now();
    let idx = creds.allocate_status(&server.app.store, AN.0, "person", now, now + 3600).await.unwrap();
    let uri = creds.status_uri();
    let identity = PersonIdentity { id: AN.0.into(), full_name: "Nguyễn Văn An".into(), ..Default::default() };
    let req = Request {
        issuer: &creds.issuer,
        subject_id: AN.0,
        subject: Subject::Person(identity.claim169(None)),
        iat: now,
        exp: now + 3600,
        nonce: None,
        status: Some((&uri, idx)),
    };
    let text = issue::issue(&creds.signer, &req).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.json");
    let jwks = backchannel().get(server.url("/.well-known/nixa-credential-keys.json")).send().await.unwrap().bytes().await.unwrap();
    std::fs::write(&keys, &jwks).unwrap();
    let root = dir.path().to_path_buf();
    // The test runtime has one thread: the CLI runs on a blocking thread so the server answers.
    let run = move |cache: &str, fetch: bool| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_nixa"));
        c.args(["qr", "verify", "--text", &text, "--keys", keys.to_str().unwrap()]);
        if fetch {
            c.args(["--fetch-status", "--status-cache", root.join(cache).to_str().unwrap()]);
        }
        c.output().unwrap()
    };
    // Without a list and without fetching, the status cannot be established.
    assert_eq!(run.clone()("a", false).status.code(), Some(1));
    let out = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run("a", true)
    });
    let out = out.await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(std::fs::read_dir(dir.path().join("a")).unwrap().count(), 1, "the list is cached");
    assert!(server.app.store.revoke_credential(nixa::credentials::service::LIST_ID, idx as i64, None, "operator", now).await.unwrap());
    let again = tokio::task::spawn_blocking({
        let run = run.clone();
        move || (run("a", true), run("b", true))
    });
    let (cached, fresh) = again.await.unwrap();
    assert_eq!(cached.status.code(), Some(0), "within the ttl the cached list answers");
    assert_eq!(fresh.status.code(), Some(1), "a fresh list shows the revocation: {}", String::from_utf8_lossy(&fresh.stdout));
    assert!(String::from_utf8_lossy(&fresh.stdout).contains("revoked"));
}
