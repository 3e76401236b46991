//! Validation of an authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636).
//!
//! Order matters (RFC 6749 §4.1.2.1): until the client and its redirect URI are established, an
//! error is shown to the person as a page; after that, errors go back to the portal.

use serde::{Deserialize, Serialize};

use super::error::{ErrorCode, OAuthError};
use super::scopes;
use crate::client::{Client, ClientId};
use crate::scope::Scopes;
use crate::web::form::{FormError, Params};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: ClientIdText,
    pub redirect_uri: String,
    pub scopes: Scopes,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    pub acr_values: Option<String>,
    /// The `claims` parameter, validated (OIDC Core §5.5).
    #[serde(default)]
    pub claims: Option<super::claims_request::ClaimsRequest>,
    /// RFC 9449 §10: the DPoP key the code will be bound to.
    #[serde(default)]
    pub dpop_jkt: Option<String>,
    /// Names the upstream identity provider to sign in with, skipping the choice on the login
    /// page (Keycloak's `kc_idp_hint` convention; `kc_idp_hint` is accepted too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_hint: Option<String>,
}

impl AuthorizationRequest {
    pub fn essential_acr(&self) -> Option<super::claims_request::EssentialAcr> {
        self.claims.as_ref()?.essential_acr()
    }

    /// The level a session must reach: the stronger of `acr_values` (voluntary, OIDC Core
    /// §3.1.2.1) and an essential `acr` claim request.
    pub fn required_acr(&self) -> Option<crate::assurance::Acr> {
        let voluntary = self.acr_values.as_deref().and_then(crate::assurance::Acr::minimum_of);
        let essential = match self.essential_acr() {
            Some(super::claims_request::EssentialAcr::AtLeast(a)) => Some(a),
            _ => None,
        };
        voluntary.max(essential)
    }
}

/// The client id as stored inside a serialised request.
pub type ClientIdText = String;

/// Why a request was refused before its redirect URI could be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageReason {
    Malformed,
    MissingClient,
    UnknownClient,
    BadRedirectUri,
    /// RFC 9126 §4: unknown, expired, used, or another client's.
    BadRequestUri,
}

impl PageReason {
    pub fn message_key(self) -> &'static str {
        match self {
            PageReason::Malformed => "error.malformed",
            PageReason::MissingClient => "error.missing_client",
            PageReason::UnknownClient => "error.unknown_client",
            PageReason::BadRedirectUri => "error.bad_redirect_uri",
            PageReason::BadRequestUri => "error.bad_request_uri",
        }
    }
}

#[derive(Debug)]
pub enum Rejection {
    /// Shown to the person; the portal is not told.
    Page(PageReason),
    /// Sent to the validated redirect URI.
    Redirect { redirect_uri: String, state: Option<String>, error: OAuthError },
}

const MAX_PARAM: usize = 2048;

/// Step 1: the client id to look up.
pub fn client_of(params: &Result<Params, FormError>) -> Result<(&Params, ClientId), Rejection> {
    let p = params.as_ref().map_err(|_| Rejection::Page(PageReason::Malformed))?;
    if matches!(p.duplicate(), Some("client_id" | "redirect_uri")) {
        return Err(Rejection::Page(PageReason::Malformed));
    }
    let id = p.get("client_id").ok_or(Rejection::Page(PageReason::MissingClient))?;
    let id = ClientId::parse(id).ok_or(Rejection::Page(PageReason::UnknownClient))?;
    Ok((p, id))
}

/// Step 3 onwards, with the registered client in hand.
pub fn validate(p: &Params, client: &Client) -> Result<AuthorizationRequest, Rejection> {
    let redirect_uri = p.get("redirect_uri").ok_or(Rejection::Page(PageReason::BadRedirectUri))?;
    if !client.has_redirect_uri(redirect_uri) {
        return Err(Rejection::Page(PageReason::BadRedirectUri));
    }
    let state = p.get("state").map(str::to_owned);
    let fail = |code: ErrorCode, d: &'static str| Rejection::Redirect {
        redirect_uri: redirect_uri.to_string(),
        state: state.clone(),
        error: OAuthError::new(code, d),
    };
    if state.as_ref().is_some_and(|s| s.len() > MAX_PARAM) {
        return Err(Rejection::Redirect {
            redirect_uri: redirect_uri.to_string(),
            state: None,
            error: OAuthError::invalid_request("state is too long"),
        });
    }
    if p.duplicate().is_some() {
        return Err(fail(ErrorCode::InvalidRequest, "a parameter is included more than once"));
    }
    // Request objects and request URIs are resolved by the caller before validation; one that
    // is still here was nested, which RFC 9101 §4 forbids.
    if p.has("request") || p.has("request_uri") {
        return Err(fail(ErrorCode::InvalidRequest, "request and request_uri cannot be nested"));
    }
    match p.get("response_type") {
        None => return Err(fail(ErrorCode::InvalidRequest, "response_type is required")),
        Some("code") => {}
        Some(_) => return Err(fail(ErrorCode::UnsupportedResponseType, "only response_type=code is supported")),
    }
    if p.get("response_mode").is_some_and(|m| m != "query") {
        return Err(fail(ErrorCode::InvalidRequest, "only response_mode=query is supported"));
    }
    let scopes = scopes::requested(client, p.get("scope")).map_err(|why| fail(ErrorCode::InvalidScope, why))?;
    let code_challenge =
        p.get("code_challenge").ok_or_else(|| fail(ErrorCode::InvalidRequest, "code_challenge is required (PKCE with S256)"))?;
    match p.get("code_challenge_method") {
        Some("S256") => {}
        None => return Err(fail(ErrorCode::InvalidRequest, "code_challenge_method is required and must be S256")),
        Some(_) => return Err(fail(ErrorCode::InvalidRequest, "code_challenge_method must be S256")),
    }
    // base64url of a SHA-256 digest: exactly 43 characters.
    let challenge_ok = code_challenge.len() == 43 && code_challenge.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !challenge_ok {
        return Err(fail(ErrorCode::InvalidRequest, "code_challenge is not a base64url SHA-256 digest"));
    }
    let nonce = p.get("nonce").map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_PARAM) {
        return Err(fail(ErrorCode::InvalidRequest, "nonce is too long"));
    }
    let mut prompt = Prompt::default();
    if let Some(list) = p.get("prompt") {
        for v in list.split_ascii_whitespace() {
            match v {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                // We have one account per browser session, so there is nothing to select.
                "select_account" => {}
                _ => return Err(fail(ErrorCode::InvalidRequest, "unsupported prompt value")),
            }
        }
        if prompt.none && list.split_ascii_whitespace().count() > 1 {
            return Err(fail(ErrorCode::InvalidRequest, "prompt=none cannot be combined with other values"));
        }
    }
    let max_age = match p.get("max_age") {
        None => None,
        Some(v) => {
            Some(v.parse::<u32>().map(i64::from).map_err(|_| fail(ErrorCode::InvalidRequest, "max_age must be a non-negative integer"))?)
        }
    };
    let claims = match p.get("claims") {
        None => None,
        Some(raw) if raw.len() > 4096 => return Err(fail(ErrorCode::InvalidRequest, "claims is too long")),
        Some(raw) => Some(
            super::claims_request::ClaimsRequest::parse(raw)
                .map_err(|_| fail(ErrorCode::InvalidRequest, "claims is not a valid claims request (OIDC Core 5.5)"))?,
        ),
    };
    let dpop_jkt = match p.get("dpop_jkt") {
        None => None,
        Some(j) if j.len() == 43 && j.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => Some(j.to_string()),
        Some(_) => return Err(fail(ErrorCode::InvalidRequest, "dpop_jkt is not a base64url SHA-256 thumbprint")),
    };
    let short = |name: &str| p.get(name).filter(|v| v.len() <= 256).map(str::to_owned);
    Ok(AuthorizationRequest {
        client_id: client.id.as_str().to_string(),
        redirect_uri: redirect_uri.to_string(),
        scopes,
        state,
        nonce,
        code_challenge: code_challenge.to_string(),
        prompt,
        max_age,
        login_hint: short("login_hint"),
        ui_locales: short("ui_locales"),
        acr_values: short("acr_values"),
        claims,
        dpop_jkt,
        idp_hint: short("idp_hint").or_else(|| short("kc_idp_hint")),
    })
}

/// The redirect back to the portal, with `iss` (RFC 9207) and `state`.
pub fn redirect_with(redirect_uri: &str, issuer: &str, state: Option<&str>, params: &[(&str, &str)]) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
                if let Some(s) = state {
                    q.append_pair("state", s);
                }
                q.append_pair("iss", issuer);
            }
            url.to_string()
        }
        // Registered redirect URIs are validated absolute URLs; this is unreachable in practice.
        Err(_) => redirect_uri.to_string(),
    }
}
