//! RFC 9457 (formerly 7807) problem details: every admin API error.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::web::incident::Incident;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For an internal error: what the log records under the id in `detail`.
    #[serde(skip)]
    #[schema(ignore)]
    pub incident: Option<Incident>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:nixa:problem:{kind}"),
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
            incident: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid-request", "The request is not valid", detail)
    }

    pub fn invalid_field(field: &str, detail: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-field", "A field is not valid", format!("{field}: {detail}"))
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", format!("no such {what}"))
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "The request conflicts with the current state", detail)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Operator authentication required",
            "send a valid operator token as a Bearer token",
        )
    }

    pub fn forbidden(scope: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "insufficient-scope",
            "The operator token lacks a scope",
            format!("this operation needs the scope {scope}"),
        )
    }

    pub fn internal(err: impl crate::web::incident::Cause) -> Self {
        let incident = Incident::new(err);
        let problem = if incident.is_unavailable() {
            Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service briefly unavailable", format!("incident {}", incident.id()))
        } else {
            Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error", format!("incident {}", incident.id()))
        };
        Self { incident: Some(incident), ..problem }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let unauthorized = status == StatusCode::UNAUTHORIZED;
        let incident = self.incident.clone();
        let mut res = (status, axum::Json(self)).into_response();
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if unauthorized {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"nixa-admin\""));
        }
        Incident::attach_if_any(incident, res)
    }
}

impl From<crate::store::StoreError> for Problem {
    fn from(e: crate::store::StoreError) -> Self {
        Problem::internal(e)
    }
}
