//! The device authorization grant (RFC 8628) for devices that cannot show a sign-in page: the
//! device authorization endpoint (§3.1–3.2) and the `device_code` grant at the token endpoint
//! (§3.4–3.5). The person's side is `signin::device`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::client_auth;
use crate::client::{Client, GRANT_DEVICE_CODE};
use crate::crypto::{random_token, token_hash};
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::scopes;
use crate::protocol::user_code::{display_user_code, new_user_code};
use crate::state::App;
use crate::store::devices::{DeviceCode, STATUS_APPROVED, STATUS_DENIED, STATUS_ISSUED, STATUS_PENDING};
use crate::web::form::Params;

/// RFC 8628 §3.2: the polling interval a device starts with, and §3.5: what `slow_down` adds.
pub const INTERVAL_SECS: i64 = 5;
pub const SLOW_DOWN_SECS: i64 = 5;

fn no_store(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// `POST /device_authorization`.
pub async fn authorization(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Result<Response, OAuthError> {
    authorize_device(&app, &headers, &body).await.map(no_store)
}

async fn authorize_device(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let is_form =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
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
    let scopes = scopes::requested(&client, p.get("scope")).map_err(|why| OAuthError::new(ErrorCode::InvalidScope, why))?;
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
            client_id: client.id.clone(),
            scopes: scopes.clone(),
            acr_values: acr_values.clone(),
            status: STATUS_PENDING.to_string(),
            approval: None,
            interval_secs: INTERVAL_SECS,
            last_polled_at: 0,
            created_at: now,
            expires_at: now + ttl,
        };
        if app.store.insert_device_code(&row).await? {
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

/// The token endpoint's `urn:ietf:params:oauth:grant-type:device_code` grant.
pub async fn redeem(app: &App, client: &Client, p: &Params, proof: Option<&super::dpop::Proof>) -> Result<super::mint::Minted, OAuthError> {
    if !client.options.allows_grant(GRANT_DEVICE_CODE) {
        return Err(OAuthError::new(ErrorCode::UnauthorizedClient, "this client is not registered for the device authorization grant"));
    }
    let device_code = p.get("device_code").ok_or_else(|| OAuthError::invalid_request("device_code is required"))?;
    let invalid = || OAuthError::invalid_grant("the device code is invalid or was issued to another client");
    let hash = token_hash(device_code);
    let row = app.store.device_code(&hash).await?.ok_or_else(invalid)?;
    // Looked up by its hash, so the comparison leaks nothing about the code itself.
    if row.client_id != client.id {
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
            if app.store.poll_device_code(&hash, now, SLOW_DOWN_SECS).await? {
                Err(OAuthError::new(ErrorCode::AuthorizationPending, "the person has not approved the request yet"))
            } else {
                Err(OAuthError::new(ErrorCode::SlowDown, "polling too fast; the interval is increased by 5 seconds"))
            }
        }
        STATUS_DENIED => Err(OAuthError::new(ErrorCode::AccessDenied, "the person denied the request")),
        STATUS_APPROVED => {
            let approval = row.approval.ok_or_else(|| OAuthError::server_error("an approved device code lacks its sign-in"))?;
            if !app.store.take_approved_device_code(&hash).await? {
                return Err(OAuthError::invalid_grant("the device code was already used"));
            }
            let grant_id = random_token();
            let issuance = super::mint::Issuance {
                grant_type: crate::client::GRANT_DEVICE_CODE,
                grant_id: &grant_id,
                person_id: &approval.person_id,
                subject: &approval.subject,
                scopes: &row.scopes,
                auth_time: approval.auth_time,
                acr: approval.acr,
                amr: &approval.amr,
                sid: &approval.sid,
                extra_claims: approval.extra_claims.as_deref(),
                nonce: None,
                claims_request: None,
            };
            // Refresh tokens follow the same rule as for codes: only with consented offline_access.
            let refresh = super::mint::wants_refresh(client, &row.scopes).then_some(super::mint::RefreshPlan::Start);
            super::mint::mint(app, client, &issuance, now, proof.map(|p| p.jkt.as_str()), refresh).await
        }
        _ => Err(OAuthError::server_error(format!("device code in unknown status {:?}", row.status))),
    }
}
