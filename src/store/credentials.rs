//! credential_status: Token Status List indexes of issued QR credentials and their revocation.

use sqlx::Row;

use super::{Result, Store};

impl Store {
    /// Records an issued credential at `idx` of list `list_id`; false when the index is taken.
    pub async fn insert_credential_status(
        &self,
        list_id: i64,
        idx: i64,
        subject: &str,
        kind: &str,
        issued_at: i64,
        expires_at: i64,
    ) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO credential_status (list_id, idx, subject, kind, issued_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6) \
             ON CONFLICT (list_id, idx) DO NOTHING",
        )
        .bind(list_id)
        .bind(idx)
        .bind(subject)
        .bind(kind)
        .bind(issued_at)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Revokes one credential; `subject` restricts it to the owner's own credentials.
    pub async fn revoke_credential(&self, list_id: i64, idx: i64, subject: Option<&str>, by: &str, now: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE credential_status SET revoked_at=$3, revoked_by=$4 \
             WHERE list_id=$1 AND idx=$2 AND revoked_at IS NULL AND ($5 = '' OR subject=$5)",
        )
        .bind(list_id)
        .bind(idx)
        .bind(now)
        .bind(by)
        .bind(subject.unwrap_or(""))
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn revoked_credential_indexes(&self, list_id: i64) -> Result<Vec<i64>> {
        let rows = sqlx::query("SELECT idx FROM credential_status WHERE list_id=$1 AND revoked_at IS NOT NULL")
            .bind(list_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok(r.try_get("idx")?)).collect()
    }
}
