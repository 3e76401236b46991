//! sign_ins: the person's sign-in history, one row per completed authentication (a single
//! sign-on reuse is not one: it is in the disclosure record instead).

use sqlx::Row;

use super::{Result, Store};
use crate::identity::PersonId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    pub person_id: PersonId,
    pub at: i64,
    pub client_id: String,
    pub client_name: String,
    /// The methods used (amr values).
    pub methods: Vec<String>,
    pub acr: String,
    /// A browser this person had not signed in from before.
    pub new_browser: bool,
    pub network: Option<String>,
    pub user_agent: Option<String>,
}

impl Store {
    pub async fn insert_sign_in(&self, s: &SignIn) -> Result<()> {
        sqlx::query(
            "INSERT INTO sign_ins (id, person_id, at, client_id, client_name, methods, acr, new_browser, network, user_agent) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
        )
        .bind(crate::crypto::random_token())
        .bind(&s.person_id)
        .bind(s.at)
        .bind(&s.client_id)
        .bind(&s.client_name)
        .bind(super::join_words(&s.methods))
        .bind(&s.acr)
        .bind(super::flag(s.new_browser))
        .bind(&s.network)
        .bind(&s.user_agent)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The person's sign-ins, newest first, at most `limit`.
    pub async fn sign_ins_of(&self, person_id: &PersonId, limit: i64) -> Result<Vec<SignIn>> {
        let rows = sqlx::query(
            "SELECT person_id, at, client_id, client_name, methods, acr, new_browser, network, user_agent FROM sign_ins \
             WHERE person_id=$1 ORDER BY at DESC, id LIMIT $2",
        )
        .bind(person_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let methods: String = r.try_get("methods")?;
                Ok(SignIn {
                    person_id: r.try_get("person_id")?,
                    at: r.try_get("at")?,
                    client_id: r.try_get("client_id")?,
                    client_name: r.try_get("client_name")?,
                    methods: super::split_words(&methods),
                    acr: r.try_get("acr")?,
                    new_browser: r.try_get::<i64, _>("new_browser")? != 0,
                    network: r.try_get("network")?,
                    user_agent: r.try_get("user_agent")?,
                })
            })
            .collect()
    }

    /// Retention: sign-ins older than `before` go.
    pub async fn purge_sign_ins(&self, before: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM sign_ins WHERE at < $1").bind(before).execute(self.pool()).await?.rows_affected())
    }
}
