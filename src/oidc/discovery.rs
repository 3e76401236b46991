//! OpenID Provider metadata (OIDC Discovery 1.0 §3, RFC 8414) and the JWKS.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::state::App;

fn json_response(body: String, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")),
        ],
        body,
    )
        .into_response()
}

pub async fn configuration(State(app): State<Arc<App>>) -> Response {
    json_response(app.discovery.clone(), "public, max-age=3600")
}

/// Keys are published a full `key_publish_lead` before they sign, so five minutes of caching
/// never leaves a verifier without a key.
pub async fn jwks(State(app): State<Arc<App>>) -> Response {
    let mut res = json_response(app.keys.jwks().to_string(), "public, max-age=300");
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jwk-set+json"));
    res
}
