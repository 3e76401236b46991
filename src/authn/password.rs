//! Passwords: argon2id with the parameters of DESIGN §9 (m=19456 KiB, t=2, p=1).

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

pub use argon2::password_hash::Error as HashError;

fn hasher() -> Result<Argon2<'static>, HashError> {
    let params = Params::new(19_456, 2, 1, None)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash(password: &str) -> Result<String, HashError> {
    let salt = SaltString::encode_b64(&crate::crypto::random_bytes::<16>())?;
    Ok(hasher()?.hash_password(password.as_bytes(), &salt)?.to_string())
}

/// The form a password is hashed and checked in: Unicode NFC, so "mật khẩu" typed on two
/// keyboards (precomposed or combining marks) is one password (NIST SP 800-63B-4 §3.1.1.2).
pub fn canonical(password: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    password.nfc().collect()
}

/// Verifies with the parameters recorded in the hash, so older hashes keep working.
pub fn verify(phc: &str, password: &str) -> bool {
    match (PasswordHash::new(phc), hasher()) {
        (Ok(parsed), Ok(h)) => h.verify_password(password.as_bytes(), &parsed).is_ok(),
        _ => false,
    }
}

/// Hash used when the account does not exist, so that unknown and known identifiers take the
/// same time to refuse. (If hashing were impossible, verification fails anyway.)
static DUMMY: LazyLock<String> = LazyLock::new(|| hash("nixa-timing-equaliser").unwrap_or_default());

/// At most this many argon2 computations at once: each holds 19 MiB, and more than the cores
/// only queue for CPU anyway (16 concurrent sign-ins once took the process to 1.2 GB).
static IN_FLIGHT: LazyLock<tokio::sync::Semaphore> =
    LazyLock::new(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(2)));

/// Verifies off the async runtime (argon2 takes ~15 ms of CPU), a bounded number at a time.
pub async fn verify_blocking(phc: Option<String>, password: String) -> bool {
    let Ok(_permit) = IN_FLIGHT.acquire().await else { return false };
    tokio::task::spawn_blocking(move || {
        let known = phc.is_some();
        let ok = verify(phc.as_deref().unwrap_or(&DUMMY), &password);
        known && ok
    })
    .await
    .unwrap_or(false)
}

/// Hashes off the async runtime, within the same bound as verification.
pub async fn hash_blocking(password: String) -> Result<String, HashError> {
    let Ok(_permit) = IN_FLIGHT.acquire().await else { return Err(HashError::Crypto) };
    tokio::task::spawn_blocking(move || hash(&canonical(&password))).await.unwrap_or(Err(HashError::Crypto))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(&h, "correct horse"));
        assert!(!verify(&h, "wrong"));
        assert!(!verify("not a hash", "x"));
    }

    #[tokio::test]
    async fn concurrent_verifications_are_bounded_and_all_answered() {
        let h = hash("pw").unwrap();
        let tasks: Vec<_> =
            (0..8).map(|i| tokio::spawn(verify_blocking(Some(h.clone()), if i % 2 == 0 { "pw".into() } else { "no".into() }))).collect();
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        assert_eq!(results, [true, false, true, false, true, false, true, false]);
        assert_eq!(IN_FLIGHT.available_permits(), std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(2));
    }
}
