//! device_codes (RFC 8628) and device_code_attempts (wrong user codes per browser).
//!
//! Every state change is one conditional UPDATE, so two concurrent polls, or a poll racing the
//! person's decision, cannot both succeed.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store};
use crate::assurance::Acr;
use crate::client::ClientId;
use crate::identity::PersonId;
use crate::scope::Scopes;

pub const STATUS_PENDING: &str = "pending";
pub const STATUS_APPROVED: &str = "approved";
pub const STATUS_DENIED: &str = "denied";
/// Tokens were issued: the device code is spent.
pub const STATUS_ISSUED: &str = "issued";

#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub device_code_hash: String,
    /// Normalised: 8 characters, upper case, no dash.
    pub user_code: String,
    pub client_id: ClientId,
    pub scopes: Scopes,
    pub acr_values: Option<String>,
    pub status: String,
    pub approval: Option<DeviceApproval>,
    pub interval_secs: i64,
    pub last_polled_at: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Who approved, from which session: what the ID token will say.
#[derive(Debug, Clone)]
pub struct DeviceApproval {
    pub person_id: PersonId,
    pub subject: String,
    pub auth_time: i64,
    pub acr: Acr,
    pub amr: Vec<String>,
    pub sid: String,
    pub extra_claims: Option<String>,
}

const COLUMNS: &str = "device_code_hash, user_code, client_id, scopes, acr_values, status, person_id, subject, auth_time, \
                       acr, amr, sid, extra_claims, interval_secs, last_polled_at, created_at, expires_at";

fn from_row(r: &AnyRow) -> Result<DeviceCode> {
    let scopes: String = r.try_get("scopes")?;
    let person_id: Option<PersonId> = r.try_get("person_id")?;
    let approval = match person_id {
        None => None,
        Some(person_id) => {
            let missing = || super::StoreError::Corrupt("an approved device code lacks its sign-in".into());
            let amr: Option<String> = r.try_get("amr")?;
            Some(DeviceApproval {
                person_id,
                subject: r.try_get::<Option<String>, _>("subject")?.ok_or_else(missing)?,
                auth_time: r.try_get::<Option<i64>, _>("auth_time")?.ok_or_else(missing)?,
                acr: r.try_get::<Option<String>, _>("acr")?.as_deref().and_then(Acr::parse).ok_or_else(missing)?,
                amr: super::split_words(&amr.unwrap_or_default()),
                sid: r.try_get::<Option<String>, _>("sid")?.ok_or_else(missing)?,
                extra_claims: r.try_get("extra_claims")?,
            })
        }
    };
    Ok(DeviceCode {
        device_code_hash: r.try_get("device_code_hash")?,
        user_code: r.try_get("user_code")?,
        client_id: r.try_get("client_id")?,
        scopes: Scopes::parse(&scopes),
        acr_values: r.try_get("acr_values")?,
        status: r.try_get("status")?,
        approval,
        interval_secs: r.try_get("interval_secs")?,
        last_polled_at: r.try_get("last_polled_at")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
    })
}

impl Store {
    /// Stores a new device code; false if its user code is taken (the caller draws another).
    pub async fn insert_device_code(&self, d: &DeviceCode) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO device_codes (device_code_hash, user_code, client_id, scopes, acr_values, status, \
                 interval_secs, last_polled_at, created_at, expires_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT DO NOTHING",
        )
        .bind(&d.device_code_hash)
        .bind(&d.user_code)
        .bind(&d.client_id)
        .bind(d.scopes.joined())
        .bind(&d.acr_values)
        .bind(&d.status)
        .bind(d.interval_secs)
        .bind(d.last_polled_at)
        .bind(d.created_at)
        .bind(d.expires_at)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn device_code(&self, device_code_hash: &str) -> Result<Option<DeviceCode>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM device_codes WHERE device_code_hash=$1"))
            .bind(device_code_hash)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// A live device code still waiting for a person's decision, by its user code.
    pub async fn pending_device_code(&self, user_code: &str, now: i64) -> Result<Option<DeviceCode>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM device_codes WHERE user_code=$1 AND status=$2 AND expires_at > $3"))
            .bind(user_code)
            .bind(STATUS_PENDING)
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Records the person's approval; false if the code expired or was decided meanwhile.
    pub async fn approve_device_code(&self, user_code: &str, client_id: &str, a: &DeviceApproval, now: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE device_codes SET status=$3, person_id=$4, subject=$5, auth_time=$6, acr=$7, amr=$8, sid=$9, \
                 extra_claims=$10 WHERE user_code=$1 AND status=$2 AND expires_at > $11 AND client_id=$12",
        )
        .bind(user_code)
        .bind(STATUS_PENDING)
        .bind(STATUS_APPROVED)
        .bind(&a.person_id)
        .bind(&a.subject)
        .bind(a.auth_time)
        .bind(a.acr.as_uri())
        .bind(super::join_words(&a.amr))
        .bind(&a.sid)
        .bind(&a.extra_claims)
        .bind(now)
        .bind(client_id)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Records the person's refusal; false if the code expired or was decided meanwhile.
    pub async fn deny_device_code(&self, user_code: &str, client_id: &str, now: i64) -> Result<bool> {
        let r = sqlx::query("UPDATE device_codes SET status=$3 WHERE user_code=$1 AND status=$2 AND expires_at > $4 AND client_id=$5")
            .bind(user_code)
            .bind(STATUS_PENDING)
            .bind(STATUS_DENIED)
            .bind(now)
            .bind(client_id)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// A poll that respects the interval is recorded and answered true. A poll that comes too
    /// early is answered false, and the interval grows by `penalty` for every later poll
    /// (RFC 8628 §3.5 `slow_down`).
    pub async fn poll_device_code(&self, device_code_hash: &str, now: i64, penalty: i64) -> Result<bool> {
        let on_time =
            sqlx::query("UPDATE device_codes SET last_polled_at=$2 WHERE device_code_hash=$1 AND last_polled_at + interval_secs <= $2")
                .bind(device_code_hash)
                .bind(now)
                .execute(self.pool())
                .await?;
        if on_time.rows_affected() == 1 {
            return Ok(true);
        }
        sqlx::query("UPDATE device_codes SET last_polled_at=$2, interval_secs=interval_secs + $3 WHERE device_code_hash=$1")
            .bind(device_code_hash)
            .bind(now)
            .bind(penalty)
            .execute(self.pool())
            .await?;
        Ok(false)
    }

    /// Spends an approved device code; false if it was spent already (tokens are issued once).
    pub async fn take_approved_device_code(&self, device_code_hash: &str) -> Result<bool> {
        let r = sqlx::query("UPDATE device_codes SET status=$3 WHERE device_code_hash=$1 AND status=$2")
            .bind(device_code_hash)
            .bind(STATUS_APPROVED)
            .bind(STATUS_ISSUED)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Wrong user codes entered from this browser in its current window.
    pub async fn device_code_failures(&self, browser_hash: &str, now: i64) -> Result<i64> {
        let row = sqlx::query("SELECT failures FROM device_code_attempts WHERE browser_hash=$1 AND window_ends_at > $2")
            .bind(browser_hash)
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(r) => r.try_get("failures")?,
            None => 0,
        })
    }

    /// Counts one wrong user code; a window that is over starts afresh.
    pub async fn record_device_code_failure(&self, browser_hash: &str, now: i64, window: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO device_code_attempts (browser_hash, failures, window_ends_at) VALUES ($1, 1, $3) \
             ON CONFLICT (browser_hash) DO UPDATE SET \
                 failures = CASE WHEN device_code_attempts.window_ends_at <= $2 THEN 1 ELSE device_code_attempts.failures + 1 END, \
                 window_ends_at = CASE WHEN device_code_attempts.window_ends_at <= $2 THEN $3 ELSE device_code_attempts.window_ends_at END",
        )
        .bind(browser_hash)
        .bind(now)
        .bind(now + window)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
