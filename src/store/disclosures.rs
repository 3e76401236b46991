//! disclosures: the record of every release of a person's data (Decree 13/2023), and
//! `access_tokens.released`, where a release to a portal waits until its token row goes.
//!
//! A release to a portal is described in the access-token row the token endpoint writes anyway,
//! so a sign-in costs no extra write. `keep_released` copies those descriptions into
//! `disclosures` and must run before any statement that deletes access-token rows (each such
//! statement in this crate does); the copy is idempotent (`source` is the primary key), so
//! running it twice, or again after a failure, is harmless.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store};
use crate::identity::PersonId;

/// Who received the data.
pub const TO_PORTAL: &str = "portal";
pub const TO_CREDENTIAL: &str = "credential";
pub const TO_OPERATOR: &str = "operator";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosure {
    /// What the record comes from; records with the same source are the same release.
    pub source: String,
    pub person_id: PersonId,
    pub at: i64,
    /// [`TO_PORTAL`], [`TO_CREDENTIAL`] or [`TO_OPERATOR`].
    pub recipient_kind: String,
    /// A client id, an operator's name, or the kind of credential.
    pub recipient: String,
    pub recipient_name: String,
    /// How it left: `token`, `qr_identity`, `qr_presentation`, `qr_app`, `admin_api`.
    pub channel: String,
    /// JSON (`privacy::disclosure::Released`): claim names, purposes, basis, acr. Never values.
    pub detail: String,
}

/// A bound value of a [`keep_released`] condition.
pub(super) enum Arg<'a> {
    Text(&'a str),
    Int(i64),
}

/// Copies the releases described in the access-token rows that match `condition` (SQL over the
/// alias `t`) into `disclosures`. Run it with the same condition before deleting those rows.
pub(super) async fn keep_released<'e, E>(ex: E, condition: &str, args: &[Arg<'_>]) -> Result<u64>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!(
        "INSERT INTO disclosures (source, person_id, at, recipient_kind, recipient, recipient_name, channel, detail) \
         SELECT 'token:' || t.token_hash, t.person_id, t.issued_at, '{TO_PORTAL}', t.client_id, COALESCE(c.name, t.client_id), \
             'token', t.released \
         FROM access_tokens t LEFT JOIN clients c ON c.id = t.client_id \
         WHERE t.released IS NOT NULL AND ({condition}) \
         ON CONFLICT (source) DO NOTHING"
    );
    let mut q = sqlx::query(&sql);
    for a in args {
        q = match a {
            Arg::Text(s) => q.bind(*s),
            Arg::Int(i) => q.bind(*i),
        };
    }
    Ok(q.execute(ex).await?.rows_affected())
}

fn disclosure_from_row(r: &AnyRow) -> Result<Disclosure> {
    Ok(Disclosure {
        source: r.try_get("source")?,
        person_id: r.try_get("person_id")?,
        at: r.try_get("at")?,
        recipient_kind: r.try_get("recipient_kind")?,
        recipient: r.try_get("recipient")?,
        recipient_name: r.try_get("recipient_name")?,
        channel: r.try_get("channel")?,
        detail: r.try_get("detail")?,
    })
}

const COLUMNS: &str = "source, person_id, at, recipient_kind, recipient, recipient_name, channel, detail";

impl Store {
    /// Records a release made outside the token endpoint. `false` when a record with the same
    /// source exists (the same release, recorded once).
    pub async fn record_disclosure(&self, d: &Disclosure) -> Result<bool> {
        let r =
            sqlx::query(&format!("INSERT INTO disclosures ({COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (source) DO NOTHING"))
                .bind(&d.source)
                .bind(&d.person_id)
                .bind(d.at)
                .bind(&d.recipient_kind)
                .bind(&d.recipient)
                .bind(&d.recipient_name)
                .bind(&d.channel)
                .bind(&d.detail)
                .execute(self.pool())
                .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Brings the person's record up to date with their live tokens, so that a release of a
    /// moment ago is listed (the token rows are copied when they go, see the module doc).
    pub async fn keep_released_of(&self, person_id: &PersonId) -> Result<u64> {
        keep_released(self.pool(), "t.person_id=$1", &[Arg::Text(person_id.as_str())]).await
    }

    /// One page of the person's record, newest first; `recipient` narrows it to one recipient.
    pub async fn disclosures_of(&self, person_id: &PersonId, recipient: Option<&str>, offset: i64, limit: i64) -> Result<Vec<Disclosure>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM disclosures WHERE person_id=$1 AND ($2 = '' OR recipient=$2) \
             ORDER BY at DESC, source LIMIT $3 OFFSET $4"
        );
        let rows =
            sqlx::query(&sql).bind(person_id).bind(recipient.unwrap_or_default()).bind(limit).bind(offset).fetch_all(self.pool()).await?;
        rows.iter().map(disclosure_from_row).collect()
    }

    /// Everyone who received something about the person: (recipient, name), for the filter.
    pub async fn disclosure_recipients(&self, person_id: &PersonId) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT recipient, MAX(recipient_name) AS name FROM disclosures WHERE person_id=$1 GROUP BY recipient ORDER BY name, recipient",
        )
        .bind(person_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((r.try_get("recipient")?, r.try_get("name")?))).collect()
    }

    /// Retention: records older than `before` go.
    pub async fn purge_disclosures(&self, before: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM disclosures WHERE at < $1").bind(before).execute(self.pool()).await?.rows_affected())
    }
}
