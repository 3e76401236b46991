//! Issue and verify throughput of QR credentials, and the presentation QR size of a typical
//! person. Run: `cargo run --release --example qr_bench`.

// A benchmark run by hand: a failure ends the run with its reason.
#![allow(clippy::expect_used)]

use std::time::Instant;

use nixa::credentials::issue::{self, PersonIdentity, Request, Subject};
use nixa::credentials::keys::{CoseAlg, CredentialSigner, KeySet};
use nixa::credentials::render;
use nixa::credentials::verify::{self, Options, StatusOutcome};

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5000);
    let p = PersonIdentity {
        id: "001204012345".into(),
        full_name: "Nguyễn Thị Minh Khai".into(),
        first_name: Some("Minh Khai".into()),
        last_name: Some("Nguyễn Thị".into()),
        date_of_birth: Some("19900215".into()),
        gender: Some(2),
        nationality: Some("VN".into()),
        photo_ref: Some("https://id.example.vn/photo/001204012345".into()),
    };
    let iss = "https://id.example.vn";
    let status = Some(("https://id.example.vn/credentials/status/1", 123_456u64));
    for alg in [CoseAlg::ES256, CoseAlg::EdDSA] {
        let signer = CredentialSigner::from_pkcs8(alg, &CredentialSigner::generate_pkcs8(alg).expect("key")).expect("key");
        let mut keys = KeySet::default();
        keys.insert(signer.verify_key(Some(iss.into())));
        let now = 1_790_000_000;
        let req = Request {
            issuer: iss,
            subject_id: "p-1",
            subject: Subject::Person(p.claim169(None)),
            iat: now,
            exp: now + 5 * 365 * 86400,
            nonce: None,
            status,
        };
        let t0 = Instant::now();
        let mut text = String::new();
        for _ in 0..n {
            text = issue::issue(&signer, &req).expect("issue");
        }
        let issue_rate = n as f64 / t0.elapsed().as_secs_f64();
        let st = |_: &str, _: u64, _: &[u8]| StatusOutcome::Valid;
        let mut o = Options::new(&keys, now);
        o.status = Some(&st);
        let t0 = Instant::now();
        for _ in 0..n {
            assert!(verify::verify(&text, &o).valid);
        }
        let verify_rate = n as f64 / t0.elapsed().as_secs_f64();
        let fields: Vec<String> = ["fullName", "dateOfBirth", "gender", "nationality", "photo"].iter().map(|s| s.to_string()).collect();
        let pres = Request { subject: Subject::Person(p.claim169(Some(&fields))), exp: now + 300, nonce: Some("Zk3q9Xw2LmP0aB7c"), ..req };
        let ptext = issue::issue(&signer, &pres).expect("issue");
        println!(
            "{alg:?}: issue {issue_rate:.0}/s, verify {verify_rate:.0}/s (1 thread, {n} each); identity QR {} chars v{}; presentation QR (5 fields, nonce, status) {} chars v{} (level M)",
            text.len(),
            render::version(&text).expect("fits"),
            ptext.len(),
            render::version(&ptext).expect("fits")
        );
    }
}
