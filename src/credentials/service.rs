//! The server's credential state: the dedicated credential-signing key (sealed at rest with the
//! master key, like every server secret, and never the OIDC token key) and the key set
//! verifiers use, with our key bound to our issuer.

use super::keys::{CoseAlg, CredentialSigner, KeySet, KeysError};
use crate::keys::{KeyError, MasterKey};
use crate::store::Store;

pub struct Credentials {
    pub signer: CredentialSigner,
    pub issuer: String,
    pub keys: KeySet,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Keys(#[from] KeysError),
    #[error(transparent)]
    Store(#[from] KeyError),
    #[error("the status list has no free index")]
    ListFull,
}

/// The one status list in use; its URL is stable for the life of the deployment.
pub const LIST_ID: i64 = 1;
/// 2^20 one-bit entries: 128 KiB raw, a few hundred bytes compressed while sparse.
pub const LIST_SIZE: u64 = 1 << 20;

impl Credentials {
    pub fn status_uri(&self) -> String {
        format!("{}/credentials/status/{LIST_ID}", self.issuer)
    }

    /// Draws a free random index in the status list and records the credential there.
    pub async fn allocate_status(&self, store: &Store, subject: &str, kind: &str, now: i64, exp: i64) -> Result<u64, ServiceError> {
        for _ in 0..32 {
            let r = crate::crypto::random_bytes::<8>();
            let idx = u64::from_le_bytes(r) % LIST_SIZE;
            if store.insert_credential_status(LIST_ID, idx as i64, subject, kind, now, exp).await.map_err(KeyError::from)? {
                return Ok(idx);
            }
        }
        Err(ServiceError::ListFull)
    }

    /// The current status list, from the database.
    pub async fn status_list(&self, store: &Store) -> Result<super::status_list::StatusList, ServiceError> {
        let mut l = super::status_list::StatusList::new(&self.status_uri(), LIST_SIZE as usize);
        for idx in store.revoked_credential_indexes(LIST_ID).await.map_err(KeyError::from)? {
            let _ = l.set_revoked(idx as u64);
        }
        Ok(l)
    }

    /// Loads the ES256 credential-signing key, generating it on the first start. Concurrent
    /// first starts of several nodes agree on one key through the server-secret table.
    pub async fn load(store: &Store, master: &MasterKey, issuer: &str, now: i64) -> Result<Self, ServiceError> {
        const NAME: &str = "credential-signing-es256";
        let candidate = master.seal(NAME, &CredentialSigner::generate_pkcs8(CoseAlg::ES256)?).map_err(KeyError::from)?;
        let sealed = store.server_secret(NAME, &candidate, now).await.map_err(KeyError::from)?;
        let pkcs8 = master.open(NAME, &sealed).map_err(KeyError::from)?;
        let signer = CredentialSigner::from_pkcs8(CoseAlg::ES256, &pkcs8)?;
        let mut keys = KeySet::default();
        keys.insert(signer.verify_key(Some(issuer.to_string())));
        Ok(Self { signer, issuer: issuer.to_string(), keys })
    }
}
