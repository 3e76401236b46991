//! A rolling upgrade: the previous release and this one serve side by side on one PostgreSQL,
//! a load balancer alternating every request between them, through sign-in, consent, code
//! exchange, UserInfo, refreshes and logout. Not one request may fail. The previous release's
//! binary is built by `tests/previous-release.sh` (the README test command runs it) and found
//! through `NIXA_PREVIOUS_BIN`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::common;
use crate::observe::{Spawned, dvc_authorize_url, spawn_binary_in};
use common::private_pg::PrivatePostgres;
use common::*;
use serde_json::Value;

/// One request as the balancer passed it on: to which node, what, and the answer's status.
#[derive(Debug, Clone)]
struct Passed {
    node: usize,
    method: String,
    path: String,
    status: u16,
}

/// A round-robin HTTP load balancer: request n goes to node n mod N (per request, not per
/// connection, so that one person's consecutive steps land on different releases).
struct RoundRobin {
    passed: Arc<Mutex<Vec<Passed>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RoundRobin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RoundRobin {
    async fn start(port: u16, nodes: Vec<String>) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let passed = Arc::new(Mutex::new(Vec::new()));
        let next = Arc::new(AtomicUsize::new(0));
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let (log, nodes) = (passed.clone(), Arc::new(nodes));
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let (log, nodes, client, next) = (log.clone(), nodes.clone(), client.clone(), next.clone());
            async move {
                let node = next.fetch_add(1, Ordering::SeqCst) % nodes.len();
                let (mut parts, body) = req.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
                parts.headers.remove(axum::http::header::HOST);
                let path = parts.uri.path().to_string();
                let target = format!("{}{}", nodes[node], parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
                let res = client.request(parts.method.clone(), target).headers(parts.headers).body(body).send().await.unwrap();
                let status = res.status();
                let headers = res.headers().clone();
                let body = res.bytes().await.unwrap();
                log.lock().unwrap().push(Passed { node, method: parts.method.to_string(), path, status: status.as_u16() });
                let mut out = axum::response::Response::new(axum::body::Body::from(body));
                *out.status_mut() = status;
                *out.headers_mut() = headers;
                out
            }
        });
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        RoundRobin { passed, task }
    }

    fn passed(&self) -> Vec<Passed> {
        self.passed.lock().unwrap().clone()
    }
}

fn previous_release() -> std::path::PathBuf {
    let path = std::env::var("NIXA_PREVIOUS_BIN")
        .expect("NIXA_PREVIOUS_BIN: the previous release's binary (tests/run sets it from tests/previous-release.sh)");
    let path = std::path::PathBuf::from(path);
    assert!(path.is_file(), "{} is missing: run tests/previous-release.sh", path.display());
    path
}

/// One person's whole visit through the balancer: sign-in (with consent the first time), code
/// exchange, UserInfo, two refreshes, RP-initiated logout, and the session found gone.
async fn visit(issuer: &str, round: usize) {
    let b = Browser::new(issuer);
    let (verifier, challenge) = pkce_pair();
    let mut url = dvc_authorize_url(issuer, &challenge);
    let mut page = b.sign_in(url.as_str(), AN).await;
    if page.url.contains("/consent?r=") {
        page = b.consent(&page, "approve").await;
    }
    let code = page.query("code").unwrap_or_else(|| panic!("round {round}: no code: {:?} {}", page.location, page.body));
    let http = backchannel();
    let token = async |form: &[(&str, &str)]| -> Value {
        let res = http.post(format!("{issuer}/token")).basic_auth(DVC, Some(DVC_SECRET)).form(form).send().await.unwrap();
        assert_eq!(res.status(), 200, "round {round}: {form:?}");
        res.json().await.unwrap()
    };
    let tokens =
        token(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", DVC_REDIRECT), ("code_verifier", &verifier)]).await;
    let id_token = tokens["id_token"].as_str().unwrap().to_string();
    assert_eq!(jwt_payload(&id_token)["iss"], issuer);
    let userinfo = http.get(format!("{issuer}/userinfo")).bearer_auth(tokens["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(userinfo.status(), 200, "round {round}");
    let mut refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    for _ in 0..2 {
        let next = token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
        refresh = next["refresh_token"].as_str().unwrap().to_string();
    }
    let mut logout = url::Url::parse(&format!("{issuer}/logout")).unwrap();
    logout.query_pairs_mut().extend_pairs([
        ("id_token_hint", id_token.as_str()),
        ("post_logout_redirect_uri", "http://localhost:9000/logged-out"),
        ("state", "bye"),
    ]);
    let out = b.get(logout.as_str()).await;
    assert_eq!(out.location.as_deref(), Some("http://localhost:9000/logged-out?state=bye"), "round {round}: {}", out.body);
    url.query_pairs_mut().append_pair("prompt", "none");
    let silent = b.get(url.as_str()).await;
    assert_eq!(silent.query("error").as_deref(), Some("login_required"), "round {round}: the session ended");
}

#[tokio::test]
async fn the_previous_release_and_this_one_serve_alternate_requests_on_one_postgresql_without_a_failure() {
    let previous = previous_release();
    let pg = PrivatePostgres::start();
    let (dirs, balancer_port) = ([tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()], free_port());
    let issuer = format!("http://localhost:{balancer_port}");
    let database = pg.url();
    let env = [("NIXA_DATABASE_URL", database.as_str()), ("NIXA_ISSUER", issuer.as_str())];

    // The running deployment, then the new release joining it (its start migrates the schema).
    let old: Spawned = spawn_binary_in(&previous, dirs[0].path(), &env).await;
    let new: Spawned = spawn_binary_in(std::path::Path::new(env!("CARGO_BIN_EXE_nixa")), dirs[1].path(), &env).await;
    let balancer = RoundRobin::start(balancer_port, vec![old.issuer.clone(), new.issuer.clone()]).await;

    for round in 0..4 {
        visit(&issuer, round).await;
        if round % 2 == 0 {
            // Shifts which release gets which step in the next visit.
            let res = backchannel().get(format!("{issuer}/healthz")).send().await.unwrap();
            assert_eq!(res.status(), 200);
        }
    }

    let passed = balancer.passed();
    let failed: Vec<&Passed> = passed.iter().filter(|p| ![200, 302, 303].contains(&p.status)).collect();
    assert!(failed.is_empty(), "failed requests: {failed:?}");
    for (method, path) in [("GET", "/authorize"), ("POST", "/login"), ("POST", "/token"), ("GET", "/userinfo"), ("GET", "/logout")] {
        let nodes: std::collections::BTreeSet<usize> =
            passed.iter().filter(|p| p.method == method && p.path == path).map(|p| p.node).collect();
        assert_eq!(nodes.len(), 2, "{method} {path} was served by both releases: {passed:?}");
    }
    assert!(passed.len() >= 4 * 9, "{} requests", passed.len());
}
