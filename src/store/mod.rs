//! Storage: one repository interface over SQLite (embedded default) and PostgreSQL.
//!
//! The SQL is written once with `$n` placeholders and portable types (TEXT, BIGINT), which both
//! backends accept through sqlx's `Any` driver; where SQL has to differ, a repository branches on
//! [`Backend`]. Handlers never write SQL: each module here owns a set of tables.

pub mod app_devices;
pub mod audit;
pub mod backup;
pub mod clients;
pub mod consents;
pub mod console;
pub mod corrections;
pub mod credentials;
pub mod devices;
pub mod disclosures;
pub mod enrolment;
pub mod grants;
pub mod keys;
pub mod lockout;
pub mod logout;
pub mod operators;
pub mod organisations;
pub mod passkeys;
pub mod persons;
pub mod pushed;
pub mod refresh;
pub mod registrations;
pub mod replay;
pub mod satisfaction;
pub mod sessions;
pub mod siem;
pub mod sign_ins;
pub mod stats;
pub mod upstream;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL (use sqlite://FILE or postgres://…): {0}")]
    UnsupportedUrl(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("{0}")]
    Refused(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

impl StoreError {
    /// The database could not be reached or could not take a write for now: connections refused
    /// or cut, the pool exhausted, a server shutting down or starting, a standby not yet
    /// promoted (read-only), SQLite busy. Nothing was decided, so the answer is "try again"
    /// (503), never a refusal of the person or the portal.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(e) => sqlx_unavailable(e),
            StoreError::Migrate(sqlx::migrate::MigrateError::Execute(e)) => sqlx_unavailable(e),
            _ => false,
        }
    }
}

fn sqlx_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| unavailable_code(&code)),
        // A proxy in front of PostgreSQL (HAProxy, PgBouncer) accepts the connection and closes
        // it while it has no server: sqlx reads the end of the stream as this reply byte.
        sqlx::Error::Protocol(message) => message.starts_with("unexpected response from SSLRequest: 0x00"),
        _ => false,
    }
}

/// SQLSTATE class 08 (connection exception), 57P01–57P03 (shutting down, crashed, starting up),
/// 25006 (a read-only transaction: a standby), 53300 (too many connections); SQLite's 5 and 6
/// (busy, locked), as their primary result codes.
fn unavailable_code(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "25006" | "53300" | "5" | "6")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Keys the audit chain (`audit`): set by `state::open_store` for every process that writes.
    audit_key: Option<std::sync::Arc<Vec<u8>>>,
}

// A release starts on a database that a newer release has migrated further (a rolling upgrade:
// migrations only expand the schema until no running release needs the old shape; README
// "Upgrades"), so migrations applied by a newer release are not an error here.
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator =
    sqlx::migrate::Migrator { ignore_missing: true, ..sqlx::migrate!("./migrations/sqlite") };
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator =
    sqlx::migrate::Migrator { ignore_missing: true, ..sqlx::migrate!("./migrations/postgres") };

impl Store {
    pub async fn connect(url: &str) -> Result<Self> {
        install_default_drivers();
        let (backend, url) = if url.starts_with("sqlite:") {
            // Create the file on first start unless the operator chose a mode.
            let url = if url.contains('?') { url.to_string() } else { format!("{url}?mode=rwc") };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string())
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let pool = match backend {
            Backend::Sqlite => {
                // SQLite serialises writers; a handful of connections is enough and WAL lets
                // readers proceed during a write.
                options
                    .max_connections(8)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; \
                                 PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await?
            }
            Backend::Postgres => options.max_connections(16).connect(&url).await?,
        };
        Ok(Self { pool, backend, audit_key: None })
    }

    /// This store, appending to the audit chain under `key` (HMAC).
    pub fn with_audit_key(mut self, key: Vec<u8>) -> Self {
        self.audit_key = Some(std::sync::Arc::new(key));
        self
    }

    pub(crate) fn audit_key(&self) -> Option<&[u8]> {
        self.audit_key.as_deref().map(Vec::as_slice)
    }

    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// Whether the database answers and holds every migration this release knows (a newer
    /// release's further migrations are fine: migrations only add).
    pub async fn migrations_current(&self) -> Result<bool> {
        let known = match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.iter().map(|m| m.version).max(),
            Backend::Postgres => POSTGRES_MIGRATIONS.iter().map(|m| m.version).max(),
        }
        .unwrap_or(0);
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success").fetch_one(&self.pool).await?;
        Ok(applied.unwrap_or(0) >= known)
    }

    /// The pool's connections: (open, idle).
    pub fn pool_use(&self) -> (u32, u32) {
        (self.pool.size(), u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Deletes rows whose lifetime is over. Run periodically by the janitor task.
    pub async fn purge_expired(&self, now: i64) -> Result<u64> {
        let mut n = 0;
        // Expired access tokens go below: what they released stays on record.
        disclosures::keep_released(&self.pool, "t.expires_at < $1", &[disclosures::Arg::Int(now)]).await?;
        for sql in [
            "DELETE FROM auth_requests WHERE expires_at < $1",
            "DELETE FROM sessions WHERE expires_at < $1",
            // Used codes are kept until expiry so that a replay is recognised as one, and past
            // it while their session lives: back-channel logout finds a session's portals
            // through its codes. Ending a session removes its codes.
            "DELETE FROM auth_codes WHERE expires_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.sid = auth_codes.sid AND s.expires_at >= $1)",
            "DELETE FROM access_tokens WHERE expires_at < $1",
            "DELETE FROM refresh_tokens WHERE expires_at < $1",
            "DELETE FROM used_jtis WHERE expires_at < $1",
            "DELETE FROM pushed_requests WHERE expires_at < $1",
            "DELETE FROM device_codes WHERE expires_at < $1",
            "DELETE FROM device_code_attempts WHERE window_ends_at < $1",
            // Kept a while past expiry: an approval given in the last seconds is still spent.
            "DELETE FROM login_requests WHERE expires_at + 600 < $1",
            "DELETE FROM webauthn_ceremonies WHERE expires_at < $1",
            "DELETE FROM upstream_logins WHERE expires_at < $1",
            "DELETE FROM upstream_sessions WHERE expires_at < $1",
        ] {
            n += sqlx::query(sql).bind(now).execute(&self.pool).await?.rows_affected();
        }
        // Finished back-channel deliveries stay a week for operators to inspect.
        n += sqlx::query("DELETE FROM logout_deliveries WHERE status <> $1 AND created_at < $2")
            .bind(logout::DELIVERY_PENDING)
            .bind(now - 7 * 24 * 3600)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n)
    }

    /// Every (table, column) of the application schema, sorted: the migration parity check.
    pub async fn schema(&self) -> Result<Vec<(String, String)>> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE '\\_sqlx%' ESCAPE '\\' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            }
            Backend::Postgres => {
                "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx%' ESCAPE '\\'"
            }
        };
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        let mut out = rows
            .iter()
            .map(|r| Ok((sqlx::Row::try_get::<String, _>(r, "t")?, sqlx::Row::try_get::<String, _>(r, "c")?)))
            .collect::<Result<Vec<_>>>()?;
        out.sort();
        Ok(out)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A database URL fit for a log line or an error message: the password is never shown.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<unparseable URL>".into(),
    }
}

pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// Space-separated lists (scopes, amr) are stored as one TEXT column.
/// A stored `acr` (written by us, as its URI); anything else is corruption.
pub(crate) fn acr_of(r: &sqlx::any::AnyRow) -> Result<crate::assurance::Acr> {
    use sqlx::Row;
    let text: String = r.try_get("acr")?;
    crate::assurance::Acr::parse(&text).ok_or_else(|| StoreError::Corrupt(format!("acr {text:?}")))
}

pub(crate) fn join_words<S: AsRef<str>>(words: &[S]) -> String {
    words.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(" ")
}

pub(crate) fn split_words(text: &str) -> Vec<String> {
    text.split_ascii_whitespace().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(super::redact_url("postgres://u:pw@h/db"), "postgres://u:***@h/db");
        assert!(!super::redact_url("nonsense pw").contains("pw"));
    }
}
