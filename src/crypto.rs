//! Random tokens, token hashing, constant-time comparison and the names of our signature
//! algorithms: the primitives every credential (codes, access tokens, session cookies, client
//! secrets) is built from. Below the store, which stores their hashes.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Serialize;
use subtle::ConstantTimeEq;

/// A fresh 256-bit random value, base64url without padding (43 characters).
/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn random_token() -> String {
    B64.encode(random_bytes::<32>())
}

/// Bytes from the operating system's CSPRNG. The one deliberate panic on a request path: if the
/// kernel cannot supply randomness the host is broken, and issuing predictable credentials
/// instead would be far worse than failing the request (`CatchPanicLayer` turns it into a 500).
#[allow(clippy::expect_used)]
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    aws_lc_rs::rand::fill(&mut buf).expect("the operating system's random number generator failed");
    buf
}

/// What the database stores in place of a bearer credential: SHA-256, base64url. A database
/// leak then yields no usable token, and lookups stay a single indexed equality.
pub fn token_hash(token: &str) -> String {
    B64.encode(digest(&SHA256, token.as_bytes()))
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest(&SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

pub fn b64url(data: &[u8]) -> String {
    B64.encode(data)
}

pub fn b64url_decode(data: &str) -> Option<Vec<u8>> {
    B64.decode(data).ok()
}

pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// HMAC-SHA256, for values derived from server secrets (CSRF tokens, pairwise subjects).
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
    for p in parts {
        // Length-prefix every part so that ("ab","c") and ("a","bc") differ.
        ctx.update(&(p.len() as u64).to_be_bytes());
        ctx.update(p);
    }
    let tag = ctx.sign();
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// The algorithms our signing keys use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Alg {
    ES256,
    RS256,
}

impl Alg {
    pub const ALL: [Alg; 2] = [Alg::ES256, Alg::RS256];

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::ES256 => "ES256",
            Alg::RS256 => "RS256",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ES256" => Some(Alg::ES256),
            "RS256" => Some(Alg::RS256),
            _ => None,
        }
    }
}

impl std::fmt::Display for Alg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_256_bit() {
        let a = random_token();
        let b = random_token();
        assert_ne!(a, b);
        assert_eq!(b64url_decode(&a).unwrap().len(), 32);
    }

    #[test]
    fn hmac_parts_are_unambiguous() {
        let k = b"key";
        assert_ne!(hmac_sha256(k, &[b"ab", b"c"]), hmac_sha256(k, &[b"a", b"bc"]));
    }

    #[test]
    fn token_hash_is_sha256_base64url() {
        // SHA-256("abc") from FIPS 180-2.
        assert_eq!(token_hash("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    }
}
