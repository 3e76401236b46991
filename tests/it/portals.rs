//! Operators manage portals: disable and re-enable, rotate the secret with an overlap, edit,
//! delete; a new portal gets `openid` only. Through the admin API and the command line.

use crate::common;

use common::*;
use serde_json::{Value, json};

async fn call(server: &TestServer, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = backchannel().request(method.parse().unwrap(), server.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn introspect(server: &TestServer, secret: &str, token: &str) -> (u16, Value) {
    let res = backchannel().post(server.url("/introspect")).basic_auth(DVC, Some(secret)).form(&[("token", token)]).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn refresh(server: &TestServer, secret: &str, token: &str) -> (u16, Value) {
    let res = backchannel()
        .post(server.url("/token"))
        .basic_auth(DVC, Some(secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn a_disabled_portal_is_refused_everywhere_and_loses_its_tokens() {
    let server = TestServer::start().await;
    let op = operator_token(&server, &["clients:read", "clients:write"]).await;
    let browser = server.browser();
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("scope", "openid profile offline_access"), ("prompt", "consent")]);
    let page = browser.sign_in(&url, AN).await;
    let page = browser.consent(&page, "approve").await;
    let code = page.query("code").unwrap();
    let (s, tokens) = redeem(&server, &code, &verifier).await;
    assert_eq!(s, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let refresh_token = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(introspect(&server, DVC_SECRET, access).await.1["active"], true);

    // A reason is required.
    let (s, p) = call(&server, "POST", &format!("/admin/v1/clients/{DVC}/disable"), &op, Some(json!({"reason": " "}))).await;
    assert_eq!(s, 422, "{p}");
    let (s, cut) = call(&server, "POST", &format!("/admin/v1/clients/{DVC}/disable"), &op, Some(json!({"reason": "secret leaked"}))).await;
    assert_eq!(s, 200, "{cut}");
    assert_eq!(cut["access_tokens_revoked"], 1);
    assert_eq!(cut["refresh_tokens_revoked"], 1);

    // Every protocol endpoint now refuses the portal.
    let (s, e) = introspect(&server, DVC_SECRET, access).await;
    assert_eq!((s, e["error"].as_str()), (401, Some("invalid_client")));
    let (s, e) = refresh(&server, DVC_SECRET, refresh_token).await;
    assert_eq!((s, e["error"].as_str()), (401, Some("invalid_client")));
    let (_, challenge) = pkce_pair();
    let res = backchannel().get(authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[])).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 400, "the authorization endpoint shows an error page, never a redirect");
    let res = backchannel().get(server.url("/userinfo")).bearer_auth(access).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 401);

    let (_, shown) = call(&server, "GET", &format!("/admin/v1/clients/{DVC}"), &op, None).await;
    assert_eq!(shown["disabled"]["reason"], "secret leaked");

    // Re-enabled, it works again, but what it held stays revoked.
    let (s, _) = call(&server, "POST", &format!("/admin/v1/clients/{DVC}/enable"), &op, Some(json!({"reason": "secret rotated"}))).await;
    assert_eq!(s, 200);
    let (s, answer) = introspect(&server, DVC_SECRET, access).await;
    assert_eq!((s, &answer["active"]), (200, &json!(false)));
    let (s, e) = refresh(&server, DVC_SECRET, refresh_token).await;
    assert_eq!((s, e["error"].as_str()), (400, Some("invalid_grant")));
    let (code, verifier) = code_for(&server, &server.browser(), AN).await;
    assert_eq!(redeem(&server, &code, &verifier).await.0, 200);

    let audited: Vec<_> = events(&server).await.into_iter().filter(|(e, _, _)| e == "client.updated").collect();
    let actions: Vec<_> = audited.iter().map(|(_, _, d)| (d["action"].as_str().unwrap().to_string(), d["operator"].clone())).collect();
    assert_eq!(actions, [("disabled".to_string(), json!("registrar")), ("enabled".to_string(), json!("registrar"))]);
    assert_eq!(audited[0].2["reason"], "secret leaked");

    // A token that may only read portals cannot disable one.
    let reader = operator_token(&server, &["clients:read"]).await;
    let (s, _) = call(&server, "POST", &format!("/admin/v1/clients/{DVC}/disable"), &reader, Some(json!({"reason": "x"}))).await;
    assert_eq!(s, 403);
    let (s, _) = call(&server, "POST", "/admin/v1/clients/nobody/disable", &op, Some(json!({"reason": "x"}))).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_rotated_secret_overlaps_with_the_old_one_for_the_period_asked() {
    let server = TestServer::start().await;
    let op = operator_token(&server, &["clients:read", "clients:write"]).await;
    let path = format!("/admin/v1/clients/{DVC}/rotate-secret");
    let (s, p) = call(&server, "POST", &path, &op, Some(json!({"overlap_secs": -1}))).await;
    assert_eq!(s, 422, "{p}");
    let (s, rotated) = call(&server, "POST", &path, &op, Some(json!({"overlap_secs": 3600}))).await;
    assert_eq!(s, 200, "{rotated}");
    let fresh = rotated["client_secret"].as_str().unwrap().to_string();
    assert_eq!(rotated["previous_secret_expires_at"], server.app.now() + 3600);

    // Both secrets authenticate during the overlap (an unknown token is simply inactive)…
    assert_eq!(introspect(&server, DVC_SECRET, "not-a-token").await, (200, json!({"active": false})));
    assert_eq!(introspect(&server, &fresh, "not-a-token").await, (200, json!({"active": false})));
    assert_eq!(introspect(&server, "wrong", "not-a-token").await.0, 401);
    // …and only the new one after it.
    server.app.clock.advance(3601);
    assert_eq!(introspect(&server, DVC_SECRET, "not-a-token").await.0, 401);
    assert_eq!(introspect(&server, &fresh, "not-a-token").await.0, 200);

    // After a leak: no overlap, the old secret stops at once.
    let op = operator_token(&server, &["clients:read", "clients:write"]).await;
    let (_, again) = call(&server, "POST", &path, &op, Some(json!({"overlap_secs": 0}))).await;
    let newest = again["client_secret"].as_str().unwrap();
    assert_eq!(introspect(&server, &fresh, "not-a-token").await.0, 401);
    assert_eq!(introspect(&server, newest, "not-a-token").await.0, 200);

    // A public portal has no secret to rotate.
    let (s, p) = call(&server, "POST", &format!("/admin/v1/clients/{TINH}/rotate-secret"), &op, Some(json!({"overlap_secs": 0}))).await;
    assert_eq!(s, 409, "{p}");
    let entry = events(&server).await.into_iter().rev().find(|(e, _, d)| e == "client.updated" && d["action"] == "secret_rotated").unwrap();
    assert_eq!(entry.2["overlap_secs"], 0);
    assert!(!entry.2.to_string().contains(newest), "the secret is never audited");
}

#[tokio::test]
async fn portals_are_created_with_openid_only_edited_within_their_sector_and_deleted() {
    let server = TestServer::start().await;
    let op = operator_token(&server, &["clients:read", "clients:write"]).await;
    let (s, created) =
        call(&server, "POST", "/admin/v1/clients", &op, Some(json!({"client_name": "Cổng A", "redirect_uris": ["https://a.gov.vn/cb"]})))
            .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["scope"], "openid", "a new portal gets no personal data unless it asks for it");
    let id = created["client_id"].as_str().unwrap();
    let path = format!("/admin/v1/clients/{id}");

    let (s, edited) = call(
        &server,
        "PATCH",
        &path,
        &op,
        Some(json!({"redirect_uris": ["https://a.gov.vn/cb", "https://a.gov.vn/cb2"], "scope": "openid profile",
            "options": {"post_logout_redirect_uris": ["https://a.gov.vn/bye"]}})),
    )
    .await;
    assert_eq!(s, 200, "{edited}");
    assert_eq!(edited["redirect_uris"], json!(["https://a.gov.vn/cb", "https://a.gov.vn/cb2"]));
    assert_eq!(edited["scope"], "openid profile");
    assert_eq!(edited["options"]["post_logout_redirect_uris"], json!(["https://a.gov.vn/bye"]));
    assert_eq!(edited["client_name"], "Cổng A", "what is not sent stays");
    // The secret survives an edit.
    let stored = server.app.store.client_record(&nixa::client::ClientId::parse(id).unwrap()).await.unwrap().unwrap();
    assert!(stored.secret_matches(created["client_secret"].as_str().unwrap(), server.app.now()));

    // Moving to another host would change every person's pairwise identifier.
    let (s, p) = call(&server, "PATCH", &path, &op, Some(json!({"redirect_uris": ["https://b.gov.vn/cb"]}))).await;
    assert_eq!(s, 422, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("sector_identifier_uri"), "{p}");
    let (s, _) = call(&server, "PATCH", &path, &op, Some(json!({"scope": "openid telepathy"}))).await;
    assert_eq!(s, 422);
    let (s, _) = call(&server, "PATCH", &path, &op, Some(json!({"colour": "red"}))).await;
    assert_eq!(s, 400);
    let changed: Vec<_> = events(&server).await.into_iter().filter(|(e, _, _)| e == "client.updated").collect();
    assert_eq!(changed.len(), 1, "refused edits change and audit nothing");
    assert_eq!(changed[0].2["changed"], json!(["redirect_uris", "scope", "options"]));

    let (s, _) = call(&server, "DELETE", &path, &op, None).await;
    assert_eq!(s, 204);
    assert_eq!(call(&server, "GET", &path, &op, None).await.0, 404);
    assert_eq!(call(&server, "DELETE", &path, &op, None).await.0, 404);
    assert!(events(&server).await.iter().any(|(e, _, d)| e == "client.deleted" && d["operator"] == "registrar"));
}
