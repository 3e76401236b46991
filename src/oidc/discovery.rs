//! OpenID Provider metadata (OIDC Discovery 1.0 §3, RFC 8414) and the JWKS.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{jose, scopes};
use crate::app::App;
use crate::assurance::Acr;
use crate::config::Settings;

pub fn document(s: &Settings) -> String {
    json!({
        "issuer": s.issuer_str,
        "authorization_endpoint": s.url("/authorize"),
        "token_endpoint": s.url("/token"),
        "userinfo_endpoint": s.url("/userinfo"),
        "jwks_uri": s.url("/jwks"),
        "pushed_authorization_request_endpoint": s.url("/par"),
        "introspection_endpoint": s.url("/introspect"),
        "revocation_endpoint": s.url("/revoke"),
        "end_session_endpoint": s.url("/logout"),
        "registration_endpoint": s.url("/register"),
        "scopes_supported": scopes::SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", super::client::GRANT_DEVICE_CODE],
        "device_authorization_endpoint": s.url("/device_authorization"),
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": jose::alg_names(&jose::CLIENT_ALGS),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "introspection_signing_alg_values_supported": ["ES256", "RS256"],
        "dpop_signing_alg_values_supported": jose::alg_names(&super::dpop::ALGS),
        "request_object_signing_alg_values_supported": jose::alg_names(&jose::CLIENT_ALGS),
        "require_pushed_authorization_requests": false,
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": scopes::CLAIMS,
        "acr_values_supported": Acr::ALL.iter().map(|a| a.as_uri()).collect::<Vec<_>>(),
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "ui_locales_supported": ["vi", "en"],
        "claims_locales_supported": ["vi"],
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": true,
        "request_parameter_supported": true,
        "request_uri_parameter_supported": false,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    })
    .to_string()
}

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
