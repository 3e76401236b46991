//! Every error becomes a response here, in one place: protocol errors as the OAuth/OIDC specs
//! say (JSON body, redirect, or `WWW-Authenticate`), people-facing errors as a page in their
//! language. Internal details go to the log under an incident id, never to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::i18n::Locale;
use super::pages::{ErrorPage, render};
use crate::oidc::error::{ErrorCode, OAuthError};

/// Logs an internal error under a fresh incident id and returns the id.
pub fn log_incident(err: &dyn std::fmt::Display) -> String {
    let id = crate::keys::secret::random_token()[..12].to_string();
    tracing::error!(incident = %id, error = %err, "internal error");
    id
}

/// An error shown to a person as a page.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub locale: Locale,
    pub message_key: &'static str,
    pub incident: Option<String>,
}

impl PageError {
    pub fn new(status: StatusCode, locale: Locale, message_key: &'static str) -> Self {
        Self { status, locale, message_key, incident: None }
    }

    pub fn internal(locale: Locale, err: impl std::fmt::Display) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            locale,
            message_key: "error.internal",
            incident: Some(log_incident(&err)),
        }
    }

    pub fn expired(locale: Locale) -> Self {
        Self::new(StatusCode::BAD_REQUEST, locale, "error.request_expired")
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage { locale: self.locale, switch_href: None, message_key: self.message_key, incident: self.incident };
        render(self.status, &page)
    }
}

impl ErrorCode {
    fn status(self, at_resource: bool) -> StatusCode {
        match self {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
            // RFC 9449 §7.1: at a protected resource these are 401s.
            ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce if at_resource => StatusCode::UNAUTHORIZED,
            ErrorCode::InsufficientScope => StatusCode::FORBIDDEN,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// Token-endpoint style: JSON body (RFC 6749 §5.2); `invalid_client` after HTTP Basic gets a
/// 401 with a Basic challenge, bearer-token errors a Bearer challenge (RFC 6750 §3).
impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = self.code.status(self.dpop_challenge);
        let body = json!({ "error": self.code.as_str(), "error_description": self.description });
        let mut res = (status, axum::Json(body)).into_response();
        let h = res.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        let scheme = if self.dpop_challenge { "DPoP" } else { "Bearer" };
        let challenge = match self.code {
            ErrorCode::InvalidToken | ErrorCode::InsufficientScope => Some(format!(
                "{scheme} realm=\"nixa\", error=\"{}\", error_description=\"{}\"",
                self.code.as_str(),
                self.description.replace(['"', '\\'], "'")
            )),
            // RFC 9449 §7.1: a resource server asks for a proof (or a fresh one) with a DPoP
            // challenge.
            ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce if self.dpop_challenge => Some(format!(
                "DPoP realm=\"nixa\", error=\"{}\", algs=\"ES256 ES384 PS256 RS256 EdDSA\"",
                self.code.as_str()
            )),
            ErrorCode::InvalidClient if self.basic_challenge => Some("Basic realm=\"nixa\"".to_string()),
            _ => None,
        };
        if let Some(c) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            h.insert(header::WWW_AUTHENTICATE, c);
        }
        if let Some(n) = self.dpop_nonce.as_deref().and_then(|n| HeaderValue::from_str(n).ok()) {
            h.insert("dpop-nonce", n);
        }
        res
    }
}

/// For a bearer request without any token (RFC 6750 §3.1: no error code in the challenge).
pub fn bearer_missing() -> Response {
    let mut res = (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "invalid_token", "error_description": "no access token"}))).into_response();
    res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"nixa\""));
    res
}
