//! Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30 s), one step of clock skew
//! either way. The caller records the matched step so a code works once.

use totp_rs::{Algorithm, TOTP};

const STEP: u64 = 30;

fn totp(secret: &[u8]) -> Option<TOTP> {
    TOTP::new(Algorithm::SHA1, 6, 1, STEP, secret.to_vec()).ok()
}

pub fn new_secret() -> Vec<u8> {
    crate::crypto::random_bytes::<20>().to_vec()
}

/// The matching time step for `code` at `now`, if any.
pub fn verify(secret: &[u8], code: &str, now: i64) -> Option<i64> {
    let t = totp(secret)?;
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let step = now.max(0) as u64 / STEP;
    [step.saturating_sub(1), step, step + 1].into_iter().find_map(|s| {
        let expected = t.generate(s * STEP);
        crate::crypto::ct_eq(expected.as_bytes(), code.as_bytes()).then_some(s as i64)
    })
}

/// The code for `now` (used by the demo output and tests).
pub fn current_code(secret: &[u8], now: i64) -> Option<String> {
    totp(secret).map(|t| t.generate(now.max(0) as u64))
}

/// Base32 form of the secret, as authenticator apps take it.
pub fn base32(secret: &[u8]) -> String {
    totp_rs::Secret::Raw(secret.to_vec()).to_encoded().to_string()
}

/// An `otpauth://` URI (the Key Uri Format) for authenticator apps.
#[allow(clippy::expect_used)] // a constant URL: parsing it cannot fail
pub fn provisioning_uri(secret: &[u8], account: &str, issuer: &str) -> String {
    let mut url = url::Url::parse("otpauth://totp/").expect("constant URL parses");
    url.set_path(&format!("{issuer}:{account}"));
    url.query_pairs_mut()
        .append_pair("secret", &base32(secret))
        .append_pair("issuer", issuer)
        .append_pair("algorithm", "SHA1")
        .append_pair("digits", "6")
        .append_pair("period", "30");
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vector() {
        // RFC 6238 Appendix B, SHA-1 seed, T = 59 s → 94287082 (8 digits); 6 digits: 287082.
        let secret = b"12345678901234567890";
        assert_eq!(verify(secret, "287082", 59), Some(1));
        assert_eq!(verify(secret, "287082", 59 + 30), Some(1), "one step of skew is accepted");
        assert_eq!(verify(secret, "287082", 59 + 90), None);
        assert_eq!(verify(secret, "28708", 59), None);
        assert_eq!(verify(secret, "abcdef", 59), None);
    }
}
