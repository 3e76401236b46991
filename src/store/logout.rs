//! Ending a session (RP-Initiated and Back-Channel Logout): the portals of a session, its
//! tokens, and the back-channel deliveries (logout_deliveries).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store};
use crate::client::ClientId;
use crate::identity::PersonId;

/// Waiting for its next attempt.
pub const DELIVERY_PENDING: &str = "pending";
/// The portal answered 200 or 204.
pub const DELIVERY_DELIVERED: &str = "delivered";
/// Every attempt failed; no more are made.
pub const DELIVERY_FAILED: &str = "failed";

/// One logout notice owed to one portal for one ended session.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub client_id: ClientId,
    pub uri: String,
    pub sid: String,
    /// The portal's subject for the person (pairwise or public).
    pub subject: String,
    pub person_id: Option<PersonId>,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub status: String,
    pub last_error: Option<String>,
    pub created_at: i64,
}

fn delivery_from_row(r: &AnyRow) -> Result<Delivery> {
    Ok(Delivery {
        id: r.try_get("id")?,
        client_id: r.try_get("client_id")?,
        uri: r.try_get("uri")?,
        sid: r.try_get("sid")?,
        subject: r.try_get("subject")?,
        person_id: r.try_get("person_id")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        status: r.try_get("status")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
    })
}

const DELIVERY_COLUMNS: &str = "id, client_id, uri, sid, subject, person_id, attempts, next_attempt_at, status, last_error, created_at";

impl Store {
    /// Deletes the session; false if it had ended already (so that only one caller goes on to
    /// revoke and notify).
    pub async fn delete_session_by_sid(&self, sid: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM sessions WHERE sid=$1").bind(sid).execute(self.pool()).await?;
        Ok(r.rows_affected() > 0)
    }

    /// Every portal that received a code in the session. Codes are kept while their session
    /// lives (see `purge_expired`), so this is complete.
    pub async fn session_clients(&self, sid: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT DISTINCT client_id FROM auth_codes WHERE sid=$1 ORDER BY client_id")
            .bind(sid)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok(r.try_get("client_id")?)).collect()
    }

    /// Revokes what the session issued: every access token (by its sid, or by the grant of one of
    /// the session's codes for tokens stored without a sid) and every refresh token except those
    /// granted `offline_access`, which outlive the session by design. Then removes the session's
    /// codes, so that a code not yet redeemed cannot be. Returns (access, refresh) counts.
    pub async fn revoke_session_tokens(&self, sid: &str, now: i64) -> Result<(u64, u64)> {
        let ours = "t.sid=$1 OR t.grant_id IN (SELECT grant_id FROM auth_codes WHERE sid=$1)";
        super::disclosures::keep_released(self.pool(), ours, &[super::disclosures::Arg::Text(sid)]).await?;
        let access = sqlx::query("DELETE FROM access_tokens WHERE sid=$1 OR grant_id IN (SELECT grant_id FROM auth_codes WHERE sid=$1)")
            .bind(sid)
            .execute(self.pool())
            .await?
            .rows_affected();
        let refresh = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at=$2 WHERE sid=$1 AND revoked_at IS NULL \
             AND (' ' || scopes || ' ') NOT LIKE '% offline_access %'",
        )
        .bind(sid)
        .bind(now)
        .execute(self.pool())
        .await?
        .rows_affected();
        sqlx::query("DELETE FROM auth_codes WHERE sid=$1").bind(sid).execute(self.pool()).await?;
        Ok((access, refresh))
    }

    pub async fn insert_delivery(&self, d: &Delivery, logout_token: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO logout_deliveries (id, client_id, uri, logout_token, attempts, next_attempt_at, status, \
                 last_error, created_at, sid, subject, person_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
        )
        .bind(&d.id)
        .bind(&d.client_id)
        .bind(&d.uri)
        .bind(logout_token)
        .bind(d.attempts)
        .bind(d.next_attempt_at)
        .bind(&d.status)
        .bind(&d.last_error)
        .bind(d.created_at)
        .bind(&d.sid)
        .bind(&d.subject)
        .bind(&d.person_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn delivery(&self, id: &str) -> Result<Option<Delivery>> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM logout_deliveries WHERE id=$1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(delivery_from_row).transpose()
    }

    /// The deliveries of one session, oldest first (for operators and tests).
    pub async fn deliveries_for_session(&self, sid: &str) -> Result<Vec<Delivery>> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM logout_deliveries WHERE sid=$1 ORDER BY created_at, client_id");
        let rows = sqlx::query(&sql).bind(sid).fetch_all(self.pool()).await?;
        rows.iter().map(delivery_from_row).collect()
    }

    /// Pending deliveries whose next attempt is due.
    pub async fn due_deliveries(&self, now: i64, limit: i64) -> Result<Vec<Delivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM logout_deliveries WHERE status=$1 AND next_attempt_at <= $2 \
             ORDER BY next_attempt_at LIMIT $3"
        );
        let rows = sqlx::query(&sql).bind(DELIVERY_PENDING).bind(now).bind(limit).fetch_all(self.pool()).await?;
        rows.iter().map(delivery_from_row).collect()
    }

    /// Takes the next attempt of a delivery: counts it and moves its next attempt to
    /// `retry_at` before anything is sent, so that a node that dies mid-attempt leaves a retry
    /// behind. False if another task (or node) took this attempt first.
    pub async fn claim_delivery(&self, id: &str, attempts_seen: i64, retry_at: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE logout_deliveries SET attempts=attempts+1, next_attempt_at=$3 \
             WHERE id=$1 AND attempts=$2 AND status=$4",
        )
        .bind(id)
        .bind(attempts_seen)
        .bind(retry_at)
        .bind(DELIVERY_PENDING)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Records the outcome of an attempt and the token it sent.
    pub async fn record_delivery(&self, id: &str, status: &str, logout_token: &str, last_error: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE logout_deliveries SET status=$2, logout_token=$3, last_error=$4 WHERE id=$1")
            .bind(id)
            .bind(status)
            .bind(logout_token)
            .bind(last_error)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
