//! OAuth 2.0 / OpenID Connect error codes (RFC 6749 §4.1.2.1, §5.2; OIDC Core §3.1.2.6;
//! RFC 6750 §3.1), and their HTTP form beside them: one mapping from an error to status, body
//! and challenge.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::web::incident::Incident;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    InvalidToken,
    InsufficientScope,
    /// RFC 9101 §6.2 / RFC 9126 §2.3.
    InvalidRequestUri,
    InvalidRequestObject,
    /// RFC 9449 §5, §8.
    InvalidDpopProof,
    UseDpopNonce,
    /// RFC 7009 §2.2.1.
    UnsupportedTokenType,
    /// RFC 8628 §3.5.
    AuthorizationPending,
    SlowDown,
    ExpiredToken,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::InvalidRequestUri => "invalid_request_uri",
            ErrorCode::InvalidRequestObject => "invalid_request_object",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::ExpiredToken => "expired_token",
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: Cow<'static, str>,
    /// The client authenticated with HTTP Basic, so a 401 carries a Basic challenge.
    pub basic_challenge: bool,
    /// A fresh server nonce for the client's next DPoP proof (RFC 9449 §8).
    pub dpop_nonce: Option<String>,
    /// A protected resource error for a DPoP-bound token: the challenge uses the DPoP scheme.
    pub dpop_challenge: bool,
    /// For `server_error`: what the log records under the id the client sees.
    pub incident: Option<Incident>,
    /// Over a rate limit: `429` with `Retry-After` (seconds; small, so the error stays small).
    pub retry_after: Option<std::num::NonZeroU32>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: description.into(),
            basic_challenge: false,
            dpop_nonce: None,
            dpop_challenge: false,
            incident: None,
            retry_after: None,
        }
    }

    pub fn invalid_request(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }

    pub fn invalid_grant(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }

    pub fn invalid_client(d: impl Into<Cow<'static, str>>, basic: bool) -> Self {
        Self { basic_challenge: basic, ..Self::new(ErrorCode::InvalidClient, d) }
    }

    /// Over a rate limit (RFC 6585 §4): come back after `wait`.
    pub fn too_many(description: impl Into<Cow<'static, str>>, wait: std::time::Duration) -> Self {
        let secs = u32::try_from(wait.as_secs()).unwrap_or(u32::MAX).max(1);
        Self { retry_after: std::num::NonZeroU32::new(secs), ..Self::new(ErrorCode::TemporarilyUnavailable, description) }
    }

    pub fn with_dpop_nonce(mut self, nonce: String) -> Self {
        self.dpop_nonce = Some(nonce);
        self
    }

    pub fn dpop_scheme(mut self) -> Self {
        self.dpop_challenge = true;
        self
    }

    /// The cause goes to the log under an incident id; the client sees only the id.
    /// The database briefly unavailable is `temporarily_unavailable` (503, RFC 6749 §4.1.2.1)
    /// instead: nothing was decided, the client may retry.
    pub fn server_error(err: impl crate::web::incident::Cause) -> Self {
        let incident = Incident::new(err);
        let code = if incident.is_unavailable() { ErrorCode::TemporarilyUnavailable } else { ErrorCode::ServerError };
        Self { incident: Some(incident.clone()), ..Self::new(code, format!("internal error, incident {}", incident.id())) }
    }

    /// Hands a server error's incident to the logging layer with the response that reports it.
    pub fn attach_incident(&self, res: Response) -> Response {
        Incident::attach_if_any(self.incident.clone(), res)
    }
}

/// Storage failures are internal: an incident, never a detail the client sees.
impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::server_error(e)
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
        let status = if self.retry_after.is_some() { StatusCode::TOO_MANY_REQUESTS } else { self.code.status(self.dpop_challenge) };
        let body = json!({ "error": self.code.as_str(), "error_description": self.description });
        let mut res = (status, axum::Json(body)).into_response();
        let h = res.headers_mut();
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs.get()));
        }
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
            ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce if self.dpop_challenge => {
                Some(format!("DPoP realm=\"nixa\", error=\"{}\", algs=\"ES256 ES384 PS256 RS256 EdDSA\"", self.code.as_str()))
            }
            ErrorCode::InvalidClient if self.basic_challenge => Some("Basic realm=\"nixa\"".to_string()),
            _ => None,
        };
        if let Some(c) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            h.insert(header::WWW_AUTHENTICATE, c);
        }
        if let Some(n) = self.dpop_nonce.as_deref().and_then(|n| HeaderValue::from_str(n).ok()) {
            h.insert("dpop-nonce", n);
        }
        self.attach_incident(res)
    }
}

/// For a bearer request without any token (RFC 6750 §3.1: no error code in the challenge).
pub fn bearer_missing() -> Response {
    let mut res =
        (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "invalid_token", "error_description": "no access token"}))).into_response();
    res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"nixa\""));
    res
}
