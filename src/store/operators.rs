//! operator_tokens: credentials of the admin API.

use sqlx::Row;

use super::{Result, Store};
use crate::identity::PersonId;

#[derive(Debug, Clone)]
pub struct OperatorToken {
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_at: i64,
}

impl Store {
    pub async fn insert_operator_token(&self, token_hash: &str, t: &OperatorToken, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO operator_tokens (token_hash, name, scopes, created_at, expires_at, revoked_at) VALUES ($1,$2,$3,$4,$5,NULL)",
        )
        .bind(token_hash)
        .bind(&t.name)
        .bind(super::join_words(&t.scopes))
        .bind(now)
        .bind(t.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn operator_token(&self, token_hash: &str, now: i64) -> Result<Option<OperatorToken>> {
        let row = sqlx::query(
            "SELECT name, scopes, expires_at FROM operator_tokens WHERE token_hash=$1 AND expires_at > $2 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            let scopes: String = r.try_get("scopes")?;
            Ok(OperatorToken { name: r.try_get("name")?, scopes: super::split_words(&scopes), expires_at: r.try_get("expires_at")? })
        })
        .transpose()
    }

    /// Revokes every live token of that name; returns how many.
    pub async fn revoke_operator_tokens(&self, name: &str, now: i64) -> Result<u64> {
        let r = sqlx::query("UPDATE operator_tokens SET revoked_at=$2 WHERE name=$1 AND revoked_at IS NULL")
            .bind(name)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected())
    }

    pub async fn set_person_status(&self, person_id: &PersonId, status: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE persons SET status=$2, updated_at=$3 WHERE id=$1")
            .bind(person_id)
            .bind(status)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn set_account_level(&self, person_id: &PersonId, level: i64, now: i64) -> Result<()> {
        sqlx::query("UPDATE persons SET account_level=$2, updated_at=$3 WHERE id=$1")
            .bind(person_id)
            .bind(level)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends every session of a person (after a lock).
    pub async fn delete_sessions_of(&self, person_id: &PersonId) -> Result<u64> {
        let r = sqlx::query("DELETE FROM sessions WHERE person_id=$1").bind(person_id).execute(self.pool()).await?;
        Ok(r.rows_affected())
    }
}
