//! The registration side of clients (RFC 7591/7592): registration access tokens (hashed, in
//! `clients.registration_token_hash`), the extra metadata in `client_registrations`, and the
//! removal of a client with everything issued to it.

use sqlx::Row;

use super::{Result, Store};
use crate::client::ClientId;

#[derive(Debug, Clone)]
pub struct Registration {
    pub token_hash: Option<String>,
    pub issued_at: i64,
    /// JSON, as stored by `put_registration_metadata`; None for clients registered otherwise.
    pub metadata: Option<String>,
}

/// Tables whose rows belong to one client and die with it. `consents` and
/// `client_registrations` also cascade, but SQLite enforces that only with foreign keys on.
const OWNED_BY_CLIENT: [&str; 10] = [
    "DELETE FROM auth_requests WHERE client_id=$1",
    "DELETE FROM auth_codes WHERE client_id=$1",
    "DELETE FROM access_tokens WHERE client_id=$1",
    "DELETE FROM refresh_tokens WHERE client_id=$1",
    "DELETE FROM pushed_requests WHERE client_id=$1",
    "DELETE FROM device_codes WHERE client_id=$1",
    "DELETE FROM logout_deliveries WHERE client_id=$1",
    "DELETE FROM consents WHERE client_id=$1",
    "DELETE FROM client_registrations WHERE client_id=$1",
    "DELETE FROM clients WHERE id=$1",
];

impl Store {
    pub async fn registration(&self, id: &ClientId) -> Result<Option<Registration>> {
        let row = sqlx::query(
            "SELECT c.registration_token_hash, c.created_at, r.metadata FROM clients c \
             LEFT JOIN client_registrations r ON r.client_id = c.id WHERE c.id=$1",
        )
        .bind(id.as_str())
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(Registration {
                token_hash: r.try_get("registration_token_hash")?,
                issued_at: r.try_get("created_at")?,
                metadata: r.try_get("metadata")?,
            })
        })
        .transpose()
    }

    pub async fn set_registration_token(&self, id: &ClientId, token_hash: &str) -> Result<()> {
        sqlx::query("UPDATE clients SET registration_token_hash=$2 WHERE id=$1")
            .bind(id.as_str())
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Revokes a registration access token wherever it is registered; returns how many.
    pub async fn revoke_registration_token(&self, token_hash: &str) -> Result<u64> {
        let r = sqlx::query("UPDATE clients SET registration_token_hash=NULL WHERE registration_token_hash=$1")
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected())
    }

    pub async fn put_registration_metadata(&self, id: &ClientId, metadata: &str, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO client_registrations (client_id, metadata, updated_at) VALUES ($1,$2,$3) \
             ON CONFLICT (client_id) DO UPDATE SET metadata=excluded.metadata, updated_at=excluded.updated_at",
        )
        .bind(id.as_str())
        .bind(metadata)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Removes a client and every code, token, pending request and consent issued to it, in one
    /// transaction; returns whether the client existed.
    pub async fn delete_client(&self, id: &ClientId) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        let mut deleted = 0;
        super::disclosures::keep_released(&mut *tx, "t.client_id=$1", &[super::disclosures::Arg::Text(id.as_str())]).await?;
        for sql in OWNED_BY_CLIENT {
            deleted = sqlx::query(sql).bind(id.as_str()).execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(deleted > 0)
    }
}
