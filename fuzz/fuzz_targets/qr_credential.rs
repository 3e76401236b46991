//! QR credentials as a verifier scans them: `NX1:` text → base45 → capped zlib → COSE_Sign1 →
//! CWT/CBOR claims, through the whole verification with a real key; and each stage alone.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use nixa::credentials::keys::{CoseAlg, CredentialSigner, KeySet};
use nixa::credentials::{claims, cose, encoding, verify};

static KEYS: LazyLock<KeySet> = LazyLock::new(|| {
    let mut set = KeySet::default();
    if let Ok(pkcs8) = CredentialSigner::generate_pkcs8(CoseAlg::ES256)
        && let Ok(signer) = CredentialSigner::from_pkcs8(CoseAlg::ES256, &pkcs8)
    {
        set.insert(signer.verify_key(Some("https://id.example.gov.vn".into())));
    }
    set
});

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = verify::verify(text, &verify::Options::new(&KEYS, 1_767_225_600));
        let _ = encoding::base45_decode(text);
        let _ = KeySet::from_jwks(text);
    }
    let _ = encoding::decompress(data, 64 * 1024);
    let _ = cose::parse_sign1(data);
    let _ = claims::Cwt::parse(data);
    let _ = KeySet::from_cose_key_set(data);
});
