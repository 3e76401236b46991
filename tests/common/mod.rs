//! Test harness: a real nixa server on a loopback port, on SQLite or PostgreSQL
//! (`NIXA_TEST_DATABASE=postgres` with `NIXA_TEST_POSTGRES_URL`, as `tests/run` sets up), and a
//! browser-like HTTP client that keeps cookies and does not follow redirects.
#![allow(dead_code)]

pub mod private_pg;

use std::sync::Arc;

use nixa::config::{Config, Settings};
use nixa::keys::MasterKey;
use nixa::routes::router;
use nixa::state::App;
use reqwest::header::LOCATION;
use url::Url;

pub const DVC: &str = "demo-dvc";
pub const DVC_SECRET: &str = "demo-dvc-secret-not-for-production";
pub const DVC_REDIRECT: &str = "http://localhost:9000/callback";
pub const TINH: &str = "demo-tinh";
pub const TINH_REDIRECT: &str = "http://localhost:9001/callback";
/// Level 1, password only.
pub const AN: (&str, &str) = ("001090001234", "demo-an-2026");
/// Level 2, password + TOTP.
pub const BINH: (&str, &str) = ("079185005678", "demo-binh-2026");

pub struct TestServer {
    pub app: Arc<App>,
    pub issuer: String,
    /// Where it listens (the issuer's host, unless a test set another issuer).
    pub listen_addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Which database the suite runs on; `tests/run` runs it once per backend.
pub fn backend() -> String {
    std::env::var("NIXA_TEST_DATABASE").unwrap_or_else(|_| "sqlite".into())
}

async fn database_url(dir: &std::path::Path) -> String {
    if backend() == "postgres" {
        let admin =
            std::env::var("NIXA_TEST_POSTGRES_URL").expect("NIXA_TEST_DATABASE=postgres needs NIXA_TEST_POSTGRES_URL (tests/run sets it)");
        let name = format!("nixa_t_{}", uuid::Uuid::new_v4().simple());
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
            .await
            .expect("PostgreSQL must be reachable for the postgres test run");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create test database");
        let mut url = Url::parse(&admin).expect("admin URL");
        url.set_path(&format!("/{name}"));
        url.to_string()
    } else {
        format!("sqlite://{}", dir.join("nixa.db").display())
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let listen_addr = listener.local_addr().expect("addr");
        let port = listen_addr.port();
        let issuer = format!("http://localhost:{port}");
        let mut config = Config {
            issuer: Some(issuer.clone()),
            database_url: Some(database_url(dir.path()).await),
            master_key: Some(MasterKey::generate_base64()),
            // Tests drive many sign-ins from one loopback address; `abuse.rs` turns limits on.
            throttle: nixa::web::throttle::ThrottleConfig {
                signin_per_minute: 0,
                requests_per_minute: 0,
                pow_per_minute: 0,
                ..Default::default()
            },
            // The upstreams, portals and OCSP responders of the tests listen on loopback.
            outbound_allow: vec!["127.0.0.0/8".into(), "::1/128".into()],
            // Tests run in parallel in one process on a loaded machine, and the password line is
            // the process's: no test may be held back by another's burst. `abuse.rs` tightens it.
            admission: nixa::web::admission::AdmissionConfig {
                password_queue: usize::MAX,
                queue_timeout_ms: 120_000,
                ..Default::default()
            },
            ..Config::default()
        };
        adjust(&mut config);
        let settings = Settings::from_config(&config, false).expect("test settings");
        let app = App::start(settings).await.expect("app starts");
        nixa::demo::seed(&app.store, &app.settings.master_key, app.now()).await.expect("seed");
        let task = tokio::spawn({
            let router = router(app.clone());
            let app_limits = app.settings.http.clone();
            async move {
                let limits = app_limits;
                let _ = nixa::web::serve::serve(listener, router, &limits, None, std::future::pending()).await;
            }
        });
        Self { app, issuer, listen_addr, _dir: dir, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// A new browser: its own cookie jar, no automatic redirects.
    pub fn browser(&self) -> Browser {
        Browser::new(&self.issuer)
    }
}

/// A loopback port nobody listens on (for a server a test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A plain HTTP client for back-channel calls (what a portal's server does).
pub fn backchannel() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

pub struct Browser {
    pub http: reqwest::Client,
    base: String,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    pub url: String,
    /// `Retry-After`, when the server said to come back later (429, 503).
    pub retry_after: Option<String>,
}

impl Page {
    /// The value of a hidden form field.
    pub fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker).unwrap_or_else(|| panic!("no field {name} in page:\n{}", self.body)) + marker.len();
        let end = self.body[start..].find('"').expect("closing quote") + start;
        self.body[start..end].to_string()
    }

    /// The message key of the error a page shows (its `data-error` attribute), if any.
    pub fn error_key(&self) -> Option<String> {
        let marker = "data-error=\"";
        let start = self.body.find(marker)? + marker.len();
        Some(self.body[start..].split('"').next()?.to_string())
    }

    pub fn location_url(&self) -> Url {
        Url::parse(self.location.as_deref().expect("a redirect")).expect("absolute redirect")
    }

    pub fn query(&self, name: &str) -> Option<String> {
        self.location_url().query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }
}

impl Browser {
    /// A browser for a server at `base` (one this test process did not start).
    pub fn new(base: &str) -> Self {
        Browser {
            http: reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().expect("client"),
            base: base.trim_end_matches('/').to_string(),
        }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with('/') { format!("{}{}", self.base, url) } else { url.to_string() }
    }

    pub async fn get(&self, url: &str) -> Page {
        let url = self.absolute(url);
        let res = self.http.get(&url).send().await.expect("GET");
        Self::page(res, url).await
    }

    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> Page {
        let url = self.absolute(url);
        let res = self.http.post(&url).form(form).send().await.expect("POST");
        Self::page(res, url).await
    }

    async fn page(res: reqwest::Response, url: String) -> Page {
        let status = res.status().as_u16();
        let location = res.headers().get(LOCATION).map(|v| v.to_str().expect("ascii location").to_string());
        let retry_after = res.headers().get("retry-after").map(|v| v.to_str().expect("ascii Retry-After").to_string());
        let body = res.text().await.expect("body");
        Page { status, location, body, url, retry_after }
    }

    /// Follows same-site redirects until one leaves the provider (to a portal) or a page shows.
    pub async fn follow(&self, mut page: Page) -> Page {
        for _ in 0..10 {
            match &page.location {
                Some(loc) if loc.starts_with('/') || loc.starts_with(&self.base) => page = self.get(&loc.clone()).await,
                _ => return page,
            }
        }
        panic!("redirect loop");
    }

    /// From an authorization URL to the login page, signs in with a password; returns the page
    /// or redirect that follows.
    pub async fn sign_in(&self, authorize_url: &str, who: (&str, &str)) -> Page {
        let login = self.follow(self.get(authorize_url).await).await;
        assert_eq!(login.status, 200, "expected the login page, got:\n{}", login.body);
        assert!(login.url.contains("/login?r="), "expected the login page, at {}", login.url);
        let r = login.field("r");
        let csrf = login.field("csrf");
        self.follow(self.post("/login", &[("r", &r), ("csrf", &csrf), ("personal_id", who.0), ("password", who.1)]).await).await
    }

    pub async fn submit_totp(&self, page: &Page, code: &str) -> Page {
        assert!(page.body.contains("action=\"/login/totp\""), "expected the TOTP page, at {}:\n{}", page.url, page.body);
        let (r, csrf) = (page.field("r"), page.field("csrf"));
        self.follow(self.post("/login/totp", &[("r", &r), ("csrf", &csrf), ("code", code)]).await).await
    }

    /// Approves (or denies) on the consent page.
    pub async fn consent(&self, page: &Page, decision: &str) -> Page {
        assert!(page.url.contains("/consent?r="), "expected the consent page, at {}:\n{}", page.url, page.body);
        let (r, csrf) = (page.field("r"), page.field("csrf"));
        self.post("/consent", &[("r", &r), ("csrf", &csrf), ("decision", decision)]).await
    }
}

pub fn pkce_pair() -> (String, String) {
    let verifier = nixa::crypto::random_token() + "-extra";
    let challenge = nixa::crypto::b64url(&nixa::crypto::sha256(verifier.as_bytes()));
    (verifier, challenge)
}

/// An authorization URL with PKCE; `extra` adds or overrides parameters (an empty value drops one).
pub fn authorize_url(server: &TestServer, client_id: &str, redirect_uri: &str, challenge: &str, extra: &[(&str, &str)]) -> String {
    let mut params: Vec<(String, String)> = vec![
        ("response_type".into(), "code".into()),
        ("client_id".into(), client_id.into()),
        ("redirect_uri".into(), redirect_uri.into()),
        ("scope".into(), "openid profile".into()),
        ("state".into(), "st-123".into()),
        ("nonce".into(), "n-456".into()),
        ("code_challenge".into(), challenge.into()),
        ("code_challenge_method".into(), "S256".into()),
    ];
    for (k, v) in extra {
        params.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            params.push((k.to_string(), v.to_string()));
        }
    }
    let mut url = Url::parse(&server.url("/authorize")).expect("url");
    url.query_pairs_mut().extend_pairs(params);
    url.to_string()
}

/// Exchanges a code at the token endpoint as the confidential demo portal (HTTP Basic).
pub async fn redeem(server: &TestServer, code: &str, verifier: &str) -> (u16, serde_json::Value) {
    let res = backchannel()
        .post(server.url("/token"))
        .basic_auth(DVC, Some(DVC_SECRET))
        .form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", DVC_REDIRECT), ("code_verifier", verifier)])
        .send()
        .await
        .expect("token request");
    let status = res.status().as_u16();
    (status, res.json().await.expect("json body"))
}

/// Runs a whole sign-in for `who` at the demo portal and returns (code, verifier).
pub async fn code_for(server: &TestServer, browser: &Browser, who: (&str, &str)) -> (String, String) {
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(server, DVC, DVC_REDIRECT, &challenge, &[]);
    let mut page = browser.sign_in(&url, who).await;
    if page.url.contains("/consent?r=") {
        page = browser.consent(&page, "approve").await;
    }
    let code = page.query("code").unwrap_or_else(|| panic!("no code in {:?}: {}", page.location, page.body));
    (code, verifier)
}

/// The payload of a JWT, without checking its signature (the tests that need the signature
/// checked verify it with the JWKS).
pub fn jwt_payload(jwt: &str) -> serde_json::Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&nixa::crypto::b64url_decode(part).unwrap()).unwrap()
}

/// The claims of the ID token in a token response.
pub fn id_token_claims(tokens: &serde_json::Value) -> serde_json::Value {
    jwt_payload(tokens["id_token"].as_str().expect("id_token"))
}

/// The demo level-2 citizen's current TOTP code.
pub fn totp_now(server: &TestServer) -> String {
    nixa::authn::totp::current_code(nixa::demo::DEMO_TOTP_SECRET, server.app.now()).unwrap()
}

/// An imported person without a password, as `nixa person import` leaves them (phone and e-mail
/// made from the ID number).
pub async fn imported_person(server: &TestServer, pid: &str, birth: &str, level: nixa::identity::AccountLevel) -> nixa::identity::Person {
    let p = nixa::identity::Person {
        id: nixa::identity::PersonId::generate(),
        personal_id: nixa::identity::PersonalId::parse(pid).unwrap(),
        family_name: "Trần".into(),
        middle_name: "Thị".into(),
        given_name: "Lan".into(),
        birthdate: nixa::identity::person::parse_date(birth),
        sex: None,
        nationality: "VN".into(),
        address: None,
        phone: Some(format!("09{}", &pid[4..12])),
        email: Some(format!("p{pid}@example.vn")),
        account_level: level,
        status: nixa::identity::PersonStatus::Active,
    };
    let id = server.app.store.upsert_person(&p, server.app.now()).await.unwrap();
    server.app.store.person(&id).await.unwrap().unwrap()
}

/// An operator token with these scopes, inserted as `nixa operator token` would.
pub async fn operator_token(server: &TestServer, scopes: &[&str]) -> String {
    let t = nixa::crypto::random_token();
    let op = nixa::store::operators::OperatorToken {
        name: "registrar".into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        expires_at: server.app.now() + 3600,
    };
    server.app.store.insert_operator_token(&nixa::crypto::token_hash(&t), &op, server.app.now()).await.unwrap();
    t
}

/// The audit log as (event, client, detail), in order.
pub async fn events(server: &TestServer) -> Vec<(String, Option<String>, serde_json::Value)> {
    server
        .app
        .store
        .audit_entries(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.event, e.client_id, serde_json::from_str(&e.detail).unwrap()))
        .collect()
}
