//! HTTP: `GET /api/v1/credentials/qr` (the person's own credential, for the app or the signed-in
//! browser), `POST /api/v1/credentials/verify` and the published verification keys.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::verify::{self, Options, StatusOutcome};
use crate::admin::problem::Problem;
use crate::state::App;

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
    let status = |uri: &str, idx: u64, _kid: &[u8]| {
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
    let report = verify::verify(&req.text, &opts);
    app.stats.record(crate::stats::Observation::verification(app.now(), report.valid, &report.claims));
    (StatusCode::OK, Json(report)).into_response()
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
        Ok(t) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("application/statuslist+cwt")),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300")),
            ],
            t,
        )
            .into_response(),
        Err(e) => Problem::internal(e).into_response(),
    }
}

const CACHE: &str = "public, max-age=3600";

/// `GET /.well-known/nixa-credential-keys.json`: the verification keys as a JWKS.
pub async fn jwks(State(app): State<Arc<App>>) -> Response {
    let body = app.credentials.keys.to_jwks().to_string();
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json")),
            (header::CACHE_CONTROL, HeaderValue::from_static(CACHE)),
        ],
        body,
    )
        .into_response()
}

/// `GET /.well-known/nixa-credential-keys.cbor`: the same keys as a COSE_KeySet.
pub async fn cose_keys(State(app): State<Arc<App>>) -> Response {
    let body = app.credentials.keys.to_cose_key_set();
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/cose-key-set")),
            (header::CACHE_CONTROL, HeaderValue::from_static(CACHE)),
        ],
        body,
    )
        .into_response()
}

async fn caller(
    app: &App,
    headers: &axum::http::HeaderMap,
    jar: &axum_extra::extract::CookieJar,
    method: &str,
    path: &str,
) -> Result<crate::identity::person::Person, crate::authn::app_device::ApiError> {
    use crate::authn::app_device::{self, ApiError};
    if headers.contains_key(header::AUTHORIZATION) {
        return Ok(app_device::authenticate(app, headers, method, path).await?.person);
    }
    let s = crate::signin::session::current(app, jar, app.now())
        .await?
        .ok_or_else(|| ApiError::invalid_token("sign in, or send a device proof: Authorization: Device <jws>"))?;
    let p = app.store.person(&s.record.person_id).await?.ok_or_else(|| ApiError::invalid_token("unknown person"))?;
    if p.status != crate::identity::PersonStatus::Active {
        return Err(ApiError::invalid_token("this account cannot sign in"));
    }
    Ok(p)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// The index in our status list (`status index N` when the credential was issued).
    pub idx: i64,
}

/// `POST /api/v1/credentials/revoke` `{"idx": N}`: the owner (app or signed-in browser)
/// revokes one of their own credentials; anybody else's index is `not_found`, like a missing one.
pub async fn owner_revoke(
    State(app): State<Arc<App>>,
    headers: axum::http::HeaderMap,
    jar: axum_extra::extract::CookieJar,
    body: Result<Json<RevokeRequest>, JsonRejection>,
) -> Response {
    use crate::authn::app_device::{ApiError, json_response};
    let run = async {
        let person = caller(&app, &headers, &jar, "POST", "/api/v1/credentials/revoke").await?;
        let Json(req) = body.map_err(|e| ApiError::invalid_request(e.body_text()))?;
        let now = app.now();
        let done = app.store.revoke_credential(super::service::LIST_ID, req.idx, Some(person.personal_id.as_str()), "owner", now).await?;
        if !done {
            return Err(ApiError::not_found("no live credential of yours has this index"));
        }
        let detail = serde_json::json!({"idx": req.idx, "by": "owner"});
        crate::audit::record(&app.store, now, crate::audit::Event::CredentialRevoked, Some(&person.id), None, detail).await?;
        Ok::<_, ApiError>(json_response(StatusCode::OK, serde_json::json!({"revoked": true, "idx": req.idx})))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/v1/credentials/qr[?fields=fullName,id&minutes=5]`: the caller's identity
/// credential, or with `fields` a presentation credential of those fields only (a nonce, 1–60
/// minutes). The caller is the app (`Authorization: Device <proof>` for this method and path)
/// or the browser of a signed-in person (session cookie).
pub async fn own_qr(
    State(app): State<Arc<App>>,
    headers: axum::http::HeaderMap,
    jar: axum_extra::extract::CookieJar,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> Response {
    use crate::authn::app_device::{ApiError, json_response};
    let run = async {
        let q = crate::web::form::Params::from_query(&q);
        let fields: Option<Vec<String>> =
            q.get("fields").map(|f| f.split(',').map(str::trim).filter(|f| !f.is_empty()).map(str::to_string).collect());
        if let Some(f) = &fields {
            if f.is_empty() {
                return Err(ApiError::invalid_request("fields names no field"));
            }
            if let Some(bad) = f.iter().find(|f| !super::person::PRESENTABLE.contains(&f.as_str())) {
                return Err(ApiError::invalid_request(format!("fields: {bad} is not one of {}", super::person::PRESENTABLE.join(", "))));
            }
        }
        let minutes = match (q.get("minutes"), &fields) {
            (None, None) => super::person::IDENTITY_MINUTES,
            (None, Some(_)) => 5,
            (Some(_), None) => return Err(ApiError::invalid_request("minutes applies to a presentation credential (with fields)")),
            (Some(m), Some(_)) => m
                .parse::<i64>()
                .ok()
                .filter(|m| (1..=60).contains(m))
                .ok_or_else(|| ApiError::invalid_request("minutes must be 1 to 60"))?,
        };
        let person = caller(&app, &headers, &jar, "GET", "/api/v1/credentials/qr").await?;
        // The app keeps its identity credential: it gets a status reference, so the owner or an
        // operator can revoke it (`POST /api/v1/credentials/revoke`).
        let uri = app.credentials.status_uri();
        let status = match fields {
            None => {
                let now = app.now();
                let idx = app
                    .credentials
                    .allocate_status(&app.store, person.personal_id.as_str(), "person", now, now + minutes * 60)
                    .await
                    .map_err(ApiError::internal)?;
                Some((uri.as_str(), idx))
            }
            Some(_) => None,
        };
        let issued = super::person::issue(&app, &person, fields.as_deref(), minutes, status).map_err(ApiError::internal)?;
        let carried: Vec<&str> = match &fields {
            Some(f) => f.iter().map(String::as_str).collect(),
            None => super::person::PRESENTABLE.to_vec(),
        };
        let channel = if fields.is_some() { "qr_presentation" } else { "qr_identity" };
        let source = format!("qr:{}", crate::crypto::random_token());
        crate::privacy::disclosure::record_credential(&app.store, &person.id, channel, source, &carried, app.now())
            .await
            .map_err(ApiError::internal)?;
        let svg = super::render::svg(&issued.text).map_err(ApiError::internal)?;
        let mut res = json_response(
            StatusCode::OK,
            serde_json::json!({
                "kind": if fields.is_some() { "presentation" } else { "identity" },
                "text": issued.text,
                "nonce": issued.nonce,
                "status_index": status.map(|(_, i)| i),
                "expires_at": issued.expires_at,
                "svg": format!("data:image/svg+xml;base64,{}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, svg)),
            }),
        );
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok::<_, ApiError>(res)
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}
