//! Signing keys: generated at first start, sealed at rest with the master key (or kept in a
//! PKCS#11 token, `pkcs11`), published in JWKS before they sign and kept there until every token
//! they signed has expired.

pub mod master;
pub mod pkcs11;
pub mod signing;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub use master::MasterKey;
pub use signing::{Alg, SigningKey};

use crate::store::keys::KeyRow;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Master(#[from] master::MasterKeyError),
    #[error(transparent)]
    Signing(#[from] signing::SigningError),
    #[error("no active {0} signing key")]
    NoActiveKey(Alg),
    #[error(transparent)]
    Token(#[from] pkcs11::HsmError),
    #[error("signing key {0} lives in a PKCS#11 token: configure [keys] backend = \"pkcs11\"")]
    NoToken(String),
}

/// Where private keys are made and kept: sealed with the master key in the database, or inside
/// a PKCS#11 token (`[keys] backend = "pkcs11"`). Keys made before a switch to a token stay
/// usable until rotated out.
#[derive(Clone, Debug)]
pub struct Vault {
    master: Arc<MasterKey>,
    hsm: Option<Arc<pkcs11::Hsm>>,
}

impl Vault {
    /// Opens the token when the configuration names one (a wrong PIN or a missing token stops
    /// the start).
    pub fn open(master: Arc<MasterKey>, cfg: &pkcs11::KeysConfig) -> Result<Self, KeyError> {
        let hsm = if cfg.uses_token() { Some(Arc::new(pkcs11::Hsm::open(cfg)?)) } else { None };
        Ok(Self { master, hsm })
    }

    /// A new key: (kid, public JWK, what the row keeps sealed: the PKCS#8 or the reference).
    fn generate(&self, alg: Alg) -> Result<(String, serde_json::Value, Vec<u8>), KeyError> {
        match &self.hsm {
            None => {
                let g = signing::generate(alg)?;
                Ok((g.kid, g.public_jwk, g.pkcs8))
            }
            Some(hsm) => {
                let (id, public) = hsm.generate(alg, "tokens")?;
                let (kid, jwk) = match &public {
                    pkcs11::TokenPublic::Ec(point) => signing::ec_jwk(point),
                    pkcs11::TokenPublic::Rsa { n, e } => signing::rsa_jwk(n, e),
                };
                Ok((kid, jwk, pkcs11::reference(&id)))
            }
        }
    }

    fn signer(&self, alg: Alg, row: &KeyRow) -> Result<SigningKey, KeyError> {
        let opened = self.master.open(&row.kid, &row.sealed_private)?;
        match pkcs11::referenced_id(&opened) {
            None => Ok(SigningKey::from_pkcs8(alg, row.kid.clone(), &opened)?),
            Some(id) => {
                let hsm = self.hsm.clone().ok_or_else(|| KeyError::NoToken(row.kid.clone()))?;
                let id = id.ok_or_else(|| StoreError::Corrupt("signing_keys.sealed_private".into()))?;
                Ok(SigningKey::in_token(hsm, alg, row.kid.clone(), &id)?)
            }
        }
    }

    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    /// The token, when keys are made in one.
    pub fn token(&self) -> Option<&Arc<pkcs11::Hsm>> {
        self.hsm.as_ref()
    }
}

/// The lifecycle state of a key at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// Published, not yet signing.
    Pending,
    Active,
    /// No longer signing, still published for verifiers.
    Retiring,
    Retired,
}

pub fn key_state(k: &KeyRow, now: i64) -> KeyState {
    if k.published_until.is_some_and(|p| p <= now) {
        KeyState::Retired
    } else if k.retired_at.is_some_and(|r| r <= now) {
        KeyState::Retiring
    } else if k.activates_at > now {
        KeyState::Pending
    } else {
        KeyState::Active
    }
}

struct Snapshot {
    signers: HashMap<Alg, Arc<SigningKey>>,
    /// When each signing key became active.
    activated: HashMap<Alg, i64>,
    jwks: Arc<String>,
}

/// The keys a node signs and publishes with, reloaded from the database periodically so that a
/// rotation done by any node (or the CLI) reaches every node.
pub struct KeyRing {
    store: Store,
    vault: Vault,
    snapshot: RwLock<Arc<Snapshot>>,
}

impl KeyRing {
    /// Loads the keys, generating a first key per algorithm when there is none.
    pub async fn load(store: Store, vault: Vault, now: i64) -> Result<Self, KeyError> {
        ensure_keys(&store, &vault, now).await?;
        let snapshot = build_snapshot(&store, &vault, now).await?;
        Ok(Self { store, vault, snapshot: RwLock::new(Arc::new(snapshot)) })
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    pub async fn reload(&self, now: i64) -> Result<(), KeyError> {
        let snapshot = build_snapshot(&self.store, &self.vault, now).await?;
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(snapshot);
        Ok(())
    }

    fn current(&self) -> Arc<Snapshot> {
        self.snapshot.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn signer(&self, alg: Alg) -> Result<Arc<SigningKey>, KeyError> {
        self.current().signers.get(&alg).cloned().ok_or(KeyError::NoActiveKey(alg))
    }

    /// The JWKS document, serialised once per reload.
    pub fn jwks(&self) -> Arc<String> {
        self.current().jwks.clone()
    }

    /// How long each algorithm's signing key has been signing (seconds), for the metrics.
    pub fn signing_key_ages(&self, now: i64) -> Vec<(&'static str, i64)> {
        self.current().activated.iter().map(|(alg, at)| (alg.as_str(), now.saturating_sub(*at))).collect()
    }
}

pub async fn ensure_keys(store: &Store, vault: &Vault, now: i64) -> Result<(), KeyError> {
    let rows = store.keys().await?;
    for alg in Alg::ALL {
        let usable = rows.iter().any(|k| k.alg == alg.as_str() && key_state(k, now) == KeyState::Active);
        if !usable {
            // First start: nobody can have cached our JWKS yet, so the key may sign at once.
            add_key(store, vault, alg, now, now).await?;
        }
    }
    Ok(())
}

async fn add_key(store: &Store, vault: &Vault, alg: Alg, now: i64, activates_at: i64) -> Result<KeyRow, KeyError> {
    let (kid, public_jwk, private) = vault.generate(alg)?;
    let row = KeyRow {
        sealed_private: vault.master.seal(&kid, &private)?,
        kid,
        alg: alg.as_str().to_string(),
        public_jwk: public_jwk.to_string(),
        created_at: now,
        activates_at,
        retired_at: None,
        published_until: None,
    };
    store.insert_key(&row).await?;
    Ok(row)
}

/// Rotation: a new key per algorithm, published now and signing from `now + lead`; the keys it
/// replaces stop signing then and stay published for `max_token_lifetime` more.
pub async fn rotate(store: &Store, vault: &Vault, now: i64, lead: i64, max_token_lifetime: i64) -> Result<Vec<KeyRow>, KeyError> {
    let mut added = Vec::new();
    for alg in Alg::ALL {
        let activates_at = now + lead;
        let row = add_key(store, vault, alg, now, activates_at).await?;
        store.schedule_retirement(alg.as_str(), &row.kid, activates_at, activates_at + max_token_lifetime).await?;
        added.push(row);
    }
    Ok(added)
}

/// Automatic rotation: when the newest key of an algorithm started signing more than `period`
/// ago and no successor is waiting, rotate. The successor is published `lead` seconds before it
/// signs, so a verifier caching JWKS for less than `lead` never meets an unknown `kid`.
pub async fn rotate_if_due(
    store: &Store,
    vault: &Vault,
    now: i64,
    period: i64,
    lead: i64,
    max_token_lifetime: i64,
) -> Result<bool, KeyError> {
    if period <= 0 {
        return Ok(false);
    }
    let rows = store.keys().await?;
    let due = Alg::ALL.iter().any(|alg| {
        let newest = rows.iter().filter(|k| k.alg == alg.as_str() && key_state(k, now) != KeyState::Retired).map(|k| k.activates_at).max();
        newest.is_none_or(|activated| activated <= now - period)
    });
    if !due {
        return Ok(false);
    }
    rotate(store, vault, now, lead, max_token_lifetime).await?;
    Ok(true)
}

async fn build_snapshot(store: &Store, vault: &Vault, now: i64) -> Result<Snapshot, KeyError> {
    let rows = store.keys().await?;
    let mut signers = HashMap::new();
    let mut activated = HashMap::new();
    let mut published = Vec::new();
    // Rows come newest activation first, so the first active key of an algorithm signs.
    for row in &rows {
        let state = key_state(row, now);
        if state == KeyState::Retired {
            continue;
        }
        let Some(alg) = Alg::parse(&row.alg) else { continue };
        if state == KeyState::Active && !signers.contains_key(&alg) {
            signers.insert(alg, Arc::new(vault.signer(alg, row)?));
            activated.insert(alg, row.activates_at);
        }
        let jwk: serde_json::Value =
            serde_json::from_str(&row.public_jwk).map_err(|_| StoreError::Corrupt("signing_keys.public_jwk".into()))?;
        published.push(jwk);
    }
    let jwks = serde_json::json!({ "keys": published }).to_string();
    Ok(Snapshot { signers, activated, jwks: Arc::new(jwks) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(activates_at: i64, retired_at: Option<i64>, published_until: Option<i64>) -> KeyRow {
        KeyRow {
            kid: "k".into(),
            alg: "ES256".into(),
            public_jwk: "{}".into(),
            sealed_private: String::new(),
            created_at: 0,
            activates_at,
            retired_at,
            published_until,
        }
    }

    #[test]
    fn lifecycle() {
        assert_eq!(key_state(&row(10, None, None), 5), KeyState::Pending);
        assert_eq!(key_state(&row(10, None, None), 10), KeyState::Active);
        assert_eq!(key_state(&row(10, Some(20), Some(30)), 15), KeyState::Active);
        assert_eq!(key_state(&row(10, Some(20), Some(30)), 25), KeyState::Retiring);
        assert_eq!(key_state(&row(10, Some(20), Some(30)), 30), KeyState::Retired);
    }
}
