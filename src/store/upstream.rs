//! upstream_links, upstream_logins and upstream_sessions: the federation hub's state.

use sqlx::Row;

use super::{Result, Store};
use crate::identity::PersonId;

/// A redirect to an upstream provider in flight.
#[derive(Debug, Clone)]
pub struct UpstreamLogin {
    pub state_hash: String,
    pub pending_id: String,
    pub upstream_id: String,
    pub browser_hash: String,
    pub nonce: String,
    /// Sealed with the master key: whoever reads the database cannot redeem a code with it.
    pub pkce_verifier: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct UpstreamLink {
    pub upstream_id: String,
    pub subject: String,
    pub created_at: i64,
}

impl Store {
    pub async fn insert_upstream_login(&self, l: &UpstreamLogin) -> Result<()> {
        sqlx::query(
            "INSERT INTO upstream_logins (state_hash, pending_id, upstream_id, browser_hash, nonce, pkce_verifier, expires_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7)",
        )
        .bind(&l.state_hash)
        .bind(&l.pending_id)
        .bind(&l.upstream_id)
        .bind(&l.browser_hash)
        .bind(&l.nonce)
        .bind(&l.pkce_verifier)
        .bind(l.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Takes a login in flight (once: a replayed callback finds nothing).
    pub async fn take_upstream_login(&self, state_hash: &str, now: i64) -> Result<Option<UpstreamLogin>> {
        let row = sqlx::query(
            "DELETE FROM upstream_logins WHERE state_hash=$1 \
             RETURNING state_hash, pending_id, upstream_id, browser_hash, nonce, pkce_verifier, expires_at",
        )
        .bind(state_hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let l = UpstreamLogin {
            state_hash: r.try_get("state_hash")?,
            pending_id: r.try_get("pending_id")?,
            upstream_id: r.try_get("upstream_id")?,
            browser_hash: r.try_get("browser_hash")?,
            nonce: r.try_get("nonce")?,
            pkce_verifier: r.try_get("pkce_verifier")?,
            expires_at: r.try_get("expires_at")?,
        };
        Ok((l.expires_at >= now).then_some(l))
    }

    pub async fn upstream_link(&self, upstream_id: &str, subject: &str) -> Result<Option<PersonId>> {
        let row = sqlx::query("SELECT person_id FROM upstream_links WHERE upstream_id=$1 AND subject=$2")
            .bind(upstream_id)
            .bind(subject)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("person_id")).transpose()?)
    }

    /// Links an upstream account to a person; an existing link of that account is kept as is.
    pub async fn link_upstream(&self, upstream_id: &str, subject: &str, person_id: &PersonId, now: i64) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO upstream_links (upstream_id, subject, person_id, created_at) VALUES ($1,$2,$3,$4) \
             ON CONFLICT (upstream_id, subject) DO NOTHING",
        )
        .bind(upstream_id)
        .bind(subject)
        .bind(person_id)
        .bind(now)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub async fn touch_upstream_link(&self, upstream_id: &str, subject: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE upstream_links SET last_used_at=$3 WHERE upstream_id=$1 AND subject=$2")
            .bind(upstream_id)
            .bind(subject)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn upstream_links_of(&self, person_id: &PersonId) -> Result<Vec<UpstreamLink>> {
        let rows =
            sqlx::query("SELECT upstream_id, subject, created_at FROM upstream_links WHERE person_id=$1 ORDER BY created_at, upstream_id")
                .bind(person_id)
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|r| {
                Ok(UpstreamLink {
                    upstream_id: r.try_get("upstream_id")?,
                    subject: r.try_get("subject")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Removes a person's link to one upstream; only their own.
    pub async fn unlink_upstream(&self, person_id: &PersonId, upstream_id: &str) -> Result<bool> {
        let n = sqlx::query("DELETE FROM upstream_links WHERE person_id=$1 AND upstream_id=$2")
            .bind(person_id)
            .bind(upstream_id)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    pub async fn put_upstream_session(&self, sid: &str, upstream_id: &str, id_token: &str, expires_at: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO upstream_sessions (sid, upstream_id, id_token, expires_at) VALUES ($1,$2,$3,$4) \
             ON CONFLICT (sid) DO UPDATE SET upstream_id=excluded.upstream_id, id_token=excluded.id_token, expires_at=excluded.expires_at",
        )
        .bind(sid)
        .bind(upstream_id)
        .bind(id_token)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The upstream a session came from and its ID token (for `id_token_hint`); taken once.
    pub async fn take_upstream_session(&self, sid: &str) -> Result<Option<(String, String)>> {
        let row = sqlx::query("DELETE FROM upstream_sessions WHERE sid=$1 RETURNING upstream_id, id_token")
            .bind(sid)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| Ok::<_, sqlx::Error>((r.try_get("upstream_id")?, r.try_get("id_token")?))).transpose()?)
    }
}

impl Store {
    pub async fn put_upstream_provider(&self, id: &str, sealed_config: &str, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO upstream_providers (id, sealed_config, created_at, updated_at) VALUES ($1,$2,$3,$3) \
             ON CONFLICT (id) DO UPDATE SET sealed_config=excluded.sealed_config, updated_at=excluded.updated_at",
        )
        .bind(id)
        .bind(sealed_config)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// (id, sealed configuration) of every upstream added through the admin API.
    pub async fn upstream_providers(&self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT id, sealed_config FROM upstream_providers ORDER BY id").fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("sealed_config")?))).collect()
    }

    /// Removes an upstream and its links: a later upstream with the same id (perhaps another
    /// issuer) must not inherit the people linked to this one.
    pub async fn delete_upstream_provider(&self, id: &str) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        let n = sqlx::query("DELETE FROM upstream_providers WHERE id=$1").bind(id).execute(&mut *tx).await?.rows_affected();
        sqlx::query("DELETE FROM upstream_links WHERE upstream_id=$1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(n > 0)
    }
}
