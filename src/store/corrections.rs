//! correction_requests: a person asks for what the platform holds about them to be corrected
//! (Decree 13/2023 Art. 9); operators answer through the admin API.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store};
use crate::identity::PersonId;

pub const OPEN: &str = "open";
pub const DONE: &str = "done";
pub const REJECTED: &str = "rejected";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectionRequest {
    pub id: String,
    pub person_id: PersonId,
    pub created_at: i64,
    /// What the person says is wrong (field names of "my data").
    pub fields: Vec<String>,
    pub message: String,
    /// [`OPEN`], [`DONE`] or [`REJECTED`].
    pub status: String,
    pub answer: Option<String>,
    pub answered_at: Option<i64>,
    pub answered_by: Option<String>,
}

fn from_row(r: &AnyRow) -> Result<CorrectionRequest> {
    let fields: String = r.try_get("fields")?;
    Ok(CorrectionRequest {
        id: r.try_get("id")?,
        person_id: r.try_get("person_id")?,
        created_at: r.try_get("created_at")?,
        fields: super::split_words(&fields),
        message: r.try_get("message")?,
        status: r.try_get("status")?,
        answer: r.try_get("answer")?,
        answered_at: r.try_get("answered_at")?,
        answered_by: r.try_get("answered_by")?,
    })
}

const COLUMNS: &str = "id, person_id, created_at, fields, message, status, answer, answered_at, answered_by";

impl Store {
    pub async fn insert_correction(&self, c: &CorrectionRequest) -> Result<()> {
        sqlx::query(&format!("INSERT INTO correction_requests ({COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)"))
            .bind(&c.id)
            .bind(&c.person_id)
            .bind(c.created_at)
            .bind(super::join_words(&c.fields))
            .bind(&c.message)
            .bind(&c.status)
            .bind(&c.answer)
            .bind(c.answered_at)
            .bind(&c.answered_by)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// How many requests the person has open (a person cannot flood the operators' queue).
    pub async fn open_corrections_of(&self, person_id: &PersonId) -> Result<i64> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM correction_requests WHERE person_id=$1 AND status=$2")
            .bind(person_id)
            .bind(OPEN)
            .fetch_one(self.pool())
            .await?;
        Ok(r.try_get("n")?)
    }

    /// The person's requests, newest first.
    pub async fn corrections_of(&self, person_id: &PersonId) -> Result<Vec<CorrectionRequest>> {
        let sql = format!("SELECT {COLUMNS} FROM correction_requests WHERE person_id=$1 ORDER BY created_at DESC, id");
        let rows = sqlx::query(&sql).bind(person_id).fetch_all(self.pool()).await?;
        rows.iter().map(from_row).collect()
    }

    /// Requests with this status, oldest first (the operators' queue), at most `limit`.
    pub async fn corrections_with_status(&self, status: &str, limit: i64) -> Result<Vec<CorrectionRequest>> {
        let sql = format!("SELECT {COLUMNS} FROM correction_requests WHERE status=$1 ORDER BY created_at, id LIMIT $2");
        let rows = sqlx::query(&sql).bind(status).bind(limit).fetch_all(self.pool()).await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn correction(&self, id: &str) -> Result<Option<CorrectionRequest>> {
        let sql = format!("SELECT {COLUMNS} FROM correction_requests WHERE id=$1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Answers an open request; `false` when it is not open (answered already, or unknown).
    pub async fn answer_correction(&self, id: &str, status: &str, answer: &str, by: &str, now: i64) -> Result<bool> {
        let r =
            sqlx::query("UPDATE correction_requests SET status=$2, answer=$3, answered_by=$4, answered_at=$5 WHERE id=$1 AND status=$6")
                .bind(id)
                .bind(status)
                .bind(answer)
                .bind(by)
                .bind(now)
                .bind(OPEN)
                .execute(self.pool())
                .await?;
        Ok(r.rows_affected() == 1)
    }
}
