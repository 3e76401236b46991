//! `POST /api/v1/certificates/verify`: the same JSON report as `nixa cert verify --json`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;

use super::{Cert, Mode, Policy, Revocation};
use crate::admin::problem::Problem;
use crate::state::App;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// PEM, or base64 of the DER.
    pub certificate: String,
    #[serde(default)]
    pub intermediates: Vec<String>,
    /// RFC 3339; now by default.
    pub at: Option<String>,
    /// `fail_closed`, `soft_fail` or `off`; the server's `[pki] revocation` by default.
    pub revocation: Option<Mode>,
    /// The certificate is a CA certificate.
    #[serde(default)]
    pub ca: bool,
}

fn parse_cert(field: &str, s: &str) -> Result<Vec<Cert>, Problem> {
    let bytes = if s.contains("-----BEGIN") {
        s.as_bytes().to_vec()
    } else {
        base64::engine::general_purpose::STANDARD.decode(s.trim()).map_err(|e| Problem::invalid_field(field, e))?
    };
    Cert::parse_all(&bytes).map_err(|e| Problem::invalid_field(field, e))
}

pub async fn verify(State(app): State<Arc<App>>, body: Result<Json<VerifyRequest>, JsonRejection>) -> Response {
    match run(&app, body).await {
        Ok(r) => r,
        Err(p) => p.into_response(),
    }
}

async fn run(app: &App, body: Result<Json<VerifyRequest>, JsonRejection>) -> Result<Response, Problem> {
    let Json(req) = body.map_err(|e| Problem::bad_request(e.body_text()))?;
    let leaf = parse_cert("certificate", &req.certificate)?.remove(0);
    let mut intermediates = Vec::new();
    for (i, s) in req.intermediates.iter().enumerate().take(16) {
        intermediates.extend(parse_cert(&format!("intermediates[{i}]"), s)?);
    }
    let at = match &req.at {
        None => app.now(),
        Some(t) => time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .map_err(|e| Problem::invalid_field("at", e))?
            .unix_timestamp(),
    };
    let policy = if req.ca { Policy::ca(at) } else { Policy::signature(at) };
    let mode = req.revocation.unwrap_or(app.settings.pki.revocation);
    let mut rev = Revocation::new(mode);
    if mode != Mode::Off {
        let path = super::path::validate(&leaf, &intermediates, &app.pki, &policy);
        if path.valid() {
            rev = super::online::revocation_for(&app.outbound, &app.crls, &app.settings.pki, &path.chain, at, mode).await;
        }
    }
    let report = super::verify(&leaf, &intermediates, &app.pki, &policy, &rev);
    Ok((StatusCode::OK, Json(report)).into_response())
}
