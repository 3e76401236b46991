//! consents: what a person allowed a portal to receive, remembered per portal, and their
//! withdrawal (which also ends what the portal holds for the person).

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

    /// The person's consents, most recent first, with the portals' names.
    pub async fn consents_of(&self, person_id: &PersonId) -> Result<Vec<ConsentRecord>> {
        let rows = sqlx::query(
            "SELECT c.client_id, k.name, c.scopes, c.granted_at FROM consents c JOIN clients k ON k.id = c.client_id \
             WHERE c.person_id=$1 ORDER BY c.granted_at DESC, c.client_id",
        )
        .bind(person_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ConsentRecord {
                    client_id: r.try_get("client_id")?,
                    client_name: r.try_get("name")?,
                    scopes: Scopes::parse(&r.try_get::<String, _>("scopes")?),
                    granted_at: r.try_get("granted_at")?,
                })
            })
            .collect()
    }

    /// Withdraws the consent and ends what the portal holds for the person: its access tokens
    /// go, its refresh tokens are revoked (those granted `offline_access` too: that was part of
    /// the consent), and it is taken out of the person's sessions (their codes for it go, so
    /// single sign-on there asks again). `None` when there was no such consent. Returns the
    /// sessions the portal was part of, for the back-channel logout.
    pub async fn withdraw_consent(&self, person_id: &PersonId, client_id: &str, now: i64) -> Result<Option<Withdrawal>> {
        let deleted = sqlx::query("DELETE FROM consents WHERE person_id=$1 AND client_id=$2")
            .bind(person_id)
            .bind(client_id)
            .execute(self.pool())
            .await?
            .rows_affected();
        if deleted == 0 {
            return Ok(None);
        }
        use super::disclosures::{Arg, keep_released};
        keep_released(self.pool(), "t.person_id=$1 AND t.client_id=$2", &[Arg::Text(person_id.as_str()), Arg::Text(client_id)]).await?;
        let access_tokens = sqlx::query("DELETE FROM access_tokens WHERE person_id=$1 AND client_id=$2")
            .bind(person_id)
            .bind(client_id)
            .execute(self.pool())
            .await?
            .rows_affected();
        let refresh_tokens =
            sqlx::query("UPDATE refresh_tokens SET revoked_at=$3 WHERE person_id=$1 AND client_id=$2 AND revoked_at IS NULL")
                .bind(person_id)
                .bind(client_id)
                .bind(now)
                .execute(self.pool())
                .await?
                .rows_affected();
        let rows = sqlx::query(
            "SELECT DISTINCT a.sid FROM auth_codes a JOIN sessions s ON s.sid = a.sid WHERE s.person_id=$1 AND a.client_id=$2 ORDER BY a.sid",
        )
        .bind(person_id)
        .bind(client_id)
        .fetch_all(self.pool())
        .await?;
        let sessions = rows.iter().map(|r| r.try_get("sid")).collect::<std::result::Result<Vec<String>, _>>()?;
        sqlx::query("DELETE FROM auth_codes WHERE client_id=$2 AND sid IN (SELECT sid FROM sessions WHERE person_id=$1)")
            .bind(person_id)
            .bind(client_id)
            .execute(self.pool())
            .await?;
        Ok(Some(Withdrawal { access_tokens, refresh_tokens, sessions }))
    }
}

/// A consent as the person's account page shows it.
#[derive(Debug, Clone)]
pub struct ConsentRecord {
    pub client_id: String,
    pub client_name: String,
    pub scopes: Scopes,
    pub granted_at: i64,
}

/// What a withdrawal ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    pub access_tokens: u64,
    pub refresh_tokens: u64,
    /// The person's sessions the portal was part of.
    pub sessions: Vec<String>,
}
