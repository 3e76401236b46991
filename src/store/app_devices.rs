//! app_devices (device keys of the mobile app) and login_requests (cross-device QR sign-ins).
//!
//! Every decision on a login request is one conditional UPDATE, so two approvals racing, or an
//! approval racing the expiry, cannot both succeed.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store};
use crate::client::ClientId;
use crate::identity::PersonId;

pub const LOGIN_PENDING: &str = "pending";
pub const LOGIN_APPROVED: &str = "approved";
pub const LOGIN_DENIED: &str = "denied";
/// The desktop browser continued with the approval: spent.
pub const LOGIN_USED: &str = "used";

#[derive(Debug, Clone)]
pub struct AppDevice {
    pub id: String,
    pub person_id: PersonId,
    pub name: String,
    /// The public JWK (P-256), JSON.
    pub public_jwk: String,
    /// RFC 7638 thumbprint: one key binds at most one device.
    pub jkt: String,
    pub bound_acr: String,
    pub bound_amr: Vec<String>,
    pub bound_level: i64,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct LoginRequest {
    pub secret_hash: String,
    pub short_code: String,
    pub pending_id: String,
    pub browser_hash: String,
    pub client_id: ClientId,
    pub status: String,
    pub person_id: Option<PersonId>,
    pub device_id: Option<String>,
    pub acr: Option<String>,
    pub amr: Vec<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What an approval records: who, with which device, at which assurance.
#[derive(Debug, Clone)]
pub struct LoginApproval<'a> {
    pub person_id: &'a str,
    pub device_id: &'a str,
    pub acr: &'a str,
    pub amr: &'a [String],
}

const DEVICE_COLUMNS: &str =
    "id, person_id, name, public_jwk, jkt, bound_acr, bound_amr, bound_level, created_at, last_used_at, revoked_at";
const LOGIN_COLUMNS: &str =
    "secret_hash, short_code, pending_id, browser_hash, client_id, status, person_id, device_id, acr, amr, created_at, expires_at";

fn device_from_row(r: &AnyRow) -> Result<AppDevice> {
    let amr: String = r.try_get("bound_amr")?;
    Ok(AppDevice {
        id: r.try_get("id")?,
        person_id: r.try_get("person_id")?,
        name: r.try_get("name")?,
        public_jwk: r.try_get("public_jwk")?,
        jkt: r.try_get("jkt")?,
        bound_acr: r.try_get("bound_acr")?,
        bound_amr: super::split_words(&amr),
        bound_level: r.try_get("bound_level")?,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

fn login_from_row(r: &AnyRow) -> Result<LoginRequest> {
    let amr: Option<String> = r.try_get("amr")?;
    Ok(LoginRequest {
        secret_hash: r.try_get("secret_hash")?,
        short_code: r.try_get("short_code")?,
        pending_id: r.try_get("pending_id")?,
        browser_hash: r.try_get("browser_hash")?,
        client_id: r.try_get("client_id")?,
        status: r.try_get("status")?,
        person_id: r.try_get("person_id")?,
        device_id: r.try_get("device_id")?,
        acr: r.try_get("acr")?,
        amr: amr.as_deref().map(super::split_words).unwrap_or_default(),
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
    })
}

impl Store {
    /// Binds a device; false if its key is bound already (to anyone).
    pub async fn insert_app_device(&self, d: &AppDevice) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO app_devices (id, person_id, name, public_jwk, jkt, bound_acr, bound_amr, bound_level, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT DO NOTHING",
        )
        .bind(&d.id)
        .bind(&d.person_id)
        .bind(&d.name)
        .bind(&d.public_jwk)
        .bind(&d.jkt)
        .bind(&d.bound_acr)
        .bind(super::join_words(&d.bound_amr))
        .bind(d.bound_level)
        .bind(d.created_at)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// A device, revoked or not (the caller tells the two apart for exact errors).
    pub async fn app_device(&self, id: &str) -> Result<Option<AppDevice>> {
        let row =
            sqlx::query(&format!("SELECT {DEVICE_COLUMNS} FROM app_devices WHERE id=$1")).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(device_from_row).transpose()
    }

    /// The person's devices, newest first, revoked ones included.
    pub async fn app_devices_of(&self, person_id: &PersonId) -> Result<Vec<AppDevice>> {
        let rows = sqlx::query(&format!("SELECT {DEVICE_COLUMNS} FROM app_devices WHERE person_id=$1 ORDER BY created_at DESC, id"))
            .bind(person_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(device_from_row).collect()
    }

    /// Revokes one of the person's devices; false if it is not theirs or was revoked already.
    pub async fn revoke_app_device(&self, person_id: &PersonId, id: &str, now: i64) -> Result<bool> {
        let r = sqlx::query("UPDATE app_devices SET revoked_at=$3 WHERE id=$1 AND person_id=$2 AND revoked_at IS NULL")
            .bind(id)
            .bind(person_id)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn touch_app_device(&self, id: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE app_devices SET last_used_at=$2 WHERE id=$1").bind(id).bind(now).execute(self.pool()).await?;
        Ok(())
    }

    /// Wrong short codes this device typed in its current window.
    pub async fn app_device_lookup_failures(&self, id: &str, now: i64) -> Result<i64> {
        let row = sqlx::query("SELECT lookup_failures FROM app_devices WHERE id=$1 AND lookup_window_ends > $2")
            .bind(id)
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
        Ok(match row {
            Some(r) => r.try_get("lookup_failures")?,
            None => 0,
        })
    }

    /// Counts one wrong short code; a window that is over starts afresh.
    pub async fn record_app_device_lookup_failure(&self, id: &str, now: i64, window: i64) -> Result<()> {
        sqlx::query(
            "UPDATE app_devices SET \
                 lookup_failures = CASE WHEN lookup_window_ends <= $2 THEN 1 ELSE lookup_failures + 1 END, \
                 lookup_window_ends = CASE WHEN lookup_window_ends <= $2 THEN $3 ELSE lookup_window_ends END \
             WHERE id=$1",
        )
        .bind(id)
        .bind(now)
        .bind(now + window)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Stores a login request for a sign-in in progress, replacing an earlier one of the same
    /// sign-in (a reloaded QR page); false if the short code is taken (the caller draws again).
    pub async fn insert_login_request(&self, l: &LoginRequest) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM login_requests WHERE pending_id=$1").bind(&l.pending_id).execute(&mut *tx).await?;
        let r = sqlx::query(
            "INSERT INTO login_requests (secret_hash, short_code, pending_id, browser_hash, client_id, status, created_at, expires_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT DO NOTHING",
        )
        .bind(&l.secret_hash)
        .bind(&l.short_code)
        .bind(&l.pending_id)
        .bind(&l.browser_hash)
        .bind(&l.client_id)
        .bind(&l.status)
        .bind(l.created_at)
        .bind(l.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn login_request_by_secret(&self, secret_hash: &str) -> Result<Option<LoginRequest>> {
        let row = sqlx::query(&format!("SELECT {LOGIN_COLUMNS} FROM login_requests WHERE secret_hash=$1"))
            .bind(secret_hash)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(login_from_row).transpose()
    }

    pub async fn login_request_by_short_code(&self, short_code: &str) -> Result<Option<LoginRequest>> {
        let row = sqlx::query(&format!("SELECT {LOGIN_COLUMNS} FROM login_requests WHERE short_code=$1"))
            .bind(short_code)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(login_from_row).transpose()
    }

    pub async fn login_request_of_pending(&self, pending_id: &str) -> Result<Option<LoginRequest>> {
        let row = sqlx::query(&format!("SELECT {LOGIN_COLUMNS} FROM login_requests WHERE pending_id=$1"))
            .bind(pending_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(login_from_row).transpose()
    }

    /// Approves a live, undecided request; false if it expired or was decided meanwhile.
    pub async fn approve_login_request(&self, secret_hash: &str, a: &LoginApproval<'_>, now: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE login_requests SET status=$3, person_id=$4, device_id=$5, acr=$6, amr=$7, decided_at=$8 \
             WHERE secret_hash=$1 AND status=$2 AND expires_at > $8",
        )
        .bind(secret_hash)
        .bind(LOGIN_PENDING)
        .bind(LOGIN_APPROVED)
        .bind(a.person_id)
        .bind(a.device_id)
        .bind(a.acr)
        .bind(super::join_words(a.amr))
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Denies a live, undecided request; false if it expired or was decided meanwhile.
    pub async fn deny_login_request(&self, secret_hash: &str, device_id: &str, now: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE login_requests SET status=$3, device_id=$4, decided_at=$5 WHERE secret_hash=$1 AND status=$2 AND expires_at > $5",
        )
        .bind(secret_hash)
        .bind(LOGIN_PENDING)
        .bind(LOGIN_DENIED)
        .bind(device_id)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Spends an approval for the browser that created the request; false if there is none to
    /// spend (not approved, spent already, or another browser).
    pub async fn use_login_request(&self, pending_id: &str, browser_hash: &str) -> Result<bool> {
        let r = sqlx::query("UPDATE login_requests SET status=$4 WHERE pending_id=$1 AND browser_hash=$2 AND status=$3")
            .bind(pending_id)
            .bind(browser_hash)
            .bind(LOGIN_APPROVED)
            .bind(LOGIN_USED)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }
}
