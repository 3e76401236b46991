//! The admin API: operator tokens with scopes, problem documents, and the operations.

use crate::common;

use common::*;
use serde_json::{Value, json};

async fn token(server: &TestServer, scopes: &[&str]) -> String {
    let t = nixa::crypto::random_token();
    let op = nixa::store::operators::OperatorToken {
        name: "tester".into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        expires_at: server.app.now() + 3600,
    };
    server.app.store.insert_operator_token(&nixa::crypto::token_hash(&t), &op, server.app.now()).await.unwrap();
    t
}

const ALL: &[&str] = &["persons:read", "persons:write", "orgs:read", "orgs:write", "clients:read", "clients:write"];

async fn call(server: &TestServer, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, String, Value) {
    let http = backchannel();
    let mut req = http.request(method.parse().unwrap(), server.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let ctype = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    let text = res.text().await.unwrap();
    (status, ctype, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn assert_problem(r: &(u16, String, Value), status: u16, kind: &str) {
    assert_eq!(r.0, status, "{:?}", r.2);
    assert_eq!(r.1, "application/problem+json");
    assert_eq!(r.2["status"], status);
    assert_eq!(r.2["type"], format!("urn:nixa:problem:{kind}"), "{:?}", r.2);
    assert!(r.2["title"].is_string() && r.2["detail"].is_string());
}

#[tokio::test]
async fn openapi_document_describes_every_operation() {
    let server = TestServer::start().await;
    let (status, _, doc) = call(&server, "GET", "/admin/v1/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in
        ["/admin/v1/persons/{personal_id}", "/admin/v1/persons/{personal_id}/lock", "/admin/v1/organisations/{code}", "/admin/v1/clients"]
    {
        assert!(paths.contains_key(p), "{p} missing");
    }
    assert_eq!(doc["components"]["securitySchemes"]["operator"]["scheme"], "bearer");
}

#[tokio::test]
async fn operator_tokens_and_scopes_are_enforced() {
    let server = TestServer::start().await;
    let path = format!("/admin/v1/persons/{}", AN.0);
    let r = call(&server, "GET", &path, None, None).await;
    assert_problem(&r, 401, "unauthorized");
    let r = call(&server, "GET", &path, Some("not-a-token"), None).await;
    assert_problem(&r, 401, "unauthorized");
    let reader = token(&server, &["orgs:read"]).await;
    let r = call(&server, "GET", &path, Some(&reader), None).await;
    assert_problem(&r, 403, "insufficient-scope");
    let ok = token(&server, &["persons:read"]).await;
    let r = call(&server, "GET", &path, Some(&ok), None).await;
    assert_eq!(r.0, 200);
    assert_eq!(r.2["given_name"], "An");
    // Expired tokens stop working.
    server.app.clock.advance(3601);
    let r = call(&server, "GET", &path, Some(&ok), None).await;
    assert_problem(&r, 401, "unauthorized");
}

#[tokio::test]
async fn persons_are_created_updated_locked_and_levelled() {
    let server = TestServer::start().await;
    let t = token(&server, ALL).await;
    let body = json!({"family_name": "Võ", "middle_name": "Thị", "given_name": "Sáu", "birthdate": "1992-07-01",
        "sex": "female", "account_level": 1, "phone": "+84987654321"});
    let r = call(&server, "PUT", "/admin/v1/persons/048192000123", Some(&t), Some(body.clone())).await;
    assert_eq!(r.0, 201, "{:?}", r.2);
    assert_eq!(r.2["status"], "active");
    let r = call(
        &server,
        "PUT",
        "/admin/v1/persons/048192000123",
        Some(&t),
        Some(json!({"family_name": "Võ", "given_name": "Sáu", "account_level": 2})),
    )
    .await;
    assert_eq!(r.0, 200);
    assert_eq!(r.2["account_level"], 2);

    assert_problem(&call(&server, "GET", "/admin/v1/persons/12345", Some(&t), None).await, 400, "invalid-request");
    assert_problem(&call(&server, "GET", "/admin/v1/persons/048192000999", Some(&t), None).await, 404, "not-found");
    let r = call(
        &server,
        "PUT",
        "/admin/v1/persons/048192000123",
        Some(&t),
        Some(json!({"family_name": "Võ", "given_name": "Sáu", "account_level": 2, "sex": "male"})),
    )
    .await;
    assert_problem(&r, 422, "invalid-field");
    assert!(r.2["detail"].as_str().unwrap().starts_with("personal_id:"), "{:?}", r.2);
    let r = call(
        &server,
        "PUT",
        "/admin/v1/persons/048192000123",
        Some(&t),
        Some(json!({"family_name": "Võ", "given_name": "Sáu", "account_level": 2, "colour": "red"})),
    )
    .await;
    assert_problem(&r, 400, "invalid-request");
    let res = backchannel().put(server.url("/admin/v1/persons/048192000123")).bearer_auth(&t).body("family_name=x").send().await.unwrap();
    assert_eq!(res.status(), 415);
    let res = backchannel()
        .put(server.url("/admin/v1/persons/048192000123"))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    let r = call(&server, "PUT", "/admin/v1/persons/048192000123/level", Some(&t), Some(json!({"account_level": 3}))).await;
    assert_problem(&r, 422, "invalid-field");
    let r = call(&server, "PUT", "/admin/v1/persons/048192000123/level", Some(&t), Some(json!({"account_level": 1}))).await;
    assert_eq!(r.2["account_level"], 1);

    // Locking ends the person's sessions and stops sign-in.
    let browser = server.browser();
    code_for(&server, &browser, AN).await;
    let r = call(&server, "POST", &format!("/admin/v1/persons/{}/lock", AN.0), Some(&t), None).await;
    assert_eq!(r.2["status"], "locked_by_operator");
    let (_, challenge) = pkce_pair();
    let page = browser.sign_in(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[]), AN).await;
    assert_eq!(page.status, 401, "the session ended and a locked account cannot sign in");
    let r = call(&server, "POST", &format!("/admin/v1/persons/{}/unlock", AN.0), Some(&t), None).await;
    assert_eq!(r.2["status"], "active");
    let audit = server.app.store.audit_entries(0, 1000).await.unwrap();
    assert!(audit.iter().filter(|e| e.event == "admin.change").count() >= 5);
}

#[tokio::test]
async fn organisations_representatives_officials_and_clients() {
    let server = TestServer::start().await;
    let t = token(&server, ALL).await;
    let r = call(
        &server,
        "PUT",
        "/admin/v1/organisations/0100233488",
        Some(&t),
        Some(json!({"name": "Công ty Thử nghiệm", "address": "Hà Nội"})),
    )
    .await;
    assert_eq!(r.0, 200, "{:?}", r.2);
    assert_eq!(r.2["kind"], "enterprise");
    let r = call(
        &server,
        "PUT",
        &format!("/admin/v1/organisations/0100233488/representatives/{}", AN.0),
        Some(&t),
        Some(json!({"role": "authorised_staff"})),
    )
    .await;
    assert_eq!(r.2["representatives"], json!([{"personal_id": AN.0, "role": "authorised_staff"}]));
    let r = call(
        &server,
        "PUT",
        &format!("/admin/v1/organisations/0100233488/representatives/{}", AN.0),
        Some(&t),
        Some(json!({"role": "boss"})),
    )
    .await;
    assert_problem(&r, 422, "invalid-field");
    assert_problem(&call(&server, "GET", "/admin/v1/organisations/0100233489", Some(&t), None).await, 400, "invalid-request");
    let r = call(&server, "PUT", "/admin/v1/organisations/000.00.18.G12", Some(&t), Some(json!({"name": "Bộ Thử nghiệm"}))).await;
    assert_eq!(r.2["kind"], "agency");
    let r = call(
        &server,
        "PUT",
        &format!("/admin/v1/officials/{}", BINH.0),
        Some(&t),
        Some(json!({"agency_code": "000.00.18.G12", "title": "Chuyên viên chính"})),
    )
    .await;
    assert_eq!(r.0, 200, "{:?}", r.2);
    assert_eq!(r.2["agency_name"], "Bộ Thử nghiệm");
    let r = call(
        &server,
        "PUT",
        &format!("/admin/v1/officials/{}", BINH.0),
        Some(&t),
        Some(json!({"agency_code": "000.00.19.G12", "title": "x"})),
    )
    .await;
    assert_problem(&r, 404, "not-found");

    let r = call(
        &server,
        "POST",
        "/admin/v1/clients",
        Some(&t),
        Some(json!({"client_name": "Cổng B", "redirect_uris": ["https://b.gov.vn/cb"], "claims_profile": "vn_hub"})),
    )
    .await;
    assert_eq!(r.0, 201, "{:?}", r.2);
    let id = r.2["client_id"].as_str().unwrap().to_string();
    let secret = r.2["client_secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 43);
    let (_, _, list) = call(&server, "GET", "/admin/v1/clients", Some(&t), None).await;
    assert!(list.as_array().unwrap().iter().any(|c| c["client_id"] == id.as_str()));
    assert!(!list.to_string().contains(&secret), "secrets are shown once only");
    let (s, _, one) = call(&server, "GET", &format!("/admin/v1/clients/{id}"), Some(&t), None).await;
    assert_eq!((s, one["claims_profile"].as_str()), (200, Some("vn_hub")));
    let r =
        call(&server, "POST", "/admin/v1/clients", Some(&t), Some(json!({"client_name": "Bad", "redirect_uris": ["http://b.gov.vn/cb"]})))
            .await;
    assert_problem(&r, 422, "invalid-field");
    // Protocol options: a FAPI 2.0 portal needs private_key_jwt and its keys.
    let fapi = |method: &str, options: serde_json::Value| json!({"client_name": "Cổng FAPI", "redirect_uris": ["https://f.gov.vn/cb"], "token_endpoint_auth_method": method, "options": options});
    let r = call(&server, "POST", "/admin/v1/clients", Some(&t), Some(fapi("client_secret_basic", json!({"profile": "fapi2"})))).await;
    assert_problem(&r, 422, "invalid-field");
    let r = call(&server, "POST", "/admin/v1/clients", Some(&t), Some(fapi("private_key_jwt", json!({"profile": "fapi2"})))).await;
    assert_problem(&r, 422, "invalid-field");
    let jwk = nixa::keys::signing::generate(nixa::keys::Alg::ES256).unwrap().public_jwk;
    let r = call(
        &server,
        "POST",
        "/admin/v1/clients",
        Some(&t),
        Some(fapi("private_key_jwt", json!({"profile": "fapi2", "jwks": {"keys": [jwk]}}))),
    )
    .await;
    assert_eq!(r.0, 201, "{:?}", r.2);
    assert_eq!(r.2["options"]["profile"], "fapi2");
    assert!(r.2.get("client_secret").is_none());
    let r = call(&server, "POST", "/admin/v1/clients", Some(&t), Some(fapi("client_secret_basic", json!({"unknown_option": 1})))).await;
    assert_problem(&r, 400, "invalid-request");
}
