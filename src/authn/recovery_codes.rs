//! Recovery codes: ten single-use look-up secrets (NIST SP 800-63B-4 §3.1.2), shown once when a
//! second factor is set up, kept as keyed hashes. One stands in for the authenticator app at
//! sign-in when the phone is lost.

use crate::crypto::{b64url, hmac_sha256};
use crate::identity::PersonId;
use crate::state::App;
use crate::store::StoreError;

pub const COUNT: usize = 10;

/// `XXXXX-XXXXX`: ten characters without look-alikes, about 49 bits.
fn generate() -> String {
    super::one_time_code::typeable(10, 5)
}

/// Whether `typed` has the shape of a recovery code (and not of a six-digit TOTP).
pub fn looks_like(typed: &str) -> bool {
    normalise(typed).len() == 10
}

fn normalise(typed: &str) -> String {
    typed.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_uppercase()
}

fn hash(key: &[u8], person: &PersonId, code: &str) -> String {
    b64url(&hmac_sha256(key, &[b"recovery-code", person.as_bytes(), normalise(code).as_bytes()]))
}

/// New codes for the person, replacing the old ones; returns them to show once.
pub async fn issue(app: &App, person: &PersonId) -> Result<Vec<String>, StoreError> {
    let codes: Vec<String> = (0..COUNT).map(|_| generate()).collect();
    let hashes: Vec<String> = codes.iter().map(|c| hash(&app.secrets.codes, person, c)).collect();
    app.store.replace_recovery_codes(person, &hashes, app.now()).await?;
    Ok(codes)
}

/// Uses up one code; false if it is not one of the person's live codes.
pub async fn redeem(app: &App, person: &PersonId, typed: &str) -> Result<bool, StoreError> {
    app.store.take_recovery_code(person, &hash(&app.secrets.codes, person, typed)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_their_shape_and_forgive_typing() {
        let c = generate();
        assert_eq!(c.len(), 11);
        assert!(looks_like(&c) && looks_like(&c.to_lowercase().replace('-', " ")));
        assert!(!looks_like("123456"));
        let p = PersonId::from_stored("p".into());
        assert_eq!(hash(b"k", &p, &c), hash(b"k", &p, &c.to_lowercase()));
        assert_ne!(hash(b"k", &p, &c), hash(b"k", &PersonId::from_stored("q".into()), &c));
    }
}
