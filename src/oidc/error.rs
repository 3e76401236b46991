//! OAuth 2.0 / OpenID Connect error codes (RFC 6749 §4.1.2.1, §5.2; OIDC Core §3.1.2.6;
//! RFC 6750 §3.1). Their HTTP form is decided in `web::error`.

use std::borrow::Cow;

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
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self { code, description: description.into(), basic_challenge: false, dpop_nonce: None, dpop_challenge: false }
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

    pub fn with_dpop_nonce(mut self, nonce: String) -> Self {
        self.dpop_nonce = Some(nonce);
        self
    }

    pub fn dpop_scheme(mut self) -> Self {
        self.dpop_challenge = true;
        self
    }

    /// Logs the cause under an incident id; the client sees only the id.
    pub fn server_error(err: impl std::fmt::Display) -> Self {
        let id = crate::web::error::log_incident(&err);
        Self::new(ErrorCode::ServerError, format!("internal error, incident {id}"))
    }
}
