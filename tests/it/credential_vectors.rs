//! EU DCC and MOSIP Claim 169 vectors through the generic QR verifier.

use crate::vectors;

use base64::Engine;
use nixa::credentials::keys::{KeySet, PublicKey, VerifyKey};
use nixa::credentials::verify::{self, Options, Reason};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn rfc3339(s: &str) -> i64 {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap().unix_timestamp()
}

/// The failing reason of one named check, or None when it passed.
fn check(r: &verify::Report, name: &str) -> Option<Option<Reason>> {
    r.checks.iter().find(|c| c.check == name).map(|c| c.reason)
}

#[test]
fn eu_dcc_vectors() {
    let dir = vectors::dir("eu-dcc/common/2DCode/raw");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let cert = base64::engine::general_purpose::STANDARD.decode(v["TESTCTX"]["CERTIFICATE"].as_str().unwrap()).unwrap();
        let keys = KeySet::from_bytes(&cert).unwrap();
        let now = rfc3339(v["TESTCTX"]["VALIDATIONCLOCK"].as_str().unwrap());
        let exp = &v["EXPECTEDRESULTS"];
        let want = |k: &str| exp.get(k).and_then(|x| x.as_bool());
        let text = if let Some(pic) = v.get("2DCODE").and_then(|p| p.as_str()) {
            let png = base64::engine::general_purpose::STANDARD.decode(pic).unwrap();
            let read = nixa::credentials::render::decode_png(&png);
            if want("EXPECTEDPICTUREDECODE") == Some(false) {
                assert!(read.is_err(), "{name}: the picture must not be readable");
                seen += 1;
                continue;
            }
            read.unwrap()
        } else {
            v["PREFIX"].as_str().unwrap().to_string()
        };
        let r = verify::verify(&text, &Options::new(&keys, now));
        seen += 1;
        let ctx = format!("{name}: {} → {:?} {:?}", v["TESTCTX"]["DESCRIPTION"], r.reason, r.checks);
        if want("EXPECTEDUNPREFIX") == Some(false) {
            assert!(matches!(r.reason, Some(Reason::UnknownPrefix | Reason::WrongProfile)), "{ctx}");
            continue;
        }
        if want("EXPECTEDB45DECODE") == Some(false) {
            assert_eq!(r.reason, Some(Reason::MalformedBase45), "{ctx}");
            continue;
        }
        if want("EXPECTEDCOMPRESSION") == Some(false) {
            assert_eq!(r.reason, Some(Reason::MalformedZlib), "{ctx}");
            continue;
        }
        if want("EXPECTEDDECODE") == Some(false) {
            assert!(matches!(r.reason, Some(Reason::MalformedCbor | Reason::MalformedCose | Reason::MalformedCwt)), "{ctx}");
            continue;
        }
        match want("EXPECTEDVERIFY") {
            Some(true) => assert_eq!(check(&r, "signature"), Some(None), "{ctx}"),
            Some(false) => {
                let sig = check(&r, "signature");
                let cwt = check(&r, "cwt");
                assert!(
                    matches!(sig, Some(Some(Reason::BadSignature | Reason::UnknownKid | Reason::NoKid)))
                        || matches!(cwt, Some(Some(Reason::MalformedCwt)))
                        || matches!(r.reason, Some(Reason::MalformedCose | Reason::MalformedCbor)),
                    "{ctx}"
                );
                match name.as_str() {
                    "CO5" => assert_eq!(sig, Some(Some(Reason::BadSignature)), "{ctx}"),
                    "CO22" | "CO23" => assert_eq!(sig, Some(Some(Reason::UnknownKid)), "{ctx}"),
                    _ => {}
                }
                continue;
            }
            None => {}
        }
        match want("EXPECTEDEXPIRATIONCHECK") {
            Some(false) => {
                let t = check(&r, "time").unwrap();
                assert!(matches!(t, Some(Reason::Expired | Reason::NotYetValid)), "{ctx}");
                if name == "CO16" {
                    assert_eq!(t, Some(Reason::NotYetValid), "{ctx}");
                }
                if name == "CO17" {
                    assert_eq!(t, Some(Reason::Expired), "{ctx}");
                }
                assert_eq!(check(&r, "signature"), Some(None), "{ctx}");
                continue;
            }
            Some(true) => assert!(r.valid, "{ctx}"),
            None => {}
        }
        // Key-usage and schema vectors (CO6–CO15, DGC*) test DCC business rules above the
        // pipeline; their signatures and encodings are sound and must verify as such.
        if want("EXPECTEDKEYUSAGE").is_some() || want("EXPECTEDSCHEMAVALIDATION").is_some() {
            assert_eq!(check(&r, "signature"), Some(None), "{ctx}");
            assert_eq!(check(&r, "cwt"), Some(None), "{ctx}");
        }
        if want("EXPECTEDVERIFY") == Some(true) && want("EXPECTEDEXPIRATIONCHECK").is_none() {
            // Valid signature; the validity window is the vector's and the clock given matches.
            assert_eq!(check(&r, "profile"), Some(None), "{ctx}");
        }
    }
    assert_eq!(seen, 38, "every vector runs");
}

#[test]
fn claim169_vectors() {
    let dir = vectors::dir("claim169");
    let now = rfc3339("2026-01-01T00:00:00Z");
    for sub in ["valid", "edge", "invalid"] {
        for entry in std::fs::read_dir(format!("{dir}{sub}")).unwrap() {
            let path = entry.unwrap().path();
            let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let name = v["name"].as_str().unwrap().to_string();
            let mut keys = KeySet::default();
            let mut kid_for_test = None;
            if let Some(k) = v.get("signing_key") {
                let public = hex(k["public_key_hex"].as_str().unwrap());
                let key = match k["algorithm"].as_str().unwrap() {
                    "ES256" => PublicKey::P256(public),
                    "EdDSA" => PublicKey::Ed25519(public),
                    other => panic!("{other}"),
                };
                kid_for_test = Some(key);
            }
            let enc = v.get("encryption_key").map(|k| hex(k["symmetric_key_hex"].as_str().unwrap()));
            let text = v["qr_data"].as_str().unwrap();
            let mut opts = Options::new(&keys, now);
            opts.decryption_key = enc.as_deref();
            let first = verify::verify(text, &opts);
            // The vectors' keys carry no kid outside the credential: bind the given public key to the
            // kid the credential names, exactly as a trust list entry would.
            // A credential without kid meets the key registered for kid-less credentials.
            if let Some(key) = kid_for_test.clone() {
                let kid = first.kid.clone().map(|k| nixa::crypto::b64url_decode(&k).unwrap()).unwrap_or_default();
                keys.insert(VerifyKey { kid, alg: None, key, issuer: None });
            }
            let mut opts = Options::new(&keys, now);
            opts.decryption_key = enc.as_deref();
            let r = verify::verify(text, &opts);
            let ctx = format!("{name}: {:?} {:?}", r.reason, r.checks);
            match sub {
                _ if name == "encrypted-aes256" => {
                    // Encrypted, not signed: decrypts and decodes, and is reported unsigned.
                    assert_eq!(r.reason, Some(Reason::Unsigned), "{ctx}");
                    assert_eq!(r.claims["claim169"]["id"], v["expected_claim169"]["id"], "{ctx}");
                }
                "invalid" => {
                    let want = match v["expected_error"].as_str().unwrap() {
                        "Base45Decode" => Reason::MalformedBase45,
                        "CoseParse" => Reason::MalformedCose,
                        other => panic!("{other}"),
                    };
                    assert_eq!(r.reason, Some(want), "{ctx}");
                }
                _ => {
                    let c = &r.claims["claim169"];
                    let exp = &v["expected_claim169"];
                    assert_eq!(c["id"], exp["id"], "{ctx}");
                    assert_eq!(c["fullName"], exp["fullName"], "{ctx}");
                    let meta = &v["expected_cwt_meta"];
                    assert_eq!(r.issuer.as_deref(), meta["issuer"].as_str(), "{ctx}");
                    assert_eq!(r.expires_at, meta["expiresAt"].as_i64(), "{ctx}");
                    for c in ["prefix", "base45", "decompress", "cose", "cwt", "profile"] {
                        assert_eq!(check(&r, c), Some(None), "{c} {ctx}");
                    }
                    let sig = check(&r, "signature").unwrap();
                    if kid_for_test.is_some() {
                        assert_eq!(sig, None, "{ctx}");
                    } else {
                        assert!(matches!(sig, Some(Reason::NoKid | Reason::UnknownKid | Reason::UnsupportedAlgorithm)), "{ctx}");
                    }
                    let t = check(&r, "time").unwrap();
                    match name.as_str() {
                        "expired" => assert_eq!(t, Some(Reason::Expired), "{ctx}"),
                        "not-yet-valid" => assert_eq!(t, Some(Reason::NotYetValid), "{ctx}"),
                        _ => assert_eq!(t, None, "{ctx}"),
                    }
                    if kid_for_test.is_some() && sub == "valid" {
                        assert!(r.valid, "{ctx}");
                    }
                }
            }
        }
    }
}
