//! clients.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, StoreError, flag};
use crate::client::{AuthMethod, ClaimsProfile, Client, ClientId, Disabled, PreviousSecret};
use crate::crypto::Alg;

fn client_from_row(row: &AnyRow) -> Result<Client> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("clients.{what}"));
    let id: String = row.try_get("id")?;
    let method: String = row.try_get("auth_method")?;
    let uris: String = row.try_get("redirect_uris")?;
    let scopes: String = row.try_get("allowed_scopes")?;
    let alg: String = row.try_get("id_token_alg")?;
    let first_party: i64 = row.try_get("first_party")?;
    let profile: String = row.try_get("claims_profile")?;
    let options: String = row.try_get("options")?;
    Ok(Client {
        id: ClientId::parse(&id).ok_or_else(|| corrupt("id"))?,
        name: row.try_get("name")?,
        secret_hash: row.try_get("secret_hash")?,
        auth_method: AuthMethod::parse(&method).ok_or_else(|| corrupt("auth_method"))?,
        redirect_uris: serde_json::from_str(&uris).map_err(|_| corrupt("redirect_uris"))?,
        allowed_scopes: super::split_words(&scopes),
        id_token_alg: Alg::parse(&alg).ok_or_else(|| corrupt("id_token_alg"))?,
        sector: row.try_get("sector")?,
        first_party: first_party != 0,
        claims_profile: ClaimsProfile::parse(&profile).ok_or_else(|| corrupt("claims_profile"))?,
        options: serde_json::from_str(&options).map_err(|_| corrupt("options"))?,
        disabled: match row.try_get::<Option<i64>, _>("disabled_at")? {
            Some(at) => Some(Disabled { at, reason: row.try_get::<Option<String>, _>("disabled_reason")?.unwrap_or_default() }),
            None => None,
        },
        previous_secret: match (row.try_get::<Option<String>, _>("previous_secret_hash")?, row.try_get("previous_secret_expires_at")?) {
            (Some(hash), Some(expires_at)) => Some(PreviousSecret { hash, expires_at }),
            _ => None,
        },
    })
}

const COLUMNS: &str = "id, name, secret_hash, auth_method, redirect_uris, allowed_scopes, id_token_alg, sector, first_party, \
     claims_profile, options, disabled_at, disabled_reason, previous_secret_hash, previous_secret_expires_at";

/// What a disabled portal held and lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cut {
    pub access_tokens: u64,
    pub refresh_tokens: u64,
    pub codes: u64,
}

impl Store {
    /// Inserts a client, or replaces the one with the same id (used for demo portals).
    pub async fn put_client(&self, c: &Client, now: i64) -> Result<()> {
        let uris = serde_json::to_string(&c.redirect_uris).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let options = serde_json::to_string(&c.options).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO clients (id, name, secret_hash, auth_method, redirect_uris, allowed_scopes, \
                 id_token_alg, sector, first_party, claims_profile, created_at, options) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) \
             ON CONFLICT (id) DO UPDATE SET name=excluded.name, secret_hash=excluded.secret_hash, \
                 auth_method=excluded.auth_method, redirect_uris=excluded.redirect_uris, \
                 allowed_scopes=excluded.allowed_scopes, id_token_alg=excluded.id_token_alg, \
                 sector=excluded.sector, first_party=excluded.first_party, claims_profile=excluded.claims_profile, \
                 options=excluded.options",
        )
        .bind(c.id.as_str())
        .bind(&c.name)
        .bind(&c.secret_hash)
        .bind(c.auth_method.as_str())
        .bind(uris)
        .bind(super::join_words(&c.allowed_scopes))
        .bind(c.id_token_alg.as_str())
        .bind(&c.sector)
        .bind(flag(c.first_party))
        .bind(c.claims_profile.as_str())
        .bind(now)
        .bind(options)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A portal that may take part in the protocol: a disabled one is not found, so every
    /// protocol path (authorization, token, introspection, UserInfo, logout…) refuses it.
    pub async fn client(&self, id: &ClientId) -> Result<Option<Client>> {
        let sql = format!("SELECT {COLUMNS} FROM clients WHERE id=$1 AND disabled_at IS NULL");
        let row = sqlx::query(&sql).bind(id.as_str()).fetch_optional(self.pool()).await?;
        row.as_ref().map(client_from_row).transpose()
    }

    /// A portal as its operators see it, disabled or not.
    pub async fn client_record(&self, id: &ClientId) -> Result<Option<Client>> {
        let sql = format!("SELECT {COLUMNS} FROM clients WHERE id=$1");
        let row = sqlx::query(&sql).bind(id.as_str()).fetch_optional(self.pool()).await?;
        row.as_ref().map(client_from_row).transpose()
    }

    /// Disables a portal and cuts off what it holds, in one transaction: its access tokens go
    /// (their releases kept in the disclosure record first), its refresh tokens are revoked,
    /// its unused codes, pushed and device requests are deleted. `None` when there is no such
    /// portal; an already disabled one keeps its first date and reason.
    pub async fn disable_client(&self, id: &ClientId, reason: &str, now: i64) -> Result<Option<Cut>> {
        let mut tx = self.pool().begin().await?;
        let found = sqlx::query(
            "UPDATE clients SET disabled_at=COALESCE(disabled_at, $2), disabled_reason=COALESCE(disabled_reason, $3) WHERE id=$1",
        )
        .bind(id.as_str())
        .bind(now)
        .bind(reason)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if found == 0 {
            return Ok(None);
        }
        super::disclosures::keep_released(&mut *tx, "t.client_id=$1", &[super::disclosures::Arg::Text(id.as_str())]).await?;
        let access_tokens =
            sqlx::query("DELETE FROM access_tokens WHERE client_id=$1").bind(id.as_str()).execute(&mut *tx).await?.rows_affected();
        let refresh_tokens = sqlx::query("UPDATE refresh_tokens SET revoked_at=$2 WHERE client_id=$1 AND revoked_at IS NULL")
            .bind(id.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let codes = sqlx::query("DELETE FROM auth_codes WHERE client_id=$1 AND used_at IS NULL")
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        for sql in [
            "DELETE FROM pushed_requests WHERE client_id=$1",
            "DELETE FROM device_codes WHERE client_id=$1",
            "DELETE FROM auth_requests WHERE client_id=$1",
        ] {
            sqlx::query(sql).bind(id.as_str()).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(Some(Cut { access_tokens, refresh_tokens, codes }))
    }

    /// Re-enables a disabled portal; false when there is no such portal.
    pub async fn enable_client(&self, id: &ClientId) -> Result<bool> {
        let r = sqlx::query("UPDATE clients SET disabled_at=NULL, disabled_reason=NULL WHERE id=$1")
            .bind(id.as_str())
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Replaces the secret; the one it replaces stays valid until `previous_until`.
    pub async fn rotate_client_secret(&self, id: &ClientId, new_hash: &str, previous_until: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE clients SET previous_secret_hash=secret_hash, previous_secret_expires_at=$3, secret_hash=$2 \
             WHERE id=$1 AND secret_hash IS NOT NULL",
        )
        .bind(id.as_str())
        .bind(new_hash)
        .bind(previous_until)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn clients(&self) -> Result<Vec<Client>> {
        let sql = format!("SELECT {COLUMNS} FROM clients ORDER BY created_at, id");
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter().map(client_from_row).collect()
    }
}
