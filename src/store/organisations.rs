//! Organisation lookups for the admin API (writes live with the persons repository).

use sqlx::Row;

use super::{Result, Store};
use crate::identity::{Organisation, RepresentativeRole};

impl Store {
    pub async fn organisation_by_code(&self, code: &str) -> Result<Option<Organisation>> {
        let row = sqlx::query("SELECT id, code, kind, name, address FROM organisations WHERE code=$1")
            .bind(code)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(Organisation {
                id: r.try_get("id")?,
                code: r.try_get("code")?,
                kind: r.try_get("kind")?,
                name: r.try_get("name")?,
                address: r.try_get("address")?,
            })
        })
        .transpose()
    }

    /// Representatives of an organisation: (personal ID, role).
    pub async fn representatives(&self, org_id: &str) -> Result<Vec<(String, RepresentativeRole)>> {
        let rows = sqlx::query(
            "SELECT p.personal_id, r.role FROM org_representatives r JOIN persons p ON p.id = r.person_id \
             WHERE r.org_id=$1 ORDER BY p.personal_id",
        )
        .bind(org_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((r.try_get("personal_id")?, super::persons::role_from_row(r)?))).collect()
    }
}
