//! The master key: encrypts private keys and server secrets at rest (AES-256-GCM).

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The development master key shipped in keys-example/. The server refuses it without --demo.
pub const DEMO_MASTER_KEY: &str = include_str!("../../keys-example/demo-master-key.txt");

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("the master key must be 32 bytes, base64-encoded (generate one with `nixa keys generate-master`)")]
    Malformed,
    #[error("a sealed value could not be opened: wrong master key or corrupted data")]
    Unseal,
    #[error("sealing failed")]
    Seal,
}

pub struct MasterKey {
    key: LessSafeKey,
    is_demo: bool,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub fn from_base64(text: &str) -> Result<Self, MasterKeyError> {
        let text = text.trim();
        let bytes = STANDARD.decode(text).map_err(|_| MasterKeyError::Malformed)?;
        if bytes.len() != 32 {
            return Err(MasterKeyError::Malformed);
        }
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| MasterKeyError::Malformed)?;
        Ok(Self { key: LessSafeKey::new(key), is_demo: text == DEMO_MASTER_KEY.trim() })
    }

    #[allow(clippy::expect_used)] // the key is compiled in: a bad one fails the first `--demo` start
    pub fn demo() -> Self {
        Self::from_base64(DEMO_MASTER_KEY).expect("the shipped demo master key is well-formed")
    }

    pub fn generate_base64() -> String {
        STANDARD.encode(crate::crypto::random_bytes::<32>())
    }

    pub fn is_demo(&self) -> bool {
        self.is_demo
    }

    /// Encrypts `plaintext`, bound to `context` (e.g. the key id) so that sealed values cannot be
    /// swapped between rows. Output: base64(nonce ‖ ciphertext ‖ tag).
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String, MasterKeyError> {
        let nonce_bytes = crate::crypto::random_bytes::<NONCE_LEN>();
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce_bytes), Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| MasterKeyError::Seal)?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        Ok(STANDARD.encode(out))
    }

    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, MasterKeyError> {
        let raw = STANDARD.decode(sealed).map_err(|_| MasterKeyError::Unseal)?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(MasterKeyError::Unseal);
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| MasterKeyError::Unseal)?;
        let mut buf = ct.to_vec();
        let plain = self.key.open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf).map_err(|_| MasterKeyError::Unseal)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_context_binding() {
        let k = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        let s = k.seal("kid-1", b"secret").unwrap();
        assert_eq!(k.open("kid-1", &s).unwrap(), b"secret");
        assert!(k.open("kid-2", &s).is_err(), "context must be authenticated");
        let other = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        assert!(other.open("kid-1", &s).is_err());
    }

    #[test]
    fn demo_key_is_recognised() {
        assert!(MasterKey::demo().is_demo());
        assert!(!MasterKey::from_base64(&MasterKey::generate_base64()).unwrap().is_demo());
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
    }
}
