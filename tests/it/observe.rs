//! Seeing the service: readiness follows the database (a PostgreSQL of the test's own, stopped
//! and started again).

use std::time::{Duration, Instant};

use crate::common;

use common::private_pg::PrivatePostgres;
use common::*;
use serde_json::Value;

async fn readyz(server: &TestServer) -> (u16, Value) {
    let res = backchannel().get(server.url("/readyz")).timeout(Duration::from_secs(10)).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn readyz_is_503_within_two_seconds_when_the_database_stops_and_200_again_when_it_is_back() {
    let pg = PrivatePostgres::start();
    let url = pg.url();
    let server = TestServer::start_with(|c| c.database_url = Some(url)).await;
    let (status, body) = readyz(&server).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["migrations"], "current");
    assert_eq!(body["checks"]["signing_keys"], "loaded");
    let health = backchannel().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!((health.status().as_u16(), health.text().await.unwrap().as_str()), (200, "ok"));

    pg.stop();
    let asked = Instant::now();
    let (status, body) = readyz(&server).await;
    assert!(asked.elapsed() < Duration::from_secs(2), "answered in {:?}", asked.elapsed());
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable");
    assert_ne!(body["checks"]["database"], "ok");
    let health = backchannel().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "the process still lives");

    pg.start_again();
    // The pool reconnects by itself; no restart of nixa.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = readyz(&server).await;
        if status == 200 {
            assert_eq!(body["status"], "ready");
            break;
        }
        assert!(Instant::now() < deadline, "still not ready: {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn readyz_says_behind_when_the_database_lacks_a_migration() {
    let server = TestServer::start().await;
    assert_eq!(readyz(&server).await.0, 200);
    use sqlx::Connection;
    let mut db = sqlx::AnyConnection::connect(&server.app.settings.database_url).await.unwrap();
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)").execute(&mut db).await.unwrap();
    let (status, body) = readyz(&server).await;
    assert_eq!((status, body["checks"]["migrations"].as_str()), (503, Some("behind")), "{body}");
}

/// `nixa serve --demo` as a separate process, its standard error kept.
pub(crate) struct Spawned {
    pub(crate) child: std::process::Child,
    pub(crate) issuer: String,
    metrics: String,
    pub(crate) stderr: std::path::PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn spawn_nixa(env: &[(&str, &str)]) -> Spawned {
    let dir = tempfile::tempdir().unwrap();
    let mut spawned = spawn_nixa_in(dir.path(), env).await;
    spawned._dir = Some(dir);
    spawned
}

/// In `dir` (its demo database there): a restart in the same directory finds its data again.
pub(crate) async fn spawn_nixa_in(dir: &std::path::Path, env: &[(&str, &str)]) -> Spawned {
    spawn_binary_in(std::path::Path::new(env!("CARGO_BIN_EXE_nixa")), dir, env).await
}

/// The same with another build of nixa (`upgrade`: the previous release).
pub(crate) async fn spawn_binary_in(binary: &std::path::Path, dir: &std::path::Path, env: &[(&str, &str)]) -> Spawned {
    let (port, metrics_port) = (free_port(), free_port());
    let stderr = dir.join(format!("stderr-{port}.log"));
    let child = std::process::Command::new(binary)
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir)
        .env("NIXA_METRICS_LISTEN", format!("127.0.0.1:{metrics_port}"))
        .env("NIXA_THROTTLE", "{pow_per_minute=0}")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let issuer = format!("http://localhost:{port}");
    let spawned = Spawned { child, issuer, metrics: format!("127.0.0.1:{metrics_port}"), stderr, _dir: None };
    let deadline = Instant::now() + Duration::from_secs(60);
    while backchannel().get(format!("{}/readyz", spawned.issuer)).send().await.map(|r| r.status() != 200).unwrap_or(true) {
        assert!(Instant::now() < deadline, "nixa did not become ready: {}", std::fs::read_to_string(&spawned.stderr).unwrap_or_default());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    spawned
}

/// The demo portal's authorization request (code flow, PKCE, refresh tokens) at `issuer`.
pub(crate) fn dvc_authorize_url(issuer: &str, challenge: &str) -> url::Url {
    let mut url = url::Url::parse(&format!("{issuer}/authorize")).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", DVC),
        ("redirect_uri", DVC_REDIRECT),
        ("scope", "openid profile offline_access"),
        ("state", "st"),
        ("nonce", "nn"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]);
    url
}

/// What a portal and a person do: sign in with a password, consent, exchange the code, call
/// UserInfo, refresh. Returns every secret that went over the wire.
pub(crate) async fn sign_in_run(issuer: &str) -> Vec<String> {
    let b = Browser::new(issuer);
    let (verifier, challenge) = pkce_pair();
    let mut url = dvc_authorize_url(issuer, &challenge);
    url.query_pairs_mut().append_pair("login_hint", AN.0);
    let mut page = b.sign_in(url.as_str(), AN).await;
    if page.url.contains("/consent?r=") {
        page = b.consent(&page, "approve").await;
    }
    let code = page.query("code").unwrap_or_else(|| panic!("no code: {:?} {}", page.location, page.body));
    let http = backchannel();
    let token = |form: Vec<(&'static str, String)>| {
        let request = http.post(format!("{issuer}/token")).basic_auth(DVC, Some(DVC_SECRET)).form(&form);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let tokens = token(vec![
        ("grant_type", "authorization_code".into()),
        ("code", code.clone()),
        ("redirect_uri", DVC_REDIRECT.into()),
        ("code_verifier", verifier.clone()),
    ])
    .await;
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let userinfo = http.get(format!("{issuer}/userinfo")).bearer_auth(&access).send().await.unwrap();
    assert_eq!(userinfo.status(), 200);
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let refreshed = token(vec![("grant_type", "refresh_token".into()), ("refresh_token", refresh.clone())]).await;
    let mut secrets = vec![code, verifier, access, refresh, tokens["id_token"].as_str().unwrap().to_string()];
    secrets.extend(["access_token", "refresh_token", "id_token"].iter().filter_map(|k| refreshed[*k].as_str().map(str::to_owned)));
    secrets.extend([AN.0.to_string(), AN.1.to_string(), DVC_SECRET.to_string()]);
    secrets
}

#[tokio::test]
async fn a_debug_log_of_a_whole_sign_in_holds_no_secret_and_a_json_line_per_request() {
    let nixa = spawn_nixa(&[("RUST_LOG", "debug"), ("NIXA_LOG_FORMAT", "json")]).await;
    let secrets = sign_in_run(&nixa.issuer).await;
    // The request lines are written once the responses are sent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = std::fs::read_to_string(&nixa.stderr).unwrap();
    assert!(log.lines().count() > 20, "a debug log: {log}");
    for s in &secrets {
        // Tokens are long; the ID number and password are checked whole as well.
        assert!(!log.contains(s.as_str()), "the log holds a secret ({} characters)", s.len());
    }
    assert!(!log.contains('\u{1b}'), "no terminal escapes in a file");
    let lines: Vec<Value> = log.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    let requests: Vec<&Value> = lines.iter().filter(|l| l["target"] == "nixa::request").collect();
    let routes: Vec<&str> = requests.iter().map(|r| r["route"].as_str().unwrap()).collect();
    for route in ["/authorize", "/login", "/consent", "/token", "/userinfo"] {
        assert!(routes.contains(&route), "{route} in {routes:?}");
    }
    for r in &requests {
        assert_eq!(r["request_id"].as_str().map(str::len), Some(32), "{r}");
        assert!(r["status"].is_u64() && r["latency_ms"].is_number() && r["client"] == "127.0.0.1" && r["method"].is_string(), "{r}");
    }
    assert_eq!(requests.iter().filter(|r| r["route"] == "/token").count(), 2, "one line per request");
}

#[tokio::test]
async fn a_caller_s_traceparent_becomes_the_request_id() {
    let nixa = spawn_nixa(&[]).await;
    let res = backchannel()
        .get(format!("{}/.well-known/openid-configuration", nixa.issuer))
        .header("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    // `systemctl reload` sends SIGHUP: without [tls] there is nothing to reload, and the
    // process must not end (SIGHUP's default).
    assert!(std::process::Command::new("kill").args(["-HUP", &nixa.child.id().to_string()]).status().unwrap().success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let res = backchannel().get(format!("{}/healthz", nixa.issuer)).send().await.unwrap();
    assert_eq!(res.status(), 200, "still serving after SIGHUP");
    let log = std::fs::read_to_string(&nixa.stderr).unwrap();
    let line = log.lines().find(|l| l.contains("4bf92f3577b34da6a3ce929d0e0e4736")).expect("the request line");
    assert!(line.contains("route=/.well-known/openid-configuration") && line.contains("status=200"), "{line}");
    assert!(!log.contains('\u{1b}'), "text lines without colours in a file");
}

/// A minimal OTLP/HTTP receiver: decodes every `POST /v1/traces` (protobuf, as the OpenTelemetry
/// Protocol specifies) and keeps the spans with their resource's `service.name`.
struct OtlpReceiver {
    url: String,
    spans: std::sync::Arc<std::sync::Mutex<Vec<(String, opentelemetry_proto::tonic::trace::v1::Span)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl OtlpReceiver {
    async fn start() -> Self {
        use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
        use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
        use prost::Message;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
        let spans = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = spans.clone();
        let receive = move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/x-protobuf") {
                    return (axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE, Vec::new());
                }
                let Ok(request) = ExportTraceServiceRequest::decode(body) else { return (axum::http::StatusCode::BAD_REQUEST, Vec::new()) };
                for resource in request.resource_spans {
                    let service = resource
                        .resource
                        .iter()
                        .flat_map(|r| &r.attributes)
                        .find(|a| a.key == "service.name")
                        .and_then(|a| match a.value.as_ref()?.value.as_ref()? {
                            Any::StringValue(s) => Some(s.clone()),
                            _ => None,
                        })
                        .unwrap_or_default();
                    for span in resource.scope_spans.into_iter().flat_map(|s| s.spans) {
                        kept.lock().unwrap().push((service.clone(), span));
                    }
                }
                (axum::http::StatusCode::OK, ExportTraceServiceResponse::default().encode_to_vec())
            }
        };
        let app = axum::Router::new().route("/v1/traces", axum::routing::post(receive));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, spans, task }
    }

    /// Waits until a span named `name` arrived (the exporter sends in batches).
    async fn spans_once(&self, name: &str) -> Vec<(String, opentelemetry_proto::tonic::trace::v1::Span)> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let spans = self.spans.lock().unwrap().clone();
            if spans.iter().any(|(_, s)| s.name == name) {
                return spans;
            }
            assert!(
                Instant::now() < deadline,
                "no span {name:?} arrived; got {:?}",
                spans.iter().map(|(_, s)| &s.name).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn attribute(span: &opentelemetry_proto::tonic::trace::v1::Span, key: &str) -> Option<String> {
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
    span.attributes.iter().find(|a| a.key == key).and_then(|a| match a.value.as_ref()?.value.as_ref()? {
        Any::StringValue(s) => Some(s.clone()),
        Any::IntValue(i) => Some(i.to_string()),
        other => Some(format!("{other:?}")),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Spans reach an OTLP/HTTP receiver (decoded here); a caller's `traceparent` is joined; every
/// call to an upstream provider (a real `oidc-provider`) is a child span of the request that
/// made it, and the upstream receives that span's `traceparent`.
#[tokio::test]
async fn traces_reach_an_otlp_receiver_and_upstream_calls_carry_the_traceparent() {
    const CALLER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let receiver = OtlpReceiver::start().await;
    let mut node = crate::federation::Node::start_with("provider.js", &[("PRINT_TRACEPARENT", "1")]).await;
    let upstreams = format!(
        r#"[{{id="vn-hub", display_name="VN hub", issuer="{}", client_id="nixa-hub", client_secret="hub-secret-for-tests-only-0123456789", scopes=["openid","vn"], trust_level="LoA2", trust_personal_id=true, personal_id_verified_claim="vn_personal_id_verified", claims={{personal_id="SoDinhDanh", name="HoVaTen", birthdate="NgayThangNamSinh"}}}}]"#,
        node.issuer()
    );
    let traces = format!("{{otlp_url=\"{}\"}}", receiver.url);
    let nixa = spawn_nixa(&[("NIXA_TRACES", &traces), ("NIXA_UPSTREAMS", &upstreams), ("OTEL_BSP_SCHEDULE_DELAY", "200")]).await;
    node.configure(&format!("{}/login/upstream/callback", nixa.issuer)).await;

    let joined =
        backchannel().get(format!("{}/.well-known/openid-configuration", nixa.issuer)).header("traceparent", CALLER).send().await.unwrap();
    assert_eq!(joined.headers()["x-request-id"], "4bf92f3577b34da6a3ce929d0e0e4736");

    // A sign-in at a portal through the upstream: discovery, token and UserInfo calls.
    let b = Browser::new(&nixa.issuer);
    let (_, challenge) = pkce_pair();
    let mut url = url::Url::parse(&format!("{}/authorize", nixa.issuer)).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", DVC),
        ("redirect_uri", DVC_REDIRECT),
        ("scope", "openid profile"),
        ("state", "st"),
        ("nonce", "nn"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("idp_hint", "vn-hub"),
    ]);
    let form = crate::federation::walk(&b, b.get(url.as_str()).await).await;
    assert!(form.url.contains("/interaction/"), "at oidc-provider's login: {}\n{}", form.url, form.body);
    let action = form.body.split("action=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let back = crate::federation::walk(&b, b.post(&crate::federation::absolute(&form.url, &action), &[("login", "an")]).await).await;
    assert!(back.url.contains("/consent?r=") || back.query("code").is_some(), "back at nixa: {} {}", back.url, back.body);

    // What the upstream received, in order.
    let mut received = Vec::new();
    while let Ok(Ok(Some(line))) = tokio::time::timeout(Duration::from_secs(1), node.lines.next_line()).await {
        if let Some(call) = line.strip_prefix("traceparent ") {
            let (request, traceparent) = call.rsplit_once(' ').unwrap();
            received.push((request.to_string(), traceparent.to_string()));
        }
    }
    let sent = |request: &str| {
        received
            .iter()
            .find(|(r, _)| r == request)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| panic!("{request} without a traceparent: {received:?}"))
    };

    let spans = receiver.spans_once("upstream userinfo").await;
    assert!(spans.iter().all(|(service, _)| service == "nixa"), "service.name");
    let spans: Vec<_> = spans.into_iter().map(|(_, s)| s).collect();
    let routes: Vec<_> = spans.iter().map(|s| (s.name.clone(), hex(&s.span_id), hex(&s.parent_span_id))).collect();
    let server = |route: &str| {
        spans
            .iter()
            .find(|s| attribute(s, "http.route").as_deref() == Some(route))
            .unwrap_or_else(|| panic!("a span for {route}: {routes:?}"))
    };
    const SERVER: i32 = 2;
    const CLIENT: i32 = 3;

    let discovery = server("/.well-known/openid-configuration");
    assert_eq!(
        (hex(&discovery.trace_id), hex(&discovery.parent_span_id), discovery.kind),
        ("4bf92f3577b34da6a3ce929d0e0e4736".into(), "00f067aa0ba902b7".into(), SERVER),
        "the caller's trace, under the caller's span"
    );
    assert_eq!(
        (attribute(discovery, "http.request.method").as_deref(), attribute(discovery, "http.response.status_code").as_deref()),
        (Some("GET"), Some("200"))
    );

    for (request, route, call) in [
        ("GET /.well-known/openid-configuration", "/login", "upstream discovery"),
        ("POST /token", "/login/upstream/callback", "upstream token"),
        ("GET /me", "/login/upstream/callback", "upstream userinfo"),
    ] {
        let parent = server(route);
        let span = spans
            .iter()
            .find(|s| s.name == call && s.parent_span_id == parent.span_id)
            .unwrap_or_else(|| panic!("{call} as a child of {route}: {routes:?}"));
        assert_eq!((span.kind, &span.trace_id), (CLIENT, &parent.trace_id), "{call} in the trace of the {route} request");
        assert_eq!(attribute(span, "nixa.upstream").as_deref(), Some("vn-hub"));
        assert_eq!(sent(request), format!("00-{}-{}-01", hex(&span.trace_id), hex(&span.span_id)), "{request} carried the {call} span");
    }
    // Nothing that may carry a token, a code or a personal ID: routes are templates.
    for s in &spans {
        for a in &s.attributes {
            let v = format!("{:?}", a.value);
            assert!(!v.contains('?') && !v.contains(AN.0) && !v.contains("code="), "{}: {v}", a.key);
        }
    }
}

/// Debian's Prometheus (tests/run installs it) scrapes nixa; the sign-in counter is read back
/// through Prometheus's query API.
#[tokio::test]
async fn prometheus_scrapes_the_sign_in_counter() {
    let prometheus = which("prometheus").expect("Prometheus is installed (tests/run: apt-get install prometheus)");
    let nixa = spawn_nixa(&[]).await;
    let metrics = backchannel().get(format!("http://{}/metrics", nixa.metrics)).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: nixa\n    static_configs:\n      - targets: ['{}']\n",
            nixa.metrics
        ),
    )
    .unwrap();
    let port = free_port();
    let mut prom = std::process::Command::new(prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
        .spawn()
        .unwrap();
    struct Kill<'a>(&'a mut std::process::Child);
    impl Drop for Kill<'_> {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _prom = Kill(&mut prom);
    sign_in_run(&nixa.issuer).await;
    let query = |q: &'static str| {
        let url = format!("http://127.0.0.1:{port}/api/v1/query");
        async move {
            let res = backchannel().get(url).query(&[("query", q)]).send().await.ok()?;
            let body: Value = res.json().await.ok()?;
            body["data"]["result"][0]["value"][1].as_str()?.parse::<f64>().ok()
        }
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let signed_in = loop {
        if let Some(v) = query(r#"sum(nixa_sign_ins_total{outcome="success",method="pwd"})"#).await {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never saw the sign-in: {}",
            std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(signed_in, 1.0);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let tokens = query(r#"sum(nixa_token_requests_total{grant="refresh_token",outcome="issued"})"#).await;
        let requests = query(r#"sum(nixa_http_requests_total{route="/userinfo",status="200"})"#).await;
        let pool = query(r#"sum(nixa_db_pool_connections)"#).await;
        let statements = query(r#"sum(nixa_db_statement_duration_seconds_count{statement="insert"})"#).await;
        if tokens == Some(1.0) && requests == Some(1.0) && pool.is_some_and(|p| p >= 1.0) && statements.is_some_and(|n| n >= 3.0) {
            break;
        }
        assert!(Instant::now() < deadline, "tokens {tokens:?}, userinfo {requests:?}, pool {pool:?}, insert statements {statements:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // No label carries a person or a token.
    let text = backchannel().get(format!("http://{}/metrics", nixa.metrics)).send().await.unwrap().text().await.unwrap();
    assert!(!text.contains(AN.0) && !text.contains("code="), "{text}");
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| std::path::Path::new(d).join(name)).find(|p| p.is_file())
}

/// Debian's rsyslog with a TCP input that writes each message as received to a file.
struct Rsyslog {
    bin: std::path::PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    child: Option<std::process::Child>,
}

/// A certificate authority and a certificate for `localhost` that it issued, as PEM files in
/// `dir`: (the CA's file, the certificate's, its key's).
pub(crate) fn localhost_certificate(dir: &std::path::Path, ca_name: &str) -> [std::path::PathBuf; 3] {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, date_time_ymd};
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, ca_name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    (p.not_before, p.not_after) = (date_time_ymd(2024, 1, 1), date_time_ymd(2040, 1, 1));
    let ca = p.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    (p.not_before, p.not_after) = (date_time_ymd(2024, 1, 1), date_time_ymd(2040, 1, 1));
    let cert = p.signed_by(&key, &ca, &ca_key).unwrap();
    let files = [dir.join(format!("{ca_name}.pem")), dir.join("cert.pem"), dir.join("key.pem")];
    for (path, pem) in files.iter().zip([ca.pem(), cert.pem(), key.serialize_pem()]) {
        std::fs::write(path, pem).unwrap();
    }
    files
}

impl Rsyslog {
    /// Plain TCP, or (`tls`) TLS with a certificate for `localhost` (RFC 5425, rsyslog's `gtls`
    /// driver from `rsyslog-gnutls`).
    fn start(tls: bool) -> Self {
        let bin = which("rsyslogd").or_else(|| Some("/usr/sbin/rsyslogd".into()).filter(|p: &std::path::PathBuf| p.is_file()));
        let bin = bin.expect("rsyslog is installed (tests/run: apt-get install rsyslog)");
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let (driver, module) = if tls {
            let [ca, cert, key] = localhost_certificate(dir.path(), "siem-ca");
            assert!(
                std::path::Path::new("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so").exists(),
                "rsyslog-gnutls is installed (tests/run)"
            );
            (
                format!(
                    " defaultNetstreamDriver=\"gtls\" defaultNetstreamDriverCAFile=\"{}\" defaultNetstreamDriverCertFile=\"{}\" defaultNetstreamDriverKeyFile=\"{}\"",
                    ca.display(),
                    cert.display(),
                    key.display()
                ),
                " streamDriver.name=\"gtls\" streamDriver.mode=\"1\" streamDriver.authMode=\"anon\"",
            )
        } else {
            (String::new(), "")
        };
        let conf = format!(
            "global(workDirectory=\"{d}\"{driver})\n\
             module(load=\"imtcp\"{module})\n\
             template(name=\"raw\" type=\"string\" string=\"%rawmsg%\\n\")\n\
             ruleset(name=\"nixa\") {{ action(type=\"omfile\" file=\"{d}/received.log\" template=\"raw\" flushOnTXEnd=\"on\" asyncWriting=\"off\") }}\n\
             input(type=\"imtcp\" port=\"{port}\" address=\"127.0.0.1\" ruleset=\"nixa\")\n",
            d = dir.path().display()
        );
        std::fs::write(dir.path().join("rsyslog.conf"), conf).unwrap();
        let mut r = Self { bin, dir, port, child: None };
        r.run();
        r
    }

    fn run(&mut self) {
        let d = self.dir.path();
        let child = std::process::Command::new(&self.bin)
            .args(["-n", "-f"])
            .arg(d.join("rsyslog.conf"))
            .arg("-i")
            .arg(d.join("rsyslog.pid"))
            .stdout(std::process::Stdio::null())
            .stderr(
                std::fs::File::create(d.join(format!(
                    "rsyslogd-{}.log",
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
                )))
                .unwrap(),
            )
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "rsyslogd did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops it as an operator would (SIGTERM), and waits.
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = std::process::Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
            let _ = c.wait();
        }
    }

    /// The sequence numbers received, in the order they arrived.
    fn received(&self) -> Vec<i64> {
        let text = std::fs::read_to_string(self.dir.path().join("received.log")).unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let at = l.find("seq=\"")? + 5;
                l[at..].split('"').next()?.parse().ok()
            })
            .collect()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Every sequence number from 1 to `head` arrived, in order once duplicates (a resend carries
/// the same number) are set aside.
fn complete_and_in_order(received: &[i64], head: i64) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    let firsts: Vec<i64> = received.iter().copied().filter(|s| seen.insert(*s)).collect();
    if firsts != (1..=head).collect::<Vec<_>>() {
        return Err(format!("{} distinct of {head}, first arrivals {firsts:?}", firsts.len()));
    }
    Ok(())
}

#[tokio::test]
async fn every_audit_event_reaches_rsyslog_in_order_through_a_restart_and_an_outage() {
    stream_to_rsyslog_through_a_restart_and_an_outage(false).await;
}

#[tokio::test]
async fn every_audit_event_reaches_rsyslog_over_tls_through_a_restart_and_an_outage() {
    stream_to_rsyslog_through_a_restart_and_an_outage(true).await;
}

/// A receiver whose certificate this server's CA file did not issue gets nothing.
#[tokio::test]
async fn a_syslog_receiver_with_an_untrusted_certificate_receives_nothing() {
    let rsyslog = Rsyslog::start(true);
    let other = tempfile::tempdir().unwrap();
    let [other_ca, ..] = localhost_certificate(other.path(), "another-ca");
    let siem = format!("{{syslog_tcp=\"localhost:{}\", syslog_tls=true, syslog_ca_file=\"{}\"}}", rsyslog.port, other_ca.display());
    let nixa = spawn_nixa(&[("NIXA_SIEM", siem.as_str())]).await;
    sign_in_run(&nixa.issuer).await;
    let failures = || async {
        let text = backchannel().get(format!("http://{}/metrics", nixa.metrics)).send().await.unwrap().text().await.unwrap();
        text.lines()
            .find(|l| l.starts_with("nixa_siem_failures_total{sink=\"syslog\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while failures().await.is_none_or(|n| n < 1.0) {
        assert!(Instant::now() < deadline, "the refused certificate counts as a failure");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(rsyslog.received().is_empty(), "nothing went to an unverified receiver");
    let log = std::fs::read_to_string(&nixa.stderr).unwrap();
    assert!(log.contains("UnknownIssuer"), "the log says why: {log}");

    // A CA file that does not exist stops the start.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nixa"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .current_dir(other.path())
        .env("NIXA_SIEM", format!("{{syslog_tcp=\"localhost:{}\", syslog_tls=true, syslog_ca_file=\"/nonexistent/ca.pem\"}}", rsyslog.port))
        .output()
        .unwrap();
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("siem.syslog_ca_file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn stream_to_rsyslog_through_a_restart_and_an_outage(tls: bool) {
    let mut rsyslog = Rsyslog::start(tls);
    let dir = tempfile::tempdir().unwrap();
    let siem = if tls {
        let ca = rsyslog.dir.path().join("siem-ca.pem");
        format!("{{syslog_tcp=\"localhost:{}\", syslog_tls=true, syslog_ca_file=\"{}\", batch=7}}", rsyslog.port, ca.display())
    } else {
        format!("{{syslog_tcp=\"127.0.0.1:{}\", batch=7}}", rsyslog.port)
    };
    let env = [("NIXA_SIEM", siem.as_str())];
    let token = {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_nixa"))
            .args(["--demo", "operator", "token", "--name", "siem-test", "--scope", "persons:write"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["token"].as_str().unwrap().to_string()
    };
    // Each lock or unlock through the admin API is one audit entry.
    let events = |issuer: String, n: usize| {
        let token = token.clone();
        async move {
            for i in 0..n {
                let action = if i % 2 == 0 { "lock" } else { "unlock" };
                let res =
                    backchannel().post(format!("{issuer}/admin/v1/persons/{}/{action}", AN.0)).bearer_auth(&token).send().await.unwrap();
                assert_eq!(res.status(), 200);
            }
        }
    };
    let head = |dir: std::path::PathBuf| async move {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut db = sqlx::AnyConnection::connect(&format!("sqlite://{}", dir.join("nixa-demo.db").display())).await.unwrap();
        sqlx::query_scalar::<_, i64>("SELECT MAX(seq) FROM audit_log").fetch_one(&mut db).await.unwrap()
    };
    let arrived = |rsyslog: &Rsyslog, head: i64| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match complete_and_in_order(&rsyslog.received(), head) {
                Ok(()) => return,
                Err(e) if Instant::now() > deadline => panic!("not everything arrived: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    };

    let mut nixa = spawn_nixa_in(dir.path(), &env).await;
    events(nixa.issuer.clone(), 20).await;
    arrived(&rsyslog, head(dir.path().to_path_buf()).await);

    // A restart in the middle of a stream: killed while entries wait, started again.
    events(nixa.issuer.clone(), 30).await;
    let _ = nixa.child.kill();
    let _ = nixa.child.wait();
    nixa = spawn_nixa_in(dir.path(), &env).await;
    events(nixa.issuer.clone(), 10).await;
    arrived(&rsyslog, head(dir.path().to_path_buf()).await);

    // The receiver stops for a while; sign-ins and changes go on meanwhile.
    rsyslog.stop();
    let before = rsyslog.received().len();
    events(nixa.issuer.clone(), 25).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(rsyslog.received().len(), before, "nothing arrives while it is down");
    let lag = backchannel().get(format!("http://{}/metrics", nixa.metrics)).send().await.unwrap().text().await.unwrap();
    let lag: f64 = lag
        .lines()
        .find(|l| l.starts_with("nixa_siem_lag_entries{sink=\"syslog\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .expect("the lag metric");
    assert!(lag >= 25.0, "the lag shows the backlog: {lag}");
    rsyslog.run();
    arrived(&rsyslog, head(dir.path().to_path_buf()).await);
    let _ = nixa.child.kill();
}

#[tokio::test]
async fn the_json_lines_stream_resends_what_a_receiver_refused_and_loses_nothing() {
    use std::sync::{Arc, Mutex};
    // A SIEM's HTTP input: the first three batches are refused (503), the rest kept.
    let received: Arc<Mutex<Vec<i64>>> = Arc::default();
    let refusals = Arc::new(std::sync::atomic::AtomicUsize::new(3));
    let app = axum::Router::new().route(
        "/ingest",
        axum::routing::post({
            let (received, refusals) = (received.clone(), refusals.clone());
            move |headers: axum::http::HeaderMap, body: String| {
                let (received, refusals) = (received.clone(), refusals.clone());
                async move {
                    assert_eq!(headers["content-type"], "application/x-ndjson");
                    if refusals
                        .fetch_update(std::sync::atomic::Ordering::SeqCst, std::sync::atomic::Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                    {
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let mut r = received.lock().unwrap();
                    r.extend(body.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["seq"].as_i64().unwrap()));
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let siem = format!("{{http_url=\"http://{addr}/ingest\", batch=2}}");
    let nixa = spawn_nixa(&[("NIXA_SIEM", siem.as_str())]).await;
    for _ in 0..4 {
        sign_in_run(&nixa.issuer).await;
    }
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let db_path = nixa._dir.as_ref().unwrap().path().join("nixa-demo.db");
    let mut db = sqlx::AnyConnection::connect(&format!("sqlite://{}", db_path.display())).await.unwrap();
    let head: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM audit_log").fetch_one(&mut db).await.unwrap();
    assert!(head >= 5, "several batches of two: {head}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = received.lock().unwrap().clone();
        match complete_and_in_order(&got, head) {
            Ok(()) => break,
            Err(e) => assert!(Instant::now() < deadline, "{e}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(refusals.load(std::sync::atomic::Ordering::SeqCst), 0, "the refusals were retried");
    let cursor: i64 = sqlx::query_scalar("SELECT seq FROM siem_cursors WHERE sink = 'http'").fetch_one(&mut db).await.unwrap();
    assert!(cursor >= head, "the cursor is kept in the database");
}
