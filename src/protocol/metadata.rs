//! The provider's metadata (OpenID Connect Discovery 1.0 §3), built once at start from the
//! settings; `discovery` serves it.

use serde_json::json;

use super::{jose, scopes};
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
        "grant_types_supported": ["authorization_code", "refresh_token", crate::client::GRANT_DEVICE_CODE],
        "device_authorization_endpoint": s.url("/device_authorization"),
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": jose::alg_names(&jose::CLIENT_ALGS),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "introspection_signing_alg_values_supported": ["ES256", "RS256"],
        "dpop_signing_alg_values_supported": jose::alg_names(&jose::DPOP_ALGS),
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
