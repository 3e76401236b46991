//! The protocol surface beyond the core flow: private_key_jwt, PAR, JAR, DPoP, refresh rotation,
//! introspection, revocation, JWT access tokens, the claims parameter, key rotation and the
//! FAPI 2.0 profile. Every negative case asserts the exact error code.

use crate::common;

use common::*;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use nixa::client::{AccessTokenFormat, ClientOptions, Profile};
use nixa::crypto::{b64url, random_token, sha256};
use nixa::keys::Alg;
use nixa::oidc::registration::{ClientSpec, build};
use serde_json::{Value, json};

const RP: &str = "http://localhost:9100/cb";

/// A client's key pair, held the way a portal holds it.
struct ClientKey {
    kid: String,
    public: Value,
    encoding: EncodingKey,
    alg: Algorithm,
}

impl ClientKey {
    fn new() -> Self {
        let g = nixa::keys::signing::generate(Alg::ES256).unwrap();
        Self { kid: g.kid, public: g.public_jwk, encoding: EncodingKey::from_ec_der(&g.pkcs8), alg: Algorithm::ES256 }
    }

    /// A P-384 key (ES384): accepted from ordinary clients, not under FAPI 2.0.
    fn p384() -> Self {
        use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &aws_lc_rs::rand::SystemRandom::new()).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        let kid = random_token();
        let public = json!({"kty": "EC", "crv": "P-384", "x": b64url(&point[1..49]), "y": b64url(&point[49..97]), "kid": kid});
        Self { kid, public, encoding: EncodingKey::from_ec_der(pkcs8.as_ref()), alg: Algorithm::ES384 }
    }

    fn jwks(&self) -> Value {
        json!({ "keys": [self.public] })
    }

    fn sign(&self, typ: &str, embed_jwk: bool, claims: &Value) -> String {
        let mut h = Header::new(self.alg);
        h.typ = Some(typ.into());
        if embed_jwk {
            let mut public = self.public.clone();
            public.as_object_mut().unwrap().remove("kid");
            h.jwk = Some(serde_json::from_value::<Jwk>(public).unwrap());
        } else {
            h.kid = Some(self.kid.clone());
        }
        jsonwebtoken::encode(&h, claims, &self.encoding).unwrap()
    }

    fn assertion(&self, server: &TestServer, client_id: &str) -> String {
        let now = server.app.now();
        self.sign(
            "JWT",
            false,
            &json!({"iss": client_id, "sub": client_id, "aud": server.issuer, "iat": now, "exp": now + 60, "jti": random_token()}),
        )
    }

    fn thumbprint(&self) -> String {
        let jwk: Jwk = serde_json::from_value(self.public.clone()).unwrap();
        jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256).unwrap()
    }

    fn proof(&self, server: &TestServer, htm: &str, path: &str, nonce: Option<&str>, token: Option<&str>) -> String {
        let mut c = json!({"htm": htm, "htu": server.url(path), "iat": server.app.now(), "jti": random_token()});
        if let Some(n) = nonce {
            c["nonce"] = json!(n);
        }
        if let Some(t) = token {
            c["ath"] = json!(b64url(&sha256(t.as_bytes())));
        }
        self.sign("dpop+jwt", true, &c)
    }
}

async fn register(server: &TestServer, auth_method: &str, options: ClientOptions) -> (String, Option<String>) {
    let spec = ClientSpec {
        name: "Cổng thử nghiệm".into(),
        redirect_uris: vec![RP.into()],
        auth_method: Some(auth_method.into()),
        scopes: nixa::protocol::scopes::SUPPORTED.iter().map(|s| s.to_string()).collect(),
        options,
        ..Default::default()
    };
    let (client, secret) = build(&spec).unwrap();
    server.app.store.put_client(&client, server.app.now()).await.unwrap();
    (client.id.to_string(), secret)
}

/// Signs in at an authorization URL (password, consent) and returns the redirect to the portal.
async fn authorize_as(browser: &Browser, url: &str, who: (&str, &str)) -> Page {
    let first = browser.follow(browser.get(url).await).await;
    let mut page = if first.status == 200 && first.url.contains("/login?r=") {
        let (r, csrf) = (first.field("r"), first.field("csrf"));
        browser.follow(browser.post("/login", &[("r", &r), ("csrf", &csrf), ("personal_id", who.0), ("password", who.1)]).await).await
    } else {
        first
    };
    if page.url.contains("/consent?r=") {
        page = browser.consent(&page, "approve").await;
    }
    page
}

struct Reply {
    status: u16,
    body: Value,
    headers: reqwest::header::HeaderMap,
}

impl Reply {
    fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_else(|| panic!("no error in {}: {}", self.status, self.body))
    }
}

async fn post_form(server: &TestServer, path: &str, form: &[(&str, &str)], basic: Option<(&str, &str)>, dpop: Option<String>) -> Reply {
    let mut req = backchannel().post(server.url(path)).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    if let Some(p) = dpop {
        req = req.header("DPoP", p);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    Reply { status, body, headers }
}

fn dvc() -> Option<(&'static str, &'static str)> {
    Some((DVC, DVC_SECRET))
}

/// A code for the confidential demo portal with extra authorization parameters.
async fn dvc_code(server: &TestServer, browser: &Browser, who: (&str, &str), extra: &[(&str, &str)]) -> (String, String) {
    let (verifier, challenge) = pkce_pair();
    let page = authorize_as(browser, &authorize_url(server, DVC, DVC_REDIRECT, &challenge, extra), who).await;
    (page.query("code").unwrap_or_else(|| panic!("no code: {:?}", page.location)), verifier)
}

fn code_form<'a>(code: &'a str, verifier: &'a str, redirect: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect), ("code_verifier", verifier)]
}

async fn userinfo(server: &TestServer, scheme: &str, token: &str, dpop: Option<String>) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = backchannel().get(server.url("/userinfo")).header("Authorization", format!("{scheme} {token}"));
    if let Some(p) = dpop {
        req = req.header("DPoP", p);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn private_key_jwt_authenticates_once_per_assertion() {
    let server = TestServer::start().await;
    let key = ClientKey::new();
    let (id, secret) = register(&server, "private_key_jwt", ClientOptions { jwks: Some(key.jwks()), ..Default::default() }).await;
    assert!(secret.is_none(), "a private_key_jwt client has no secret");
    let browser = server.browser();
    let (verifier, challenge) = pkce_pair();
    let page = authorize_as(&browser, &authorize_url(&server, &id, RP, &challenge, &[]), AN).await;
    let code = page.query("code").unwrap();
    let assertion = key.assertion(&server, &id);
    let jwt_bearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    let mut form = code_form(&code, &verifier, RP);
    form.extend([("client_assertion_type", jwt_bearer), ("client_assertion", assertion.as_str())]);
    let ok = post_form(&server, "/token", &form, None, None).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(ok.body["id_token"].is_string());

    // The same assertion again: its jti was used.
    let again = post_form(&server, "/token", &form, None, None).await;
    assert_eq!((again.status, again.error()), (401, "invalid_client"));

    let now = server.app.now();
    let cases: Vec<(&str, String)> = vec![
        (
            "lifetime over 120 s",
            key.sign(
                "JWT",
                false,
                &json!({"iss": id, "sub": id, "aud": server.issuer, "iat": now, "exp": now + 300, "jti": random_token()}),
            ),
        ),
        (
            "audience is the token endpoint",
            key.sign(
                "JWT",
                false,
                &json!({"iss": id, "sub": id, "aud": server.url("/token"), "iat": now, "exp": now + 60, "jti": random_token()}),
            ),
        ),
        (
            "expired",
            key.sign(
                "JWT",
                false,
                &json!({"iss": id, "sub": id, "aud": server.issuer, "iat": now - 200, "exp": now - 100, "jti": random_token()}),
            ),
        ),
        ("no jti", key.sign("JWT", false, &json!({"iss": id, "sub": id, "aud": server.issuer, "iat": now, "exp": now + 60}))),
        (
            // Issue 16: the lifetime `exp - iat` once overflowed and wrapped round to a short one.
            "a lifetime that overflows",
            key.sign(
                "JWT",
                false,
                &json!({"iss": id, "sub": id, "aud": server.issuer, "iat": -(1i64 << 62), "exp": 1i64 << 62, "jti": random_token()}),
            ),
        ),
        (
            "issued long ago, still unexpired",
            key.sign(
                "JWT",
                false,
                &json!({"iss": id, "sub": id, "aud": server.issuer, "iat": now - 100_000, "exp": now + 60, "jti": random_token()}),
            ),
        ),
        (
            "iss differs",
            key.sign(
                "JWT",
                false,
                &json!({"iss": "other", "sub": id, "aud": server.issuer, "iat": now, "exp": now + 60, "jti": random_token()}),
            ),
        ),
        (
            "another key",
            ClientKey::new().sign(
                "JWT",
                false,
                &json!({"iss": id, "sub": id, "aud": server.issuer, "iat": now, "exp": now + 60, "jti": random_token()}),
            ),
        ),
        ("HMAC with a guessable key", {
            let h = Header { kid: Some(key.kid.clone()), ..Header::new(Algorithm::HS256) };
            jsonwebtoken::encode(
                &h,
                &json!({"iss": id, "sub": id, "aud": server.issuer, "iat": now, "exp": now + 60, "jti": random_token()}),
                &EncodingKey::from_secret(b"k"),
            )
            .unwrap()
        }),
    ];
    for (what, a) in cases {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("redirect_uri", RP),
            ("code_verifier", verifier.as_str()),
            ("client_assertion_type", jwt_bearer),
            ("client_assertion", a.as_str()),
        ];
        let r = post_form(&server, "/token", &form, None, None).await;
        assert_eq!((r.status, r.error()), (401, "invalid_client"), "{what}: {}", r.body);
    }
    // A client registered for private_key_jwt cannot fall back to a secret or to none.
    let r = post_form(&server, "/token", &[("grant_type", "authorization_code"), ("code", "x"), ("client_id", &id)], None, None).await;
    assert_eq!((r.status, r.error()), (401, "invalid_client"));
    // Mixing methods is a malformed request.
    let form = [("grant_type", "authorization_code"), ("client_assertion_type", jwt_bearer), ("client_assertion", "a.b.c")];
    let r = post_form(&server, "/token", &form, dvc(), None).await;
    assert_eq!((r.status, r.error()), (400, "invalid_request"));
}

#[tokio::test]
async fn private_key_jwt_with_jwks_uri_follows_key_rotation() {
    let server = TestServer::start().await;
    let keys = std::sync::Arc::new(std::sync::Mutex::new(json!({"keys": []})));
    let first = ClientKey::new();
    *keys.lock().unwrap() = first.jwks();
    let served = keys.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let s = served.clone();
            async move { axum::Json(s.lock().unwrap().clone()) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let options = ClientOptions { jwks_uri: Some(format!("http://localhost:{port}/jwks")), ..Default::default() };
    let (id, _) = register(&server, "private_key_jwt", options).await;
    let srv = &server;
    let introspect = |key: &ClientKey| {
        let a = key.assertion(srv, &id);
        let id = id.clone();
        async move {
            let form = [
                ("token", "unknown"),
                ("client_id", id.as_str()),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", a.as_str()),
            ];
            post_form(srv, "/introspect", &form, None, None).await
        }
    };
    let r = introspect(&first).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"active": false}));
    // The client rotates: an unknown kid makes us refetch, but not more than once a minute.
    let second = ClientKey::new();
    *keys.lock().unwrap() = second.jwks();
    let r = introspect(&second).await;
    assert_eq!((r.status, r.error()), (401, "invalid_client"), "refetch is rate-limited");
    server.app.clock.advance(61);
    let r = introspect(&second).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn pushed_authorization_requests() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let (verifier, challenge) = pkce_pair();
    let form = [
        ("response_type", "code"),
        ("client_id", DVC),
        ("redirect_uri", DVC_REDIRECT),
        ("scope", "openid profile"),
        ("state", "par-state"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let pushed = post_form(&server, "/par", &form, dvc(), None).await;
    assert_eq!(pushed.status, 201, "{}", pushed.body);
    assert_eq!(pushed.body["expires_in"], 60);
    let uri = pushed.body["request_uri"].as_str().unwrap().to_string();
    assert!(uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    let url = format!("{}?client_id={DVC}&request_uri={}", server.url("/authorize"), urlencode(&uri));
    let page = authorize_as(&browser, &url, AN).await;
    assert_eq!(page.query("state").as_deref(), Some("par-state"));
    let code = page.query("code").unwrap();
    let r = post_form(&server, "/token", &code_form(&code, &verifier, DVC_REDIRECT), dvc(), None).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Single use.
    let again = browser.get(&url).await;
    assert_eq!(again.status, 400);
    assert!(again.location.is_none());
    // Another client cannot use it.
    let pushed = post_form(&server, "/par", &form, dvc(), None).await;
    let uri = pushed.body["request_uri"].as_str().unwrap().to_string();
    let stolen = browser.get(&format!("{}?client_id={TINH}&request_uri={}", server.url("/authorize"), urlencode(&uri))).await;
    assert_eq!(stolen.status, 400);
    // Expired after 60 s.
    let pushed = post_form(&server, "/par", &form, dvc(), None).await;
    let uri = pushed.body["request_uri"].as_str().unwrap().to_string();
    server.app.clock.advance(61);
    let late = browser.get(&format!("{}?client_id={DVC}&request_uri={}", server.url("/authorize"), urlencode(&uri))).await;
    assert_eq!(late.status, 400);

    // Errors at the PAR endpoint are JSON.
    let r = post_form(&server, "/par", &form, None, None).await;
    assert_eq!((r.status, r.error()), (401, "invalid_client"));
    let mut bad = form.to_vec();
    bad.retain(|(k, _)| *k != "redirect_uri");
    bad.push(("redirect_uri", "https://evil.example/cb"));
    let r = post_form(&server, "/par", &bad, dvc(), None).await;
    assert_eq!((r.status, r.error()), (400, "invalid_request"));
    let mut bad = form.to_vec();
    bad.retain(|(k, _)| *k != "code_challenge");
    let r = post_form(&server, "/par", &bad, dvc(), None).await;
    assert_eq!((r.status, r.error()), (400, "invalid_request"));
    let mut bad = form.to_vec();
    bad.push(("request_uri", "urn:x"));
    let r = post_form(&server, "/par", &bad, dvc(), None).await;
    assert_eq!((r.status, r.error()), (400, "invalid_request"));

    // A client that requires PAR cannot send a plain request.
    let (id, secret) =
        register(&server, "client_secret_basic", ClientOptions { require_pushed_authorization_requests: true, ..Default::default() }).await;
    let (_, challenge) = pkce_pair();
    let plain = browser.get(&authorize_url(&server, &id, RP, &challenge, &[])).await;
    let loc = plain.location_url();
    assert!(loc.as_str().starts_with(RP));
    assert_eq!(plain.query("error").as_deref(), Some("invalid_request"));
    let secret = secret.unwrap();
    let form = [
        ("response_type", "code"),
        ("client_id", id.as_str()),
        ("redirect_uri", RP),
        ("scope", "openid"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let r = post_form(&server, "/par", &form, Some((&id, &secret)), None).await;
    assert_eq!(r.status, 201);
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn signed_request_objects() {
    let server = TestServer::start().await;
    let key = ClientKey::new();
    let (id, secret) = register(&server, "client_secret_basic", ClientOptions { jwks: Some(key.jwks()), ..Default::default() }).await;
    let secret = secret.unwrap();
    let browser = server.browser();
    let (verifier, challenge) = pkce_pair();
    let now = server.app.now();
    let object = |aud: &str, exp: i64| {
        key.sign(
            "oauth-authz-req+jwt",
            false,
            &json!({
                "iss": id, "aud": aud, "exp": exp, "nbf": now, "jti": random_token(), "client_id": id,
                "response_type": "code", "redirect_uri": RP, "scope": "openid profile", "state": "jar-state", "nonce": "jar-nonce",
                "code_challenge": challenge, "code_challenge_method": "S256", "max_age": 600,
            }),
        )
    };
    let good = object(&server.issuer, now + 120);
    // Only the object's parameters count: the outer scope and state are ignored.
    let url = format!("{}?client_id={id}&scope=openid%20email&state=outer&request={good}", server.url("/authorize"));
    let page = authorize_as(&browser, &url, AN).await;
    assert_eq!(page.query("state").as_deref(), Some("jar-state"));
    let code = page.query("code").unwrap();
    let r = post_form(&server, "/token", &code_form(&code, &verifier, RP), Some((&id, &secret)), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["scope"], "openid profile");

    for (what, jwt) in [
        ("wrong audience", object("https://other.example", now + 120)),
        ("expired", object(&server.issuer, now - 60)),
        (
            "unsigned",
            format!(
                "{}.{}.",
                b64url(br#"{"alg":"none"}"#),
                b64url(json!({"iss": id, "aud": server.issuer, "exp": now + 60}).to_string().as_bytes())
            ),
        ),
        ("another key", ClientKey::new().sign("oauth-authz-req+jwt", false, &json!({"iss": id, "aud": server.issuer, "exp": now + 60}))),
    ] {
        let url = format!("{}?client_id={id}&redirect_uri={}&state=outer&request={jwt}", server.url("/authorize"), urlencode(RP));
        let page = browser.get(&url).await;
        assert_eq!(page.query("error").as_deref(), Some("invalid_request_object"), "{what}");
        assert_eq!(page.query("state").as_deref(), Some("outer"), "{what}");
    }
    // The same object twice: its jti was used.
    let url = format!("{}?client_id={id}&redirect_uri={}&request={good}", server.url("/authorize"), urlencode(RP));
    let page = browser.get(&url).await;
    assert_eq!(page.query("error").as_deref(), Some("invalid_request_object"));
    // A request object pushed through PAR.
    let pushed_obj = object(&server.issuer, now + 120);
    let r = post_form(&server, "/par", &[("client_id", &id), ("request", &pushed_obj)], Some((&id, &secret)), None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = post_form(&server, "/par", &[("client_id", &id), ("request", "not.a.jwt")], Some((&id, &secret)), None).await;
    assert_eq!((r.status, r.error()), (400, "invalid_request_object"));
}

/// Gets a DPoP server nonce the way a client does: a first request without one.
async fn dpop_nonce(server: &TestServer, key: &ClientKey) -> String {
    let r = post_form(
        server,
        "/token",
        &[("grant_type", "authorization_code"), ("code", "x"), ("redirect_uri", DVC_REDIRECT), ("code_verifier", "x")],
        dvc(),
        Some(key.proof(server, "POST", "/token", None, None)),
    )
    .await;
    assert_eq!((r.status, r.error()), (400, "use_dpop_nonce"));
    r.headers.get("dpop-nonce").expect("DPoP-Nonce header").to_str().unwrap().to_string()
}

#[tokio::test]
async fn dpop_binds_tokens_to_the_client_key() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let key = ClientKey::new();
    let nonce = dpop_nonce(&server, &key).await;
    let (code, verifier) = dvc_code(&server, &browser, AN, &[]).await;
    let r = post_form(
        &server,
        "/token",
        &code_form(&code, &verifier, DVC_REDIRECT),
        dvc(),
        Some(key.proof(&server, "POST", "/token", Some(&nonce), None)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["token_type"], "DPoP");
    let at = r.body["access_token"].as_str().unwrap().to_string();

    let (status, _, body) = userinfo(&server, "DPoP", &at, Some(key.proof(&server, "GET", "/userinfo", None, Some(&at)))).await;
    assert_eq!(status, 200, "{body}");
    // Presented as a bearer token: refused, with a DPoP challenge.
    let (status, headers, body) = userinfo(&server, "Bearer", &at, None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")));
    assert!(headers["www-authenticate"].to_str().unwrap().starts_with("DPoP "));
    // Without a proof, with a proof for another token, by another key, replayed, for another URL.
    let (status, _, body) = userinfo(&server, "DPoP", &at, None).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_dpop_proof")));
    let (status, _, body) = userinfo(&server, "DPoP", &at, Some(key.proof(&server, "GET", "/userinfo", None, Some("other")))).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_dpop_proof")));
    let other = ClientKey::new();
    let (status, _, body) = userinfo(&server, "DPoP", &at, Some(other.proof(&server, "GET", "/userinfo", None, Some(&at)))).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_dpop_proof")));
    let once = key.proof(&server, "GET", "/userinfo", None, Some(&at));
    assert_eq!(userinfo(&server, "DPoP", &at, Some(once.clone())).await.0, 200);
    let (status, _, body) = userinfo(&server, "DPoP", &at, Some(once)).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_dpop_proof")));
    let (status, _, body) = userinfo(&server, "DPoP", &at, Some(key.proof(&server, "POST", "/userinfo", None, Some(&at)))).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_dpop_proof")));

    // Token endpoint: a stale nonce, a wrong htu, a proof with the private key in its header.
    let (code, verifier) = dvc_code(&server, &browser, AN, &[]).await;
    let r = post_form(
        &server,
        "/token",
        &code_form(&code, &verifier, DVC_REDIRECT),
        dvc(),
        Some(key.proof(&server, "POST", "/token", Some("stale"), None)),
    )
    .await;
    assert_eq!((r.status, r.error()), (400, "use_dpop_nonce"));
    let r = post_form(
        &server,
        "/token",
        &code_form(&code, &verifier, DVC_REDIRECT),
        dvc(),
        Some(key.proof(&server, "POST", "/userinfo", Some(&nonce), None)),
    )
    .await;
    assert_eq!((r.status, r.error()), (400, "invalid_dpop_proof"));

    // dpop_jkt at the authorization endpoint binds the code to that key.
    let (code, verifier) = dvc_code(&server, &browser, AN, &[("dpop_jkt", &key.thumbprint())]).await;
    let r = post_form(&server, "/token", &code_form(&code, &verifier, DVC_REDIRECT), dvc(), None).await;
    assert_eq!((r.status, r.error()), (400, "invalid_request"), "a bound code without any proof");
    let r = post_form(
        &server,
        "/token",
        &code_form(&code, &verifier, DVC_REDIRECT),
        dvc(),
        Some(other.proof(&server, "POST", "/token", Some(&nonce), None)),
    )
    .await;
    assert_eq!((r.status, r.error()), (400, "invalid_dpop_proof"));
    let r = post_form(
        &server,
        "/token",
        &code_form(&code, &verifier, DVC_REDIRECT),
        dvc(),
        Some(key.proof(&server, "POST", "/token", Some(&nonce), None)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A client registered for DPoP-bound tokens must send a proof.
    let (id, secret) =
        register(&server, "client_secret_basic", ClientOptions { dpop_bound_access_tokens: true, ..Default::default() }).await;
    let (verifier, challenge) = pkce_pair();
    let page = authorize_as(&browser, &authorize_url(&server, &id, RP, &challenge, &[]), AN).await;
    let code = page.query("code").unwrap();
    let r = post_form(&server, "/token", &code_form(&code, &verifier, RP), Some((&id, secret.as_deref().unwrap())), None).await;
    assert_eq!((r.status, r.error()), (400, "invalid_request"));
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let server = TestServer::start().await;
    let browser = server.browser();
    // Without offline_access: no refresh token.
    let (code, verifier) = dvc_code(&server, &browser, AN, &[]).await;
    let r = post_form(&server, "/token", &code_form(&code, &verifier, DVC_REDIRECT), dvc(), None).await;
    assert!(r.body.get("refresh_token").is_none());

    let (code, verifier) = dvc_code(&server, &browser, AN, &[("scope", "openid profile offline_access")]).await;
    let r = post_form(&server, "/token", &code_form(&code, &verifier, DVC_REDIRECT), dvc(), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rt1 = r.body["refresh_token"].as_str().expect("a refresh token").to_string();
    let refresh = |rt: String| {
        let server = &server;
        async move { post_form(server, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &rt)], dvc(), None).await }
    };
    let r = refresh(rt1.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rt2 = r.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2);
    assert!(r.body["id_token"].is_string());
    // Lost response: the old token once more within the grace period gives a new pair, and the
    // successor that never arrived is dead.
    let r = refresh(rt1.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rt3 = r.body["refresh_token"].as_str().unwrap().to_string();
    // Narrowing is allowed, widening is not.
    let r =
        post_form(&server, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &rt3), ("scope", "openid email")], dvc(), None)
            .await;
    assert_eq!((r.status, r.error()), (400, "invalid_scope"));
    let r = refresh(rt3.clone()).await;
    let rt4 = r.body["refresh_token"].as_str().unwrap().to_string();
    let at4 = r.body["access_token"].as_str().unwrap().to_string();
    // After the grace period, a rotated token is a theft signal: the family dies.
    server.app.clock.advance(31);
    let r = refresh(rt3.clone()).await;
    assert_eq!((r.status, r.error()), (400, "invalid_grant"));
    let r = refresh(rt4.clone()).await;
    assert_eq!((r.status, r.error()), (400, "invalid_grant"), "the whole family is revoked");
    assert_eq!(userinfo(&server, "Bearer", &at4, None).await.0, 401, "and its access tokens");
    // The successor a retry displaced is dead (its presentation is reuse: `abuse.rs`).
    let r = refresh(rt2.clone()).await;
    assert_eq!((r.status, r.error()), (400, "invalid_grant"));
    // Another client cannot use the token; garbage is invalid_grant.
    let r = post_form(&server, "/token", &[("grant_type", "refresh_token"), ("refresh_token", "garbage")], dvc(), None).await;
    assert_eq!((r.status, r.error()), (400, "invalid_grant"));
    let r = post_form(&server, "/token", &[("grant_type", "refresh_token")], dvc(), None).await;
    assert_eq!((r.status, r.error()), (400, "invalid_request"));
    // A client registered without the refresh grant.
    let (id, secret) =
        register(&server, "client_secret_basic", ClientOptions { grant_types: vec!["authorization_code".into()], ..Default::default() })
            .await;
    let r = post_form(
        &server,
        "/token",
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
        Some((&id, secret.as_deref().unwrap())),
        None,
    )
    .await;
    assert_eq!((r.status, r.error()), (400, "unauthorized_client"));
    let r = post_form(&server, "/token", &[("grant_type", "password")], dvc(), None).await;
    assert_eq!((r.status, r.error()), (400, "unsupported_grant_type"));
}

#[tokio::test]
async fn introspection_and_revocation() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let (code, verifier) = dvc_code(&server, &browser, AN, &[("scope", "openid profile offline_access")]).await;
    let r = post_form(&server, "/token", &code_form(&code, &verifier, DVC_REDIRECT), dvc(), None).await;
    let at = r.body["access_token"].as_str().unwrap().to_string();
    let rt = r.body["refresh_token"].as_str().unwrap().to_string();

    let i = post_form(&server, "/introspect", &[("token", &at)], dvc(), None).await;
    assert_eq!(i.status, 200);
    assert_eq!(i.body["active"], true);
    assert_eq!(i.body["client_id"], DVC);
    assert_eq!(i.body["token_type"], "Bearer");
    assert_eq!(i.body["scope"], "openid profile offline_access");
    assert!(i.body["sub"].is_string() && i.body["exp"].is_i64());
    let i = post_form(&server, "/introspect", &[("token", &rt), ("token_type_hint", "refresh_token")], dvc(), None).await;
    assert_eq!(i.body["active"], true);
    assert_eq!(i.body["token_type"], "refresh_token");

    // RFC 9701: a signed answer.
    let res = backchannel()
        .post(server.url("/introspect"))
        .basic_auth(DVC, Some(DVC_SECRET))
        .header("Accept", "application/token-introspection+jwt")
        .form(&[("token", &at)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "application/token-introspection+jwt");
    let jwt = res.text().await.unwrap();
    let jwks: JwkSet = serde_json::from_str(&server.app.keys.jwks()).unwrap();
    let v = nixa::protocol::jose::verify_with_set(&jwt, &jwks, &[Algorithm::ES256], Some("token-introspection+jwt")).unwrap();
    assert_eq!(v.claims["token_introspection"]["active"], true);
    assert_eq!(v.claims["aud"], DVC);

    // Another client learns nothing; no client authentication is an error.
    let (id, secret) = register(&server, "client_secret_post", ClientOptions::default()).await;
    let secret = secret.unwrap();
    let other = post_form(&server, "/introspect", &[("token", &at), ("client_id", &id), ("client_secret", &secret)], None, None).await;
    assert_eq!(other.body, json!({"active": false}));
    let r = post_form(&server, "/introspect", &[("token", &at)], None, None).await;
    assert_eq!((r.status, r.error()), (401, "invalid_client"));
    let r = post_form(&server, "/introspect", &[], dvc(), None).await;
    assert_eq!((r.status, r.error()), (400, "invalid_request"));
    // Another client cannot revoke it either (200, nothing happens).
    let r = post_form(&server, "/revoke", &[("token", &at), ("client_id", &id), ("client_secret", &secret)], None, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(userinfo(&server, "Bearer", &at, None).await.0, 200);

    // Revocation of the access token.
    let r = post_form(&server, "/revoke", &[("token", &at), ("token_type_hint", "access_token")], dvc(), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(userinfo(&server, "Bearer", &at, None).await.0, 401);
    assert_eq!(post_form(&server, "/introspect", &[("token", &at)], dvc(), None).await.body["active"], false);
    // Of the refresh token: the grant ends.
    let r = post_form(&server, "/revoke", &[("token", &rt)], dvc(), None).await;
    assert_eq!(r.status, 200);
    let r = post_form(&server, "/token", &[("grant_type", "refresh_token"), ("refresh_token", &rt)], dvc(), None).await;
    assert_eq!((r.status, r.error()), (400, "invalid_grant"));
    // Unknown tokens: 200; unknown hint types: unsupported_token_type.
    assert_eq!(post_form(&server, "/revoke", &[("token", "nothing")], dvc(), None).await.status, 200);
    let r = post_form(&server, "/revoke", &[("token", "x"), ("token_type_hint", "id_token")], dvc(), None).await;
    assert_eq!((r.status, r.error()), (400, "unsupported_token_type"));
    let r = post_form(&server, "/revoke", &[("token", "x")], None, None).await;
    assert_eq!((r.status, r.error()), (401, "invalid_client"));
}

#[tokio::test]
async fn jwt_access_tokens_per_client() {
    let server = TestServer::start().await;
    let (id, secret) =
        register(&server, "client_secret_basic", ClientOptions { access_token_format: AccessTokenFormat::Jwt, ..Default::default() }).await;
    let browser = server.browser();
    let (verifier, challenge) = pkce_pair();
    let page = authorize_as(&browser, &authorize_url(&server, &id, RP, &challenge, &[]), AN).await;
    let code = page.query("code").unwrap();
    let r = post_form(&server, "/token", &code_form(&code, &verifier, RP), Some((&id, secret.as_deref().unwrap())), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let at = r.body["access_token"].as_str().unwrap();
    let jwks: JwkSet = serde_json::from_str(&server.app.keys.jwks()).unwrap();
    let v = nixa::protocol::jose::verify_with_set(at, &jwks, &[Algorithm::ES256], Some("at+jwt")).unwrap();
    assert_eq!(v.claims["iss"], server.issuer.as_str());
    assert_eq!(v.claims["client_id"], id.as_str());
    assert_eq!(v.claims["scope"], "openid profile");
    assert!(v.claims["jti"].is_string() && v.claims["exp"].is_i64() && v.claims["sub"].is_string());
    assert_eq!(userinfo(&server, "Bearer", at, None).await.0, 200, "the JWT is also a live, revocable token");
    assert_eq!(post_form(&server, "/revoke", &[("token", at)], Some((&id, secret.as_deref().unwrap())), None).await.status, 200);
    assert_eq!(userinfo(&server, "Bearer", at, None).await.0, 401);
}

fn id_token_claims(server: &TestServer, id_token: &str) -> serde_json::Map<String, Value> {
    let jwks: JwkSet = serde_json::from_str(&server.app.keys.jwks()).unwrap();
    nixa::protocol::jose::verify_with_set(id_token, &jwks, &[Algorithm::ES256, Algorithm::RS256], None).unwrap().claims
}

#[tokio::test]
async fn claims_parameter_and_essential_acr() {
    let server = TestServer::start().await;
    // Claims moved into the ID token, within the granted scopes only.
    let browser = server.browser();
    let claims = r#"{"id_token":{"name":null,"email":{"essential":true}}}"#;
    let (code, verifier) = dvc_code(&server, &browser, AN, &[("claims", claims)]).await;
    let r = post_form(&server, "/token", &code_form(&code, &verifier, DVC_REDIRECT), dvc(), None).await;
    let c = id_token_claims(&server, r.body["id_token"].as_str().unwrap());
    assert!(c["name"].is_string(), "profile releases name: {c:?}");
    assert!(!c.contains_key("email"), "email was not in the granted scopes");

    // An essential acr the person cannot reach: access_denied after sign-in, never a downgrade.
    let loa2 = r#"{"id_token":{"acr":{"essential":true,"values":["urn:vn:eid:loa:2"]}}}"#;
    let (_, challenge) = pkce_pair();
    let page = authorize_as(&server.browser(), &authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("claims", loa2)]), AN).await;
    assert_eq!(page.query("error").as_deref(), Some("access_denied"), "{:?}", page.location);
    // A value we cannot assert at all: refused at once.
    let unknown = r#"{"id_token":{"acr":{"essential":true,"value":"urn:example:loa:9"}}}"#;
    let page = server.browser().get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("claims", unknown)])).await;
    assert_eq!(page.query("error").as_deref(), Some("access_denied"));
    // Malformed claims parameter.
    let page = server.browser().get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("claims", "[1]")])).await;
    assert_eq!(page.query("error").as_deref(), Some("invalid_request"));

    // A level-2 person with TOTP reaches loa:2; the essential request is met.
    let b = server.browser();
    let (verifier, challenge) = pkce_pair();
    let page = b.sign_in(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("claims", loa2)]), BINH).await;
    let code = totp_code(&server);
    let mut page = b.submit_totp(&page, &code).await;
    if page.url.contains("/consent?r=") {
        page = b.consent(&page, "approve").await;
    }
    let code = page.query("code").unwrap_or_else(|| panic!("{:?} {}", page.location, page.body));
    let r = post_form(&server, "/token", &code_form(&code, &verifier, DVC_REDIRECT), dvc(), None).await;
    assert_eq!(id_token_claims(&server, r.body["id_token"].as_str().unwrap())["acr"], "urn:vn:eid:loa:2");
}

fn totp_code(server: &TestServer) -> String {
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, b"12345678901234567890".to_vec()).unwrap();
    totp.generate(server.app.now() as u64)
}

#[tokio::test]
async fn signing_keys_rotate_automatically_without_unknown_kids() {
    let server = TestServer::start_with(|c| {
        c.key_rotation_secs = 1000;
        c.key_publish_lead_secs = 300;
    })
    .await;
    let kids = |s: &TestServer| -> Vec<String> {
        let v: Value = serde_json::from_str(&s.app.keys.jwks()).unwrap();
        v["keys"].as_array().unwrap().iter().filter(|k| k["alg"] == "ES256").map(|k| k["kid"].as_str().unwrap().to_string()).collect()
    };
    let browser = server.browser();
    let signed_kid = |tok: &str| jsonwebtoken::decode_header(tok).unwrap().kid.unwrap();
    let issue = || async {
        let (code, verifier) = dvc_code(&server, &browser, AN, &[]).await;
        post_form(&server, "/token", &code_form(&code, &verifier, DVC_REDIRECT), dvc(), None).await.body["id_token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let old = kids(&server);
    assert_eq!(old.len(), 1);
    assert!(!nixa::janitor::rotate_keys_if_due(&server.app, server.app.now()).await.unwrap(), "not due yet");
    server.app.clock.advance(1001);
    assert!(nixa::janitor::rotate_keys_if_due(&server.app, server.app.now()).await.unwrap());
    assert!(!nixa::janitor::rotate_keys_if_due(&server.app, server.app.now()).await.unwrap(), "a successor is already waiting");
    let published = kids(&server);
    assert_eq!(published.len(), 2, "the successor is published before it signs");
    let new_kid = published.iter().find(|k| !old.contains(k)).unwrap().clone();
    assert_eq!(signed_kid(&issue().await), old[0], "the old key still signs during the lead time");
    server.app.clock.advance(301);
    server.app.keys.reload(server.app.now()).await.unwrap();
    assert_eq!(signed_kid(&issue().await), new_kid);
    assert!(kids(&server).contains(&old[0]), "the old key stays published while its tokens live");
    server.app.clock.advance(server.app.settings.max_token_lifetime() + 1);
    server.app.keys.reload(server.app.now()).await.unwrap();
    assert_eq!(kids(&server), vec![new_kid], "retired after every token it signed expired");
}

#[tokio::test]
async fn fapi2_profile() {
    let server = TestServer::start().await;
    let key = ClientKey::new();
    // The profile demands private_key_jwt.
    let spec = ClientSpec {
        name: "FAPI".into(),
        redirect_uris: vec![RP.into()],
        options: ClientOptions { profile: Profile::Fapi2, ..Default::default() },
        ..Default::default()
    };
    assert_eq!(build(&spec).unwrap_err(), nixa::oidc::registration::RegistrationError::Fapi);
    let (id, _) =
        register(&server, "private_key_jwt", ClientOptions { jwks: Some(key.jwks()), profile: Profile::Fapi2, ..Default::default() }).await;
    let browser = server.browser();
    let (verifier, challenge) = pkce_pair();
    // No PAR: refused.
    let page = browser.get(&authorize_url(&server, &id, RP, &challenge, &[])).await;
    assert_eq!(page.query("error").as_deref(), Some("invalid_request"));
    let jwt_bearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    let srv = &server;
    let par = |dpop: Option<String>| {
        let a = key.assertion(srv, &id);
        let (id, challenge) = (id.clone(), challenge.clone());
        async move {
            let form = [
                ("response_type", "code"),
                ("client_id", id.as_str()),
                ("redirect_uri", RP),
                ("scope", "openid profile"),
                ("nonce", "n"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
                ("client_assertion_type", jwt_bearer),
                ("client_assertion", a.as_str()),
            ];
            post_form(srv, "/par", &form, None, dpop).await
        }
    };
    let nonce = {
        let r = par(Some(key.proof(&server, "POST", "/par", None, None))).await;
        assert_eq!((r.status, r.error()), (400, "use_dpop_nonce"));
        r.headers["dpop-nonce"].to_str().unwrap().to_string()
    };
    let pushed = par(Some(key.proof(&server, "POST", "/par", Some(&nonce), None))).await;
    assert_eq!(pushed.status, 201, "{}", pushed.body);
    let uri = pushed.body["request_uri"].as_str().unwrap();
    let page = authorize_as(&browser, &format!("{}?client_id={id}&request_uri={}", server.url("/authorize"), urlencode(uri)), AN).await;
    assert_eq!(page.query("iss").as_deref(), Some(server.issuer.as_str()));
    let code = page.query("code").unwrap();
    let token = |dpop: Option<String>| {
        let a = key.assertion(srv, &id);
        let (code, verifier) = (code.clone(), verifier.clone());
        async move {
            let mut form = code_form(&code, &verifier, RP);
            form.extend([("client_assertion_type", jwt_bearer), ("client_assertion", a.as_str())]);
            post_form(srv, "/token", &form, None, dpop).await
        }
    };
    // Without DPoP the code is refused (and stays unused: the check precedes redemption).
    let r = token(None).await;
    assert_eq!((r.status, r.error()), (400, "invalid_request"));
    // With another key than the one that pushed the request.
    let r = token(Some(ClientKey::new().proof(&server, "POST", "/token", Some(&nonce), None))).await;
    assert_eq!((r.status, r.error()), (400, "invalid_dpop_proof"));
    // FAPI 2.0 §5.4: an ES384 proof is refused from this client (an ordinary one may use it).
    let r = token(Some(ClientKey::p384().proof(&server, "POST", "/token", Some(&nonce), None))).await;
    assert_eq!((r.status, r.error()), (400, "invalid_dpop_proof"));
    // The client assertion's aud must be the issuer as a string, not an array.
    let now = server.app.now();
    let array_aud =
        key.sign("JWT", false, &json!({"iss": id, "sub": id, "aud": [server.issuer], "iat": now, "exp": now + 60, "jti": random_token()}));
    let mut form = code_form(&code, &verifier, RP);
    form.extend([("client_assertion_type", jwt_bearer), ("client_assertion", array_aud.as_str())]);
    let r = post_form(&server, "/token", &form, None, Some(key.proof(&server, "POST", "/token", Some(&nonce), None))).await;
    assert_eq!((r.status, r.error()), (401, "invalid_client"));
    let r = token(Some(key.proof(&server, "POST", "/token", Some(&nonce), None))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["token_type"], "DPoP");
}

#[tokio::test]
async fn es384_dpop_proofs_for_ordinary_clients() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let key = ClientKey::p384();
    let nonce = dpop_nonce(&server, &key).await;
    let (code, verifier) = dvc_code(&server, &browser, AN, &[]).await;
    let r = post_form(
        &server,
        "/token",
        &code_form(&code, &verifier, DVC_REDIRECT),
        dvc(),
        Some(key.proof(&server, "POST", "/token", Some(&nonce), None)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["token_type"], "DPoP");
}
