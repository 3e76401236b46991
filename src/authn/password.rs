//! Passwords: argon2id with the parameters of DESIGN §9 (m=19456 KiB, t=2, p=1).

use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};

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
static IN_FLIGHT: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| tokio::sync::Semaphore::new(permits()));

fn permits() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(2)
}

/// Password checks waiting for a turn: admission control (`web::admission`) holds new sign-ins
/// back while this line is long.
static WAITING: AtomicUsize = AtomicUsize::new(0);

pub fn waiting() -> usize {
    WAITING.load(Ordering::Relaxed)
}

/// No turn came within the wait allowed: the server is saturated with password work. Nothing
/// was checked, so nothing may be counted against the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// A turn to run argon2 once (verify or hash), taken before anything is counted.
pub struct Turn(tokio::sync::SemaphorePermit<'static>);

/// Waits at most `wait` for a turn.
pub async fn turn(wait: std::time::Duration) -> Result<Turn, Busy> {
    struct InLine;
    impl Drop for InLine {
        fn drop(&mut self) {
            WAITING.fetch_sub(1, Ordering::Relaxed);
        }
    }
    WAITING.fetch_add(1, Ordering::Relaxed);
    let _in_line = InLine;
    match tokio::time::timeout(wait, IN_FLIGHT.acquire()).await {
        Ok(Ok(permit)) => Ok(Turn(permit)),
        _ => Err(Busy),
    }
}

impl Turn {
    /// Verifies off the async runtime (argon2 takes ~15 ms of CPU); `None` is checked against a
    /// dummy hash (the same time) and never matches.
    pub async fn verify(self, phc: Option<String>, password: String) -> bool {
        let result = tokio::task::spawn_blocking(move || {
            let known = phc.is_some();
            let ok = verify(phc.as_deref().unwrap_or(&DUMMY), &password);
            known && ok
        })
        .await
        .unwrap_or(false);
        drop(self.0);
        result
    }

    /// Hashes the canonical form off the async runtime.
    pub async fn hash(self, password: String) -> Result<String, HashError> {
        let result = tokio::task::spawn_blocking(move || hash(&canonical(&password))).await.unwrap_or(Err(HashError::Crypto));
        drop(self.0);
        result
    }
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

    /// The turns are one process-wide line: these tests must not stand in it together.
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    #[tokio::test]
    async fn concurrent_verifications_are_bounded_and_all_answered() {
        let _serial = SERIAL.lock().await;
        let h = hash("pw").unwrap();
        let wait = std::time::Duration::from_secs(60);
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let h = h.clone();
                tokio::spawn(async move {
                    let turn = turn(wait).await.unwrap();
                    turn.verify(Some(h), if i % 2 == 0 { "pw".into() } else { "no".into() }).await
                })
            })
            .collect();
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        assert_eq!(results, [true, false, true, false, true, false, true, false]);
        assert_eq!(IN_FLIGHT.available_permits(), permits());
        assert_eq!(waiting(), 0);
    }

    #[tokio::test]
    async fn no_turn_within_the_wait_is_busy_and_leaves_the_line() {
        let _serial = SERIAL.lock().await;
        let taken = IN_FLIGHT.acquire_many(permits() as u32).await.unwrap();
        assert_eq!(turn(std::time::Duration::from_millis(20)).await.err(), Some(Busy));
        assert_eq!(waiting(), 0);
        drop(taken);
        assert!(turn(std::time::Duration::from_millis(20)).await.is_ok());
    }
}
