//! `/admin/v1/upstreams`: upstream identity providers managed by operators (those in nixa.toml
//! are listed but cannot be changed here). The configuration is stored sealed; the client
//! secret is never returned.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::api::json_body;
use super::auth::require;
use super::problem::Problem;
use crate::audit::{self, Event};
use crate::federation::config::{Upstream, UpstreamConfig};
use crate::state::App;

#[derive(Debug, Serialize, ToSchema)]
pub struct UpstreamOut {
    pub id: String,
    pub display_name: String,
    pub issuer: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// The highest acr this upstream may assert (our URI).
    pub trust_level: String,
    pub trust_personal_id: bool,
    /// `config` (nixa.toml, read-only here) or `admin`.
    pub source: String,
}

fn out(app: &App, u: &Upstream) -> UpstreamOut {
    UpstreamOut {
        id: u.id.clone(),
        display_name: u.display_name.clone(),
        issuer: u.issuer_str(),
        client_id: u.client_id.clone(),
        scopes: u.scopes.clone(),
        trust_level: u.trust_level.as_uri().into(),
        trust_personal_id: u.trust_personal_id,
        source: if app.federation.is_from_config(&u.id) { "config".into() } else { "admin".into() },
    }
}

#[utoipa::path(get, path = "/admin/v1/upstreams", tag = "upstreams",
    responses((status = 200, body = [UpstreamOut]), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["upstreams:read"])))]
pub async fn list(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Json<Vec<UpstreamOut>>, Problem> {
    require(&app, &headers, "upstreams:read").await?;
    Ok(Json(app.federation.configs().iter().map(|u| out(&app, u)).collect()))
}

#[utoipa::path(put, path = "/admin/v1/upstreams/{id}", tag = "upstreams", request_body = UpstreamConfig,
    params(("id" = String, Path, description = "the upstream's short name")),
    responses((status = 200, body = UpstreamOut), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["upstreams:write"])))]
pub async fn put(State(app): State<Arc<App>>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Result<Response, Problem> {
    let op = require(&app, &headers, "upstreams:write").await?;
    let mut cfg: UpstreamConfig = json_body(&headers, &body)?;
    if cfg.id != id {
        return Err(Problem::invalid_field("id", "must equal the id in the path"));
    }
    cfg.id = id;
    let upstream = Upstream::from_config(&cfg).map_err(|e| Problem::invalid_field("upstream", e.reason))?;
    if app.federation.is_from_config(&upstream.id) {
        return Err(Problem::conflict("this upstream is configured in nixa.toml"));
    }
    // The server will call this issuer: not a loopback, private or metadata address unless the
    // operator's `outbound_allow` names it (names are checked again whenever they resolve).
    app.outbound.check_url(&upstream.issuer_str()).map_err(|e| Problem::invalid_field("issuer", e))?;
    // Links are keyed by (upstream id, subject): another issuer under the same id would reach
    // the people linked to the old one.
    if app.federation.configs().iter().any(|u| u.id == upstream.id && u.issuer != upstream.issuer) {
        return Err(Problem::conflict("the issuer of an upstream cannot change: delete it (its links go with it) and add it again"));
    }
    let plain = serde_json::to_vec(&cfg).map_err(Problem::internal)?;
    let sealed = app.settings.master_key.seal(&format!("upstream:{}", upstream.id), &plain).map_err(Problem::internal)?;
    let now = app.now();
    app.store.put_upstream_provider(&upstream.id, &sealed, now).await?;
    app.federation.put(&upstream).map_err(Problem::internal)?;
    // The trust it is given, for whoever reads the log later (never the secret).
    let detail = json!({
        "operator": op.name, "upstream": upstream.id, "action": "put", "issuer": upstream.issuer.as_str(),
        "trust_level": upstream.trust_level.as_uri(), "trust_personal_id": upstream.trust_personal_id,
    });
    audit::record(&app.store, now, Event::AdminChange, None, None, detail).await?;
    Ok((StatusCode::OK, Json(out(&app, &upstream))).into_response())
}

#[utoipa::path(delete, path = "/admin/v1/upstreams/{id}", tag = "upstreams",
    params(("id" = String, Path, description = "the upstream's short name")),
    responses((status = 204), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["upstreams:write"])))]
pub async fn delete(State(app): State<Arc<App>>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, Problem> {
    let op = require(&app, &headers, "upstreams:write").await?;
    if app.federation.is_from_config(&id) {
        return Err(Problem::conflict("this upstream is configured in nixa.toml"));
    }
    if !app.store.delete_upstream_provider(&id).await? {
        return Err(Problem::not_found("upstream"));
    }
    app.federation.remove(&id);
    let detail = json!({"operator": op.name, "upstream": id, "action": "delete"});
    audit::record(&app.store, app.now(), Event::AdminChange, None, None, detail).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
