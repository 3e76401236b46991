//! CSRF tokens for the sign-in forms: an HMAC over the browser binding cookie and the sign-in
//! request, so a token is useless in another browser or for another sign-in.

use crate::crypto::{b64url, b64url_decode, ct_eq, hmac_sha256};

pub fn token(key: &[u8], browser: &str, request_id: &str) -> String {
    b64url(&hmac_sha256(key, &[b"csrf", browser.as_bytes(), request_id.as_bytes()]))
}

pub fn verify(key: &[u8], browser: &str, request_id: &str, presented: &str) -> bool {
    let expected = hmac_sha256(key, &[b"csrf", browser.as_bytes(), request_id.as_bytes()]);
    b64url_decode(presented).is_some_and(|p| ct_eq(&p, &expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_to_browser_and_request() {
        let t = token(b"k", "b1", "r1");
        assert!(verify(b"k", "b1", "r1", &t));
        assert!(!verify(b"k", "b2", "r1", &t));
        assert!(!verify(b"k", "b1", "r2", &t));
        assert!(!verify(b"other", "b1", "r1", &t));
        assert!(!verify(b"k", "b1", "r1", "not base64!"));
    }
}
