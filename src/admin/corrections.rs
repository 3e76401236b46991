//! `/admin/v1/corrections`: the people's correction requests (Decree 13/2023 Art. 9), listed by
//! status and answered by an operator. The person sees the answer on their account page.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::api::json_body;
use super::auth::require;
use super::problem::Problem;
use crate::audit::{self, Event};
use crate::state::App;
use crate::store::corrections::{CorrectionRequest, DONE, OPEN, REJECTED};

#[derive(Debug, Serialize, ToSchema)]
pub struct CorrectionOut {
    pub id: String,
    /// The person's 12-digit personal identification number.
    pub personal_id: String,
    pub created_at: i64,
    /// What the person says is wrong: name, birthdate, gender, nationality, address, phone,
    /// email, organisations, other.
    pub fields: Vec<String>,
    pub message: String,
    /// open | done | rejected
    pub status: String,
    pub answer: Option<String>,
    pub answered_at: Option<i64>,
    pub answered_by: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerIn {
    /// done (corrected) | rejected
    pub status: String,
    /// What the person is told, 1–1000 characters.
    pub answer: String,
}

/// The longest answer kept.
const ANSWER_MAX: usize = 1000;
/// The most requests listed at once.
const LIST_MAX: i64 = 500;

async fn out(app: &App, c: CorrectionRequest) -> Result<CorrectionOut, Problem> {
    let person = app.store.person(&c.person_id).await?.ok_or_else(|| Problem::not_found("person"))?;
    Ok(CorrectionOut {
        id: c.id,
        personal_id: person.personal_id.as_str().to_string(),
        created_at: c.created_at,
        fields: c.fields,
        message: c.message,
        status: c.status,
        answer: c.answer,
        answered_at: c.answered_at,
        answered_by: c.answered_by,
    })
}

#[utoipa::path(get, path = "/admin/v1/corrections", tag = "corrections",
    params(("status" = Option<String>, Query, description = "open (default), done or rejected")),
    responses((status = 200, body = [CorrectionOut]), (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["persons:read"])))]
pub async fn list(State(app): State<Arc<App>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Result<Json<Vec<CorrectionOut>>, Problem> {
    let op = require(&app, &headers, "persons:read").await?;
    let q = crate::web::form::Params::from_query(&q);
    let status = q.get("status").unwrap_or(OPEN);
    if ![OPEN, DONE, REJECTED].contains(&status) {
        return Err(Problem::invalid_field("status", "must be open, done or rejected"));
    }
    let mut list = Vec::new();
    for c in app.store.corrections_with_status(status, LIST_MAX).await? {
        list.push(out(&app, c).await?);
    }
    // Reading the queue shows personal ID numbers and the people's messages: audited.
    let detail = json!({"operator": op.name, "action": "corrections.list", "detail": {"status": status, "count": list.len()}});
    audit::record(&app.store, app.now(), Event::AdminChange, None, None, detail).await?;
    Ok(Json(list))
}

#[utoipa::path(post, path = "/admin/v1/corrections/{id}/answer", tag = "corrections", request_body = AnswerIn,
    params(("id" = String, Path, description = "the request's id")),
    responses((status = 200, body = CorrectionOut), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["persons:write"])))]
pub async fn answer(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<CorrectionOut>, Problem> {
    let op = require(&app, &headers, "persons:write").await?;
    let input: AnswerIn = json_body(&headers, &body)?;
    if ![DONE, REJECTED].contains(&input.status.as_str()) {
        return Err(Problem::invalid_field("status", "must be done or rejected"));
    }
    let text = input.answer.trim();
    if text.is_empty() || text.chars().count() > ANSWER_MAX || text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Problem::invalid_field("answer", "must be 1–1000 characters"));
    }
    let Some(found) = app.store.correction(&id).await? else { return Err(Problem::not_found("correction request")) };
    let now = app.now();
    if !app.store.answer_correction(&id, &input.status, text, &op.name, now).await? {
        return Err(Problem::conflict("this request was answered already"));
    }
    let detail = json!({"operator": op.name, "action": "corrections.answer", "detail": {"id": id, "status": input.status}});
    audit::record(&app.store, now, Event::AdminChange, Some(&found.person_id), None, detail).await?;
    let answered = app.store.correction(&id).await?.ok_or_else(|| Problem::not_found("correction request"))?;
    Ok(Json(out(&app, answered).await?))
}
