//! The federation hub with real upstream OpenID providers: a second nixa instance, panva
//! `oidc-provider` (tests/upstream/provider.js) and a deliberately faulty provider that signs
//! real JWS (tests/upstream/rogue.js). A portal signs in with the `openidconnect` crate and
//! receives our tokens. Needs `npm ci` in tests/upstream (tests/run does it).

use crate::common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use nixa::federation::config::{ClaimMapping, UpstreamConfig};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreProviderMetadata};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    RedirectUrl, Scope, TokenResponse, UserInfoClaims,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const HUB_CLIENT: &str = "nixa-hub";
const HUB_SECRET: &str = "hub-secret-for-tests-only-0123456789";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct VnClaims {
    vn_personal_id: Option<String>,
}
impl AdditionalClaims for VnClaims {}

fn upstream(id: &str, issuer: &str, scopes: &[&str], trust: &str) -> UpstreamConfig {
    UpstreamConfig {
        id: id.into(),
        display_name: format!("Upstream {id}"),
        logo_url: None,
        issuer: issuer.into(),
        client_id: HUB_CLIENT.into(),
        client_secret: Some(HUB_SECRET.into()),
        client_auth: "client_secret_basic".into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        pkce: true,
        trust_level: trust.into(),
        trust_personal_id: true,
        personal_id_verified_claim: None,
        claims: ClaimMapping::default(),
        first_sign_in: "link".into(),
        timeout_secs: 2,
    }
}

/// A Node upstream started from tests/upstream; killed when dropped.
pub(crate) struct Node {
    child: tokio::process::Child,
    port: u16,
    pub(crate) lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl Node {
    async fn start(script: &str) -> Self {
        Self::start_with(script, &[]).await
    }

    pub(crate) async fn start_with(script: &str, env: &[(&str, &str)]) -> Self {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/upstream");
        assert!(dir.join("node_modules/oidc-provider").exists(), "run `npm ci` in tests/upstream first");
        let mut child = tokio::process::Command::new("node")
            .arg(script)
            .envs(env.iter().copied())
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await.expect("node starts").unwrap().unwrap();
        let port = first.strip_prefix("listening ").expect("listening PORT").parse().unwrap();
        Self { child, port, lines }
    }

    pub(crate) fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// provider.js: tells it the hub's redirect URI and waits until it is configured.
    pub(crate) async fn configure(&mut self, redirect_uri: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(format!("{redirect_uri}\n").as_bytes()).await.unwrap();
        stdin.flush().await.unwrap();
        let line = tokio::time::timeout(Duration::from_secs(10), self.lines.next_line()).await.unwrap().unwrap().unwrap();
        assert_eq!(line, "ready");
    }
}

pub(crate) fn absolute(base: &str, loc: &str) -> String {
    url::Url::parse(base).unwrap().join(loc).unwrap().to_string()
}

/// Follows redirects across the hub and the upstream until a page shows or the browser is sent
/// back to the portal.
pub(crate) async fn walk(b: &Browser, mut page: Page) -> Page {
    for _ in 0..20 {
        match page.location.clone() {
            Some(loc) if !loc.starts_with(DVC_REDIRECT) => page = b.get(&absolute(&page.url, &loc)).await,
            _ => return page,
        }
    }
    panic!("redirect loop");
}

struct Portal {
    client: CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    http: openidconnect::reqwest::Client,
}

struct Started {
    url: String,
    nonce: Nonce,
    verifier: openidconnect::PkceCodeVerifier,
}

impl Portal {
    async fn new(hub: &TestServer) -> Self {
        let http = openidconnect::reqwest::Client::builder().redirect(openidconnect::reqwest::redirect::Policy::none()).build().unwrap();
        let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(hub.issuer.clone()).unwrap(), &http).await.unwrap();
        let client = CoreClient::from_provider_metadata(metadata, ClientId::new(DVC.into()), Some(ClientSecret::new(DVC_SECRET.into())))
            .set_redirect_uri(RedirectUrl::new(DVC_REDIRECT.into()).unwrap());
        Self { client, http }
    }

    fn start(&self, extra: &[(&str, &str)]) -> Started {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req = self
            .client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("vn_identity".into()))
            .set_pkce_challenge(challenge);
        for (k, v) in extra {
            req = req.add_extra_param(*k, *v);
        }
        let (url, _, nonce) = req.url();
        Started { url: url.to_string(), nonce, verifier }
    }

    /// Approves at the hub's consent page and redeems the code: (acr, amr, personal ID, name).
    async fn finish(&self, b: &Browser, page: Page, s: Started) -> (String, Vec<String>, String, String, serde_json::Value) {
        // Consent already given at the hub: straight back to the portal.
        let back = if page.location.as_deref().is_some_and(|l| l.starts_with(DVC_REDIRECT)) {
            page
        } else {
            assert!(page.url.contains("/consent?r="), "expected the hub's consent page at {}:\n{}", page.url, page.body);
            b.consent(&page, "approve").await
        };
        let code = back.query("code").expect("a code for the portal");
        let tokens = self
            .client
            .exchange_code(AuthorizationCode::new(code))
            .unwrap()
            .set_pkce_verifier(s.verifier)
            .request_async(&self.http)
            .await
            .unwrap();
        let id_token = tokens.id_token().unwrap();
        let claims = id_token.claims(&self.client.id_token_verifier(), &s.nonce).expect("our ID token validates at the portal");
        let acr = claims.auth_context_ref().unwrap().as_str().to_string();
        let amr = claims.auth_method_refs().map(|v| v.iter().map(|a| a.as_str().to_string()).collect()).unwrap_or_default();
        let info: UserInfoClaims<VnClaims, CoreGenderClaim> =
            self.client.user_info(tokens.access_token().to_owned(), None).unwrap().request_async(&self.http).await.unwrap();
        let name = info.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_string()).unwrap_or_default();
        let mut raw = serde_json::to_value(&info).unwrap();
        raw["our_id_token"] = serde_json::json!(id_token.to_string());
        (acr, amr, info.additional_claims().vn_personal_id.clone().unwrap_or_default(), name, raw)
    }
}

async fn audit_events(server: &TestServer, event: &str) -> Vec<serde_json::Value> {
    let entries = server.app.store.audit_entries(0, 10_000).await.unwrap();
    entries.iter().filter(|e| e.event == event).map(|e| serde_json::from_str(&e.detail).unwrap()).collect()
}

#[tokio::test]
async fn citizen_signs_in_at_a_portal_through_a_second_nixa() {
    let up = TestServer::start_with(|c| c.issuer = c.issuer.as_ref().map(|i| i.replace("localhost", "127.0.0.1"))).await;
    let up_issuer = up.app.settings.issuer_str.clone();
    let hub = TestServer::start_with(|c| {
        c.upstreams = vec![upstream("nixa-b", &up_issuer, &["openid", "profile", "vn_identity"], "urn:vn:eid:loa:2")]
    })
    .await;
    // The hub is a confidential client of the upstream nixa.
    let mut client = nixa::demo::demo_client(&nixa::demo::CLIENTS[0]);
    client.id = nixa::client::ClientId::parse(HUB_CLIENT).unwrap();
    client.name = "Hub".into();
    client.secret_hash = Some(nixa::crypto::token_hash(HUB_SECRET));
    client.redirect_uris = vec![hub.url("/login/upstream/callback")];
    client.sector = "localhost".into();
    client.options.post_logout_redirect_uris = vec![hub.url("/logout/upstream/done")];
    up.app.store.put_client(&client, 0).await.unwrap();

    let portal = Portal::new(&hub).await;
    let b = hub.browser();
    // Without a hint the login page offers the upstream.
    let s = portal.start(&[]);
    let login = walk(&b, b.get(&s.url).await).await;
    assert!(login.body.contains("data-upstream=\"nixa-b\""), "login page offers the upstream:\n{}", login.body);
    let link = format!("/login/upstream/nixa-b?r={}", login.field("r"));
    assert!(login.body.contains(&link));

    // The person picks it, signs in at the upstream nixa with a password and consents there.
    let at_up = walk(&b, b.get(&link).await).await;
    assert!(at_up.url.starts_with(&format!("{up_issuer}/login?r=")), "at the upstream's login page: {}", at_up.url);
    let (r, csrf) = (at_up.field("r"), at_up.field("csrf"));
    let page =
        walk(&b, b.post(&format!("{up_issuer}/login"), &[("r", &r), ("csrf", &csrf), ("personal_id", AN.0), ("password", AN.1)]).await)
            .await;
    assert!(page.url.starts_with(&format!("{up_issuer}/consent")), "upstream consent: {}", page.url);
    let (r, csrf) = (page.field("r"), page.field("csrf"));
    let page = walk(&b, b.post(&format!("{up_issuer}/consent"), &[("r", &r), ("csrf", &csrf), ("decision", "approve")]).await).await;
    let (acr, amr, pid, name, raw) = portal.finish(&b, page, s).await;
    assert_eq!(acr, "urn:vn:eid:loa:1", "the upstream's level, within the trust level");
    assert_eq!(amr, ["pwd"], "amr carried from the upstream");
    assert_eq!(pid, AN.0, "the hub's account of the same person");
    assert_eq!(name, "Nguyễn Văn An");
    let linked = audit_events(&hub, "upstream.linked").await;
    assert_eq!(linked.len(), 1);
    let ok = audit_events(&hub, "login.succeeded").await;
    assert_eq!(ok.last().unwrap()["upstream"], "nixa-b");

    // The portal logs the person out: the hub ends its session, then the upstream's (RP-initiated
    // logout there with the upstream ID token), and the browser lands back at the portal.
    let mut logout = url::Url::parse(&hub.url("/logout")).unwrap();
    logout
        .query_pairs_mut()
        .append_pair("id_token_hint", raw["our_id_token"].as_str().unwrap())
        .append_pair("post_logout_redirect_uri", "http://localhost:9000/logged-out")
        .append_pair("state", "bye");
    let mut page = b.get(logout.as_str()).await;
    let mut visited_upstream = false;
    for _ in 0..10 {
        let Some(loc) = page.location.clone() else { break };
        if loc.starts_with("http://localhost:9000/") {
            break;
        }
        visited_upstream |= loc.starts_with(&format!("{up_issuer}/logout"));
        page = b.get(&absolute(&page.url, &loc)).await;
    }
    assert!(visited_upstream, "the hub sent the browser to the upstream's end_session_endpoint");
    assert_eq!(page.location.as_deref(), Some("http://localhost:9000/logged-out?state=bye"), "{}", page.body);
    let up_logouts = up.app.store.audit_entries(0, 10_000).await.unwrap();
    assert!(up_logouts.iter().any(|e| e.event == "session.logged_out"), "the upstream session ended");

    // Next time, with idp_hint, straight to the upstream (whose session has ended: its login
    // page); consent is remembered on both sides, so the portal gets its code right after.
    let s = portal.start(&[("idp_hint", "nixa-b")]);
    let at_up = walk(&b, b.get(&s.url).await).await;
    assert!(at_up.url.starts_with(&format!("{up_issuer}/login?r=")), "idp_hint skips the hub's login page: {}", at_up.url);
    let (r, csrf) = (at_up.field("r"), at_up.field("csrf"));
    let page =
        walk(&b, b.post(&format!("{up_issuer}/login"), &[("r", &r), ("csrf", &csrf), ("personal_id", AN.0), ("password", AN.1)]).await)
            .await;
    assert!(page.location.as_deref().is_some_and(|l| l.starts_with(DVC_REDIRECT)), "back at the portal, got {}:\n{}", page.url, page.body);
    assert_eq!(audit_events(&hub, "upstream.linked").await.len(), 1, "the existing link is used");
}

#[tokio::test]
async fn citizen_signs_in_through_panva_oidc_provider_with_vietnamese_claims() {
    let mut node = Node::start("provider.js").await;
    let mut cfg = upstream("vn-hub", &node.issuer(), &["openid", "vn"], "LoA2");
    cfg.claims = ClaimMapping { personal_id: "SoDinhDanh".into(), name: "HoVaTen".into(), birthdate: "NgayThangNamSinh".into() };
    cfg.personal_id_verified_claim = Some("vn_personal_id_verified".into());
    cfg.first_sign_in = "create".into();
    let hub = TestServer::start_with(|c| c.upstreams = vec![cfg]).await;
    node.configure(&hub.url("/login/upstream/callback")).await;
    let portal = Portal::new(&hub).await;

    let sign_in = async |who: &str, extra: &[(&str, &str)]| -> (Browser, Page, Started) {
        let b = hub.browser();
        let mut params = vec![("idp_hint", "vn-hub")];
        params.extend_from_slice(extra);
        let s = portal.start(&params);
        let form = walk(&b, b.get(&s.url).await).await;
        assert!(form.url.contains("/interaction/"), "at oidc-provider's login: {}\n{}", form.url, form.body);
        let action = form.body.split("action=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let page = walk(&b, b.post(&absolute(&form.url, &action), &[("login", who)]).await).await;
        (b, page, s)
    };

    // Verified, level 2 asserted as "2", trusted up to LoA2.
    let (b, page, s) = sign_in("an", &[]).await;
    let (acr, amr, pid, name, _) = portal.finish(&b, page, s).await;
    assert_eq!(acr, "urn:vn:eid:loa:2");
    assert_eq!(amr, ["pwd", "otp"]);
    assert_eq!(pid, AN.0, "linked on SoDinhDanh to the existing account");
    assert_eq!(name, "Nguyễn Văn An");

    // Asserts LoA3: capped at the trust level LoA2, never more.
    let (b, page, s) = sign_in("greedy", &[]).await;
    let (acr, _, pid, _, _) = portal.finish(&b, page, s).await;
    assert_eq!(acr, "urn:vn:eid:loa:2", "capped by the trust level");
    assert_eq!(pid, BINH.0);

    // Unverified personal ID (even one that exists here): no link, a clear page, an audit event.
    let (_, page, _) = sign_in("unverified", &[("ui_locales", "en")]).await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("has not verified your personal identification number"), "{}", page.body);
    assert!(hub.app.store.upstream_link("vn-hub", "unverified").await.unwrap().is_none(), "no link on an unverified ID");
    let failed = audit_events(&hub, "upstream.failed").await;
    assert!(failed.iter().any(|d| d["reason"] == "personal_id_unverified" && d["upstream"] == "vn-hub"), "{failed:?}");
    // The same page in Vietnamese.
    let (_, page, _) = sign_in("unverified", &[]).await;
    assert!(page.body.contains("chưa xác minh số định danh cá nhân"), "{}", page.body);

    // First sign-in of someone unknown here: the policy creates the account from the claims.
    let (b, page, s) = sign_in("newcomer", &[]).await;
    let (acr, _, pid, name, raw) = portal.finish(&b, page, s).await;
    assert_eq!(acr, "urn:vn:eid:loa:1");
    assert_eq!(pid, "001095012345");
    assert_eq!(name, "Lê Minh Châu", "HoVaTen mapped");
    assert_eq!(raw["birthdate"], "1995-09-03", "NgayThangNamSinh mapped from the national hub's YYYYMMDD");
}

#[tokio::test]
async fn bad_upstream_tokens_are_refused_and_a_good_one_is_capped() {
    let node = Node::start("rogue.js").await;
    let hub = TestServer::start_with(|c| c.upstreams = vec![upstream("rogue", &node.issuer(), &["openid"], "LoA1")]).await;
    let portal = Portal::new(&hub).await;
    let control = reqwest::Client::new();
    for mode in ["wrong_aud", "wrong_nonce", "bad_sig", "expired", "bad_at_hash", "wrong_iss"] {
        control.get(format!("{}/mode?m={mode}", node.issuer())).send().await.unwrap();
        let b = hub.browser();
        let s = portal.start(&[("idp_hint", "rogue"), ("ui_locales", "en")]);
        let page = walk(&b, b.get(&s.url).await).await;
        assert_eq!(page.status, 502, "{mode}: {}", page.body);
        assert!(page.body.contains("could not be verified"), "{mode}: {}", page.body);
        assert!(hub.app.store.upstream_link("rogue", "rogue-subject-1").await.unwrap().is_none());
    }
    let failed = audit_events(&hub, "upstream.failed").await;
    assert_eq!(failed.iter().filter(|d| d["reason"] == "bad_token").count(), 6, "{failed:?}");

    // A token endpoint that never answers: the page comes within the configured 2 s.
    control.get(format!("{}/mode?m=slow", node.issuer())).send().await.unwrap();
    let b = hub.browser();
    let s = portal.start(&[("idp_hint", "rogue"), ("ui_locales", "en")]);
    let started = Instant::now();
    let page = walk(&b, b.get(&s.url).await).await;
    assert!(started.elapsed() < Duration::from_secs(4), "took {:?}", started.elapsed());
    assert_eq!(page.status, 502);
    assert!(page.body.contains("not answering"), "{}", page.body);

    // The same provider with a sound token: accepted, and its acr "2" capped to LoA1.
    control.get(format!("{}/mode?m=ok", node.issuer())).send().await.unwrap();
    let b = hub.browser();
    let s = portal.start(&[("idp_hint", "rogue")]);
    let page = walk(&b, b.get(&s.url).await).await;
    let (acr, amr, pid, _, _) = portal.finish(&b, page, s).await;
    assert_eq!(acr, "urn:vn:eid:loa:1", "capped by the trust level");
    assert_eq!(amr, ["pwd", "otp"]);
    assert_eq!(pid, AN.0);
}

#[tokio::test]
async fn unreachable_upstream_gives_a_page_within_the_timeout() {
    // The process's metrics recorder (shared by the tests in this binary): the upstream calls
    // are counted by upstream, call and outcome.
    let metrics = nixa::metrics::handle().expect("a Prometheus recorder");
    // One port that refuses connections, one that accepts and never answers.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    let hub = TestServer::start_with(|c| {
        c.upstreams = vec![
            upstream("down", &format!("http://127.0.0.1:{closed}"), &["openid"], "LoA2"),
            upstream("slow", &format!("http://127.0.0.1:{silent_port}"), &["openid"], "LoA2"),
        ]
    })
    .await;
    let portal = Portal::new(&hub).await;
    for id in ["down", "slow"] {
        let b = hub.browser();
        let s = portal.start(&[("idp_hint", id), ("ui_locales", "en")]);
        let started = Instant::now();
        let page = walk(&b, b.get(&s.url).await).await;
        assert!(started.elapsed() < Duration::from_secs(4), "{id}: took {:?}", started.elapsed());
        assert_eq!(page.status, 502, "{id}: {}", page.body);
        assert!(page.body.contains("not answering"), "{id}: {}", page.body);
    }
    let failed = audit_events(&hub, "upstream.failed").await;
    assert_eq!(failed.iter().filter(|d| d["reason"] == "unreachable").count(), 2, "{failed:?}");
    let text = metrics.render();
    for id in ["down", "slow"] {
        let counted = text.lines().any(|l| {
            l.starts_with("nixa_upstream_calls_total{")
                && l.contains(&format!("upstream=\"{id}\""))
                && l.contains("op=\"discovery\"")
                && l.contains("outcome=\"unreachable\"")
        });
        assert!(counted, "{id} counted as unreachable:\n{text}");
    }
    // Three people at once on the silent upstream: each answered within the timeout, none
    // queued behind another's discovery.
    let started = Instant::now();
    let one = async || {
        let b = hub.browser();
        let s = portal.start(&[("idp_hint", "slow"), ("ui_locales", "en")]);
        walk(&b, b.get(&s.url).await).await.status
    };
    let statuses = tokio::join!(one(), one(), one());
    assert_eq!(statuses, (502, 502, 502));
    assert!(started.elapsed() < Duration::from_secs(4), "three at once took {:?}", started.elapsed());
    hold.abort();
}

#[tokio::test]
async fn link_and_unlink_from_the_account_page() {
    let mut node = Node::start("provider.js").await;
    let mut cfg = upstream("vn-hub", &node.issuer(), &["openid", "vn"], "LoA2");
    cfg.claims = ClaimMapping { personal_id: "SoDinhDanh".into(), name: "HoVaTen".into(), birthdate: "NgayThangNamSinh".into() };
    cfg.personal_id_verified_claim = Some("vn_personal_id_verified".into());
    let hub = TestServer::start_with(|c| c.upstreams = vec![cfg]).await;
    node.configure(&hub.url("/login/upstream/callback")).await;
    let via = async |who: &str| -> (Browser, Page) {
        let b = hub.browser();
        let account = b.sign_in("/account/signin", AN).await;
        assert_eq!(account.status, 200, "{}", account.body);
        assert!(account.body.contains("data-upstream=\"vn-hub\" data-linked=\"false\""), "{}", account.body);
        let form = walk(&b, b.get("/account/upstreams/link/vn-hub").await).await;
        assert!(form.url.contains("/interaction/"), "at oidc-provider: {}\n{}", form.url, form.body);
        let action = form.body.split("action=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let page = walk(&b, b.post(&absolute(&form.url, &action), &[("login", who)]).await).await;
        (b, page)
    };
    // The upstream identifies someone else (Bình): nothing is linked, to anyone.
    let (_, page) = via("greedy").await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(hub.app.store.upstream_link("vn-hub", "greedy").await.unwrap().is_none());
    assert!(audit_events(&hub, "upstream.failed").await.iter().any(|d| d["reason"] == "other_account"));

    // The upstream confirms An's personal ID: linked, shown on the account page.
    let (b, page) = via("an").await;
    assert_eq!(page.status, 200, "{} {:?} {}", page.status, page.location, page.body);
    assert!(page.url.ends_with("/account"), "{}", page.url);
    assert!(page.body.contains("data-upstream=\"vn-hub\" data-linked=\"true\""), "{}", page.body);
    assert!(hub.app.store.upstream_link("vn-hub", "an").await.unwrap().is_some());

    // Unlink.
    let csrf = page.field("csrf");
    let done = b.post("/account/upstreams/unlink", &[("csrf", &csrf), ("upstream", "vn-hub")]).await;
    assert_eq!(done.status, 303);
    assert!(hub.app.store.upstream_link("vn-hub", "an").await.unwrap().is_none());
    assert_eq!(audit_events(&hub, "upstream.unlinked").await.len(), 1);
    let again = b.post("/account/upstreams/unlink", &[("csrf", &csrf), ("upstream", "vn-hub")]).await;
    assert_eq!(again.status, 404);
}

#[tokio::test]
async fn operators_add_and_remove_upstreams_through_the_admin_api() {
    let node = Node::start("rogue.js").await;
    let hub = TestServer::start_with(|c| c.upstreams = vec![upstream("fixed", "https://fixed.example.gov.vn", &["openid"], "LoA2")]).await;
    let t = nixa::crypto::random_token();
    let op = nixa::store::operators::OperatorToken {
        name: "tester".into(),
        scopes: vec!["upstreams:read".into(), "upstreams:write".into()],
        expires_at: hub.app.now() + 3600,
    };
    hub.app.store.insert_operator_token(&nixa::crypto::token_hash(&t), &op, hub.app.now()).await.unwrap();
    let http = backchannel();
    let put = async |id: &str, body: serde_json::Value| {
        let res = http.put(hub.url(&format!("/admin/v1/upstreams/{id}"))).bearer_auth(&t).json(&body).send().await.unwrap();
        let status = res.status().as_u16();
        let ctype = res.headers()["content-type"].to_str().unwrap().to_string();
        (status, ctype, res.json::<serde_json::Value>().await.unwrap())
    };
    let mut cfg = serde_json::to_value(upstream("rogue", &node.issuer(), &["openid"], "LoA1")).unwrap();

    // Invalid: a trust level that is no acr; an id that nixa.toml owns.
    let mut bad = cfg.clone();
    bad["trust_level"] = serde_json::json!("gold");
    let (status, ctype, body) = put("rogue", bad).await;
    assert_eq!((status, ctype.as_str()), (422, "application/problem+json"), "{body}");
    assert_eq!(body["type"], "urn:nixa:problem:invalid-field");
    cfg["id"] = serde_json::json!("fixed");
    let (status, _, body) = put("fixed", cfg.clone()).await;
    assert_eq!(status, 409, "{body}");
    cfg["id"] = serde_json::json!("rogue");

    let (status, _, body) = put("rogue", cfg.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["trust_level"], "urn:vn:eid:loa:1");
    assert_eq!(body["source"], "admin");
    // The same id may not move to another issuer (its links would follow).
    let mut moved = cfg.clone();
    moved["issuer"] = serde_json::json!("https://other-idp.example");
    let (status, _, body) = put("rogue", moved).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["detail"].as_str().unwrap_or_default().contains("issuer"), "{body}");
    let list: serde_json::Value = http.get(hub.url("/admin/v1/upstreams")).bearer_auth(&t).send().await.unwrap().json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(!list.to_string().contains(HUB_SECRET), "the client secret is never returned");

    // At once usable: a portal's sign-in through it, capped at its trust level.
    let portal = Portal::new(&hub).await;
    let b = hub.browser();
    let s = portal.start(&[("idp_hint", "rogue")]);
    let page = walk(&b, b.get(&s.url).await).await;
    let (acr, _, pid, _, _) = portal.finish(&b, page, s).await;
    assert_eq!(acr, "urn:vn:eid:loa:1");
    assert_eq!(pid, AN.0);

    // Stored sealed: not readable in the database.
    let stored = hub.app.store.upstream_providers().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].1.contains(HUB_SECRET));

    // Removed: gone from the login page; idp_hint for it is ignored.
    let res = http.delete(hub.url("/admin/v1/upstreams/rogue")).bearer_auth(&t).send().await.unwrap();
    assert_eq!(res.status(), 204);
    let res = http.delete(hub.url("/admin/v1/upstreams/rogue")).bearer_auth(&t).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let s = portal.start(&[("idp_hint", "rogue")]);
    let b = hub.browser();
    let page = walk(&b, b.get(&s.url).await).await;
    assert!(page.url.contains("/login?r="), "{}", page.url);
    assert!(!page.body.contains("data-upstream=\"rogue\""));
    assert!(page.body.contains("data-upstream=\"fixed\""));
}

#[tokio::test]
async fn private_key_jwt_client_authentication_at_the_upstream() {
    let up = TestServer::start_with(|c| c.issuer = c.issuer.as_ref().map(|i| i.replace("localhost", "127.0.0.1"))).await;
    let up_issuer = up.app.settings.issuer_str.clone();
    let mut cfg = upstream("nixa-jwt", &up_issuer, &["openid", "profile", "vn_identity"], "LoA2");
    cfg.client_auth = "private_key_jwt".into();
    cfg.client_secret = None;
    let hub = TestServer::start_with(|c| c.upstreams = vec![cfg]).await;
    let register = async |jwks: serde_json::Value| {
        let mut client = nixa::demo::demo_client(&nixa::demo::CLIENTS[0]);
        client.id = nixa::client::ClientId::parse(HUB_CLIENT).unwrap();
        client.name = "Hub".into();
        client.secret_hash = None;
        client.auth_method = nixa::client::AuthMethod::PrivateKeyJwt;
        client.redirect_uris = vec![hub.url("/login/upstream/callback")];
        client.sector = "localhost".into();
        client.options.jwks = Some(jwks);
        up.app.store.put_client(&client, 0).await.unwrap();
    };
    let portal = Portal::new(&hub).await;
    let run = async || -> (Browser, Page, Started) {
        let b = hub.browser();
        let s = portal.start(&[("idp_hint", "nixa-jwt"), ("ui_locales", "en")]);
        let at_up = walk(&b, b.get(&s.url).await).await;
        let (r, csrf) = (at_up.field("r"), at_up.field("csrf"));
        let mut page =
            walk(&b, b.post(&format!("{up_issuer}/login"), &[("r", &r), ("csrf", &csrf), ("personal_id", AN.0), ("password", AN.1)]).await)
                .await;
        if page.url.starts_with(&format!("{up_issuer}/consent")) {
            let (r, csrf) = (page.field("r"), page.field("csrf"));
            page = walk(&b, b.post(&format!("{up_issuer}/consent"), &[("r", &r), ("csrf", &csrf), ("decision", "approve")]).await).await;
        }
        (b, page, s)
    };

    // The upstream knows some other key, not ours: invalid_client, a clear page.
    let foreign: serde_json::Value = serde_json::from_str(&up.app.keys.jwks()).unwrap();
    register(foreign).await;
    let (_, page, _) = run().await;
    assert_eq!(page.status, 502, "{}", page.body);
    assert!(page.body.contains("did not complete the sign-in"), "{}", page.body);

    // With our published keys the assertion is accepted.
    let ours: serde_json::Value = serde_json::from_str(&hub.app.keys.jwks()).unwrap();
    register(ours).await;
    let (b, page, s) = run().await;
    let (acr, _, pid, _, _) = portal.finish(&b, page, s).await;
    assert_eq!(acr, "urn:vn:eid:loa:1");
    assert_eq!(pid, AN.0);
}

#[tokio::test]
async fn one_account_reached_through_two_linked_providers() {
    let node = Node::start("rogue.js").await;
    let hub = TestServer::start_with(|c| {
        c.upstreams = vec![upstream("bank", &node.issuer(), &["openid"], "LoA2"), upstream("telco", &node.issuer(), &["openid"], "LoA1")]
    })
    .await;
    let portal = Portal::new(&hub).await;
    let mut subjects = Vec::new();
    for (id, acr) in [("bank", "urn:vn:eid:loa:2"), ("telco", "urn:vn:eid:loa:1")] {
        let b = hub.browser();
        let s = portal.start(&[("idp_hint", id)]);
        let page = walk(&b, b.get(&s.url).await).await;
        let (got, _, pid, _, raw) = portal.finish(&b, page, s).await;
        assert_eq!(got, acr, "{id}: its own trust level caps it");
        assert_eq!(pid, AN.0);
        subjects.push(raw["sub"].as_str().unwrap().to_string());
    }
    assert_eq!(subjects[0], subjects[1], "the portal sees one person");
    let person = hub.app.store.upstream_link("bank", "rogue-subject-1").await.unwrap().unwrap();
    assert_eq!(hub.app.store.upstream_link("telco", "rogue-subject-1").await.unwrap(), Some(person.clone()));
    assert_eq!(hub.app.store.upstream_links_of(&person).await.unwrap().len(), 2);
}
