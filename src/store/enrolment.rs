//! one_time_codes, enrolments, send_counters, recovery_codes, known_browsers: the tables of
//! getting in (`enrol/`). Every counter is changed by one statement, so parallel requests cannot
//! read the same value and each write their own (the read-then-write race of issue 16).

use sqlx::Row;

use super::{Result, Store};
use crate::identity::PersonId;

/// A live one-time code as a guess sees it: after the guess was counted.
#[derive(Debug, Clone)]
pub struct CodeAttempt {
    pub code_hash: String,
    pub channel: String,
    /// Guesses counted so far, this one included.
    pub tries: i64,
}

/// A person part-way through activation or recovery.
#[derive(Debug, Clone)]
pub struct EnrolmentRecord {
    pub person_id: PersonId,
    pub proof: String,
    pub step: String,
    pub totp_sealed: Option<String>,
    pub expires_at: i64,
}

impl Store {
    /// Stores the code for (person, purpose), replacing an earlier one and its tries.
    pub async fn put_one_time_code(
        &self,
        person_id: &PersonId,
        purpose: &str,
        code_hash: &str,
        channel: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO one_time_codes (person_id, purpose, code_hash, channel, tries, expires_at, created_at) \
             VALUES ($1,$2,$3,$4,0,$5,$6) \
             ON CONFLICT (person_id, purpose) DO UPDATE SET code_hash=excluded.code_hash, channel=excluded.channel, \
                 tries=0, expires_at=excluded.expires_at, created_at=excluded.created_at",
        )
        .bind(person_id)
        .bind(purpose)
        .bind(code_hash)
        .bind(channel)
        .bind(expires_at)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Counts one guess against the live code of (person, purpose) and returns it, or `None` when
    /// there is no live code with guesses left (none issued, expired, used, or `max_tries` spent).
    pub async fn count_code_guess(&self, person_id: &PersonId, purpose: &str, now: i64, max_tries: i64) -> Result<Option<CodeAttempt>> {
        let row = sqlx::query(
            "UPDATE one_time_codes SET tries = tries + 1 \
             WHERE person_id=$1 AND purpose=$2 AND expires_at > $3 AND tries < $4 \
             RETURNING code_hash, channel, tries",
        )
        .bind(person_id)
        .bind(purpose)
        .bind(now)
        .bind(max_tries)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok(CodeAttempt { code_hash: r.try_get("code_hash")?, channel: r.try_get("channel")?, tries: r.try_get("tries")? }))
            .transpose()
    }

    /// Uses the code up; false if another request used it first.
    pub async fn take_one_time_code(&self, person_id: &PersonId, purpose: &str, code_hash: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM one_time_codes WHERE person_id=$1 AND purpose=$2 AND code_hash=$3")
            .bind(person_id)
            .bind(purpose)
            .bind(code_hash)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Whether (person, purpose) has a live code (for the operator's view; never the code).
    pub async fn one_time_code_expiry(&self, person_id: &PersonId, purpose: &str, now: i64) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT expires_at FROM one_time_codes WHERE person_id=$1 AND purpose=$2 AND expires_at > $3")
            .bind(person_id)
            .bind(purpose)
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok(r.try_get("expires_at")?)).transpose()
    }

    /// Adds one to the counter `key` in its current window of `window` seconds and returns the
    /// new count (1 when a new window starts).
    pub async fn count_send(&self, key: &str, window: i64, now: i64) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO send_counters (key, window_start, count) VALUES ($1, $2, 1) \
             ON CONFLICT (key) DO UPDATE SET \
                 count = CASE WHEN send_counters.window_start <= $2 - $3 THEN 1 ELSE send_counters.count + 1 END, \
                 window_start = CASE WHEN send_counters.window_start <= $2 - $3 THEN $2 ELSE send_counters.window_start END \
             RETURNING count",
        )
        .bind(key)
        .bind(now)
        .bind(window)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("count")?)
    }

    pub async fn insert_enrolment(&self, id_hash: &str, e: &EnrolmentRecord, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO enrolments (id_hash, person_id, proof, step, totp_sealed, expires_at, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)",
        )
        .bind(id_hash)
        .bind(&e.person_id)
        .bind(&e.proof)
        .bind(&e.step)
        .bind(&e.totp_sealed)
        .bind(e.expires_at)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn enrolment(&self, id_hash: &str, now: i64) -> Result<Option<EnrolmentRecord>> {
        let row =
            sqlx::query("SELECT person_id, proof, step, totp_sealed, expires_at FROM enrolments WHERE id_hash=$1 AND expires_at > $2")
                .bind(id_hash)
                .bind(now)
                .fetch_optional(self.pool())
                .await?;
        row.map(|r| {
            Ok(EnrolmentRecord {
                person_id: r.try_get("person_id")?,
                proof: r.try_get("proof")?,
                step: r.try_get("step")?,
                totp_sealed: r.try_get("totp_sealed")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// Moves the enrolment from step `from` to `to` (with the TOTP secret being confirmed); false
    /// if it was not at `from` any more (a second tab, a replayed form).
    pub async fn advance_enrolment(&self, id_hash: &str, from: &str, to: &str, totp_sealed: Option<&str>) -> Result<bool> {
        let r = sqlx::query("UPDATE enrolments SET step=$3, totp_sealed=$4 WHERE id_hash=$1 AND step=$2")
            .bind(id_hash)
            .bind(from)
            .bind(to)
            .bind(totp_sealed)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn delete_enrolment(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM enrolments WHERE id_hash=$1").bind(id_hash).execute(self.pool()).await?;
        Ok(())
    }

    /// Replaces the person's recovery codes with these hashes.
    pub async fn replace_recovery_codes(&self, person_id: &PersonId, hashes: &[String], now: i64) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM recovery_codes WHERE person_id=$1").bind(person_id).execute(&mut *tx).await?;
        for h in hashes {
            sqlx::query("INSERT INTO recovery_codes (person_id, code_hash, created_at) VALUES ($1,$2,$3)")
                .bind(person_id)
                .bind(h)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Uses one recovery code up; false if it is not (or no longer) one of the person's.
    pub async fn take_recovery_code(&self, person_id: &PersonId, code_hash: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM recovery_codes WHERE person_id=$1 AND code_hash=$2")
            .bind(person_id)
            .bind(code_hash)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn recovery_codes_left(&self, person_id: &PersonId) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM recovery_codes WHERE person_id=$1").bind(person_id).fetch_one(self.pool()).await?;
        Ok(row.try_get("n")?)
    }

    /// Remembers that the person signed in from this browser; true the first time.
    pub async fn remember_browser(&self, person_id: &PersonId, browser: &str, now: i64) -> Result<bool> {
        let r = sqlx::query("INSERT INTO known_browsers (person_id, browser, first_seen) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING")
            .bind(person_id)
            .bind(browser)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn known_browser_count(&self, person_id: &PersonId) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM known_browsers WHERE person_id=$1").bind(person_id).fetch_one(self.pool()).await?;
        Ok(row.try_get("n")?)
    }

    pub async fn audit_last_seq(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS n FROM audit_log").fetch_one(self.pool()).await?;
        Ok(row.try_get("n")?)
    }

    /// Where the background reader `name` of the audit log has got to (`None`: never ran).
    pub async fn audit_cursor(&self, name: &str) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT seq FROM audit_cursors WHERE name=$1").bind(name).fetch_optional(self.pool()).await?;
        row.map(|r| Ok(r.try_get("seq")?)).transpose()
    }

    /// Moves the reader from `from` to `to`; false if another node moved it first (so each
    /// entry is handled by one node).
    pub async fn move_audit_cursor(&self, name: &str, from: Option<i64>, to: i64) -> Result<bool> {
        let r = match from {
            None => {
                sqlx::query("INSERT INTO audit_cursors (name, seq) VALUES ($1,$2) ON CONFLICT (name) DO NOTHING")
                    .bind(name)
                    .bind(to)
                    .execute(self.pool())
                    .await?
            }
            Some(from) => {
                sqlx::query("UPDATE audit_cursors SET seq=$3 WHERE name=$1 AND seq=$2")
                    .bind(name)
                    .bind(from)
                    .bind(to)
                    .execute(self.pool())
                    .await?
            }
        };
        Ok(r.rows_affected() == 1)
    }

    /// The sids of every live session of the person.
    pub async fn session_sids_of(&self, person_id: &PersonId) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT sid FROM sessions WHERE person_id=$1").bind(person_id).fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok(r.try_get("sid")?)).collect()
    }

    /// Revokes every live refresh token of the person, `offline_access` ones included.
    pub async fn revoke_person_refresh(&self, person_id: &PersonId, now: i64) -> Result<u64> {
        let r = sqlx::query("UPDATE refresh_tokens SET revoked_at=$2 WHERE person_id=$1 AND revoked_at IS NULL")
            .bind(person_id)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected())
    }

    /// Purges expired codes and enrolments and counters whose window is long over.
    pub async fn purge_enrolment(&self, now: i64, counter_window: i64) -> Result<u64> {
        let mut n = 0;
        n += sqlx::query("DELETE FROM one_time_codes WHERE expires_at <= $1").bind(now).execute(self.pool()).await?.rows_affected();
        n += sqlx::query("DELETE FROM enrolments WHERE expires_at <= $1").bind(now).execute(self.pool()).await?.rows_affected();
        n += sqlx::query("DELETE FROM send_counters WHERE window_start <= $1")
            .bind(now - counter_window)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(n)
    }
}
