//! RFC 8628 user codes: drawn, normalised from what people type, and shown.

use crate::crypto::random_bytes;

/// Consonants only (RFC 8628 §6.1): no vowels to spell words, no 0/O or 1/I to confuse.
const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LEN: usize = 8;

/// A fresh user code, normalised (no dash). 20^8 ≈ 2^34.6 codes; guessing is held back by the
/// attempt limit on the verification page (RFC 8628 §5.1).
pub fn new_user_code() -> String {
    let mut out = String::with_capacity(USER_CODE_LEN);
    while out.len() < USER_CODE_LEN {
        for b in random_bytes::<16>() {
            // Rejection sampling: 240 is the largest multiple of 20 below 256, so every
            // letter is equally likely.
            if b < 240 && out.len() < USER_CODE_LEN {
                out.push(char::from(ALPHABET[usize::from(b % 20)]));
            }
        }
    }
    out
}

/// What people type: any case, with or without the dash or spaces. `None` if it cannot be a
/// user code at all.
pub fn normalise_user_code(typed: &str) -> Option<String> {
    let code: String = typed.chars().filter(|c| *c != '-' && !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// How a user code is shown: XXXX-XXXX.
pub fn display_user_code(code: &str) -> String {
    match (code.get(..4), code.get(4..)) {
        (Some(a), Some(b)) if !b.is_empty() => format!("{a}-{b}"),
        _ => code.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_unambiguous_and_typed_loosely() {
        for _ in 0..100 {
            let c = new_user_code();
            assert_eq!(c.len(), 8);
            assert!(c.bytes().all(|b| ALPHABET.contains(&b)));
            assert_eq!(normalise_user_code(&display_user_code(&c)).as_deref(), Some(c.as_str()));
            assert_eq!(normalise_user_code(&display_user_code(&c).to_lowercase()).as_deref(), Some(c.as_str()));
        }
        assert_eq!(display_user_code("BCDFGHJK"), "BCDF-GHJK");
        assert_eq!(normalise_user_code(" bcdf ghjk ").as_deref(), Some("BCDFGHJK"));
        assert_eq!(normalise_user_code("BCDF-GHJ"), None);
        assert_eq!(normalise_user_code("BCDF-GHJA"), None, "vowels are not in the alphabet");
        assert_eq!(normalise_user_code("BCDF-GHJKL"), None);
    }
}
