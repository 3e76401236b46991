//! Proof of work before a hard block (issue 16). An address that tries passwords faster than a
//! person would (`[throttle] pow_per_minute`) is not refused yet: its next attempts must carry
//! the answer to a small puzzle that the login page's script (`/static/proof-of-work.js`)
//! solves in the browser in about a second, while the person types. One attempt costs a
//! stuffing bot as much as a person's whole visit, and a person behind a busy shared address
//! (a one-stop-shop counter, a school) still gets in, with no image to read and no outside
//! service (the government network is closed). Only past the hard limit (`signin_per_minute`)
//! is the address refused outright.
//!
//! The puzzle is stateless: `v1.NONCE.EXPIRES.BITS.MAC`, the MAC binding it to the address;
//! the answer is a counter such that SHA-256(`PUZZLE:COUNTER`) starts with BITS zero bits. Each
//! puzzle is good for one attempt (its nonce is recorded as used until it expires).

use crate::crypto::{b64url, ct_eq, hmac_sha256, random_token, sha256, token_hash};
use crate::state::App;
use crate::store::StoreError;
use crate::web::client_addr::ClientAddr;

/// How long a puzzle may take to be solved and used.
const LIFETIME_SECS: i64 = 600;

/// Why an attempt without a good answer is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Missing,
    Wrong,
    Expired,
    Reused,
}

fn mac(app: &App, addr: &ClientAddr, nonce: &str, expires: i64, bits: u8) -> String {
    let expires = expires.to_string();
    let parts: [&[u8]; 5] = [b"proof-of-work", addr.0.as_bytes(), nonce.as_bytes(), expires.as_bytes(), &[bits]];
    b64url(&hmac_sha256(&app.secrets.lockout, &parts))
}

/// A new puzzle for this address.
pub fn issue(app: &App, addr: &ClientAddr) -> String {
    let (nonce, expires, bits) = (random_token(), app.now() + LIFETIME_SECS, app.settings.throttle.pow_bits);
    format!("v1.{nonce}.{expires}.{bits}.{}", mac(app, addr, &nonce, expires, bits))
}

/// Checks `presented` (`PUZZLE:COUNTER`) for this address and uses the puzzle up.
pub async fn check(app: &App, addr: &ClientAddr, presented: Option<&str>) -> Result<Result<(), Refused>, StoreError> {
    let Some((puzzle, counter)) = presented.and_then(|p| p.rsplit_once(':')) else { return Ok(Err(Refused::Missing)) };
    let fields: Vec<&str> = puzzle.split('.').collect();
    let [version, nonce, expires, bits, presented_mac] = fields.as_slice() else { return Ok(Err(Refused::Wrong)) };
    let (Ok(expires), Ok(bits)) = (expires.parse::<i64>(), bits.parse::<u8>()) else { return Ok(Err(Refused::Wrong)) };
    if *version != "v1" || !ct_eq(mac(app, addr, nonce, expires, bits).as_bytes(), presented_mac.as_bytes()) {
        return Ok(Err(Refused::Wrong));
    }
    // Made easier since it was issued: the operator lowered the difficulty; harder puzzles in
    // flight stay good.
    if bits < app.settings.throttle.pow_bits || counter.len() > 20 || !solves(puzzle, counter, bits) {
        return Ok(Err(Refused::Wrong));
    }
    if expires <= app.now() {
        return Ok(Err(Refused::Expired));
    }
    if !app.store.use_once(&token_hash(&format!("proof-of-work:{nonce}")), expires).await? {
        return Ok(Err(Refused::Reused));
    }
    Ok(Ok(()))
}

/// Whether SHA-256(`puzzle:counter`) starts with `bits` zero bits.
pub fn solves(puzzle: &str, counter: &str, bits: u8) -> bool {
    leading_zero_bits(&sha256(format!("{puzzle}:{counter}").as_bytes())) >= u32::from(bits)
}

fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut n = 0;
    for b in hash {
        if *b == 0 {
            n += 8;
        } else {
            return n + b.leading_zeros();
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_bits_are_counted_from_the_first_byte() {
        assert_eq!(leading_zero_bits(&[0, 0, 0x1f, 0xff]), 19);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0, 0]), 16);
        // Some counter solves an 8-bit puzzle within a few thousand tries, and then it checks.
        let counter = (0..100_000u32).find(|c| solves("v1.n.1.8.m", &c.to_string(), 8)).unwrap();
        assert!(solves("v1.n.1.8.m", &counter.to_string(), 8));
        assert!(!solves("v1.n.1.8.m", &counter.to_string(), 40));
    }
}
