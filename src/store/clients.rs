//! clients.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, StoreError, flag};
use crate::client::{AuthMethod, ClaimsProfile, Client, ClientId};
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
    })
}

const COLUMNS: &str =
    "id, name, secret_hash, auth_method, redirect_uris, allowed_scopes, id_token_alg, sector, first_party, claims_profile, options";

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

    pub async fn client(&self, id: &ClientId) -> Result<Option<Client>> {
        let sql = format!("SELECT {COLUMNS} FROM clients WHERE id=$1");
        let row = sqlx::query(&sql).bind(id.as_str()).fetch_optional(self.pool()).await?;
        row.as_ref().map(client_from_row).transpose()
    }

    pub async fn clients(&self) -> Result<Vec<Client>> {
        let sql = format!("SELECT {COLUMNS} FROM clients ORDER BY created_at, id");
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter().map(client_from_row).collect()
    }
}
