//! Compact JWS as client assertions, request objects and DPoP proofs arrive: the header and
//! signature checks with a registered key set and with the key the header carries (DPoP), the
//! key-set parser (a client's `jwks`), and the `claims` request parameter.
#![no_main]

use jsonwebtoken::Algorithm;
use libfuzzer_sys::fuzz_target;
use nixa::protocol::{claims_request, jose};

const ALGS: &[Algorithm] = &[Algorithm::ES256, Algorithm::EdDSA, Algorithm::PS256, Algorithm::RS256];

/// A registered client's key (P-256, from RFC 7515 A.3).
const CLIENT_JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(set) = jose::parse_key_set(&serde_json::from_str(CLIENT_JWKS).unwrap_or_default()) {
        let _ = jose::verify_with_set(text, &set, ALGS, None);
        let _ = jose::verify_with_set(text, &set, ALGS, Some("oauth-authz-req+jwt"));
    }
    let _ = jose::verify_self_signed(text, ALGS, "dpop+jwt");
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = jose::parse_key_set(&v);
    }
    let _ = claims_request::parse(text);
});
