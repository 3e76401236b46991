//! consents: what a person allowed a portal to receive, remembered per portal.

use sqlx::Row;

use super::{Result, Store};
use crate::identity::PersonId;
use crate::scope::Scopes;

impl Store {
    pub async fn consented_scopes(&self, person_id: &PersonId, client_id: &str) -> Result<Option<Scopes>> {
        let row = sqlx::query("SELECT scopes FROM consents WHERE person_id=$1 AND client_id=$2")
            .bind(person_id)
            .bind(client_id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| Ok(Scopes::parse(&r.try_get::<String, _>("scopes")?))).transpose()
    }

    pub async fn put_consent(&self, person_id: &PersonId, client_id: &str, scopes: &Scopes, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO consents (person_id, client_id, scopes, granted_at) VALUES ($1,$2,$3,$4) \
             ON CONFLICT (person_id, client_id) DO UPDATE SET scopes=excluded.scopes, granted_at=excluded.granted_at",
        )
        .bind(person_id)
        .bind(client_id)
        .bind(scopes.joined())
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
