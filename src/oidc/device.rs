//! The device authorization grant (RFC 8628) for devices that cannot show a sign-in page: the
//! device authorization endpoint (§3.1–3.2) and the `device_code` grant at the token endpoint
//! (§3.4–3.5). The person's side is `device_page`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::client::{Client, GRANT_DEVICE_CODE};
use super::client_auth;
use super::error::{ErrorCode, OAuthError};
use super::scopes;
use crate::app::App;
use crate::keys::secret::{random_bytes, random_token, token_hash};
use crate::store::devices::{DeviceCode, STATUS_APPROVED, STATUS_DENIED, STATUS_ISSUED, STATUS_PENDING};
use crate::web::form::Params;

/// RFC 8628 §3.2: the polling interval a device starts with, and §3.5: what `slow_down` adds.
pub const INTERVAL_SECS: i64 = 5;
pub const SLOW_DOWN_SECS: i64 = 5;

/// Consonants only (RFC 8628 §6.1): no vowels to spell words, no 0/O or 1/I to confuse.
const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
const USER_CODE_LEN: usize = 8;

/// A fresh user code, normalised (no dash). 20^8 ≈ 2^34.6 codes; guessing is held back by the
/// attempt limit on the verification page (RFC 8628 §5.1).
pub fn new_user_code() -> String {
    let mut out = String::with_capacity(USER_CODE_LEN);
    while out.len() < USER_CODE_LEN {
        for b in random_bytes::<16>() {
            // Rejection sampling: 240 is the largest multiple of 20 below 256, so every
            // letter is equally likely.
            if b < 240 && out.len() < USER_CODE_LEN {
                out.push(char::from(ALPHABET[usize::from(b % 20)]));
            }
        }
    }
    out
}

/// What people type: any case, with or without the dash or spaces. `None` if it cannot be a
/// user code at all.
pub fn normalise_user_code(typed: &str) -> Option<String> {
    let code: String = typed.chars().filter(|c| *c != '-' && !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
    (code.len() == USER_CODE_LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// How a user code is shown: XXXX-XXXX.
pub fn display_user_code(code: &str) -> String {
    match (code.get(..4), code.get(4..)) {
        (Some(a), Some(b)) if !b.is_empty() => format!("{a}-{b}"),
        _ => code.to_string(),
    }
}

fn no_store(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// `POST /device_authorization`.
pub async fn authorization(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    match authorize_device(&app, &headers, &body).await {
        Ok(r) => no_store(r),
        Err(e) => e.into_response(),
    }
}

async fn authorize_device(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(OAuthError::invalid_request("the body must be application/x-www-form-urlencoded"));
    }
    let p = Params::parse(body).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    if p.duplicate().is_some() {
        return Err(OAuthError::invalid_request("a parameter is included more than once"));
    }
    let client = client_auth::authenticate(app, headers, &p).await?;
    if !client.options.allows_grant(GRANT_DEVICE_CODE) {
        return Err(OAuthError::new(ErrorCode::UnauthorizedClient, "this client is not registered for the device authorization grant"));
    }
    let scopes = requested_scopes(&client, p.get("scope"))?;
    let acr_values = match p.get("acr_values") {
        Some(v) if v.len() > 256 => return Err(OAuthError::invalid_request("acr_values is too long")),
        v => v.map(str::to_owned),
    };
    let now = app.now();
    let ttl = app.settings.device_code_ttl;
    let device_code = random_token();
    // A clash with a live user code is rare (a few thousand live codes among 2^34); draw again.
    for _ in 0..5 {
        let user_code = new_user_code();
        let row = DeviceCode {
            device_code_hash: token_hash(&device_code),
            user_code: user_code.clone(),
            client_id: client.id.as_str().to_string(),
            scopes: scopes.clone(),
            acr_values: acr_values.clone(),
            status: STATUS_PENDING.to_string(),
            approval: None,
            interval_secs: INTERVAL_SECS,
            last_polled_at: 0,
            created_at: now,
            expires_at: now + ttl,
        };
        if app.store.insert_device_code(&row).await.map_err(OAuthError::server_error)? {
            let shown = display_user_code(&user_code);
            let verification_uri = app.settings.url("/device");
            let mut complete = url::Url::parse(&verification_uri).map_err(OAuthError::server_error)?;
            complete.query_pairs_mut().append_pair("user_code", &shown);
            let body = json!({
                "device_code": device_code,
                "user_code": shown,
                "verification_uri": verification_uri,
                "verification_uri_complete": complete.as_str(),
                "expires_in": ttl,
                "interval": INTERVAL_SECS,
            });
            return Ok(axum::Json(body).into_response());
        }
    }
    Err(OAuthError::new(ErrorCode::TemporarilyUnavailable, "no free user code could be drawn; try again"))
}

/// The same rules as the authorization request (`request::validate`): openid is required, and
/// only supported scopes the client may ask for.
fn requested_scopes(client: &Client, raw: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let fail = |d: &'static str| OAuthError::new(ErrorCode::InvalidScope, d);
    let raw = raw.ok_or_else(|| fail("scope is required and must include openid"))?;
    let mut out: Vec<String> = Vec::new();
    for s in raw.split_ascii_whitespace() {
        if !scopes::is_supported(s) {
            return Err(fail("a requested scope is not supported"));
        }
        if !client.allowed_scopes.iter().any(|a| a == s) {
            return Err(fail("a requested scope is not allowed for this client"));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    if !out.iter().any(|s| s == "openid") {
        return Err(fail("scope must include openid"));
    }
    Ok(out)
}

/// The token endpoint's `urn:ietf:params:oauth:grant-type:device_code` grant.
pub async fn redeem(app: &App, client: &Client, p: &Params, proof: Option<&super::dpop::Proof>) -> Result<Response, OAuthError> {
    if !client.options.allows_grant(GRANT_DEVICE_CODE) {
        return Err(OAuthError::new(ErrorCode::UnauthorizedClient, "this client is not registered for the device authorization grant"));
    }
    let device_code = p.get("device_code").ok_or_else(|| OAuthError::invalid_request("device_code is required"))?;
    let invalid = || OAuthError::invalid_grant("the device code is invalid or was issued to another client");
    let hash = token_hash(device_code);
    let row = app.store.device_code(&hash).await.map_err(OAuthError::server_error)?.ok_or_else(invalid)?;
    // Looked up by its hash, so the comparison leaks nothing about the code itself.
    if row.client_id != client.id.as_str() {
        return Err(invalid());
    }
    let now = app.now();
    if row.status == STATUS_ISSUED {
        return Err(OAuthError::invalid_grant("the device code was already used"));
    }
    if row.expires_at <= now {
        return Err(OAuthError::new(ErrorCode::ExpiredToken, "the device code has expired; start again"));
    }
    match row.status.as_str() {
        STATUS_PENDING => {
            if app.store.poll_device_code(&hash, now, SLOW_DOWN_SECS).await.map_err(OAuthError::server_error)? {
                Err(OAuthError::new(ErrorCode::AuthorizationPending, "the person has not approved the request yet"))
            } else {
                Err(OAuthError::new(ErrorCode::SlowDown, "polling too fast; the interval is increased by 5 seconds"))
            }
        }
        STATUS_DENIED => Err(OAuthError::new(ErrorCode::AccessDenied, "the person denied the request")),
        STATUS_APPROVED => {
            let approval = row.approval.ok_or_else(|| OAuthError::server_error("an approved device code lacks its sign-in"))?;
            if !app.store.take_approved_device_code(&hash).await.map_err(OAuthError::server_error)? {
                return Err(OAuthError::invalid_grant("the device code was already used"));
            }
            let grant_id = random_token();
            let issuance = super::token::Issuance {
                grant_id: &grant_id,
                person_id: &approval.person_id,
                subject: &approval.subject,
                scopes: &row.scopes,
                auth_time: approval.auth_time,
                acr: &approval.acr,
                amr: &approval.amr,
                sid: &approval.sid,
                extra_claims: approval.extra_claims.as_deref(),
                nonce: None,
                claims_request: None,
            };
            // Refresh tokens follow the same rule as for codes: only with consented offline_access.
            let refresh = super::token::wants_refresh(client, &row.scopes).then_some(super::token::RefreshPlan::Start);
            super::token::issue(app, client, &issuance, now, proof, refresh).await
        }
        _ => Err(OAuthError::server_error(format!("device code in unknown status {:?}", row.status))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_unambiguous_and_typed_loosely() {
        for _ in 0..100 {
            let c = new_user_code();
            assert_eq!(c.len(), 8);
            assert!(c.bytes().all(|b| ALPHABET.contains(&b)));
            assert_eq!(normalise_user_code(&display_user_code(&c)).as_deref(), Some(c.as_str()));
            assert_eq!(normalise_user_code(&display_user_code(&c).to_lowercase()).as_deref(), Some(c.as_str()));
        }
        assert_eq!(display_user_code("BCDFGHJK"), "BCDF-GHJK");
        assert_eq!(normalise_user_code(" bcdf ghjk ").as_deref(), Some("BCDFGHJK"));
        assert_eq!(normalise_user_code("BCDF-GHJ"), None);
        assert_eq!(normalise_user_code("BCDF-GHJA"), None, "vowels are not in the alphabet");
        assert_eq!(normalise_user_code("BCDF-GHJKL"), None);
    }
}
