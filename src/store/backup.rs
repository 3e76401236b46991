//! An online, consistent copy of an SQLite database (`nixa backup`): `VACUUM INTO` writes one
//! snapshot of the database (a read transaction, so the server goes on serving and writing
//! meanwhile), and the copy is opened and checked before it is reported. PostgreSQL is backed up
//! with its own tools (`pg_dump`, or a base backup with WAL archiving: README).

use std::path::Path;

use sqlx::Connection;

use super::{Backend, Result, Store, StoreError};

/// What was written, for the operator's record.
#[derive(Debug, serde::Serialize)]
pub struct BackupSummary {
    pub bytes: u64,
    /// The newest migration the copy holds: a restore needs a release that knows it.
    pub schema_version: i64,
    /// The last audit entry in the copy (`nixa audit verify` checks the chain up to it).
    pub audit_head: i64,
}

impl Store {
    /// Copies the database to `target`, a file that must not exist yet.
    pub async fn backup_to(&self, target: &Path) -> Result<BackupSummary> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Unsupported("nixa backup copies SQLite databases; back up PostgreSQL with pg_dump or a base backup"));
        }
        if target.exists() {
            return Err(StoreError::Refused(format!("{} exists; a backup never overwrites a file", target.display())));
        }
        let name = target.to_str().ok_or_else(|| StoreError::Refused("the backup path is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1").bind(name).execute(self.pool()).await?;
        // The copy is read as a restore would read it.
        let mut copy = sqlx::AnyConnection::connect(&format!("sqlite://{name}?mode=ro")).await?;
        let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut copy).await?;
        if check != "ok" {
            return Err(StoreError::Corrupt(format!("the backup fails its integrity check: {check}")));
        }
        let schema_version: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success").fetch_one(&mut copy).await?;
        let audit_head: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_log").fetch_one(&mut copy).await?;
        copy.close().await?;
        let bytes = std::fs::metadata(target).map(|m| m.len()).unwrap_or(0);
        Ok(BackupSummary { bytes, schema_version: schema_version.unwrap_or(0), audit_head: audit_head.unwrap_or(0) })
    }
}
