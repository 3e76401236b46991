//! HTTP: `POST /api/v1/credentials/verify` and the published verification keys.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::verify::{self, Options, StatusOutcome};
use crate::admin::problem::Problem;
use crate::app::App;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The QR text.
    pub text: String,
    /// RFC 3339; now by default.
    pub at: Option<String>,
}

/// Answers 200 with the report for any QR text; a problem only for an unusable body.
pub async fn verify(State(app): State<Arc<App>>, body: Result<Json<VerifyRequest>, JsonRejection>) -> Response {
    let req = match body {
        Ok(Json(r)) => r,
        Err(e) => return Problem::bad_request(e.body_text()).into_response(),
    };
    let now = match &req.at {
        None => app.now(),
        Some(t) => match time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339) {
            Ok(t) => t.unix_timestamp(),
            Err(e) => return Problem::invalid_field("at", e).into_response(),
        },
    };
    // Our own list is read from the database; other lists are not fetched by the server.
    let list = match app.credentials.status_list(&app.store).await {
        Ok(l) => l,
        Err(e) => return Problem::internal(e).into_response(),
    };
    let status = |uri: &str, idx: u64| {
        if uri != list.uri {
            return StatusOutcome::Unavailable(format!("status list {uri} is not this issuer's"));
        }
        match list.is_revoked(idx) {
            Ok(true) => StatusOutcome::Revoked,
            Ok(false) => StatusOutcome::Valid,
            Err(e) => StatusOutcome::Unavailable(e.to_string()),
        }
    };
    let mut opts = Options::new(&app.credentials.keys, now);
    opts.status = Some(&status);
    (StatusCode::OK, Json(verify::verify(&req.text, &opts))).into_response()
}

/// Lifetime of a served status list token, and how long verifiers may cache it.
const LIST_LIFETIME: i64 = 24 * 3600;
const LIST_TTL: i64 = 300;

/// `GET /credentials/status/{list}`: the signed Token Status List (CWT form).
pub async fn status_list(State(app): State<Arc<App>>, axum::extract::Path(list): axum::extract::Path<i64>) -> Response {
    if list != super::service::LIST_ID {
        return Problem::not_found("status list").into_response();
    }
    let token = match app.credentials.status_list(&app.store).await {
        Ok(l) => l.sign(&app.credentials.signer, app.now(), LIST_LIFETIME, LIST_TTL),
        Err(e) => return Problem::internal(e).into_response(),
    };
    match token {
        Ok(t) => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/statuslist+cwt")), (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"))], t).into_response(),
        Err(e) => Problem::internal(e).into_response(),
    }
}

const CACHE: &str = "public, max-age=3600";

/// `GET /.well-known/nixa-credential-keys.json`: the verification keys as a JWKS.
pub async fn jwks(State(app): State<Arc<App>>) -> Response {
    let body = app.credentials.keys.to_jwks().to_string();
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json")), (header::CACHE_CONTROL, HeaderValue::from_static(CACHE))], body).into_response()
}

/// `GET /.well-known/nixa-credential-keys.cbor`: the same keys as a COSE_KeySet.
pub async fn cose_keys(State(app): State<Arc<App>>) -> Response {
    let body = app.credentials.keys.to_cose_key_set();
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/cose-key-set")), (header::CACHE_CONTROL, HeaderValue::from_static(CACHE))], body).into_response()
}
