//! `/admin/v1/audit`: the audit log for machines with `audit:read` (a SIEM's pull, an auditor's
//! script), with the console's filters; JSON Lines or CSV, oldest first.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::require;
use super::problem::Problem;
use crate::audit::{self, Event};
use crate::console::audit_log::{EXPORT_MAX, export_body, filter_of};
use crate::state::App;

#[utoipa::path(get, path = "/admin/v1/audit", tag = "audit",
    params(("event" = Option<String>, Query, description = "an event name, e.g. login.failed"),
        ("personal_id" = Option<String>, Query, description = "entries about this person"),
        ("client" = Option<String>, Query, description = "entries about this portal"),
        ("operator" = Option<String>, Query, description = "entries of this operator (as entries name them)"),
        ("from" = Option<String>, Query, description = "first day, YYYY-MM-DD (UTC)"),
        ("to" = Option<String>, Query, description = "last day, YYYY-MM-DD (UTC)"),
        ("format" = Option<String>, Query, description = "jsonl (default) or csv")),
    responses((status = 200, description = "the matching entries, oldest first, at most 100,000 (the newest)"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["audit:read"])))]
pub async fn export(State(app): State<Arc<App>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<Response, Problem> {
    let op = require(&app, &headers, "audit:read").await?;
    let q = crate::web::form::Params::from_query(&q);
    let csv = match q.get("format") {
        None | Some("jsonl") => false,
        Some("csv") => true,
        Some(_) => return Err(Problem::invalid_field("format", "must be jsonl or csv")),
    };
    let filter = filter_of(&app, &q)
        .await
        .map_err(|field| Problem::invalid_field(field, "is not usable (a day is YYYY-MM-DD, a personal ID 12 digits)"))?;
    let entries = app.store.audit_search(&filter, None, EXPORT_MAX).await?;
    let detail = json!({"operator": op.name, "format": if csv { "csv" } else { "jsonl" }, "entries": entries.len()});
    audit::record(&app.store, app.now(), Event::AuditExported, None, None, detail).await?;
    let (ctype, body) = export_body(&entries, csv);
    Ok(([(header::CONTENT_TYPE, ctype)], body).into_response())
}
