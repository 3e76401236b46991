//! Sign-in failure counters: the account's own (`persons.failed_logins`, `locked_until`) and the
//! keyed ones in `login_failures`. Every attempt is counted by one statement that adds one and
//! returns the new count, so parallel attempts cannot overwrite each other's count.

use sqlx::Row;

use super::{Result, Store};
use crate::identity::PersonId;

/// A counter after an attempt was added: the count and the lock in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub failures: i64,
    pub locked_until: i64,
}

/// The lock an attempt sets once the failures reach the threshold: `lock` seconds, doubling with
/// each attempt beyond it (ten doublings at most), written as portable SQL over the old count.
fn lock_expr(count: &str) -> String {
    let steps: String = (0..10).map(|i| format!(" WHEN {i} THEN {}", 1i64 << i)).collect();
    format!("CASE WHEN {count} + 1 >= $3 THEN $2 + $4 * (CASE {count} + 1 - $3{steps} ELSE 1024 END) ELSE 0 END")
}

/// How an attempt is counted: `max` failures allowed, the first lock `lock` seconds.
#[derive(Debug, Clone, Copy)]
pub struct LockPolicy {
    pub max: i64,
    pub lock: i64,
}

impl Store {
    /// Claims one attempt on the person's counter, unless a lock is in force (`None`). The
    /// attempt that reaches the threshold sets the lock before its secret is even checked, so
    /// attempts in parallel beyond the threshold are refused unchecked; a success resets it.
    pub async fn claim_person_attempt(&self, person: &PersonId, now: i64, p: LockPolicy) -> Result<Option<Counted>> {
        let sql = format!(
            "UPDATE persons SET failed_logins = failed_logins + 1, locked_until = {} \
             WHERE id=$1 AND locked_until <= $2 RETURNING failed_logins, locked_until",
            lock_expr("failed_logins")
        );
        let row = sqlx::query(&sql).bind(person).bind(now).bind(p.max).bind(p.lock).fetch_optional(self.pool()).await?;
        row.map(|r| Ok(Counted { failures: r.try_get("failed_logins")?, locked_until: r.try_get("locked_until")? })).transpose()
    }

    /// The same on a keyed counter (created at one).
    pub async fn claim_keyed_attempt(&self, key: &str, now: i64, p: LockPolicy) -> Result<Option<Counted>> {
        let sql = format!(
            "INSERT INTO login_failures (key, failures, locked_until, updated_at) VALUES ($1, 1, {}, $2) \
             ON CONFLICT (key) DO UPDATE SET failures = login_failures.failures + 1, locked_until = {}, updated_at = $2 \
             WHERE login_failures.locked_until <= $2 \
             RETURNING failures, locked_until",
            lock_expr("0"),
            lock_expr("login_failures.failures")
        );
        let row = sqlx::query(&sql).bind(key).bind(now).bind(p.max).bind(p.lock).fetch_optional(self.pool()).await?;
        row.map(|r| Ok(Counted { failures: r.try_get("failures")?, locked_until: r.try_get("locked_until")? })).transpose()
    }

    pub async fn reset_key(&self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE key=$1").bind(key).execute(self.pool()).await?;
        Ok(())
    }

    /// Whether the person signed in from this browser before.
    pub async fn is_known_browser(&self, person: &PersonId, browser: &str) -> Result<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM known_browsers WHERE person_id=$1 AND browser=$2")
            .bind(person)
            .bind(browser)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    /// Forgets keyed counters untouched for `idle` seconds whose lock is over.
    pub async fn purge_login_failures(&self, now: i64, idle: i64) -> Result<u64> {
        let r = sqlx::query("DELETE FROM login_failures WHERE updated_at < $1 AND locked_until < $2")
            .bind(now - idle)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected())
    }
}
