//! audit_log: append-only and hash-chained. Each entry's hash covers the previous entry's hash,
//! so removing or editing a row breaks the chain at that point.
//!
//! No lock is taken: the next sequence number is the primary key, so two nodes appending at
//! once collide on the key and the loser re-reads the head and retries.

use sqlx::Row;

use super::{Result, Store, StoreError};
use crate::crypto::{b64url, sha256};
use crate::identity::PersonId;

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    pub event: String,
    pub person_id: Option<PersonId>,
    pub client_id: Option<String>,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

pub const GENESIS: &str = "genesis";

pub fn entry_hash(seq: i64, at: i64, event: &str, person: Option<&str>, client: Option<&str>, detail: &str, prev: &str) -> String {
    let canonical = serde_json::json!([seq, at, event, person, client, detail, prev]).to_string();
    b64url(&sha256(canonical.as_bytes()))
}

impl Store {
    pub async fn append_audit(
        &self,
        at: i64,
        event: &str,
        person_id: Option<&PersonId>,
        client_id: Option<&str>,
        detail: &str,
    ) -> Result<i64> {
        for _ in 0..16 {
            let head = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(self.pool()).await?;
            let (seq, prev) = match head {
                Some(r) => (r.try_get::<i64, _>("seq")? + 1, r.try_get::<String, _>("hash")?),
                None => (1, GENESIS.to_string()),
            };
            let hash = entry_hash(seq, at, event, person_id.map(PersonId::as_str), client_id, detail, &prev);
            let inserted = sqlx::query(
                "INSERT INTO audit_log (seq, at, event, person_id, client_id, detail, prev_hash, hash) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (seq) DO NOTHING",
            )
            .bind(seq)
            .bind(at)
            .bind(event)
            .bind(person_id)
            .bind(client_id)
            .bind(detail)
            .bind(&prev)
            .bind(&hash)
            .execute(self.pool())
            .await?;
            if inserted.rows_affected() == 1 {
                return Ok(seq);
            }
        }
        Err(StoreError::Corrupt("audit log head kept moving; gave up after 16 tries".into()))
    }

    pub async fn audit_entries(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT seq, at, event, person_id, client_id, detail, prev_hash, hash FROM audit_log \
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after_seq)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    seq: r.try_get("seq")?,
                    at: r.try_get("at")?,
                    event: r.try_get("event")?,
                    person_id: r.try_get("person_id")?,
                    client_id: r.try_get("client_id")?,
                    detail: r.try_get("detail")?,
                    prev_hash: r.try_get("prev_hash")?,
                    hash: r.try_get("hash")?,
                })
            })
            .collect()
    }
}
