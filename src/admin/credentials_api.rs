//! The admin API for issued QR credentials: a person's or an organisation's list, and
//! revocation (one or all) with a reason, audited with the operator token's name.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::actor::Actor;
use super::api::{json_body, org_code, person_by};
use super::auth::require;
use super::problem::Problem;
use crate::audit::{self, Event};
use crate::credentials::revocation::{self, Target};
use crate::credentials::service::LIST_ID;
use crate::state::App;
use crate::store::credentials::IssuedCredential;

#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialOut {
    /// The credential's index in the status list (`nixa qr revoke --idx`).
    pub idx: i64,
    /// `person` (the identity QR), `presentation` or `organisation`.
    pub kind: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    /// `owner` or `operator`.
    pub revoked_by: Option<String>,
    /// Neither revoked nor expired.
    pub live: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeIn {
    /// One credential; without it every live credential of the holder.
    #[serde(default)]
    pub idx: Option<i64>,
    /// Why (kept in the audit log), 1–500 characters.
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedOut {
    pub revoked: Vec<i64>,
}

fn out(rows: &[IssuedCredential], now: i64) -> Vec<CredentialOut> {
    rows.iter()
        .map(|c| CredentialOut {
            idx: c.idx,
            kind: c.kind.clone(),
            issued_at: c.issued_at,
            expires_at: c.expires_at,
            revoked_at: c.revoked_at,
            revoked_by: c.revoked_by.clone(),
            live: c.is_live(now),
        })
        .collect()
}

async fn revoke_for(app: &App, holder: &str, input: RevokeIn, operator: String) -> Result<Json<RevokedOut>, Problem> {
    let reason = super::portals::reason(&input.reason).map_err(|e| Problem::invalid_field("reason", e))?;
    let target = match input.idx {
        Some(idx) => Target::One { idx, holder: Some(holder) },
        None => Target::AllOf(holder),
    };
    let revoked = revocation::revoke(&app.store, app.now(), target, &reason, &Actor::Token(operator)).await?;
    if input.idx.is_some() && revoked.is_empty() {
        return Err(Problem::not_found("live credential of this holder at that index"));
    }
    Ok(Json(RevokedOut { revoked }))
}

#[utoipa::path(get, path = "/admin/v1/persons/{personal_id}/credentials", tag = "credentials",
    params(("personal_id" = String, Path, description = "12-digit personal identification number")),
    responses((status = 200, body = [CredentialOut]), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["persons:read"])))]
pub async fn person_credentials(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<String>,
) -> Result<Json<Vec<CredentialOut>>, Problem> {
    let op = require(&app, &headers, "persons:read").await?;
    let person = person_by(&app, &pid).await?;
    let rows = app.store.credentials_of(LIST_ID, person.personal_id.as_str()).await?;
    let now = app.now();
    crate::privacy::disclosure::record_operator_read(&app.store, &person.id, &op.name, &["credentials"], now).await?;
    let detail = json!({"operator": op.name, "action": "person.credentials.read", "channel": "admin_api"});
    audit::record(&app.store, now, Event::OperatorRead, Some(&person.id), None, detail).await?;
    Ok(Json(out(&rows, app.now())))
}

#[utoipa::path(post, path = "/admin/v1/persons/{personal_id}/credentials/revoke", tag = "credentials", request_body = RevokeIn,
    params(("personal_id" = String, Path, description = "12-digit personal identification number")),
    responses((status = 200, body = RevokedOut), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["persons:write"])))]
pub async fn revoke_person_credentials(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<String>,
    body: Bytes,
) -> Result<Json<RevokedOut>, Problem> {
    let op = require(&app, &headers, "persons:write").await?;
    let person = person_by(&app, &pid).await?;
    let input: RevokeIn = json_body(&headers, &body)?;
    revoke_for(&app, person.personal_id.as_str(), input, op.name).await
}

#[utoipa::path(get, path = "/admin/v1/organisations/{code}/credentials", tag = "credentials",
    params(("code" = String, Path, description = "Tax code or agency code")),
    responses((status = 200, body = [CredentialOut]), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["orgs:read"])))]
pub async fn organisation_credentials(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Json<Vec<CredentialOut>>, Problem> {
    require(&app, &headers, "orgs:read").await?;
    let (code, _) = org_code(&code)?;
    app.store.organisation_by_code(&code).await?.ok_or_else(|| Problem::not_found("organisation"))?;
    let rows = app.store.credentials_of(LIST_ID, &code).await?;
    Ok(Json(out(&rows, app.now())))
}

#[utoipa::path(post, path = "/admin/v1/organisations/{code}/credentials/revoke", tag = "credentials", request_body = RevokeIn,
    params(("code" = String, Path, description = "Tax code or agency code")),
    responses((status = 200, body = RevokedOut), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["orgs:write"])))]
pub async fn revoke_organisation_credentials(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(code): Path<String>,
    body: Bytes,
) -> Result<Json<RevokedOut>, Problem> {
    let op = require(&app, &headers, "orgs:write").await?;
    let (code, _) = org_code(&code)?;
    app.store.organisation_by_code(&code).await?.ok_or_else(|| Problem::not_found("organisation"))?;
    let input: RevokeIn = json_body(&headers, &body)?;
    revoke_for(&app, &code, input, op.name).await
}
