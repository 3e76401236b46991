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
}

impl Credentials {
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
