//! refresh_tokens: rotated on every use, revoked by family.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, acr_of};
use crate::assurance::Acr;
use crate::client::ClientId;
use crate::identity::PersonId;
use crate::scope::Scopes;

#[derive(Debug, Clone)]
pub struct RefreshGrant {
    pub token_hash: String,
    /// The grant id of the code the family descends from.
    pub family_id: String,
    pub client_id: ClientId,
    pub person_id: PersonId,
    pub subject: String,
    pub scopes: Scopes,
    pub auth_time: i64,
    pub acr: Acr,
    pub amr: Vec<String>,
    pub sid: String,
    pub extra_claims: Option<String>,
    /// DPoP key thumbprint, for public clients (RFC 9449 §5).
    pub jkt: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub rotated_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// Revoked because a retry within the grace period replaced it: its holder is not the
    /// client that retried.
    pub displaced_at: Option<i64>,
}

const COLUMNS: &str = "token_hash, family_id, client_id, person_id, subject, scopes, auth_time, acr, amr, sid, \
                       extra_claims, jkt, created_at, expires_at, rotated_at, revoked_at, displaced_at";

fn from_row(r: &AnyRow) -> Result<RefreshGrant> {
    let scopes: String = r.try_get("scopes")?;
    let amr: String = r.try_get("amr")?;
    Ok(RefreshGrant {
        token_hash: r.try_get("token_hash")?,
        family_id: r.try_get("family_id")?,
        client_id: r.try_get("client_id")?,
        person_id: r.try_get("person_id")?,
        subject: r.try_get("subject")?,
        scopes: Scopes::parse(&scopes),
        auth_time: r.try_get("auth_time")?,
        acr: acr_of(r)?,
        amr: super::split_words(&amr),
        sid: r.try_get("sid")?,
        extra_claims: r.try_get("extra_claims")?,
        jkt: r.try_get("jkt")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        rotated_at: r.try_get("rotated_at")?,
        revoked_at: r.try_get("revoked_at")?,
        displaced_at: r.try_get("displaced_at")?,
    })
}

impl Store {
    pub async fn insert_refresh(&self, t: &RefreshGrant) -> Result<()> {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, family_id, client_id, person_id, subject, scopes, auth_time, acr, amr, \
                 sid, extra_claims, jkt, created_at, expires_at, rotated_at, revoked_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,NULL,NULL)",
        )
        .bind(&t.token_hash)
        .bind(&t.family_id)
        .bind(&t.client_id)
        .bind(&t.person_id)
        .bind(&t.subject)
        .bind(t.scopes.joined())
        .bind(t.auth_time)
        .bind(t.acr.as_uri())
        .bind(super::join_words(&t.amr))
        .bind(&t.sid)
        .bind(&t.extra_claims)
        .bind(&t.jkt)
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn refresh(&self, token_hash: &str) -> Result<Option<RefreshGrant>> {
        let sql = format!("SELECT {COLUMNS} FROM refresh_tokens WHERE token_hash=$1");
        let row = sqlx::query(&sql).bind(token_hash).fetch_optional(self.pool()).await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Marks a live token rotated; false if another request rotated or revoked it first.
    pub async fn rotate_refresh(&self, token_hash: &str, now: i64) -> Result<bool> {
        let r = sqlx::query("UPDATE refresh_tokens SET rotated_at=$2 WHERE token_hash=$1 AND rotated_at IS NULL AND revoked_at IS NULL")
            .bind(token_hash)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Uses the grace period of a rotated token: true for the first retry only.
    pub async fn use_refresh_grace(&self, token_hash: &str, now: i64) -> Result<bool> {
        let r = sqlx::query("UPDATE refresh_tokens SET grace_used_at=$2 WHERE token_hash=$1 AND grace_used_at IS NULL")
            .bind(token_hash)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Revokes the live (unrotated) tokens of a family and marks them displaced: the successor
    /// whose response was lost when a client retries within the grace period.
    pub async fn revoke_live_refresh(&self, family_id: &str, now: i64) -> Result<u64> {
        let r = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at=$2, displaced_at=$2 WHERE family_id=$1 AND rotated_at IS NULL AND revoked_at IS NULL",
        )
        .bind(family_id)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected())
    }

    /// Revokes a whole family: its refresh tokens and every access token of the grant.
    pub async fn revoke_family(&self, family_id: &str, now: i64) -> Result<u64> {
        let mut tx = self.pool().begin().await?;
        let a = sqlx::query("UPDATE refresh_tokens SET revoked_at=$2 WHERE family_id=$1 AND revoked_at IS NULL")
            .bind(family_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        super::disclosures::keep_released(&mut *tx, "t.grant_id=$1", &[super::disclosures::Arg::Text(family_id)]).await?;
        let b = sqlx::query("DELETE FROM access_tokens WHERE grant_id=$1").bind(family_id).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(a + b)
    }
}
