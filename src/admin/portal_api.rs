//! The admin API's portal operations beyond registration: edit, disable, enable, rotate the
//! secret, delete (`portals` does the work).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::actor::Actor;
use super::api::{ClientOut, client_out, json_body};
use super::auth::require;
use super::portals::{self, Change, PortalError};
use super::problem::Problem;
use crate::client::ClientId;
use crate::state::App;

impl From<PortalError> for Problem {
    fn from(e: PortalError) -> Self {
        match e {
            PortalError::NotFound => Problem::not_found("client"),
            PortalError::NoSecret(_) => Problem::conflict(e.to_string()),
            PortalError::Overlap => Problem::invalid_field("overlap_secs", e),
            PortalError::Reason => Problem::invalid_field("reason", e),
            PortalError::SectorChange(_) => Problem::invalid_field("redirect_uris", e),
            PortalError::Invalid(inner) => Problem::invalid_field("client", inner),
            PortalError::Sector(_) => Problem::invalid_field("sector_identifier_uri", e),
            PortalError::Store(inner) => inner.into(),
        }
    }
}

fn client_id(raw: &str) -> Result<ClientId, Problem> {
    ClientId::parse(raw).ok_or_else(|| Problem::not_found("client"))
}

/// Only the members present change; `options` replaces the whole set of further metadata.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    #[serde(default)]
    pub client_name: Option<String>,
    #[serde(default)]
    pub redirect_uris: Option<Vec<String>>,
    /// Space-separated scopes the portal may ask for.
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub options: Option<crate::client::ClientOptions>,
}

#[utoipa::path(patch, path = "/admin/v1/clients/{client_id}", tag = "clients", request_body = ClientPatch,
    params(("client_id" = String, Path)),
    responses((status = 200, body = ClientOut), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["clients:write"])))]
pub async fn update_client(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<ClientOut>, Problem> {
    let op = require(&app, &headers, "clients:write").await?;
    let input: ClientPatch = json_body(&headers, &body)?;
    let change = Change {
        name: input.client_name,
        redirect_uris: input.redirect_uris,
        scopes: input.scope.map(|s| s.split_ascii_whitespace().map(str::to_owned).collect()),
        options: input.options,
    };
    let client = portals::update(&app.store, &app.outbound, app.now(), &client_id(&id)?, change, &Actor::Token(op.name)).await?;
    Ok(Json(client_out(&client, None)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonIn {
    /// Why (kept in the audit log): 1–500 characters.
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DisabledOut {
    pub client_id: String,
    /// Access tokens deleted, refresh tokens revoked and unused codes deleted.
    pub access_tokens_revoked: u64,
    pub refresh_tokens_revoked: u64,
    pub codes_revoked: u64,
}

#[utoipa::path(post, path = "/admin/v1/clients/{client_id}/disable", tag = "clients", request_body = ReasonIn,
    params(("client_id" = String, Path)),
    responses((status = 200, body = DisabledOut), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["clients:write"])))]
pub async fn disable_client(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<DisabledOut>, Problem> {
    let op = require(&app, &headers, "clients:write").await?;
    let input: ReasonIn = json_body(&headers, &body)?;
    let id = client_id(&id)?;
    let cut = portals::disable(&app.store, app.now(), &id, &input.reason, &Actor::Token(op.name)).await?;
    Ok(Json(DisabledOut {
        client_id: id.to_string(),
        access_tokens_revoked: cut.access_tokens,
        refresh_tokens_revoked: cut.refresh_tokens,
        codes_revoked: cut.codes,
    }))
}

#[utoipa::path(post, path = "/admin/v1/clients/{client_id}/enable", tag = "clients", request_body = ReasonIn,
    params(("client_id" = String, Path)),
    responses((status = 200, body = ClientOut), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["clients:write"])))]
pub async fn enable_client(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<ClientOut>, Problem> {
    let op = require(&app, &headers, "clients:write").await?;
    let input: ReasonIn = json_body(&headers, &body)?;
    let id = client_id(&id)?;
    portals::enable(&app.store, app.now(), &id, &input.reason, &Actor::Token(op.name)).await?;
    let client = app.store.client_record(&id).await?.ok_or_else(|| Problem::not_found("client"))?;
    Ok(Json(client_out(&client, None)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateIn {
    /// How long the previous secret keeps working, in seconds (0 after a leak; at most 30 days).
    pub overlap_secs: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedOut {
    pub client_id: String,
    /// The new secret, shown once (stored hashed).
    pub client_secret: String,
    /// Until when the previous secret is accepted (seconds since the epoch).
    pub previous_secret_expires_at: i64,
}

#[utoipa::path(post, path = "/admin/v1/clients/{client_id}/rotate-secret", tag = "clients", request_body = RotateIn,
    params(("client_id" = String, Path)),
    responses((status = 200, body = RotatedOut), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["clients:write"])))]
pub async fn rotate_secret(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<RotatedOut>, Problem> {
    let op = require(&app, &headers, "clients:write").await?;
    let input: RotateIn = json_body(&headers, &body)?;
    let id = client_id(&id)?;
    let now = app.now();
    let secret = portals::rotate_secret(&app.store, now, &id, input.overlap_secs, &Actor::Token(op.name)).await?;
    Ok(Json(RotatedOut { client_id: id.to_string(), client_secret: secret, previous_secret_expires_at: now + input.overlap_secs }))
}

#[utoipa::path(delete, path = "/admin/v1/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["clients:write"])))]
pub async fn delete_client(State(app): State<Arc<App>>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, Problem> {
    let op = require(&app, &headers, "clients:write").await?;
    portals::delete(&app.store, app.now(), &client_id(&id)?, &Actor::Token(op.name)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
