//! `/admin/v1/stats`: the monitoring centre's anonymised statistics (`stats::export`).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::auth::require;
use super::problem::Problem;
use crate::state::App;
use crate::stats::export::{self, ExportError, Request};

impl From<ExportError> for Problem {
    fn from(e: ExportError) -> Self {
        let field = match e {
            ExportError::Dim(_) | ExportError::TooMany | ExportError::TooFine(_) => "by",
            ExportError::Dates => "from",
            ExportError::Metric(_) => "metric",
            ExportError::K(_) => "k",
        };
        Problem::invalid_field(field, e)
    }
}

#[utoipa::path(get, path = "/admin/v1/stats", tag = "stats",
    params(("from" = String, Query, description = "first day, YYYY-MM-DD (Viet Nam time)"),
        ("to" = String, Query, description = "last day, YYYY-MM-DD"),
        ("by" = Option<String>, Query, description = "up to three of day, portal, acr, method, outcome, subject_type, gender, age_band, province, comma-separated"),
        ("metric" = Option<String>, Query, description = "sign_in, consent_given, consent_withdrawn, qr_verified, satisfaction, comma-separated (default: all)"),
        ("k" = Option<u64>, Query, description = "a threshold above the server's (never below)"),
        ("format" = Option<String>, Query, description = "json (default) or csv")),
    responses((status = 200, description = "the anonymised tables: a null (JSON) or empty (CSV) count is suppressed"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["stats:read"])))]
pub async fn export(State(app): State<Arc<App>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<Response, Problem> {
    require(&app, &headers, "stats:read").await?;
    let q = crate::web::form::Params::from_query(&q);
    let k = match q.get("k") {
        None => app.settings.stats_k,
        Some(k) => k.parse().map_err(|_| Problem::invalid_field("k", "must be a whole number"))?,
    };
    let request = Request {
        from: q.get("from").unwrap_or_default().to_string(),
        to: q.get("to").unwrap_or_default().to_string(),
        by: export::parse_by(q.get("by").unwrap_or_default())?,
        metrics: export::parse_metrics(q.get("metric"))?,
        k,
    };
    let csv = match q.get("format") {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(Problem::invalid_field("format", "must be json or csv")),
    };
    let out = export::export(&app.store, request, app.settings.stats_k).await??;
    Ok(if csv {
        ([(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"))], out.to_csv()).into_response()
    } else {
        axum::Json(out.to_json()).into_response()
    })
}

#[utoipa::path(get, path = "/admin/v1/stats/integration", tag = "stats",
    params(("from" = String, Query, description = "first day, YYYY-MM-DD (Viet Nam time)"),
        ("to" = String, Query, description = "last day, YYYY-MM-DD")),
    responses((status = 200, description = "portals by administrative level and profile; the share of sign-ins at each acr (anonymised)"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["stats:read"])))]
pub async fn integration(State(app): State<Arc<App>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<Response, Problem> {
    require(&app, &headers, "stats:read").await?;
    let q = crate::web::form::Params::from_query(&q);
    let (from, to) = (q.get("from").unwrap_or_default(), q.get("to").unwrap_or_default());
    let out = crate::stats::integration::report(&app.store, from, to, app.settings.stats_k).await??;
    Ok(axum::Json(out).into_response())
}
