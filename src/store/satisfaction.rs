//! The question after a sign-in: when each person was last asked, and the comments (kept apart
//! from people; the ratings themselves are counts in `stats_daily`).

use sqlx::Row;

use super::{Result, Store};
use crate::identity::PersonId;
use crate::stats::Comment;

/// A comment as the statisticians read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredComment {
    pub day: String,
    pub rating: String,
    pub locale: String,
    pub text: String,
}

impl Store {
    /// When the person was last shown the question (`None`: never).
    pub async fn satisfaction_asked_at(&self, person: &PersonId) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT satisfaction_asked_at FROM persons WHERE id = $1").bind(person).fetch_optional(self.pool()).await?;
        Ok(match row {
            Some(r) => r.try_get("satisfaction_asked_at")?,
            None => None,
        })
    }

    pub async fn mark_satisfaction_asked(&self, person: &PersonId, now: i64) -> Result<()> {
        sqlx::query("UPDATE persons SET satisfaction_asked_at = $1 WHERE id = $2").bind(now).bind(person).execute(self.pool()).await?;
        Ok(())
    }

    /// Writes a batch of comments (in the order given), in one transaction.
    pub async fn add_satisfaction_comments(&self, comments: &[Comment]) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        for c in comments {
            sqlx::query("INSERT INTO satisfaction_comments (day, rating, locale, comment) VALUES ($1, $2, $3, $4)")
                .bind(&c.day)
                .bind(c.rating)
                .bind(c.locale)
                .bind(&c.text)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The comments of the days `from..=to`, newest day first, at most `limit`.
    pub async fn satisfaction_comments(&self, from: &str, to: &str, limit: i64) -> Result<Vec<StoredComment>> {
        let rows = sqlx::query(
            "SELECT day, rating, locale, comment FROM satisfaction_comments WHERE day >= $1 AND day <= $2 \
             ORDER BY day DESC, id DESC LIMIT $3",
        )
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredComment {
                    day: r.try_get("day")?,
                    rating: r.try_get("rating")?,
                    locale: r.try_get("locale")?,
                    text: r.try_get("comment")?,
                })
            })
            .collect()
    }

    /// Comments of days before `before_day` (`YYYY-MM-DD`) go.
    pub async fn purge_satisfaction_comments(&self, before_day: &str) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM satisfaction_comments WHERE day < $1").bind(before_day).execute(self.pool()).await?.rows_affected())
    }
}
