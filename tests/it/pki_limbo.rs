//! Runs every x509-limbo case through nixa's validator (signature-certificate profile, with the
//! case's peer name, purpose and depth) and writes the agreement table to src/pki/LIMBO.md.

use crate::vectors;

use std::fmt::Write as _;

use nixa::pki::names::PeerName;
use nixa::pki::{Cert, Crl, EkuRule, Mode, Policy, Revocation, TrustStore, cert::oid, verify};
use serde_json::Value;
use x509_cert::ext::pkix::KeyUsages;

fn limbo_path() -> String {
    format!("{}limbo.json", vectors::dir("x509-limbo"))
}

fn certs(v: &Value) -> Result<Vec<Cert>, String> {
    v.as_array().into_iter().flatten().map(|p| Cert::parse(p.as_str().unwrap_or_default().as_bytes()).map_err(|e| e.to_string())).collect()
}

/// Our verdict and the reason for a refusal.
fn run(case: &Value) -> Result<(), String> {
    let trusted = certs(&case["trusted_certs"])?;
    let inter = certs(&case["untrusted_intermediates"])?;
    let leaf = Cert::parse(case["peer_certificate"].as_str().unwrap_or_default().as_bytes()).map_err(|e| e.to_string())?;
    let at = case["validation_time"]
        .as_str()
        .and_then(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok())
        .map_or_else(|| time::OffsetDateTime::now_utc().unix_timestamp(), |t| t.unix_timestamp());
    let mut policy = Policy::signature(at);
    policy.leaf_key_usage = case["key_usage"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| match k.as_str()? {
            "digitalSignature" => Some(KeyUsages::DigitalSignature),
            "keyCertSign" => Some(KeyUsages::KeyCertSign),
            "keyEncipherment" => Some(KeyUsages::KeyEncipherment),
            _ => None,
        })
        .collect();
    let mut ekus: Vec<_> = case["extended_key_usage"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| match k.as_str()? {
            "serverAuth" => Some(oid::EKU_SERVER_AUTH),
            "clientAuth" => Some(oid::EKU_CLIENT_AUTH),
            _ => None,
        })
        .collect();
    if ekus.is_empty() {
        ekus.push(if case["validation_kind"] == "CLIENT" { oid::EKU_CLIENT_AUTH } else { oid::EKU_SERVER_AUTH });
    }
    policy.eku = EkuRule::OneOf(ekus);
    // The case's namespace names its profile: `webpki::` cases are the CA/Browser Forum one.
    policy.web_pki = case["id"].as_str().is_some_and(|id| id.starts_with("webpki::"));
    policy.max_intermediates = case["max_chain_depth"].as_u64().map(|d| d as usize);
    policy.peer_name = match (case["expected_peer_name"]["kind"].as_str(), case["expected_peer_name"]["value"].as_str()) {
        (Some("DNS"), Some(v)) => Some(PeerName::Dns(v.to_string())),
        (Some("IP"), Some(v)) => v.parse().ok().map(PeerName::Ip),
        _ => None,
    };
    let mut rev = Revocation::new(Mode::SoftFail);
    for c in case["crls"].as_array().into_iter().flatten() {
        rev.crls.push(Crl::parse(c.as_str().unwrap_or_default().as_bytes(), "limbo").map_err(|e| e.to_string())?);
    }
    let report = verify(&leaf, &inter, &TrustStore::from_certs(trusted), &policy, &rev);
    if report.valid {
        return Ok(());
    }
    if let Some(f) = report.checks.iter().find(|c| !c.ok) {
        return Err(format!("{}{}: {}", f.check, f.cert.map(|i| format!("#{i}")).unwrap_or_default(), f.detail));
    }
    Err(report.revocation.iter().map(|r| format!("{:?}", r.status)).collect::<Vec<_>>().join("; "))
}

/// Why nixa deliberately differs on a case (shown in the table).
fn why(id: &str) -> &'static str {
    match id {
        "cve::cve-2024-0567" => {
            "an intermediate without authorityKeyIdentifier; nixa requires it (RFC 5280 §4.2.1.1 MUST, and `rfc5280::aki::intermediate-missing-aki` expects the refusal)"
        }
        "pathlen::validation-ignores-pathlen-in-leaf" | "rfc5280::ca-as-leaf" => {
            "signature-certificate profile: an end entity with cA=TRUE is refused (agrees with `webpki::ca-as-leaf`, which the same input expects to fail)"
        }
        "webpki::nc::permitted-dns-match-noncritical" => {
            "RFC 5280 §4.2.1.10: nameConstraints MUST be critical (agrees with `rfc5280::nc::permitted-dns-match-noncritical`)"
        }
        "webpki::nc::nc-permits-dns-san-pattern" | "webpki::san::exact-localhost-ip-san" | "webpki::san::leftmost-wildcard-san" => {
            "CABF BR 7.1.4.3: the common name must be one of the subjectAltName values; the generator's default CN is not (the same rule refuses the `webpki::cn::*` and public-suffix cases)"
        }
        _ => "not analysed",
    }
}

#[test]
fn limbo_agreement() {
    let text = std::fs::read_to_string(limbo_path()).expect("limbo.json beside the repository (../shared/vectors)");
    let doc: Value = serde_json::from_str(&text).expect("limbo.json");
    let cases = doc["testcases"].as_array().expect("testcases");
    let mut agree = 0;
    let mut accepted_failures = Vec::new();
    let mut rows = String::new();
    for case in cases {
        let id = case["id"].as_str().unwrap_or_default();
        let expected_ok = case["expected_result"] == "SUCCESS";
        let got = run(case);
        if got.is_ok() == expected_ok {
            agree += 1;
            continue;
        }
        if !expected_ok {
            accepted_failures.push(id.to_string());
        }
        let ours = match &got {
            Ok(()) => "accepted".to_string(),
            Err(e) => format!("refused: {}", e.replace('|', "\\|").replace('\n', " ")),
        };
        let _ = writeln!(rows, "| `{id}` | {} | {ours} | {} |", case["expected_result"].as_str().unwrap_or_default(), why(id));
    }
    let total = cases.len();
    let pct = 100.0 * agree as f64 / total as f64;
    let mut md = String::new();
    let _ = writeln!(md, "# x509-limbo agreement\n");
    let _ = writeln!(md, "Generated by `cargo test --test it pki_limbo` from `../shared/vectors/x509-limbo/limbo.json`.");
    let _ =
        writeln!(md, "Profile: nixa's signature-certificate validator (`src/pki/path.rs`) with each case's trust anchors, intermediates,");
    let _ = writeln!(md, "validation time, key usage, purpose (serverAuth/clientAuth), maximum depth, CRLs (soft-fail) and peer name");
    let _ = writeln!(
        md,
        "(subjectAltName only, no public-suffix list), with the CA/Browser Forum rules (`Policy::web_pki`) switched on for the `webpki::` cases, whose namespace names that profile.\n"
    );
    let _ = writeln!(
        md,
        "**Agreement: {agree}/{total} ({pct:.1}%).** Cases expected to FAIL that nixa accepts: {}.\n",
        accepted_failures.len()
    );
    let _ = writeln!(md, "## Disagreements\n\n| case | expected | nixa | why |\n|---|---|---|---|\n{rows}");
    let _ = std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/src/pki/LIMBO.md"), md);
    assert!(accepted_failures.is_empty(), "accepted cases that must fail: {accepted_failures:?}");
    assert!(pct >= 95.0, "agreement {pct:.1}% below 95%");
}
