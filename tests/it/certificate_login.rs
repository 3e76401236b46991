//! Certificate sign-in end to end: a generated hierarchy trusted through `[pki]`, real OCSP
//! responders (`openssl ocsp`, one signing as the CA, one as a designated responder reached
//! through the responder map), tokens made by `nixa cert sign-challenge` (PKCS#8 and PKCS#12),
//! and a portal that receives amr hwk + sc for the person named by the certificate's `CCCD:`.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{AN, Browser, DVC, DVC_REDIRECT, Page, TestServer, authorize_url, free_port, id_token_claims, pkce_pair, redeem};
use der::Encode;
use nixa::pki::Mode;
use nixa::pki::config::{OcspResponderConfig, PkiConfig, TrustFile};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair,
    KeyUsagePurpose, SerialNumber, date_time_ymd,
};
use serde_json::Value;
use x509_cert::ext::pkix::AuthorityInfoAccessSyntax;
use x509_cert::ext::pkix::name::GeneralName;

const UID: &[u64] = &[0, 9, 2342, 19200300, 100, 1, 1];
const AIA: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 1];
const CERT_POLICIES: &[u64] = &[2, 5, 29, 32];
/// The policy this test's CA issues token-held keys under (configured as a hardware policy).
const TOKEN_POLICY: &str = "1.3.6.1.4.1.59999.1.2";
/// The Government CA's responder host: unresolvable here, reached only through the map.
const PTC_HOST: &str = "ocsp.ca.ptc";

/// An OCSP responder process; killed when dropped.
struct Responder(Child);

impl Drop for Responder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `openssl ocsp` answering from an index file (the OpenSSL CA database format).
fn start_responder(dir: &Path, name: &str, index: &str, ca: &Path, signer: &Path, key: &Path, port: u16) -> Responder {
    use std::io::BufRead;
    let index_path = dir.join(format!("{name}-index.txt"));
    std::fs::write(&index_path, index).unwrap();
    let mut child = Command::new("openssl")
        .args(["ocsp", "-index"])
        .arg(&index_path)
        .args(["-port", &port.to_string(), "-CA"])
        .arg(ca)
        .arg("-rsigner")
        .arg(signer)
        .arg("-rkey")
        .arg(key)
        .args(["-nmin", "5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl must be installed (Debian: openssl)");
    // Readiness from its own words: the responder serves one connection at a time, so a probe
    // connection that sends nothing would hold it.
    let out = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(out).lines();
    match lines.next() {
        Some(Ok(l)) if l.starts_with("ACCEPT") => {}
        other => panic!("openssl ocsp did not start on port {port}: {other:?}"),
    }
    std::thread::spawn(move || lines.for_each(drop));
    Responder(child)
}

fn aia(url: &str) -> CustomExtension {
    let access = x509_cert::ext::pkix::AccessDescription {
        access_method: der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1"),
        access_location: GeneralName::UniformResourceIdentifier(der::asn1::Ia5String::new(url).unwrap()),
    };
    CustomExtension::from_oid_content(AIA, AuthorityInfoAccessSyntax(vec![access]).to_der().unwrap())
}

fn policies(oid: &str) -> CustomExtension {
    let info = x509_cert::ext::pkix::certpolicy::PolicyInformation {
        policy_identifier: der::asn1::ObjectIdentifier::new_unwrap(oid),
        policy_qualifiers: None,
    };
    CustomExtension::from_oid_content(CERT_POLICIES, x509_cert::ext::pkix::CertificatePolicies(vec![info]).to_der().unwrap())
}

struct Pki {
    dir: tempfile::TempDir,
    root: PathBuf,
    ca: PathBuf,
    ca_key: PathBuf,
    ca_cert: rcgen::Certificate,
    ca_keypair: KeyPair,
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Root (P-384) → issuing CA (P-256, pathLen 0), both with explicit dates.
fn hierarchy() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CountryName, "VN");
    p.distinguished_name.push(DnType::CommonName, "Test Root CA G2");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2045, 1, 1);
    p.serial_number = Some(SerialNumber::from(vec![1]));
    let root = p.self_signed(&root_key).unwrap();
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CountryName, "VN");
    p.distinguished_name.push(DnType::CommonName, "Test Issuing CA");
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    p.not_before = date_time_ymd(2021, 1, 1);
    p.not_after = date_time_ymd(2040, 1, 1);
    p.use_authority_key_identifier_extension = true;
    p.serial_number = Some(SerialNumber::from(vec![2]));
    let ca = p.signed_by(&ca_key, &root, &root_key).unwrap();
    let root_path = write(dir.path(), "root.pem", &root.pem());
    let ca_path = write(dir.path(), "ca.pem", &ca.pem());
    let ca_key_path = write(dir.path(), "ca.key", &ca_key.serialize_pem());
    Pki { root: root_path, ca: ca_path, ca_key: ca_key_path, ca_cert: ca, ca_keypair: ca_key, dir }
}

struct Leaf {
    cert: PathBuf,
    key: PathBuf,
    der: Vec<u8>,
    key_der: Vec<u8>,
    /// The serial as `openssl ocsp`'s index writes it.
    serial_hex: String,
}

fn leaf(pki: &Pki, serial: u8, uid: &str, ocsp_url: &str) -> Leaf {
    leaf_with(pki, serial, &[uid], ocsp_url, Some(TOKEN_POLICY))
}

/// `uids`: rcgen keeps one value per attribute type (the last), so several are for other types.
fn leaf_with(pki: &Pki, serial: u8, uids: &[&str], ocsp_url: &str, policy: Option<&str>) -> Leaf {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CountryName, "VN");
    p.distinguished_name.push(DnType::CommonName, DnValue::Utf8String("NGUYỄN VĂN AN".into()));
    for uid in uids {
        p.distinguished_name.push(DnType::CustomDnType(UID.to_vec()), DnValue::Utf8String((*uid).into()));
    }
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth, ExtendedKeyUsagePurpose::EmailProtection];
    p.not_before = date_time_ymd(2025, 1, 1);
    p.not_after = date_time_ymd(2030, 1, 1);
    p.use_authority_key_identifier_extension = true;
    p.key_identifier_method = KeyIdMethod::Sha256;
    p.serial_number = Some(SerialNumber::from(vec![0x10, serial]));
    p.custom_extensions = vec![aia(ocsp_url)];
    if let Some(oid) = policy {
        p.custom_extensions.push(policies(oid));
    }
    let c = p.signed_by(&key, &pki.ca_cert, &pki.ca_keypair).unwrap();
    let name = format!("leaf{serial}");
    Leaf {
        cert: write(pki.dir.path(), &format!("{name}.pem"), &c.pem()),
        key: write(pki.dir.path(), &format!("{name}.key"), &key.serialize_pem()),
        der: c.der().to_vec(),
        key_der: key.serialize_der(),
        serial_hex: format!("10{serial:02X}"),
    }
}

fn index_line(status: char, leaf: &Leaf) -> String {
    let revoked = if status == 'R' { "250601000000Z" } else { "" };
    // Subjects must differ: the CA database indexes them.
    format!("{status}\t300101000000Z\t{revoked}\t{}\tunknown\t/C=VN/CN=leaf-{}\n", leaf.serial_hex, leaf.serial_hex)
}

fn pki_config(pki: &Pki, responders: Vec<OcspResponderConfig>) -> PkiConfig {
    PkiConfig {
        national_store: false,
        anchors: vec![TrustFile { name: "Test Root CA G2".into(), file: pki.root.clone(), fingerprint: None, revocation_exempt: false }],
        // The test CA names no revocation source of its own: checked only when a test says so.
        intermediates: vec![TrustFile { name: "Test Issuing CA".into(), file: pki.ca.clone(), fingerprint: None, revocation_exempt: true }],
        hardware_policies: vec![TOKEN_POLICY.into()],
        revocation: Mode::FailClosed,
        ocsp_timeout_secs: 3,
        ocsp_responders: responders,
        ..PkiConfig::default()
    }
}

/// From the portal's authorization request to the login page: (verifier, r, csrf).
async fn login_page(server: &TestServer, browser: &Browser) -> (String, String, String) {
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(server, DVC, DVC_REDIRECT, &challenge, &[]);
    let login = browser.follow(browser.get(&url).await).await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert!(login.body.contains("id=\"certificate-form\""), "the login page offers the certificate method");
    (verifier, login.field("r"), login.field("csrf"))
}

async fn challenge(browser: &Browser, r: &str, csrf: &str) -> Value {
    let page = browser.post(&format!("/login/certificate/challenge?r={r}"), &[("csrf", csrf)]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    serde_json::from_str(&page.body).unwrap()
}

/// Runs `nixa cert sign-challenge`; returns (exit code, stdout, stderr).
fn sign_challenge(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_nixa")).args(["cert", "sign-challenge"]).args(args).envs(env.iter().copied()).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn token_for(leaf: &Leaf, origin: &str, nonce: &str) -> String {
    let (code, out, err) = sign_challenge(
        &["--key", leaf.key.to_str().unwrap(), "--cert", leaf.cert.to_str().unwrap(), "--origin", origin, "--nonce", nonce],
        &[],
    );
    assert_eq!(code, 0, "sign-challenge failed: {err}");
    out
}

async fn submit(browser: &Browser, r: &str, csrf: &str, ceremony: &str, token: &str) -> Page {
    browser.post("/login/certificate", &[("r", r), ("csrf", csrf), ("ceremony", ceremony), ("token", token)]).await
}

/// After the token is accepted: consent if asked, then the portal redeems its code; the tokens.
async fn tokens_after(server: &TestServer, browser: &Browser, page: Page, verifier: &str) -> Value {
    let mut page = browser.follow(page).await;
    if page.url.contains("/consent?r=") {
        page = browser.consent(&page, "approve").await;
    }
    if page.location.is_none() {
        let log = server.app.store.audit_entries(0, 1000).await.unwrap();
        panic!("expected the redirect to the portal, got {}: {:?}", page.status, log.iter().map(|e| &e.detail).collect::<Vec<_>>());
    }
    let code = page.query("code").unwrap_or_else(|| panic!("no code: {:?} {}", page.location, page.body));
    let (status, tokens) = redeem(server, &code, verifier).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

fn error_key(page: &Page) -> String {
    page.error_key().unwrap_or_else(|| panic!("no error on page ({}):\n{}", page.status, page.body))
}

async fn audit_reasons(server: &TestServer) -> Vec<String> {
    let rows = server.app.store.audit_entries(0, 1000).await.unwrap();
    rows.iter()
        .filter(|e| e.event == "login.failed")
        .filter_map(|e| serde_json::from_str::<Value>(&e.detail).ok())
        .filter_map(|d| d["reason"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn certificate_sign_in_end_to_end_with_ocsp() {
    let pki = hierarchy();
    let port = free_port();
    let ocsp_url = format!("http://localhost:{port}/");
    let good = leaf(&pki, 1, "CCCD:001090001234", &ocsp_url);
    let revoked = leaf(&pki, 2, "CCCD:001090001234", &ocsp_url);
    let stranger = leaf(&pki, 3, "CCCD:012345678901", &ocsp_url);
    let software = leaf_with(&pki, 7, &["CCCD:001090001234"], &ocsp_url, None);
    let index = [&good, &stranger, &software].iter().map(|l| index_line('V', l)).collect::<String>() + &index_line('R', &revoked);
    // The responder answers on the port the certificates name, signing as the issuing CA.
    let _responder = start_responder(pki.dir.path(), "ca", &index, &pki.ca, &pki.ca, &pki.ca_key, port);
    let config = pki_config(&pki, Vec::new());
    let server = TestServer::start_with(|c| c.pki = config).await;
    let origin = server.issuer.clone();

    // 1. A good certificate signs in: the portal gets amr hwk + sc for AN (found by CCCD).
    let browser = server.browser();
    let (verifier, r, csrf) = login_page(&server, &browser).await;
    let c = challenge(&browser, &r, &csrf).await;
    assert_eq!(c["origin"], origin.as_str());
    assert_eq!(c["nonce"].as_str().unwrap().len(), 44, "32 random bytes in base64");
    let token = token_for(&good, &origin, c["nonce"].as_str().unwrap());
    let tokens =
        tokens_after(&server, &browser, submit(&browser, &r, &csrf, c["ceremony"].as_str().unwrap(), &token).await, &verifier).await;
    let claims = id_token_claims(&tokens);
    let amr: Vec<&str> = claims["amr"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(amr.contains(&"hwk") && amr.contains(&"sc"), "amr {amr:?}");
    let userinfo: Value = common::backchannel()
        .get(server.url("/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let an = server.app.store.person_for_login(&nixa::identity::PersonalId::parse(AN.0).unwrap()).await.unwrap().unwrap().0;
    assert_eq!(userinfo["given_name"].as_str(), Some(an.given_name.as_str()), "{userinfo}");
    assert_eq!(userinfo["family_name"].as_str(), Some(an.family_name.as_str()), "{userinfo}");
    let used = server.app.store.audit_entries(0, 1000).await.unwrap();
    let used = used.iter().find(|e| e.event == "certificate.used").expect("certificate.used audited");
    assert!(used.detail.contains("\"status\":\"good\""), "OCSP good recorded: {}", used.detail);

    // 2. Revoked by OCSP: refused with the revocation message, nothing issued.
    let browser = server.browser();
    let (_, r, csrf) = login_page(&server, &browser).await;
    let c = challenge(&browser, &r, &csrf).await;
    let page =
        submit(&browser, &r, &csrf, c["ceremony"].as_str().unwrap(), &token_for(&revoked, &origin, c["nonce"].as_str().unwrap())).await;
    assert_eq!(page.status, 401);
    assert_eq!(error_key(&page), "certificate.error.revoked");

    // 3. The challenge is single use: the same ceremony again is refused.
    let again =
        submit(&browser, &r, &csrf, c["ceremony"].as_str().unwrap(), &token_for(&good, &origin, c["nonce"].as_str().unwrap())).await;
    assert_eq!(error_key(&again), "certificate.error.expired");

    // 4. Signed for another origin (a phishing site relaying the challenge): refused.
    let c = challenge(&browser, &r, &csrf).await;
    let page = submit(
        &browser,
        &r,
        &csrf,
        c["ceremony"].as_str().unwrap(),
        &token_for(&good, "https://phish.example", c["nonce"].as_str().unwrap()),
    )
    .await;
    assert_eq!(error_key(&page), "certificate.error.refused");

    assert_eq!(last_reason(&server).await, "signature");

    // 5. Signed over another nonce: refused.
    let c = challenge(&browser, &r, &csrf).await;
    let page = submit(&browser, &r, &csrf, c["ceremony"].as_str().unwrap(), &token_for(&good, &origin, &"A".repeat(43))).await;
    assert_eq!(error_key(&page), "certificate.error.refused");
    assert_eq!(last_reason(&server).await, "signature");

    // 5b. Asking again replaces the challenge: one live challenge per sign-in.
    let first = challenge(&browser, &r, &csrf).await;
    let _second = challenge(&browser, &r, &csrf).await;
    let page =
        submit(&browser, &r, &csrf, first["ceremony"].as_str().unwrap(), &token_for(&good, &origin, first["nonce"].as_str().unwrap()))
            .await;
    assert_eq!(error_key(&page), "certificate.error.expired");

    // 6. A challenge belongs to the browser that asked for it: the victim's sign-in and
    // challenge, submitted with another browser's cookies, is refused and stays usable.
    let thief = server.browser();
    let (_, _, thief_csrf) = login_page(&server, &thief).await;
    let c = challenge(&browser, &r, &csrf).await;
    let token = token_for(&stranger, &origin, c["nonce"].as_str().unwrap());
    let page = submit(&thief, &r, &thief_csrf, c["ceremony"].as_str().unwrap(), &token).await;
    assert_eq!(page.status, 400, "another browser cannot load this sign-in: {}", page.body);
    assert!(!page.body.contains("data-error=\"certificate."), "refused before any token check");
    // 7. The victim's challenge was not spent: here, a valid certificate of somebody without an
    // account.
    let page = submit(&browser, &r, &csrf, c["ceremony"].as_str().unwrap(), &token).await;
    assert_eq!(error_key(&page), "certificate.error.unknown_person");

    // 8. Not JSON, and a token without CSRF.
    let c = challenge(&browser, &r, &csrf).await;
    let page = submit(&browser, &r, &csrf, c["ceremony"].as_str().unwrap(), "{not json").await;
    assert_eq!(error_key(&page), "certificate.error.malformed");
    let page = browser.post(&format!("/login/certificate/challenge?r={r}"), &[("csrf", "forged")]).await;
    assert_eq!(page.status, 403);

    let reasons = audit_reasons(&server).await;
    for want in ["revocation", "challenge_expired", "signature", "unknown_person", "malformed"] {
        assert!(reasons.iter().any(|r| r == want), "audit has {want}: {reasons:?}");
    }
    let log = server.app.store.audit_entries(0, 1000).await.unwrap();
    assert!(log.iter().all(|e| !e.detail.contains("001090001234")), "no personal ID in the audit details");

    // 9. A certificate outside the configured hardware policies: amr swk only (loa:1).
    let (verifier, challenge_s) = pkce_pair();
    let browser = server.browser();
    let login = browser.follow(browser.get(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge_s, &[("prompt", "login")])).await).await;
    let (r, csrf) = (login.field("r"), login.field("csrf"));
    let c = challenge(&browser, &r, &csrf).await;
    let page =
        submit(&browser, &r, &csrf, c["ceremony"].as_str().unwrap(), &token_for(&software, &origin, c["nonce"].as_str().unwrap())).await;
    let tokens = tokens_after(&server, &browser, page, &verifier).await;
    let claims = id_token_claims(&tokens);
    assert_eq!(claims["amr"], serde_json::json!(["swk"]));
    assert_eq!(claims["acr"], "urn:vn:eid:loa:1");
}

async fn last_reason(server: &TestServer) -> String {
    audit_reasons(server).await.pop().unwrap_or_default()
}

/// The designated-responder map: certificates name `http://ocsp.ca.ptc/`, whose responder
/// signs with a certificate the issuing CA did not issue. Without the map the status cannot be
/// established (fail closed); with it (address + trusted responder certificate) sign-in works.
#[tokio::test]
async fn designated_responder_map_and_pkcs12_keys() {
    let pki = hierarchy();
    let good = leaf(&pki, 4, "CCCD:001090001234", &format!("http://{PTC_HOST}/"));
    // A stand-alone responder certificate, as the Government CA's OCSP service has.
    let rkey = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, "OCSP ca.ptc");
    p.not_before = date_time_ymd(2024, 1, 1);
    p.not_after = date_time_ymd(2035, 1, 1);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
    let rcert = p.self_signed(&rkey).unwrap();
    let rcert_path = write(pki.dir.path(), "ptc-responder.pem", &rcert.pem());
    let rkey_path = write(pki.dir.path(), "ptc-responder.key", &rkey.serialize_pem());
    let port = free_port();
    let _responder = start_responder(pki.dir.path(), "ptc", &index_line('V', &good), &pki.ca, &rcert_path, &rkey_path, port);

    // PKCS#12 key file, as CAs hand out for remote or software certificates.
    let p12 = pki.dir.path().join("an.p12");
    let status = Command::new("openssl")
        .args(["pkcs12", "-export", "-passout", "pass:mật-khẩu-p12", "-inkey"])
        .arg(&good.key)
        .arg("-in")
        .arg(&good.cert)
        .arg("-out")
        .arg(&p12)
        .status()
        .unwrap();
    assert!(status.success());

    // Without the map: the responder is unreachable by name, fail closed.
    let server = TestServer::start_with(|c| c.pki = pki_config(&pki, Vec::new())).await;
    let browser = server.browser();
    let (_, r, csrf) = login_page(&server, &browser).await;
    let c = challenge(&browser, &r, &csrf).await;
    let page =
        submit(&browser, &r, &csrf, c["ceremony"].as_str().unwrap(), &token_for(&good, &server.issuer, c["nonce"].as_str().unwrap())).await;
    assert_eq!(error_key(&page), "certificate.error.revoked", "unknown status refused by default");
    drop(server);

    // The map sends requests to the responder and trusts its certificate for one issuer only:
    // configured for another issuer (here the root), its answers are not believed.
    let ca_fp = nixa::pki::cert::hex(&nixa::pki::Cert::from_der(pki.ca_cert.der()).unwrap().fingerprint);
    let root_fp = nixa::pki::cert::hex(&nixa::pki::Cert::parse(&std::fs::read(&pki.root).unwrap()).unwrap().fingerprint);
    let map = |issuer: &str| {
        vec![OcspResponderConfig {
            host: PTC_HOST.into(),
            url: Some(format!("http://127.0.0.1:{port}/")),
            cert: Some(rcert_path.clone()),
            issuer_fingerprint: Some(issuer.into()),
        }]
    };
    let server = TestServer::start_with(|c| c.pki = pki_config(&pki, map(&root_fp))).await;
    let browser = server.browser();
    let (_, r, csrf) = login_page(&server, &browser).await;
    let c = challenge(&browser, &r, &csrf).await;
    let page =
        submit(&browser, &r, &csrf, c["ceremony"].as_str().unwrap(), &token_for(&good, &server.issuer, c["nonce"].as_str().unwrap())).await;
    assert_eq!(error_key(&page), "certificate.error.revoked", "a responder trusted for another issuer");
    drop(server);
    // An intermediate that is not marked revocation_exempt and names no source: fail closed.
    let server = TestServer::start_with(|c| {
        c.pki = pki_config(&pki, map(&ca_fp));
        c.pki.intermediates[0].revocation_exempt = false;
    })
    .await;
    let browser = server.browser();
    let (_, r, csrf) = login_page(&server, &browser).await;
    let c = challenge(&browser, &r, &csrf).await;
    let page =
        submit(&browser, &r, &csrf, c["ceremony"].as_str().unwrap(), &token_for(&good, &server.issuer, c["nonce"].as_str().unwrap())).await;
    assert_eq!(error_key(&page), "certificate.error.revoked", "the issuing CA's own status is unknown");
    drop(server);

    let server = TestServer::start_with(|c| c.pki = pki_config(&pki, map(&ca_fp))).await;
    let browser = server.browser();
    let (verifier, r, csrf) = login_page(&server, &browser).await;
    let c = challenge(&browser, &r, &csrf).await;
    let nonce = c["nonce"].as_str().unwrap();
    let p12_path = p12.to_str().unwrap();
    // Wrong password, then no certificate to go with a bare key: unusable input (exit 2).
    let (code, _, err) = sign_challenge(&["--key", p12_path, "--origin", &server.issuer, "--nonce", nonce, "--password", "sai"], &[]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = sign_challenge(&["--key", good.key.to_str().unwrap(), "--origin", &server.issuer, "--nonce", nonce], &[]);
    assert_eq!((code, err.contains("--cert is required")), (2, true), "{err}");
    // A key that is not the certificate's.
    let other = leaf(&pki, 5, "CCCD:001090001234", "http://localhost:1/");
    let (code, _, err) = sign_challenge(
        &["--key", other.key.to_str().unwrap(), "--cert", good.cert.to_str().unwrap(), "--origin", &server.issuer, "--nonce", nonce],
        &[],
    );
    assert_eq!((code, err.contains("does not belong")), (2, true), "{err}");
    let (code, token, err) =
        sign_challenge(&["--key", p12_path, "--origin", &server.issuer, "--nonce", nonce], &[("NIXA_P12_PASSWORD", "mật-khẩu-p12")]);
    assert_eq!(code, 0, "{err}");
    let tokens =
        tokens_after(&server, &browser, submit(&browser, &r, &csrf, c["ceremony"].as_str().unwrap(), &token).await, &verifier).await;
    let amr = id_token_claims(&tokens)["amr"].clone();
    assert!(amr.as_array().unwrap().iter().any(|v| v == "sc"), "{amr}");
    // The library signer and a DER key give the same kind of token.
    let t = nixa::pki::token_signer::sign_challenge(&good.key_der, &good.der, "https://x.example", "n").unwrap();
    assert_eq!((t.format.as_str(), t.algorithm.as_str()), ("web-eid:1.0", "ES256"));
}

#[tokio::test]
async fn a_certificate_sign_in_lets_an_imported_person_set_a_first_password() {
    let pki = hierarchy();
    let port = free_port();
    let ocsp_url = format!("http://localhost:{port}/");
    let chi = leaf(&pki, 11, "CCCD:079198054321", &ocsp_url);
    let _responder = start_responder(pki.dir.path(), "ca", &index_line('V', &chi), &pki.ca, &pki.ca, &pki.ca_key, port);
    let config = pki_config(&pki, Vec::new());
    let server = TestServer::start_with(|c| c.pki = config).await;
    common::imported_person(&server, "079198054321", "1998-07-01", nixa::identity::AccountLevel::Level2).await;

    // The account page sends an imported person (no password) to sign in: by certificate.
    let browser = server.browser();
    let login = browser.follow(browser.get("/account").await).await;
    let (r, csrf) = (login.field("r"), login.field("csrf"));
    let c = challenge(&browser, &r, &csrf).await;
    let token = token_for(&chi, &server.issuer, c["nonce"].as_str().unwrap());
    let account = browser.follow(submit(&browser, &r, &csrf, c["ceremony"].as_str().unwrap(), &token).await).await;
    assert_eq!(account.status, 200, "{}", account.body);
    assert!(account.body.contains("action=\"/account/password\""), "a recent strong sign-in may set a password");
    assert!(account.body.contains("id=\"totp-setup\""), "…and set up an authenticator app (loa:2 or more)");
    let csrf = account.field("csrf");
    let weak = browser.post("/account/password", &[("csrf", &csrf), ("password", "12345678"), ("confirm", "12345678")]).await;
    assert_eq!((weak.status, error_key(&weak).as_str()), (400, "password.error.too_short_alone"));
    let set = browser
        .post("/account/password", &[("csrf", &csrf), ("password", "mưa rơi trên mái ngói cũ"), ("confirm", "mưa rơi trên mái ngói cũ")])
        .await;
    assert_eq!(set.status, 303, "{}", set.body);
    // The new password signs in (a level-2 account with one factor: loa:1).
    let (code, verifier) = common::code_for(&server, &server.browser(), ("079198054321", "mưa rơi trên mái ngói cũ")).await;
    let (status, tokens) = redeem(&server, &code, &verifier).await;
    assert_eq!(status, 200);
    assert_eq!(id_token_claims(&tokens)["acr"], "urn:vn:eid:loa:1");
    let audit = server.app.store.audit_entries(0, 1000).await.unwrap();
    let changed = audit.iter().find(|e| e.event == "password.changed").unwrap();
    assert!(changed.detail.contains("\"first\":true"), "{}", changed.detail);
}
