//! `POST /api/v1/certificates/verify` returns the same report as the command line.

use crate::vectors;

use crate::common;

use common::{TestServer, backchannel};
use serde_json::{Value, json};

static VN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| vectors::dir("vn-trust"));

#[tokio::test]
async fn verify_endpoint_reports_chain_checks_and_summary() {
    let server = TestServer::start().await;
    let http = backchannel();
    let pem = std::fs::read_to_string(format!("{}cpcag2.crt", *VN)).unwrap();
    let body = json!({"certificate": pem, "at": "2025-06-01T00:00:00Z", "revocation": "off", "ca": true});
    let r = http.post(server.url("/api/v1/certificates/verify")).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["valid"], true, "{report:#}");
    assert_eq!(report["chain"][1]["trust_anchor"], "RootCA chuyên dùng Chính phủ G2");
    assert!(report["checks"].as_array().unwrap().iter().all(|c| c["ok"] == true));
    assert!(report["summary"]["en"].as_str().unwrap().contains("valid"));
    // As a signature certificate the same CA is refused, with the failing check named.
    let body = json!({"certificate": pem, "at": "2025-06-01T00:00:00Z", "revocation": "off"});
    let report: Value = http.post(server.url("/api/v1/certificates/verify")).json(&body).send().await.unwrap().json().await.unwrap();
    assert_eq!(report["valid"], false);
    assert!(report["summary"]["vi"].as_str().unwrap().contains("end_entity"));
    // Unusable input is a 4xx problem, not a report.
    let r = http.post(server.url("/api/v1/certificates/verify")).json(&json!({"certificate": "bm90IGEgY2VydA=="})).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let r = http.post(server.url("/api/v1/certificates/verify")).json(&json!({"cert": "x"})).send().await.unwrap();
    assert_eq!(r.status(), 400);
}
