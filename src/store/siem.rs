//! siem_cursors: how far each SIEM sink has taken the audit log.

use super::{Result, Store};

impl Store {
    /// The last audit sequence number `sink` took (0: none yet).
    pub async fn siem_cursor(&self, sink: &str) -> Result<i64> {
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM siem_cursors WHERE sink = $1").bind(sink).fetch_optional(self.pool()).await?;
        Ok(seq.unwrap_or(0))
    }

    /// Moves the cursor forward (never back: two nodes exporting at once only duplicate).
    pub async fn set_siem_cursor(&self, sink: &str, seq: i64, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO siem_cursors (sink, seq, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (sink) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at WHERE siem_cursors.seq < excluded.seq",
        )
        .bind(sink)
        .bind(seq)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The newest audit sequence number (0 when the log is empty).
    pub async fn audit_head_seq(&self) -> Result<i64> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_log").fetch_one(self.pool()).await?;
        Ok(seq.unwrap_or(0))
    }
}
