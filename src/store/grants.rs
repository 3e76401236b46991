//! auth_requests (a sign-in in progress), auth_codes and access_tokens.
//!
//! Write budget of an SSO sign-in: one insert at authorize (the code), one conditional update
//! when the code is redeemed and one insert for the access token.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, acr_of};
use crate::assurance::Acr;
use crate::client::ClientId;
use crate::identity::{Person, PersonId};
use crate::scope::Scopes;

#[derive(Debug, Clone)]
pub struct PendingRequest {
    pub id: String,
    pub browser_hash: String,
    pub client_id: ClientId,
    /// The validated authorization request, JSON.
    pub params: String,
    pub person_id: Option<PersonId>,
    pub stage: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct CodeGrant {
    pub code_hash: String,
    pub grant_id: String,
    pub client_id: ClientId,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub person_id: PersonId,
    pub subject: String,
    pub scopes: Scopes,
    pub nonce: Option<String>,
    pub auth_time: i64,
    pub acr: Acr,
    pub amr: Vec<String>,
    pub sid: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// Claims decided at sign-in beyond the person's own (acting for an organisation, agency),
    /// a JSON object.
    pub extra_claims: Option<String>,
    /// RFC 9449 §10: the DPoP key the code is bound to (`dpop_jkt`).
    pub jkt: Option<String>,
    /// The `claims` request parameter as accepted (OIDC Core §5.5), JSON.
    pub claims_request: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AccessGrant {
    pub token_hash: String,
    pub grant_id: String,
    pub client_id: ClientId,
    pub person_id: PersonId,
    pub subject: String,
    pub scopes: Scopes,
    pub expires_at: i64,
    pub extra_claims: Option<String>,
    /// DPoP key thumbprint the token is bound to (RFC 9449 §6).
    pub jkt: Option<String>,
    pub sid: Option<String>,
    pub issued_at: i64,
    /// What the token releases, for the disclosure record (`store::disclosures`); not read back.
    pub released: Option<String>,
}

fn code_from_row(r: &AnyRow) -> Result<CodeGrant> {
    let scopes: String = r.try_get("scopes")?;
    let amr: String = r.try_get("amr")?;
    Ok(CodeGrant {
        code_hash: r.try_get("code_hash")?,
        grant_id: r.try_get("grant_id")?,
        client_id: r.try_get("client_id")?,
        redirect_uri: r.try_get("redirect_uri")?,
        code_challenge: r.try_get("code_challenge")?,
        person_id: r.try_get("person_id")?,
        subject: r.try_get("subject")?,
        scopes: Scopes::parse(&scopes),
        nonce: r.try_get("nonce")?,
        auth_time: r.try_get("auth_time")?,
        acr: acr_of(r)?,
        amr: super::split_words(&amr),
        sid: r.try_get("sid")?,
        expires_at: r.try_get("expires_at")?,
        used_at: r.try_get("used_at")?,
        extra_claims: r.try_get("extra_claims")?,
        jkt: r.try_get("jkt")?,
        claims_request: r.try_get("claims_request")?,
    })
}

impl Store {
    pub async fn insert_pending(&self, p: &PendingRequest, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO auth_requests (id, browser_hash, client_id, params, person_id, stage, created_at, expires_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        )
        .bind(&p.id)
        .bind(&p.browser_hash)
        .bind(&p.client_id)
        .bind(&p.params)
        .bind(&p.person_id)
        .bind(&p.stage)
        .bind(now)
        .bind(p.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn pending(&self, id: &str, now: i64) -> Result<Option<PendingRequest>> {
        let row = sqlx::query(
            "SELECT id, browser_hash, client_id, params, person_id, stage, expires_at FROM auth_requests \
             WHERE id=$1 AND expires_at > $2",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(PendingRequest {
                id: r.try_get("id")?,
                browser_hash: r.try_get("browser_hash")?,
                client_id: r.try_get("client_id")?,
                params: r.try_get("params")?,
                person_id: r.try_get("person_id")?,
                stage: r.try_get("stage")?,
                expires_at: r.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// Moves a sign-in to its next stage, with its person and its parameters as they are now
    /// (what the person chose or agreed to so far); false if it was already moved on (a double
    /// submit).
    pub async fn advance_pending(
        &self,
        id: &str,
        from_stage: &str,
        to_stage: &str,
        person_id: Option<&PersonId>,
        params: &str,
    ) -> Result<bool> {
        let r = sqlx::query("UPDATE auth_requests SET stage=$3, person_id=$4, params=$5 WHERE id=$1 AND stage=$2")
            .bind(id)
            .bind(from_stage)
            .bind(to_stage)
            .bind(person_id)
            .bind(params)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Removes a finished sign-in; false if another request finished it first.
    pub async fn take_pending(&self, id: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM auth_requests WHERE id=$1").bind(id).execute(self.pool()).await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn insert_code(&self, c: &CodeGrant) -> Result<()> {
        sqlx::query(
            "INSERT INTO auth_codes (code_hash, grant_id, client_id, redirect_uri, code_challenge, person_id, \
                 subject, scopes, nonce, auth_time, acr, amr, sid, expires_at, used_at, extra_claims, jkt, claims_request) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,NULL,$15,$16,$17)",
        )
        .bind(&c.code_hash)
        .bind(&c.grant_id)
        .bind(&c.client_id)
        .bind(&c.redirect_uri)
        .bind(&c.code_challenge)
        .bind(&c.person_id)
        .bind(&c.subject)
        .bind(c.scopes.joined())
        .bind(&c.nonce)
        .bind(c.auth_time)
        .bind(c.acr.as_uri())
        .bind(super::join_words(&c.amr))
        .bind(&c.sid)
        .bind(c.expires_at)
        .bind(&c.extra_claims)
        .bind(&c.jkt)
        .bind(&c.claims_request)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn code(&self, code_hash: &str) -> Result<Option<CodeGrant>> {
        let row = sqlx::query(
            "SELECT code_hash, grant_id, client_id, redirect_uri, code_challenge, person_id, subject, scopes, \
                 nonce, auth_time, acr, amr, sid, expires_at, used_at, extra_claims, jkt, claims_request \
             FROM auth_codes WHERE code_hash=$1",
        )
        .bind(code_hash)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(code_from_row).transpose()
    }

    /// Marks a code used; false if it was used already (by a concurrent or earlier redemption).
    pub async fn use_code(&self, code_hash: &str, now: i64) -> Result<bool> {
        let r = sqlx::query("UPDATE auth_codes SET used_at=$2 WHERE code_hash=$1 AND used_at IS NULL")
            .bind(code_hash)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Revokes everything issued from one grant (RFC 6749 §4.1.2: on code replay): its access
    /// tokens and its refresh-token family.
    pub async fn revoke_grant(&self, grant_id: &str, now: i64) -> Result<u64> {
        self.revoke_family(grant_id, now).await
    }

    /// Revokes one access token (RFC 7009), if it belongs to `client_id`.
    pub async fn revoke_access_token(&self, token_hash: &str, client_id: &str) -> Result<u64> {
        use super::disclosures::{Arg, keep_released};
        keep_released(self.pool(), "t.token_hash=$1 AND t.client_id=$2", &[Arg::Text(token_hash), Arg::Text(client_id)]).await?;
        let r = sqlx::query("DELETE FROM access_tokens WHERE token_hash=$1 AND client_id=$2")
            .bind(token_hash)
            .bind(client_id)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected())
    }

    pub async fn insert_access_token(&self, t: &AccessGrant) -> Result<()> {
        sqlx::query(
            "INSERT INTO access_tokens (token_hash, grant_id, client_id, person_id, subject, scopes, expires_at, extra_claims, \
                 jkt, sid, issued_at, released) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
        )
        .bind(&t.token_hash)
        .bind(&t.grant_id)
        .bind(&t.client_id)
        .bind(&t.person_id)
        .bind(&t.subject)
        .bind(t.scopes.joined())
        .bind(t.expires_at)
        .bind(&t.extra_claims)
        .bind(&t.jkt)
        .bind(&t.sid)
        .bind(t.issued_at)
        .bind(&t.released)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A live access token with its person, in one read (the UserInfo hot path).
    pub async fn access_token_with_person(&self, token_hash: &str, now: i64) -> Result<Option<(AccessGrant, Person)>> {
        let row = sqlx::query(
            "SELECT t.token_hash, t.grant_id, t.client_id, t.subject, t.scopes, t.expires_at, t.extra_claims, t.jkt, t.sid, t.issued_at, \
                 p.id, p.personal_id, p.family_name, p.middle_name, p.given_name, p.birthdate, p.sex, \
                 p.nationality, p.address, p.phone, p.email, p.account_level, p.status \
             FROM access_tokens t JOIN persons p ON p.id = t.person_id \
             WHERE t.token_hash=$1 AND t.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let person = super::persons::person_from_row(&r)?;
        let scopes: String = r.try_get("scopes")?;
        let grant = AccessGrant {
            token_hash: r.try_get("token_hash")?,
            grant_id: r.try_get("grant_id")?,
            client_id: r.try_get("client_id")?,
            person_id: person.id.clone(),
            subject: r.try_get("subject")?,
            scopes: Scopes::parse(&scopes),
            expires_at: r.try_get("expires_at")?,
            extra_claims: r.try_get("extra_claims")?,
            jkt: r.try_get("jkt")?,
            sid: r.try_get("sid")?,
            issued_at: r.try_get("issued_at")?,
            released: None,
        };
        Ok(Some((grant, person)))
    }
}
