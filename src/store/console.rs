//! What the operator's console reads and writes: person search, operator roles.

use sqlx::Row;

use super::persons::{PERSON_COLUMNS, person_from_row};
use super::{Result, Store};
use crate::identity::search::{PersonQuery, fold};
use crate::identity::{Person, PersonId};

/// Names filled in per janitor run for rows written before the search column existed.
const BACKFILL_BATCH: i64 = 1000;

impl Store {
    /// The people matching every criterion of the query, by name, at most `limit`.
    pub async fn search_persons(&self, q: &PersonQuery, limit: i64) -> Result<Vec<Person>> {
        let mut clauses: Vec<String> = Vec::new();
        let mut args: Vec<String> = Vec::new();
        let arg = |v: String, args: &mut Vec<String>| {
            args.push(v);
            format!("${}", args.len())
        };
        if let Some(id) = &q.personal_id {
            clauses.push(format!("personal_id = {}", arg(id.clone(), &mut args)));
        }
        if let Some(name) = &q.name {
            // A prefix as a range, so that the index serves it on both databases.
            let from = arg(name.clone(), &mut args);
            let to = arg(format!("{name}\u{10FFFF}"), &mut args);
            clauses.push(format!("search_name >= {from} AND search_name < {to}"));
        }
        if let Some(b) = &q.birthdate {
            clauses.push(format!("birthdate = {}", arg(b.clone(), &mut args)));
        }
        if let Some(p) = &q.phone {
            clauses.push(format!("phone = {}", arg(p.clone(), &mut args)));
        }
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM persons WHERE {} ORDER BY search_name, personal_id LIMIT {}",
            clauses.join(" AND "),
            limit.clamp(1, 200)
        );
        let mut query = sqlx::query(&sql);
        for a in args {
            query = query.bind(a);
        }
        query.fetch_all(self.pool()).await?.iter().map(person_from_row).collect()
    }

    /// Fills in the search name of rows written before it existed; returns how many.
    pub async fn backfill_search_names(&self) -> Result<u64> {
        let rows = sqlx::query("SELECT id, family_name, middle_name, given_name FROM persons WHERE search_name IS NULL LIMIT $1")
            .bind(BACKFILL_BATCH)
            .fetch_all(self.pool())
            .await?;
        let mut tx = self.pool().begin().await?;
        for r in &rows {
            let parts: [String; 3] = [r.try_get("family_name")?, r.try_get("middle_name")?, r.try_get("given_name")?];
            let id: String = r.try_get("id")?;
            sqlx::query("UPDATE persons SET search_name=$2 WHERE id=$1").bind(id).bind(fold(&parts.join(" "))).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(rows.len() as u64)
    }

    pub async fn grant_role(&self, person: &PersonId, role: &str, by: &str, now: i64) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO operator_roles (person_id, role, granted_by, granted_at) VALUES ($1,$2,$3,$4) ON CONFLICT (person_id, role) DO NOTHING",
        )
        .bind(person)
        .bind(role)
        .bind(by)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn revoke_role(&self, person: &PersonId, role: &str) -> Result<bool> {
        let r =
            sqlx::query("DELETE FROM operator_roles WHERE person_id=$1 AND role=$2").bind(person).bind(role).execute(self.pool()).await?;
        Ok(r.rows_affected() == 1)
    }

    /// The roles a person holds (names as stored).
    pub async fn roles_of(&self, person: &PersonId) -> Result<Vec<String>> {
        let rows =
            sqlx::query("SELECT role FROM operator_roles WHERE person_id=$1 ORDER BY role").bind(person).fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok(r.try_get("role")?)).collect()
    }

    /// Every operator with their roles: (person, role, granted by, granted at).
    pub async fn operators(&self) -> Result<Vec<(PersonId, String, String, i64)>> {
        let rows = sqlx::query("SELECT person_id, role, granted_by, granted_at FROM operator_roles ORDER BY person_id, role")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok((r.try_get("person_id")?, r.try_get("role")?, r.try_get("granted_by")?, r.try_get("granted_at")?))).collect()
    }
}
