//! used_jtis: one-time identifiers (client assertions, request objects, DPoP proofs).

use super::{Result, Store};

impl Store {
    /// Records `key` as used until `expires_at`; false if it was seen before. One conditional
    /// insert, so two nodes racing on the same value cannot both accept it.
    pub async fn use_once(&self, key_hash: &str, expires_at: i64) -> Result<bool> {
        let r = sqlx::query("INSERT INTO used_jtis (jti_hash, expires_at) VALUES ($1,$2) ON CONFLICT (jti_hash) DO NOTHING")
            .bind(key_hash)
            .bind(expires_at)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }
}
