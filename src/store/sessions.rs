//! sessions: server-side browser sessions (SSO). The cookie holds a random secret; the table
//! holds its hash, so a database read does not yield a usable cookie.

use sqlx::Row;

use super::{Result, Store};
use crate::identity::PersonId;

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub sid: String,
    pub person_id: PersonId,
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    pub expires_at: i64,
}

/// Where a session was started from (the person's list of sessions), written with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionOrigin {
    pub user_agent: Option<String>,
    /// An approximate network (`audit::approximate_network`), never the address.
    pub network: Option<String>,
}

/// A live session as the person's account page lists it.
#[derive(Debug, Clone)]
pub struct SessionSummary {
    pub id_hash: String,
    pub sid: String,
    pub acr: String,
    pub amr: Vec<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub origin: SessionOrigin,
}

/// How stale the recorded last use may be before it is written again.
const SEEN_RESOLUTION_SECS: i64 = 60;

impl Store {
    pub async fn insert_session(&self, id_hash: &str, s: &SessionRecord, origin: &SessionOrigin, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, sid, person_id, auth_time, acr, amr, created_at, expires_at, last_seen_at, user_agent, network) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$7,$9,$10)",
        )
        .bind(id_hash)
        .bind(&s.sid)
        .bind(&s.person_id)
        .bind(s.auth_time)
        .bind(&s.acr)
        .bind(super::join_words(&s.amr))
        .bind(now)
        .bind(s.expires_at)
        .bind(&origin.user_agent)
        .bind(&origin.network)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The person's live sessions (not past their end nor idle longer than `idle_secs`), the
    /// most recently used first.
    pub async fn sessions_of(&self, person_id: &PersonId, now: i64, idle_secs: i64) -> Result<Vec<SessionSummary>> {
        let idle_cutoff = if idle_secs > 0 { now - idle_secs } else { i64::MIN };
        let rows = sqlx::query(
            "SELECT id_hash, sid, acr, amr, created_at, last_seen_at, user_agent, network FROM sessions \
             WHERE person_id=$1 AND expires_at > $2 AND last_seen_at > $3 ORDER BY last_seen_at DESC, created_at DESC",
        )
        .bind(person_id)
        .bind(now)
        .bind(idle_cutoff)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let amr: String = r.try_get("amr")?;
                Ok(SessionSummary {
                    id_hash: r.try_get("id_hash")?,
                    sid: r.try_get("sid")?,
                    acr: r.try_get("acr")?,
                    amr: super::split_words(&amr),
                    created_at: r.try_get("created_at")?,
                    last_seen_at: r.try_get("last_seen_at")?,
                    origin: SessionOrigin { user_agent: r.try_get("user_agent")?, network: r.try_get("network")? },
                })
            })
            .collect()
    }

    /// The live session with this hash: not past its end, and used within `idle_secs` (0: no
    /// idle limit). This use is recorded, at most once a minute.
    pub async fn session(&self, id_hash: &str, now: i64, idle_secs: i64) -> Result<Option<SessionRecord>> {
        let idle_cutoff = if idle_secs > 0 { now - idle_secs } else { i64::MIN };
        let row = sqlx::query(
            "SELECT sid, person_id, auth_time, acr, amr, expires_at, last_seen_at FROM sessions \
             WHERE id_hash=$1 AND expires_at > $2 AND last_seen_at > $3",
        )
        .bind(id_hash)
        .bind(now)
        .bind(idle_cutoff)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        if row.try_get::<i64, _>("last_seen_at")? < now - SEEN_RESOLUTION_SECS {
            sqlx::query("UPDATE sessions SET last_seen_at=$1 WHERE id_hash=$2").bind(now).bind(id_hash).execute(self.pool()).await?;
        }
        session_from_row(&row).map(Some)
    }

    /// The session with this sid, live or not yet purged.
    pub async fn session_by_sid(&self, sid: &str) -> Result<Option<SessionRecord>> {
        let row = sqlx::query("SELECT sid, person_id, auth_time, acr, amr, expires_at FROM sessions WHERE sid=$1")
            .bind(sid)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash=$1").bind(id_hash).execute(self.pool()).await?;
        Ok(())
    }
}

fn session_from_row(r: &sqlx::any::AnyRow) -> Result<SessionRecord> {
    let amr: String = r.try_get("amr")?;
    Ok(SessionRecord {
        sid: r.try_get("sid")?,
        person_id: r.try_get("person_id")?,
        auth_time: r.try_get("auth_time")?,
        acr: r.try_get("acr")?,
        amr: super::split_words(&amr),
        expires_at: r.try_get("expires_at")?,
    })
}
