//! pushed_requests (RFC 9126): authorization requests pushed by a client, used once.

use sqlx::Row;

use super::{Result, Store};

impl Store {
    pub async fn insert_pushed(&self, uri_hash: &str, client_id: &str, params: &str, expires_at: i64) -> Result<()> {
        sqlx::query("INSERT INTO pushed_requests (uri_hash, client_id, params, expires_at) VALUES ($1,$2,$3,$4)")
            .bind(uri_hash)
            .bind(client_id)
            .bind(params)
            .bind(expires_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Takes a pushed request (it is single use): (client_id, params) if it was live.
    pub async fn take_pushed(&self, uri_hash: &str, now: i64) -> Result<Option<(String, String)>> {
        let row = sqlx::query("DELETE FROM pushed_requests WHERE uri_hash=$1 AND expires_at > $2 RETURNING client_id, params")
            .bind(uri_hash)
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok((r.try_get("client_id")?, r.try_get("params")?))).transpose()
    }
}
