//! The server's credential state: the dedicated credential-signing key (sealed at rest with the
//! master key, like every server secret, and never the OIDC token key) and the key set
//! verifiers use, with our key bound to our issuer.

use super::keys::{CoseAlg, CredentialSigner, KeySet, KeysError};
use crate::crypto::Alg;
use crate::keys::{KeyError, Vault, pkcs11};
use crate::store::{Store, StoreError};

/// The server-secret rows of the credential-signing key: its PKCS#8, or its token reference.
const SOFTWARE_KEY: &str = "credential-signing-es256";
const TOKEN_KEY: &str = "credential-signing-es256-pkcs11";

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

    /// Loads the ES256 credential-signing key, generating it on the first start: sealed in the
    /// database, or inside the PKCS#11 token when the vault has one. Concurrent first starts of
    /// several nodes agree on one key through the server-secret table. After a switch to a
    /// token, credentials signed with the software key still verify.
    pub async fn load(store: &Store, vault: &Vault, issuer: &str, now: i64) -> Result<Self, ServiceError> {
        let master = vault.master();
        let software = match store.find_server_secret(SOFTWARE_KEY).await.map_err(KeyError::from)? {
            Some(sealed) => {
                Some(CredentialSigner::from_pkcs8(CoseAlg::ES256, &master.open(SOFTWARE_KEY, &sealed).map_err(KeyError::from)?)?)
            }
            None => None,
        };
        let in_token = store.find_server_secret(TOKEN_KEY).await.map_err(KeyError::from)?;
        let (signer, previous) = match (vault.token(), in_token) {
            (None, Some(_)) => return Err(KeyError::NoToken("the credential-signing key".into()).into()),
            (None, None) => match software {
                Some(signer) => (signer, None),
                None => {
                    let candidate =
                        master.seal(SOFTWARE_KEY, &CredentialSigner::generate_pkcs8(CoseAlg::ES256)?).map_err(KeyError::from)?;
                    let sealed = store.server_secret(SOFTWARE_KEY, &candidate, now).await.map_err(KeyError::from)?;
                    let pkcs8 = master.open(SOFTWARE_KEY, &sealed).map_err(KeyError::from)?;
                    (CredentialSigner::from_pkcs8(CoseAlg::ES256, &pkcs8)?, None)
                }
            },
            (Some(hsm), kept) => {
                let sealed = match kept {
                    Some(sealed) => sealed,
                    None => {
                        let (id, _) = hsm.generate(Alg::ES256, "credentials").map_err(KeyError::from)?;
                        let candidate = master.seal(TOKEN_KEY, &pkcs11::reference(&id)).map_err(KeyError::from)?;
                        let sealed = store.server_secret(TOKEN_KEY, &candidate, now).await.map_err(KeyError::from)?;
                        if sealed != candidate {
                            hsm.destroy(&id).map_err(KeyError::from)?;
                        }
                        sealed
                    }
                };
                let reference = master.open(TOKEN_KEY, &sealed).map_err(KeyError::from)?;
                let id =
                    pkcs11::referenced_id(&reference).flatten().ok_or_else(|| KeyError::from(StoreError::Corrupt(TOKEN_KEY.into())))?;
                (CredentialSigner::in_token(hsm.clone(), &id)?, software)
            }
        };
        let mut keys = KeySet::default();
        for k in previous.iter().chain([&signer]) {
            keys.insert(k.verify_key(Some(issuer.to_string())));
        }
        Ok(Self { signer, issuer: issuer.to_string(), keys })
    }
}
