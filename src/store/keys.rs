//! signing_keys and server_secrets. Private material is stored sealed by the master key.

use sqlx::Row;

use super::{Result, Store};

#[derive(Debug, Clone)]
pub struct KeyRow {
    pub kid: String,
    pub alg: String,
    pub public_jwk: String,
    pub sealed_private: String,
    pub created_at: i64,
    pub activates_at: i64,
    pub retired_at: Option<i64>,
    pub published_until: Option<i64>,
}

impl Store {
    pub async fn insert_key(&self, k: &KeyRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, alg, public_jwk, sealed_private, created_at, activates_at, \
                 retired_at, published_until) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        )
        .bind(&k.kid)
        .bind(&k.alg)
        .bind(&k.public_jwk)
        .bind(&k.sealed_private)
        .bind(k.created_at)
        .bind(k.activates_at)
        .bind(k.retired_at)
        .bind(k.published_until)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Every key, newest activation first.
    pub async fn keys(&self) -> Result<Vec<KeyRow>> {
        let rows = sqlx::query(
            "SELECT kid, alg, public_jwk, sealed_private, created_at, activates_at, retired_at, published_until \
             FROM signing_keys ORDER BY activates_at DESC, created_at DESC",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(KeyRow {
                    kid: r.try_get("kid")?,
                    alg: r.try_get("alg")?,
                    public_jwk: r.try_get("public_jwk")?,
                    sealed_private: r.try_get("sealed_private")?,
                    created_at: r.try_get("created_at")?,
                    activates_at: r.try_get("activates_at")?,
                    retired_at: r.try_get("retired_at")?,
                    published_until: r.try_get("published_until")?,
                })
            })
            .collect()
    }

    /// Schedules the retirement of every current key of `alg` other than `keep`: they stop
    /// signing at `retire_at` and leave JWKS at `published_until`.
    pub async fn schedule_retirement(&self, alg: &str, keep: &str, retire_at: i64, published_until: i64) -> Result<u64> {
        let r = sqlx::query(
            "UPDATE signing_keys SET retired_at=$3, published_until=$4 \
             WHERE alg=$1 AND kid<>$2 AND retired_at IS NULL",
        )
        .bind(alg)
        .bind(keep)
        .bind(retire_at)
        .bind(published_until)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected())
    }

    /// The sealed secret called `name`, if there is one.
    pub async fn find_server_secret(&self, name: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT sealed FROM server_secrets WHERE name=$1").bind(name).fetch_optional(self.pool()).await?;
        Ok(row.map(|r| r.try_get("sealed")).transpose()?)
    }

    /// Returns the sealed secret called `name`, storing `candidate` first if there is none yet.
    /// Concurrent first starts of several nodes agree on one value.
    pub async fn server_secret(&self, name: &str, candidate: &str, now: i64) -> Result<String> {
        sqlx::query("INSERT INTO server_secrets (name, sealed, created_at) VALUES ($1,$2,$3) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(candidate)
            .bind(now)
            .execute(self.pool())
            .await?;
        let row = sqlx::query("SELECT sealed FROM server_secrets WHERE name=$1").bind(name).fetch_one(self.pool()).await?;
        Ok(row.try_get("sealed")?)
    }
}
