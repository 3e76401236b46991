//! Our own QR credentials: issue → PNG → read the image → verify, and the negative cases.

use nixa::credentials::issue::{self, OrgIdentity, PersonIdentity, Request, Subject};
use nixa::credentials::keys::{CoseAlg, CredentialSigner, KeySet};
use nixa::credentials::verify::{self, Options, Reason, StatusOutcome};
use nixa::credentials::{encoding, render};

const ISS: &str = "https://id.example.vn";
const NOW: i64 = 1_790_000_000;

fn person() -> PersonIdentity {
    PersonIdentity {
        id: "001204012345".into(),
        full_name: "Nguyễn Thị Minh Khai".into(),
        first_name: Some("Minh Khai".into()),
        last_name: Some("Nguyễn Thị".into()),
        date_of_birth: Some("19900215".into()),
        gender: Some(2),
        nationality: Some("VN".into()),
        photo_ref: Some("https://id.example.vn/photo/001204012345".into()),
    }
}

fn signer(alg: CoseAlg) -> CredentialSigner {
    CredentialSigner::from_pkcs8(alg, &CredentialSigner::generate_pkcs8(alg).unwrap()).unwrap()
}

fn keys(s: &CredentialSigner) -> KeySet {
    let mut k = KeySet::default();
    k.insert(s.verify_key(Some(ISS.into())));
    k
}

fn person_req<'a>(
    p: &PersonIdentity,
    only: Option<&[String]>,
    exp: i64,
    nonce: Option<&'a str>,
    status: Option<(&'a str, u64)>,
) -> Request<'a> {
    Request { issuer: ISS, subject_id: "p-1", subject: Subject::Person(p.claim169(only)), iat: NOW, exp, nonce, status }
}

#[test]
fn round_trip_through_png_both_algorithms() {
    for alg in [CoseAlg::ES256, CoseAlg::EdDSA] {
        let s = signer(alg);
        let text = issue::issue(
            &s,
            &person_req(&person(), None, NOW + 86400 * 365, None, Some(("https://id.example.vn/credentials/status/1", 7))),
        )
        .unwrap();
        assert!(text.starts_with("NX1:"));
        let png = render::png(&text, 4).unwrap();
        let read = render::decode_png(&png).unwrap();
        assert_eq!(read, text);
        let svg = render::svg(&text).unwrap();
        assert!(svg.contains("<svg"));
        let ks = keys(&s);
        let status = |uri: &str, idx: u64, _kid: &[u8]| {
            assert_eq!((uri, idx), ("https://id.example.vn/credentials/status/1", 7));
            StatusOutcome::Valid
        };
        let mut o = Options::new(&ks, NOW + 60);
        o.status = Some(&status);
        let r = verify::verify(&read, &o);
        assert!(r.valid, "{:?}", r.checks);
        assert_eq!(r.claims["claim169"]["fullName"], "Nguyễn Thị Minh Khai");
        assert_eq!(r.claims["claim169"]["dateOfBirth"], "19900215");
        assert_eq!(r.issuer.as_deref(), Some(ISS));
        let names: Vec<_> = r.checks.iter().map(|c| c.check).collect();
        assert_eq!(names, ["prefix", "base45", "decompress", "cose", "cwt", "profile", "signature", "issuer", "time", "status"]);
    }
}

#[test]
fn organisation_and_presentation() {
    let s = signer(CoseAlg::ES256);
    let org = OrgIdentity {
        code: "0101243150".into(),
        kind: "tax".into(),
        name: "Công ty TNHH Ví dụ".into(),
        address: Some("1 Tràng Tiền, Hà Nội".into()),
    };
    let t = issue::issue(
        &s,
        &Request {
            issuer: ISS,
            subject_id: "o-1",
            subject: Subject::Organisation(org.claim()),
            iat: NOW,
            exp: NOW + 3600,
            nonce: None,
            status: None,
        },
    )
    .unwrap();
    let r = verify::verify(&t, &Options::new(&keys(&s), NOW));
    assert!(r.valid, "{:?}", r.checks);
    assert_eq!(r.claims["organisation"]["code"], "0101243150");

    let fields = vec!["fullName".to_string(), "dateOfBirth".to_string(), "nationality".to_string()];
    let t = issue::issue(
        &s,
        &person_req(&person(), Some(&fields), NOW + 300, Some("n-4f1c2a9b"), Some(("https://id.example.vn/credentials/status/1", 123456))),
    )
    .unwrap();
    let version = render::version(&t).unwrap();
    println!("presentation credential: {} characters, QR version {version} (level M)", t.len());
    assert!(version <= 15, "version {version}");
    let ks = keys(&s);
    let st = |_: &str, _: u64, _: &[u8]| StatusOutcome::Valid;
    let mut o = Options::new(&ks, NOW + 60);
    o.status = Some(&st);
    let r = verify::verify(&t, &o);
    assert!(r.valid, "{:?}", r.checks);
    assert_eq!(r.nonce.as_deref(), Some("n-4f1c2a9b"));
    assert!(r.claims["claim169"].get("id").is_none(), "only ticked fields: {}", r.claims);
    assert_eq!(r.claims["claim169"]["nationality"], "VN");
    // Minutes later the presentation is expired.
    let mut o = Options::new(&ks, NOW + 300 + 301);
    o.status = Some(&st);
    assert_eq!(verify::verify(&t, &o).reason, Some(Reason::Expired));
}

#[test]
fn negatives() {
    let s = signer(CoseAlg::ES256);
    let ks = keys(&s);
    let text =
        issue::issue(&s, &person_req(&person(), None, NOW + 3600, None, Some(("https://id.example.vn/credentials/status/1", 3)))).unwrap();
    fn valid(_: &str, _: u64, _: &[u8]) -> StatusOutcome {
        StatusOutcome::Valid
    }
    fn revoked(_: &str, _: u64, _: &[u8]) -> StatusOutcome {
        StatusOutcome::Revoked
    }
    let opts = |status: &'static dyn Fn(&str, u64, &[u8]) -> StatusOutcome, now: i64| {
        let mut o = Options::new(&ks, now);
        o.status = Some(status);
        o
    };
    assert!(verify::verify(&text, &opts(&valid, NOW)).valid);

    // Altered byte: flip one byte of the signed COSE structure and re-encode.
    let body = text.strip_prefix("NX1:").unwrap();
    let mut cose = encoding::decompress(&encoding::base45_decode(body).unwrap(), 1 << 20).unwrap();
    let at = cose.len() - 80;
    cose[at] ^= 0x01;
    let altered = issue::encode_signed(&cose);
    assert_eq!(verify::verify(&altered, &opts(&valid, NOW)).reason, Some(Reason::BadSignature));
    // An altered base45 character is malformed or fails the signature, never valid.
    let mut chars: Vec<char> = text.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let r = verify::verify(&chars.into_iter().collect::<String>(), &opts(&valid, NOW));
    assert!(!r.valid);

    // Revoked.
    let r = verify::verify(&text, &opts(&revoked, NOW));
    assert_eq!(r.reason, Some(Reason::Revoked));
    // Expired, and not yet valid.
    assert_eq!(verify::verify(&text, &opts(&valid, NOW + 3600 + 301)).reason, Some(Reason::Expired));
    assert_eq!(verify::verify(&text, &opts(&valid, NOW - 301)).reason, Some(Reason::NotYetValid));
    // Within the skew it is still valid.
    assert!(verify::verify(&text, &opts(&valid, NOW + 3600 + 200)).valid);

    // Another issuer: its key is not ours, so its kid is unknown (and no key is tried instead).
    let other = signer(CoseAlg::ES256);
    let foreign =
        issue::issue(&other, &Request { issuer: "https://evil.example", ..person_req(&person(), None, NOW + 3600, None, None) }).unwrap();
    assert_eq!(verify::verify(&foreign, &opts(&valid, NOW)).reason, Some(Reason::UnknownKid));
    // Our key bound to our issuer: a credential claiming another `iss` fails even when signed by it.
    let lying =
        issue::issue(&s, &Request { issuer: "https://other.example", ..person_req(&person(), None, NOW + 3600, None, None) }).unwrap();
    assert_eq!(verify::verify(&lying, &opts(&valid, NOW)).reason, Some(Reason::WrongIssuer));

    // Oversized decompression: a zlib bomb well past the cap.
    let bomb = format!("NX1:{}", encoding::base45_encode(&encoding::compress(&vec![0u8; 1 << 20])));
    assert!(bomb.len() < 4000);
    assert_eq!(verify::verify(&bomb, &opts(&valid, NOW)).reason, Some(Reason::TooLarge));

    // Key sets round-trip through the published forms.
    let jwks = ks.to_jwks().to_string();
    let from_jwks = KeySet::from_bytes(jwks.as_bytes()).unwrap();
    assert!(
        verify::verify(&text, &{
            let mut o = Options::new(&from_jwks, NOW);
            o.status = Some(&valid);
            o
        })
        .valid
    );
    let from_cose = KeySet::from_bytes(&ks.to_cose_key_set()).unwrap();
    assert!(
        verify::verify(&text, &{
            let mut o = Options::new(&from_cose, NOW);
            o.status = Some(&valid);
            o
        })
        .valid
    );
}
