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

    /// The holder (personal ID or organisation code) of the credential at `idx`.
    pub async fn credential_subject(&self, list_id: i64, idx: i64) -> Result<Option<String>> {
        let row = sqlx::query("SELECT subject FROM credential_status WHERE list_id=$1 AND idx=$2")
            .bind(list_id)
            .bind(idx)
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(r) => Some(r.try_get("subject")?),
            None => None,
        })
    }

    /// Every credential issued for one holder (personal ID or organisation code), newest first.
    pub async fn credentials_of(&self, list_id: i64, subject: &str) -> Result<Vec<IssuedCredential>> {
        let rows = sqlx::query(
            "SELECT idx, subject, kind, issued_at, expires_at, revoked_at, revoked_by FROM credential_status \
             WHERE list_id=$1 AND subject=$2 ORDER BY issued_at DESC, idx",
        )
        .bind(list_id)
        .bind(subject)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(IssuedCredential {
                    idx: r.try_get("idx")?,
                    subject: r.try_get("subject")?,
                    kind: r.try_get("kind")?,
                    issued_at: r.try_get("issued_at")?,
                    expires_at: r.try_get("expires_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                    revoked_by: r.try_get("revoked_by")?,
                })
            })
            .collect()
    }
}

/// A credential as its status row records it.
#[derive(Debug, Clone)]
pub struct IssuedCredential {
    pub idx: i64,
    pub subject: String,
    pub kind: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_by: Option<String>,
}

impl IssuedCredential {
    /// It still verifies: not revoked, not expired.
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}
