//! stats_daily: the counts behind the monitoring centre's statistics.

use std::collections::HashMap;

use sqlx::Row;

use super::persons::person_from_row;
use super::{Result, Store};
use crate::identity::{Person, PersonId};
use crate::stats::Cell;

/// People looked up per query when a flush resolves demographics.
const LOOKUP_CHUNK: usize = 200;

impl Store {
    /// Adds counts to their cells, in one transaction.
    pub async fn add_stats(&self, cells: &[(Cell, i64)]) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        for (c, n) in cells {
            sqlx::query(
                "INSERT INTO stats_daily (day, metric, portal, acr, method, outcome, subject_type, gender, age_band, province, count) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) \
                 ON CONFLICT (day, metric, portal, acr, method, outcome, subject_type, gender, age_band, province) \
                 DO UPDATE SET count = stats_daily.count + excluded.count",
            )
            .bind(&c.day)
            .bind(&c.metric)
            .bind(&c.portal)
            .bind(&c.acr)
            .bind(&c.method)
            .bind(&c.outcome)
            .bind(&c.subject_type)
            .bind(&c.gender)
            .bind(&c.age_band)
            .bind(&c.province)
            .bind(n)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every cell of the days `from..=to` (`YYYY-MM-DD`).
    pub async fn stats_between(&self, from: &str, to: &str) -> Result<Vec<(Cell, i64)>> {
        let rows = sqlx::query(
            "SELECT day, metric, portal, acr, method, outcome, subject_type, gender, age_band, province, count FROM stats_daily \
             WHERE day >= $1 AND day <= $2",
        )
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let cell = Cell {
                    day: r.try_get("day")?,
                    metric: r.try_get("metric")?,
                    portal: r.try_get("portal")?,
                    acr: r.try_get("acr")?,
                    method: r.try_get("method")?,
                    outcome: r.try_get("outcome")?,
                    subject_type: r.try_get("subject_type")?,
                    gender: r.try_get("gender")?,
                    age_band: r.try_get("age_band")?,
                    province: r.try_get("province")?,
                };
                Ok((cell, r.try_get("count")?))
            })
            .collect()
    }

    /// The people a flush of the statistics needs, by id (missing ones are left out).
    pub async fn stats_people(&self, ids: &[PersonId]) -> Result<HashMap<PersonId, Person>> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(LOOKUP_CHUNK) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("SELECT {} FROM persons WHERE id IN ({})", super::persons::PERSON_COLUMNS, marks.join(","));
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            for row in q.fetch_all(self.pool()).await? {
                let p = person_from_row(&row)?;
                out.insert(p.id.clone(), p);
            }
        }
        Ok(out)
    }
}
