//! Certificates: the real Vietnamese chains, a generated hierarchy that mirrors them (every
//! failure the issue lists), UID identity extraction, and the Web eID vectors.

use crate::vectors;

use nixa::pki::webeid::{self, Rules};
use nixa::pki::{Cert, Crl, Mode, Policy, Revocation, Status, TrustStore, revocation, verify};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType, DnValue, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SerialNumber, date_time_ymd,
};

static VN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| vectors::dir("vn-trust"));
static WEB_EID: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| vectors::dir("web-eid"));
const UID: &[u64] = &[0, 9, 2342, 19200300, 100, 1, 1];

fn ts(s: &str) -> i64 {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap().unix_timestamp()
}

fn read(dir: &str, f: &str) -> Cert {
    Cert::parse(&std::fs::read(format!("{dir}{f}")).unwrap()).unwrap()
}

/// The real intermediates are CA certificates: checked as the first certificate of a path with
/// the CA profile.
fn ca_policy(at: i64) -> Policy {
    Policy::ca(at)
}

#[test]
fn default_store_checks_fingerprints_and_real_chains_validate() {
    let store = TrustStore::national().unwrap();
    assert_eq!(store.anchors.len(), 2);
    let at = ts("2025-06-01T00:00:00Z");
    for (leaf, anchor) in [("vnpt-ca-sha2.crt", "Vietnam National Root CA"), ("cpcag2.crt", "RootCA chuyên dùng Chính phủ G2")] {
        let cert = read(&VN, leaf);
        // Against the roots alone (--trust replaces the store: no known intermediates).
        let roots = TrustStore::from_certs(vec![read(&VN, "vnrca256.crt"), read(&VN, "rootcag2.crt")]);
        let r = verify(&cert, &[], &roots, &ca_policy(at), &Revocation::new(Mode::Off));
        assert!(r.valid, "{leaf}: {:#?}", r.checks.iter().filter(|c| !c.ok).collect::<Vec<_>>());
        let r = verify(&cert, &[], &store, &ca_policy(at), &Revocation::new(Mode::Off));
        assert!(r.valid, "{leaf}");
        assert_eq!(r.chain.last().unwrap().trust_anchor.as_deref(), Some(anchor));
    }
    // Before the VNPT-CA SHA2 certificate was issued it is not valid.
    let r = verify(&read(&VN, "vnpt-ca-sha2.crt"), &[], &store, &ca_policy(ts("2020-01-01T00:00:00Z")), &Revocation::new(Mode::Off));
    assert!(!r.valid);
}

/// A generated hierarchy that mirrors a real one: root → issuing CA (pathLen 0) → leaf.
struct Hierarchy {
    root: rcgen::Certificate,
    root_key: KeyPair,
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

fn dn(params: &mut CertificateParams, parts: &[(DnType, &str)]) {
    for (t, v) in parts {
        params.distinguished_name.push(t.clone(), DnValue::Utf8String((*v).to_string()));
    }
}

fn hierarchy(root_cn: &str, ca_cn: &str, org: &str) -> Hierarchy {
    let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    dn(&mut p, &[(DnType::CountryName, "VN"), (DnType::OrganizationName, org), (DnType::CommonName, root_cn)]);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2045, 1, 1);
    p.serial_number = Some(SerialNumber::from(vec![1, 1]));
    let root = p.self_signed(&root_key).unwrap();
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    dn(&mut p, &[(DnType::CommonName, ca_cn), (DnType::OrganizationName, org), (DnType::CountryName, "VN")]);
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    p.not_before = date_time_ymd(2021, 1, 1);
    p.not_after = date_time_ymd(2040, 1, 1);
    p.use_authority_key_identifier_extension = true;
    p.serial_number = Some(SerialNumber::from(vec![2, 2]));
    let ca = p.signed_by(&ca_key, &root, &root_key).unwrap();
    Hierarchy { root, root_key, ca, ca_key }
}

struct LeafSpec<'a> {
    uids: &'a [&'a str],
    cn: &'a str,
    from: (i32, u8, u8),
    to: (i32, u8, u8),
    usages: Vec<KeyUsagePurpose>,
    serial: u8,
}

impl Default for LeafSpec<'_> {
    fn default() -> Self {
        Self {
            uids: &["CCCD:001090001234"],
            cn: "NGUYỄN VĂN AN",
            from: (2024, 1, 1),
            to: (2027, 1, 1),
            usages: vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment],
            serial: 9,
        }
    }
}

fn leaf(h: &Hierarchy, spec: LeafSpec<'_>) -> (Cert, KeyPair) {
    leaf_under(&h.ca, &h.ca_key, spec)
}

fn leaf_under(ca: &rcgen::Certificate, ca_key: &KeyPair, spec: LeafSpec<'_>) -> (Cert, KeyPair) {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CountryName, "VN");
    p.distinguished_name.push(DnType::CommonName, DnValue::Utf8String(spec.cn.to_string()));
    for u in spec.uids {
        p.distinguished_name.push(DnType::CustomDnType(UID.to_vec()), DnValue::Utf8String((*u).to_string()));
    }
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = spec.usages;
    p.not_before = date_time_ymd(spec.from.0, spec.from.1, spec.from.2);
    p.not_after = date_time_ymd(spec.to.0, spec.to.1, spec.to.2);
    p.use_authority_key_identifier_extension = true;
    p.key_identifier_method = KeyIdMethod::Sha256;
    p.serial_number = Some(SerialNumber::from(vec![0x10, spec.serial]));
    let c = p.signed_by(&key, ca, ca_key).unwrap();
    (Cert::from_der(c.der()).unwrap(), key)
}

fn store(h: &Hierarchy) -> TrustStore {
    TrustStore::from_certs(vec![Cert::from_der(h.root.der()).unwrap()])
}

fn inter(h: &Hierarchy) -> Vec<Cert> {
    vec![Cert::from_der(h.ca.der()).unwrap()]
}

fn first_failure(r: &nixa::pki::Report) -> String {
    r.checks.iter().find(|c| !c.ok).map(|c| c.check.to_string()).unwrap_or_else(|| format!("{:?}", r.revocation))
}

#[test]
fn generated_hierarchies_mirror_the_real_ones_and_yield_identity() {
    let at = ts("2025-06-01T00:00:00Z");
    let off = Revocation::new(Mode::Off);
    for (root, ca, org, uids, kind) in [
        (
            "Vietnam National Root CA (test)",
            "VNPT-CA SHA2 (test)",
            "VIETNAM POSTS AND TELECOMMUNICATIONS GROUP",
            &["CCCD:001090001234"][..],
            "person",
        ),
        (
            "RootCA chuyên dùng Chính phủ G2 (test)",
            "CA phục vụ các cơ quan Nhà nước G2 (test)",
            "Ban Cơ yếu Chính phủ",
            &["MST:0100109106"][..],
            "organisation",
        ),
    ] {
        let h = hierarchy(root, ca, org);
        let (c, _) = leaf(&h, LeafSpec { uids, ..Default::default() });
        let r = verify(&c, &inter(&h), &store(&h), &Policy::signature(at), &off);
        assert!(r.valid, "{root}: {}", first_failure(&r));
        assert_eq!(r.chain.len(), 3);
        assert_eq!(r.identity.kind, kind);
        if kind == "person" {
            assert_eq!(r.identity.personal_id.as_deref(), Some("001090001234"));
        } else {
            assert_eq!(r.identity.tax_code.as_deref(), Some("0100109106"));
        }
    }
}

#[test]
fn generated_failures_are_refused_with_the_right_check() {
    let at = ts("2025-06-01T00:00:00Z");
    let off = Revocation::new(Mode::Off);
    let h = hierarchy("Root T", "CA T", "Test");
    let check = |c: &Cert, inter: &[Cert], store: &TrustStore, rev: &Revocation| {
        let r = verify(c, inter, store, &Policy::signature(at), rev);
        assert!(!r.valid);
        first_failure(&r)
    };
    let (expired, _) = leaf(&h, LeafSpec { from: (2020, 1, 1), to: (2024, 1, 1), ..Default::default() });
    assert_eq!(check(&expired, &inter(&h), &store(&h), &off), "validity");
    let (future, _) = leaf(&h, LeafSpec { from: (2026, 1, 1), to: (2028, 1, 1), ..Default::default() });
    assert_eq!(check(&future, &inter(&h), &store(&h), &off), "validity");
    let (enc_only, _) = leaf(&h, LeafSpec { usages: vec![KeyUsagePurpose::KeyEncipherment], ..Default::default() });
    assert_eq!(check(&enc_only, &inter(&h), &store(&h), &off), "key_usage");
    let other = hierarchy("Root T", "CA T", "Test");
    let (ok_leaf, _) = leaf(&h, LeafSpec::default());
    assert_eq!(check(&ok_leaf, &inter(&h), &store(&other), &off), "path_to_anchor");
    // Too long: a second intermediate under a pathLen 0 CA.
    let sub_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, "Sub CA T");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = date_time_ymd(2022, 1, 1);
    p.not_after = date_time_ymd(2035, 1, 1);
    p.use_authority_key_identifier_extension = true;
    let sub = p.signed_by(&sub_key, &h.ca, &h.ca_key).unwrap();
    let (deep, _) = leaf_under(&sub, &sub_key, LeafSpec::default());
    let mut chain = vec![Cert::from_der(sub.der()).unwrap()];
    chain.extend(inter(&h));
    assert_eq!(check(&deep, &chain, &store(&h), &off), "ca_constraints");

    // Revoked by CRL; fail closed without one; soft-fail accepts unknown.
    let crl = CertificateRevocationListParams {
        this_update: date_time_ymd(2025, 5, 1),
        next_update: date_time_ymd(2025, 7, 1),
        crl_number: SerialNumber::from(vec![7]),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from(vec![0x10, 9]),
            revocation_time: date_time_ymd(2025, 5, 2),
            reason_code: None,
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&h.ca, &h.ca_key)
    .unwrap();
    let mut rev = Revocation::new(Mode::FailClosed);
    rev.whole_chain = false;
    rev.crls.push(Crl::parse(crl.der(), "test.crl").unwrap());
    let r = verify(&ok_leaf, &inter(&h), &store(&h), &Policy::signature(at), &rev);
    assert!(!r.valid);
    assert!(matches!(r.revocation[0].status, Status::Revoked { .. }), "{:?}", r.revocation);
    let (other_serial, _) = leaf(&h, LeafSpec { serial: 10, ..Default::default() });
    assert!(verify(&other_serial, &inter(&h), &store(&h), &Policy::signature(at), &rev).valid);
    let mut closed = Revocation::new(Mode::FailClosed);
    closed.whole_chain = false;
    assert!(!verify(&other_serial, &inter(&h), &store(&h), &Policy::signature(at), &closed).valid);
    let mut soft = Revocation::new(Mode::SoftFail);
    soft.whole_chain = false;
    assert!(verify(&other_serial, &inter(&h), &store(&h), &Policy::signature(at), &soft).valid);
    // A CRL past its nextUpdate is not evidence.
    let late = Policy::signature(ts("2025-08-01T00:00:00Z"));
    let r = verify(&other_serial, &inter(&h), &store(&h), &late, &rev);
    assert!(!r.valid);
    let _ = &h.root_key;
}

#[test]
fn identity_from_uid_attributes() {
    use std::str::FromStr;
    // rcgen keeps one value per attribute type, so repeated UIDs are built as a Name directly.
    let name = |s: &str| x509_cert::name::Name::from_str(s).unwrap();
    let id = nixa::pki::identity::extract_name(&name(
        "0.9.2342.19200300.100.1.1=CCCD:079185005678,0.9.2342.19200300.100.1.1=MST:0100109106,CN=Tran Thi Binh,C=VN",
    ));
    assert_eq!(id.kind, "person");
    assert_eq!(id.personal_id.as_deref(), Some("079185005678"));
    assert_eq!(id.tax_code.as_deref(), Some("0100109106"));
    assert_eq!(id.common_name.as_deref(), Some("Tran Thi Binh"));
    let id = nixa::pki::identity::extract_name(&name(
        "0.9.2342.19200300.100.1.1=CCCD:12345,0.9.2342.19200300.100.1.1=HC:B1234567,0.9.2342.19200300.100.1.1=CMND:012345678",
    ));
    assert_eq!(id.personal_id, None);
    assert_eq!(id.passport.as_deref(), Some("B1234567"));
    assert_eq!(id.old_id_card.as_deref(), Some("012345678"));
    assert_eq!(id.problems.len(), 1, "{:?}", id.problems);
    // Two different personal IDs: kept as a problem (sign-in refuses), never silently the last.
    let id =
        nixa::pki::identity::extract_name(&name("0.9.2342.19200300.100.1.1=CCCD:001090001234,0.9.2342.19200300.100.1.1=CCCD:079185005678"));
    assert_eq!(id.problems.len(), 1, "{:?}", id.problems);
    assert!(id.problems[0].starts_with("two different CCCD values"));
    let id =
        nixa::pki::identity::extract_name(&name("0.9.2342.19200300.100.1.1=CCCD:001090001234,0.9.2342.19200300.100.1.1=CCCD:001090001234"));
    assert!(id.problems.is_empty(), "the same value twice is not ambiguous");
    let id = nixa::pki::identity::extract_name(&name("0.9.2342.19200300.100.1.1=MNS:1234567,CN=So Tai chinh"));
    assert_eq!((id.kind, id.budget_unit_code.as_deref()), ("organisation", Some("1234567")));
}

const NONCE: &str = "12345678123456781234567812345678912356789123";

fn web_eid_rules<'a>(trust: &'a TrustStore, at: i64, origin: &'a str, nonce: &'a str) -> Rules<'a> {
    let mut policy = Policy::signature(at);
    policy.max_intermediates = Some(0);
    Rules { origin, nonce, trust, policy, revocation: Revocation::new(Mode::Off), disallowed_policies: Vec::new() }
}

fn web_eid_trust() -> TrustStore {
    TrustStore::from_certs(vec![read(&WEB_EID, "TEST_of_ESTEID2018.cer")])
}

fn token() -> webeid::AuthToken {
    webeid::parse(&std::fs::read(format!("{}valid_auth_token.json", *WEB_EID)).unwrap()).unwrap()
}

#[test]
fn web_eid_valid_token_and_rejections() {
    let trust = web_eid_trust();
    let at = ts("2025-01-01T00:00:00Z");
    let v = webeid::validate(&token(), &web_eid_rules(&trust, at, "https://ria.ee", NONCE)).unwrap();
    assert!(v.report.valid);
    assert!(matches!(
        webeid::validate(&token(), &web_eid_rules(&trust, at, "https://ria.ee.attacker.com", NONCE)),
        Err(webeid::WebEidError::Signature)
    ));
    assert!(matches!(
        webeid::validate(&token(), &web_eid_rules(&trust, at, "https://ria.ee", "12345678123456781234567812345678912356789124")),
        Err(webeid::WebEidError::Signature)
    ));
    let mut wrong = token();
    wrong.algorithm = "ES256".into();
    assert!(matches!(
        webeid::validate(&wrong, &web_eid_rules(&trust, at, "https://ria.ee", NONCE)),
        Err(webeid::WebEidError::Algorithm(_))
    ));
    let mut wrong = token();
    wrong.algorithm = "RS384".into();
    assert!(webeid::validate(&wrong, &web_eid_rules(&trust, at, "https://ria.ee", NONCE)).is_err());
    let mut wrong = token();
    wrong.format = "web-eid:0.9".into();
    assert!(matches!(webeid::validate(&wrong, &web_eid_rules(&trust, at, "https://ria.ee", NONCE)), Err(webeid::WebEidError::Format(_))));
    // After the leaf expired.
    assert!(matches!(
        webeid::validate(&token(), &web_eid_rules(&trust, ts("2026-07-10T00:00:00Z"), "https://ria.ee", NONCE)),
        Err(webeid::WebEidError::Chain(_))
    ));
    // Fail closed: no OCSP answer for the token's certificate.
    let mut rules = web_eid_rules(&trust, at, "https://ria.ee", NONCE);
    rules.revocation = Revocation::new(Mode::FailClosed);
    assert!(webeid::validate(&token(), &rules).is_err());
}

/// The OCSP vectors answer for serial 396901597343266D5BC857775EC5A4BE under TEST of ESTEID2018.
#[test]
fn web_eid_ocsp_responses() {
    let issuer = read(&WEB_EID, "TEST_of_ESTEID2018.cer");
    let serial = [0x39, 0x69, 0x01, 0x59, 0x73, 0x43, 0x26, 0x6D, 0x5B, 0xC8, 0x57, 0x77, 0x5E, 0xC5, 0xA4, 0xBE];
    let resp = |f: &str| std::fs::read(format!("{}{f}", *WEB_EID)).unwrap();
    let rules = revocation::OcspRules::default();
    let good = revocation::ocsp_status(&resp("ocsp_response.der"), &serial, &issuer, ts("2021-09-17T18:25:30Z"), &rules, "ocsp");
    assert!(matches!(good, Status::Good { .. }), "{good:?}");
    // Too old a week later.
    let stale = revocation::ocsp_status(&resp("ocsp_response.der"), &serial, &issuer, ts("2021-09-24T18:25:30Z"), &rules, "ocsp");
    assert!(matches!(stale, Status::Unknown { .. }), "{stale:?}");
    let revoked = revocation::ocsp_status(&resp("ocsp_response_revoked.der"), &serial, &issuer, ts("2021-09-18T00:13:50Z"), &rules, "ocsp");
    assert!(matches!(revoked, Status::Revoked { .. }), "{revoked:?}");
    // Signed by a responder that is neither the issuer nor delegated by it: refused unless it
    // is configured as the designated responder; then it answers "unknown".
    let unknown = revocation::ocsp_status(&resp("ocsp_response_unknown.der"), &serial, &issuer, ts("2021-09-18T00:16:30Z"), &rules, "ocsp");
    assert!(matches!(unknown, Status::Invalid { .. }), "{unknown:?}");
    let designated = revocation::OcspRules { designated: vec![read(&WEB_EID, "TEST_of_SK_OCSP_RESPONDER_2020.cer")], ..Default::default() };
    let unknown =
        revocation::ocsp_status(&resp("ocsp_response_unknown.der"), &serial, &issuer, ts("2021-09-18T00:16:30Z"), &designated, "ocsp");
    assert!(matches!(unknown, Status::Unknown { .. }), "{unknown:?}");
    // A nonce was sent but the answer does not echo it.
    let with_nonce = revocation::OcspRules { nonce: Some(vec![1, 2, 3, 4]), ..Default::default() };
    let r = revocation::ocsp_status(&resp("ocsp_response.der"), &serial, &issuer, ts("2021-09-17T18:25:30Z"), &with_nonce, "ocsp");
    assert!(matches!(r, Status::Invalid { .. }), "{r:?}");
}

#[test]
fn cli_verify_exit_codes_and_json() {
    let run = |args: &[&str]| std::process::Command::new(env!("CARGO_BIN_EXE_nixa")).args(args).output().unwrap();
    let vnpt = format!("{}vnpt-ca-sha2.crt", *VN);
    let root = format!("{}vnrca256.crt", *VN);
    let out = run(&["cert", "verify", &vnpt, "--ca", "--no-revocation", "--at", "2025-06-01T00:00:00Z", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["chain"][1]["trust_anchor"], "Vietnam National Root CA");
    assert!(report["summary"]["vi"].as_str().unwrap().contains("hợp lệ"));
    // --trust replaces the store: the Government root cannot vouch for VNPT-CA.
    let gov = format!("{}rootcag2.crt", *VN);
    let out = run(&["cert", "verify", &vnpt, "--ca", "--trust", &gov, "--no-revocation", "--at", "2025-06-01T00:00:00Z"]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(&["cert", "verify", &vnpt, "--ca", "--trust", &root, "--no-revocation", "--at", "2025-06-01T00:00:00Z"]);
    assert_eq!(out.status.code(), Some(0));
    // Fail closed: offline and no CRL means unknown status, refused.
    let out = run(&["cert", "verify", &vnpt, "--ca", "--offline", "--at", "2025-06-01T00:00:00Z"]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(&["cert", "verify", &vnpt, "--ca", "--offline", "--soft-fail", "--at", "2025-06-01T00:00:00Z"]);
    assert_eq!(out.status.code(), Some(0));
    let out = run(&["cert", "verify", "Cargo.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["cert", "verify", &vnpt, "--at", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
}
