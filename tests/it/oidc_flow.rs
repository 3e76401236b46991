//! The sign-in as a real portal performs it, with the `openidconnect` crate as the relying party.

use crate::common;

use common::*;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreIdToken, CoreProviderMetadata};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct VnClaims {
    vn_personal_id: Option<String>,
    vn_account_level: Option<i64>,
}
impl AdditionalClaims for VnClaims {}

fn rp_http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::Client::builder().redirect(openidconnect::reqwest::redirect::Policy::none()).build().expect("rp http client")
}

#[tokio::test]
async fn full_flow_with_a_certified_rp_library() {
    let server = TestServer::start().await;
    let http = rp_http();
    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(server.issuer.clone()).unwrap(), &http).await.expect("discovery");
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new(DVC.into()), Some(ClientSecret::new(DVC_SECRET.into())))
        .set_redirect_uri(RedirectUrl::new(DVC_REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("vn_identity".into()))
        .set_pkce_challenge(challenge)
        .url();

    let browser = server.browser();
    let consent = browser.sign_in(auth_url.as_str(), AN).await;
    // The consent page lists exactly what was asked for.
    for key in ["data-claim=\"claim.name\"", "data-claim=\"claim.email\"", "data-claim=\"claim.vn_personal_id\""] {
        assert!(consent.body.contains(key), "consent page lacks {key}");
    }
    assert!(!consent.body.contains("data-claim=\"claim.phone_number\""), "phone was not requested");
    let back = browser.consent(&consent, "approve").await;
    assert_eq!(back.status, 303);
    assert!(back.location.as_deref().unwrap().starts_with(&format!("{DVC_REDIRECT}?")), "back to the exact redirect URI");
    assert_eq!(back.query("state").as_deref(), Some(state.secret().as_str()));
    assert_eq!(back.query("iss").as_deref(), Some(server.issuer.as_str()), "RFC 9207 iss");
    let code = back.query("code").expect("code");

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint known")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("id_token");
    let verifier = client.id_token_verifier();
    let claims = id_token.claims(&verifier, &nonce).expect("ID token validates");
    assert_eq!(claims.issuer().as_str(), server.issuer);
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some("urn:vn:eid:loa:1"));
    let amr: Vec<_> = claims.auth_method_refs().unwrap().iter().map(|a| a.as_str().to_string()).collect();
    assert_eq!(amr, ["pwd"]);
    assert!(claims.auth_time().is_some());
    let sub = claims.subject().as_str().to_string();
    assert_ne!(sub, AN.0, "the personal ID is never the subject");
    let at_hash =
        AccessTokenHash::from_token(tokens.access_token(), id_token.signing_alg().unwrap(), id_token.signing_key(&verifier).unwrap())
            .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&at_hash));
    let payload: serde_json::Value = jwt_payload(&id_token.to_string());
    assert!(payload["sid"].as_str().is_some_and(|s| s.len() == 43));
    assert!(payload.get("name").is_none(), "profile claims go to UserInfo, not the ID token");

    let info: UserInfoClaims<VnClaims, CoreGenderClaim> = client
        .user_info(tokens.access_token().to_owned(), None)
        .expect("userinfo endpoint known")
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), sub);
    assert_eq!(info.name().and_then(|n| n.get(None)).map(|n| n.as_str()), Some("Nguyễn Văn An"));
    assert_eq!(info.birthdate().map(|b| b.as_str()), Some("1990-05-14"));
    assert_eq!(info.email().map(|e| e.as_str()), Some("an@example.vn"));
    assert_eq!(info.phone_number(), None, "phone scope was not granted");
    assert_eq!(info.additional_claims().vn_personal_id.as_deref(), Some(AN.0));
    assert_eq!(info.additional_claims().vn_account_level, Some(1));
}

#[tokio::test]
async fn tampered_id_token_signature_is_rejected_by_the_rp() {
    let server = TestServer::start().await;
    let http = rp_http();
    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(server.issuer.clone()).unwrap(), &http).await.unwrap();
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new(DVC.into()), Some(ClientSecret::new(DVC_SECRET.into())))
        .set_redirect_uri(RedirectUrl::new(DVC_REDIRECT.into()).unwrap());
    let browser = server.browser();
    let (code, pkce) = code_for(&server, &browser, AN).await;
    let (status, body) = redeem(&server, &code, &pkce).await;
    assert_eq!(status, 200);
    let jwt = body["id_token"].as_str().unwrap();
    let nonce = Nonce::new("n-456".into());
    let good: CoreIdToken = jwt.parse().unwrap();
    assert!(good.claims(&client.id_token_verifier(), &nonce).is_ok(), "untampered token validates");

    // Flip one bit of the signature.
    let (signed, sig) = jwt.rsplit_once('.').unwrap();
    let mut raw = nixa::crypto::b64url_decode(sig).unwrap();
    raw[10] ^= 0x01;
    let tampered: CoreIdToken = format!("{signed}.{}", nixa::crypto::b64url(&raw)).parse().unwrap();
    assert!(tampered.claims(&client.id_token_verifier(), &nonce).is_err(), "bad signature must fail");

    // Change the payload, keep the signature.
    let mut claims = jwt_payload(jwt);
    claims["sub"] = serde_json::json!("someone-else");
    let header = jwt.split('.').next().unwrap();
    let forged = format!("{header}.{}.{sig}", nixa::crypto::b64url(claims.to_string().as_bytes()));
    let forged: CoreIdToken = forged.parse().unwrap();
    assert!(forged.claims(&client.id_token_verifier(), &nonce).is_err(), "altered payload must fail");
}

#[tokio::test]
async fn sso_across_two_portals_without_signing_in_again() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let (code, verifier) = code_for(&server, &browser, AN).await;
    let (_, first) = redeem(&server, &code, &verifier).await;
    let first_claims = jwt_payload(first["id_token"].as_str().unwrap());

    // Portal B (a public client) in the same browser: no login page, only its own consent.
    let (verifier_b, challenge_b) = pkce_pair();
    let url = authorize_url(&server, TINH, TINH_REDIRECT, &challenge_b, &[]);
    let page = browser.follow(browser.get(&url).await).await;
    assert!(page.url.contains("/consent?r="), "SSO goes straight to consent, got {}", page.url);
    let back = browser.consent(&page, "approve").await;
    let code_b = back.query("code").expect("code for portal B");
    let res = backchannel()
        .post(server.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code_b),
            ("redirect_uri", TINH_REDIRECT),
            ("code_verifier", &verifier_b),
            ("client_id", TINH),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "public client redeems with PKCE only");
    let body: serde_json::Value = res.json().await.unwrap();
    let b_claims = jwt_payload(body["id_token"].as_str().unwrap());
    assert_eq!(b_claims["sid"], first_claims["sid"], "one browser session");
    assert_eq!(b_claims["auth_time"], first_claims["auth_time"], "no new authentication");
    assert_eq!(b_claims["aud"], TINH);

    // Portal A again: consent remembered, session reused: straight back with a code.
    let (_, challenge) = pkce_pair();
    let again = browser.get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[])).await;
    assert_eq!(again.status, 303);
    assert!(again.location.as_deref().unwrap().starts_with(DVC_REDIRECT), "{:?}", again.location);
    assert!(again.query("code").is_some());

    // prompt=login forces the login page despite the session.
    let forced = browser.follow(browser.get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("prompt", "login")])).await).await;
    assert!(forced.url.contains("/login?r="), "prompt=login shows the login page");

    // max_age exceeded forces it too.
    server.app.clock.advance(120);
    let aged = browser.follow(browser.get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("max_age", "60")])).await).await;
    assert!(aged.url.contains("/login?r="), "max_age=60 after 120 s shows the login page");
    let fresh_enough = browser.get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("max_age", "3600")])).await;
    assert!(fresh_enough.query("code").is_some(), "max_age=3600 reuses the session");

    // prompt=none with the session works silently; another browser gets login_required.
    let silent = browser.get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("prompt", "none")])).await;
    assert!(silent.query("code").is_some());
    let stranger = server.browser().get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("prompt", "none")])).await;
    assert_eq!(stranger.query("error").as_deref(), Some("login_required"));
    assert_eq!(stranger.query("state").as_deref(), Some("st-123"));
    assert_eq!(stranger.query("iss").as_deref(), Some(server.issuer.as_str()));
}

#[tokio::test]
async fn pairwise_subjects_differ_between_sectors_and_public_for_first_party() {
    let server = TestServer::start().await;
    let mut other = nixa::demo::demo_client(&nixa::demo::CLIENTS[0]);
    other.id = nixa::client::ClientId::parse("other-sector").unwrap();
    other.redirect_uris = vec!["https://portal.other.gov.vn/cb".into()];
    other.sector = "portal.other.gov.vn".into();
    server.app.store.put_client(&other, 0).await.unwrap();
    let mut first = other.clone();
    first.id = nixa::client::ClientId::parse("first-party").unwrap();
    first.first_party = true;
    server.app.store.put_client(&first, 0).await.unwrap();

    let browser = server.browser();
    let (code, verifier) = code_for(&server, &browser, AN).await;
    let (_, a) = redeem(&server, &code, &verifier).await;
    let sub_a = jwt_payload(a["id_token"].as_str().unwrap())["sub"].as_str().unwrap().to_string();

    let mut subs = Vec::new();
    for id in ["other-sector", "first-party"] {
        let (verifier, challenge) = pkce_pair();
        let page = browser.follow(browser.get(&authorize_url(&server, id, "https://portal.other.gov.vn/cb", &challenge, &[])).await).await;
        let back = browser.consent(&page, "approve").await;
        let code = back.query("code").unwrap();
        let res = backchannel()
            .post(server.url("/token"))
            .basic_auth(id, Some(DVC_SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://portal.other.gov.vn/cb"),
                ("code_verifier", &verifier),
            ])
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = res.json().await.unwrap();
        subs.push(jwt_payload(body["id_token"].as_str().unwrap())["sub"].as_str().unwrap().to_string());
    }
    assert_ne!(sub_a, subs[0], "different sectors, different pairwise subjects");
    let person = server.app.store.person_for_login(&nixa::identity::PersonalId::parse(AN.0).unwrap()).await.unwrap().unwrap().0;
    assert_eq!(subs[1], person.id, "first-party portals get the public subject");
}

#[tokio::test]
async fn totp_second_factor_gives_multi_factor_acr_and_codes_work_once() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("acr_values", "urn:vn:eid:loa:2")]);
    let totp_page = browser.sign_in(&url, BINH).await;
    let code = nixa::authn::totp::current_code(nixa::demo::DEMO_TOTP_SECRET, server.app.now()).unwrap();
    let wrong = browser.submit_totp(&totp_page, if code == "000000" { "111111" } else { "000000" }).await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("role=\"alert\""));
    let consent = browser.submit_totp(&wrong, &code).await;
    let back = browser.consent(&consent, "approve").await;
    let (status, body) = redeem(&server, &back.query("code").unwrap(), &verifier).await;
    assert_eq!(status, 200);
    let claims = jwt_payload(body["id_token"].as_str().unwrap());
    assert_eq!(claims["acr"], "urn:vn:eid:loa:2");
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));

    // The same TOTP code in another browser is refused: every code is single use.
    let other = server.browser();
    let (_, challenge) = pkce_pair();
    let page = other.sign_in(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[]), BINH).await;
    let replay = other.submit_totp(&page, &code).await;
    assert_eq!(replay.status, 401, "a used TOTP code is refused");
}

#[tokio::test]
async fn weaker_session_steps_up_for_a_higher_acr() {
    let server = TestServer::start().await;
    let browser = server.browser();
    code_for(&server, &browser, AN).await; // a loa:1 session
    let (_, challenge) = pkce_pair();
    let page = browser.follow(browser.get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("acr_values", "LoA2")])).await).await;
    assert!(page.url.contains("/login?r="), "a loa:1 session does not satisfy LoA2");
    assert!(page.body.contains("class=\"notice\""), "the login page explains the step-up");
    // The same session satisfies loa:1 silently.
    let ok = browser
        .get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("acr_values", "urn:vn:eid:loa:1"), ("prompt", "none")]))
        .await;
    assert!(ok.query("code").is_some());
    // prompt=none cannot step up.
    let none = browser.get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("acr_values", "LoA2"), ("prompt", "none")])).await;
    assert_eq!(none.query("error").as_deref(), Some("login_required"));
}

#[tokio::test]
async fn consent_denied_and_prompt_consent() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let (_, challenge) = pkce_pair();
    let url = authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[]);
    let consent = browser.sign_in(&url, AN).await;
    let denied = browser.consent(&consent, "deny").await;
    assert_eq!(denied.query("error").as_deref(), Some("access_denied"));
    assert_eq!(denied.query("state").as_deref(), Some("st-123"));
    // Nothing was remembered: prompt=none now needs consent.
    let none = browser.get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("prompt", "none")])).await;
    assert_eq!(none.query("error").as_deref(), Some("consent_required"));
    // Approve, then prompt=consent asks again even though it is remembered.
    let page = browser.follow(browser.get(&url).await).await;
    browser.consent(&page, "approve").await;
    let again = browser.follow(browser.get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("prompt", "consent")])).await).await;
    assert!(again.url.contains("/consent?r="));
    // A wider request asks only because of the new scope.
    let wider = browser
        .follow(browser.get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("scope", "openid profile phone")])).await)
        .await;
    assert!(wider.url.contains("/consent?r="));
    assert!(wider.body.contains("data-claim=\"claim.phone_number\""));
}

#[tokio::test]
async fn pages_speak_vietnamese_by_default_and_english_on_request() {
    let server = TestServer::start().await;
    let (_, challenge) = pkce_pair();
    let vi = server.browser();
    let page = vi.follow(vi.get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[])).await).await;
    assert!(page.body.contains("<html lang=\"vi\">") && page.body.contains("Số định danh cá nhân"));
    let en = server.browser();
    let page = en.follow(en.get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("ui_locales", "fr en")])).await).await;
    assert!(page.body.contains("<html lang=\"en\">") && page.body.contains("Personal identification number"));
    // The switch link turns the page Vietnamese and is remembered.
    let r = page.field("r");
    let switched = en.get(&format!("/login?r={r}&lang=vi")).await;
    assert!(switched.body.contains("<html lang=\"vi\">"));
    let again = en.get(&format!("/login?r={r}")).await;
    assert!(again.body.contains("<html lang=\"vi\">"), "the choice is remembered");
    // Accessible markup: labelled inputs, a main landmark, a skip link.
    assert!(
        page.body.contains("<label for=\"personal_id\">")
            && page.body.contains("<main id=\"main\">")
            && page.body.contains("class=\"skip\"")
    );
}

#[tokio::test]
async fn rs256_per_client_validates_with_the_rp_library() {
    let server = TestServer::start().await;
    let mut rs = nixa::demo::demo_client(&nixa::demo::CLIENTS[0]);
    rs.id = nixa::client::ClientId::parse("rs256-portal").unwrap();
    rs.id_token_alg = nixa::keys::Alg::RS256;
    server.app.store.put_client(&rs, 0).await.unwrap();
    let http = rp_http();
    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(server.issuer.clone()).unwrap(), &http).await.unwrap();
    let client =
        CoreClient::from_provider_metadata(metadata, ClientId::new("rs256-portal".into()), Some(ClientSecret::new(DVC_SECRET.into())))
            .set_redirect_uri(RedirectUrl::new(DVC_REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, _, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .set_pkce_challenge(challenge)
        .url();
    let browser = server.browser();
    let consent = browser.sign_in(auth_url.as_str(), AN).await;
    let back = browser.consent(&consent, "approve").await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(back.query("code").unwrap()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let id_token = tokens.id_token().unwrap();
    assert_eq!(*id_token.signing_alg().unwrap(), openidconnect::core::CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256);
    id_token.claims(&client.id_token_verifier(), &nonce).expect("RS256 ID token validates");
}
