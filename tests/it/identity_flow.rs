//! Organisations, officials and the national hub's claim names, end to end.

use crate::common;

use common::*;

#[tokio::test]
async fn a_representative_acts_for_an_organisation() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("scope", "openid profile vn_org")]);
    let totp = browser.sign_in(&url, BINH).await;
    let consent = browser.submit_totp(&totp, &totp_now(&server)).await;
    assert!(consent.body.contains("data-claim=\"claim.vn_org\""), "the consent page names the organisation claim");
    let choose = browser.follow(browser.consent(&consent, "approve").await).await;
    assert!(choose.url.contains("/organisation?r="), "{}", choose.url);
    assert!(choose.body.contains(nixa::demo::ORG_TAX_CODE) && choose.body.contains("Công ty TNHH Dịch vụ số Demo"));
    let (r, csrf) = (choose.field("r"), choose.field("csrf"));
    // An organisation the person does not represent is refused.
    let forged = browser.post("/organisation", &[("r", &r), ("csrf", &csrf), ("org", "0100109106")]).await;
    assert_eq!(forged.status, 400);
    let back = browser.post("/organisation", &[("r", &r), ("csrf", &csrf), ("org", nixa::demo::ORG_TAX_CODE)]).await;
    let (status, body) = redeem(&server, &back.query("code").expect("code"), &verifier).await;
    assert_eq!(status, 200, "{body}");
    let claims = jwt_payload(body["id_token"].as_str().unwrap());
    assert_eq!(claims["vn_org"]["code"], nixa::demo::ORG_TAX_CODE);
    assert_eq!(claims["vn_org"]["role"], "legal_representative");
    assert_eq!(claims["vn_org"]["kind"], "enterprise");
    let info: serde_json::Value = backchannel()
        .get(server.url("/userinfo"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["vn_org"], claims["vn_org"]);

    // SSO: the next vn_org sign-in skips login and consent but asks for the organisation again.
    let (_, challenge) = pkce_pair();
    let again = browser
        .follow(browser.get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("scope", "openid profile vn_org")])).await)
        .await;
    assert!(again.url.contains("/organisation?r="), "{}", again.url);
    let silent = browser
        .get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("scope", "openid profile vn_org"), ("prompt", "none")]))
        .await;
    assert_eq!(silent.query("error").as_deref(), Some("interaction_required"));
}

#[tokio::test]
async fn someone_without_an_organisation_is_refused_to_the_portal() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let (_, challenge) = pkce_pair();
    let url = authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("scope", "openid vn_org")]);
    let consent = browser.sign_in(&url, AN).await;
    let back = browser.follow(browser.consent(&consent, "approve").await).await;
    assert_eq!(back.query("error").as_deref(), Some("access_denied"), "{:?} {}", back.location, back.body);
}

#[tokio::test]
async fn an_official_sign_in_carries_the_agency_code() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("scope", "openid vn_official")]);
    let consent = browser.sign_in(&url, AN).await;
    assert!(consent.body.contains("data-claim=\"claim.vn_agency_code\""));
    let back = browser.consent(&consent, "approve").await;
    let (_, body) = redeem(&server, &back.query("code").unwrap(), &verifier).await;
    let claims = jwt_payload(body["id_token"].as_str().unwrap());
    assert_eq!(claims["vn_agency_code"], nixa::demo::AGENCY_CODE);
    assert_eq!(claims["vn_title"], "Chuyên viên");
    // A non-official asking the same scope gets no agency claims.
    let other = server.browser();
    let (verifier, challenge) = pkce_pair();
    let totp = other.sign_in(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("scope", "openid vn_official")]), BINH).await;
    let consent = other.submit_totp(&totp, &totp_now(&server)).await;
    let back = other.consent(&consent, "approve").await;
    let (_, body) = redeem(&server, &back.query("code").unwrap(), &verifier).await;
    assert!(jwt_payload(body["id_token"].as_str().unwrap()).get("vn_agency_code").is_none());
}

#[tokio::test]
async fn hub_compatibility_profile_speaks_the_national_hub_claim_names() {
    let server = TestServer::start().await;
    let mut hub = nixa::demo::demo_client(&nixa::demo::CLIENTS[0]);
    hub.id = nixa::client::ClientId::parse("hub-portal").unwrap();
    hub.claims_profile = nixa::client::ClaimsProfile::VnHub;
    server.app.store.put_client(&hub, 0).await.unwrap();
    let browser = server.browser();
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(&server, "hub-portal", DVC_REDIRECT, &challenge, &[("scope", "openid profile vn_identity")]);
    let consent = browser.sign_in(&url, AN).await;
    let back = browser.consent(&consent, "approve").await;
    let res = backchannel()
        .post(server.url("/token"))
        .basic_auth("hub-portal", Some(DVC_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &back.query("code").unwrap()),
            ("redirect_uri", DVC_REDIRECT),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    let tokens: serde_json::Value = res.json().await.unwrap();
    let info: serde_json::Value = backchannel()
        .get(server.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["SoDinhDanh"], AN.0);
    assert_eq!(info["HoVaTen"], "Nguyễn Văn An");
    assert_eq!(info["NgayThangNamSinh"], "19900514");
    assert_eq!(info["LoaiTaiKhoan"], "1");
    assert_eq!(info["vn_personal_id"], AN.0, "standard names stay");
    assert_eq!(info["vn_tax_code"], AN.0, "a person's tax code is the personal ID");
    // The standard profile does not add them.
    let (code, verifier) = code_for(&server, &server.browser(), AN).await;
    let (_, tokens) = redeem(&server, &code, &verifier).await;
    let info: serde_json::Value = backchannel()
        .get(server.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(info.get("HoVaTen").is_none() && info.get("SoDinhDanh").is_none());
}
