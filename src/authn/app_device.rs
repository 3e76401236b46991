//! Device keys of the mobile app (DESIGN §1 "mobile app").
//!
//! The app signs the person in through the device authorization grant (RFC 8628) as the public
//! client [`APP_CLIENT_ID`], then binds a fresh P-256 key with `POST /api/v1/devices`: the bearer
//! token says who, a JWS by the new key over the token's hash proves possession. Every later
//! call is authorised by a *device proof*: a compact JWS (`typ: nixa-device+jwt`, ES256, `kid` =
//! device id) in `Authorization: Device <jws>`, shaped like a DPoP proof (RFC 9449 §4.2): `htm`,
//! `htu`, `iat`, a single-use `jti`, plus the call's own parameters. Parameters travel inside the
//! signed proof, never in the URL, so no secret of a login request reaches an access log.
//!
//! People see and revoke their devices on `/account/devices`.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::Jwk;
use serde_json::{Map, Value, json};

use crate::assurance::Acr;
use crate::audit::{self, Event};
use crate::crypto::{b64url, sha256, token_hash};
use crate::identity::{Person, PersonStatus};
use crate::protocol::jose::{self, JoseError};
use crate::signin::session;
use crate::state::App;
use crate::store::StoreError;
use crate::store::app_devices::AppDevice;
use crate::web::error::PageError;
use crate::web::form::Params;
use crate::web::i18n::Locale;
use crate::web::incident::Incident;
use crate::web::pages::render;
use crate::web::{cookies, csrf};

/// The national app's client id: the only client whose tokens may bind a device.
pub const APP_CLIENT_ID: &str = "vn-eid-app";
/// The JWS `typ` of device proofs and of the possession proof at binding.
pub const PROOF_TYP: &str = "nixa-device+jwt";
/// How old a proof may be, and how far ahead its `iat` may lie (clock skew).
const PROOF_MAX_AGE: i64 = 120;
const PROOF_SKEW: i64 = 60;
/// A device is bound right after the sign-in that authorises it, not with an old token.
const BINDING_TOKEN_MAX_AGE: i64 = 600;
const NAME_MAX_CHARS: usize = 64;
const CSRF_PURPOSE: &str = "account-devices";

/// An app API error: JSON `error` / `error_description` (RFC 6749 §5.2 style) with its status.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {description}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub description: String,
    /// For `server_error`: what the log records under the id the app sees.
    pub incident: Option<Incident>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self { status, code, description: description.into(), incident: None }
    }
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", d)
    }
    pub fn invalid_token(d: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_token", d)
    }
    pub fn not_found(d: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "invalid_request", d)
    }
    /// A request that was answered already: 409, `invalid_request`.
    pub fn conflict(d: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "invalid_request", d)
    }
    pub fn internal(e: impl crate::web::incident::Cause) -> Self {
        let incident = Incident::new(e);
        let (status, code) = if incident.is_unavailable() {
            (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable")
        } else {
            (StatusCode::INTERNAL_SERVER_ERROR, "server_error")
        };
        Self { incident: Some(incident.clone()), ..Self::new(status, code, format!("internal error, incident {}", incident.id())) }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, axum::Json(json!({"error": self.code, "error_description": self.description}))).into_response();
        let h = res.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = format!("Device error=\"{}\"", self.code);
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                h.insert(header::WWW_AUTHENTICATE, v);
            }
        }
        Incident::attach_if_any(self.incident, res)
    }
}

/// JSON with `Cache-Control: no-store`: every app API answer is about one person.
pub fn json_response(status: StatusCode, body: Value) -> Response {
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A caller whose device proof verified.
#[derive(Debug)]
pub struct DeviceCaller {
    pub device: AppDevice,
    pub person: Person,
    pub claims: Map<String, Value>,
}

impl DeviceCaller {
    pub fn str_claim(&self, name: &str) -> Option<&str> {
        jose::str_claim(&self.claims, name)
    }
}

fn authorization<'a>(headers: &'a HeaderMap, scheme: &str) -> Option<&'a str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (s, rest) = v.split_once(' ')?;
    s.eq_ignore_ascii_case(scheme).then(|| rest.trim()).filter(|t| !t.is_empty())
}

/// The rules every proof shares (RFC 9449 §4.3 items 8–11, adapted): method, URL, freshness and
/// a single-use `jti`, remembered per key so that one device's values never block another's.
async fn check_proof_claims(app: &App, c: &Map<String, Value>, key_id: &str, method: &str, path: &str) -> Result<(), ApiError> {
    let bad = |d: &'static str| ApiError::invalid_token(d);
    if jose::str_claim(c, "htm") != Some(method) {
        return Err(bad("the proof was made for another HTTP method (htm)"));
    }
    if jose::str_claim(c, "htu") != Some(app.settings.url(path).as_str()) {
        return Err(bad("the proof was made for another URL (htu)"));
    }
    let now = app.now();
    let iat = jose::int_claim(c, "iat").ok_or_else(|| bad("the proof has no iat"))?;
    if iat > now + PROOF_SKEW || iat < now - PROOF_MAX_AGE {
        return Err(bad("the proof is too old or from the future (iat)"));
    }
    let jti = jose::str_claim(c, "jti").filter(|j| !j.is_empty() && j.len() <= 128).ok_or_else(|| bad("the proof has no valid jti"))?;
    let key = token_hash(&format!("app-device\0{key_id}\0{jti}"));
    if !app.store.use_once(&key, iat + PROOF_MAX_AGE + PROOF_SKEW).await? {
        return Err(bad("the proof was used before (jti)"));
    }
    Ok(())
}

fn key_set(device_id: &str, public_jwk: &str) -> Result<jsonwebtoken::jwk::JwkSet, ApiError> {
    let mut jwk: Value = serde_json::from_str(public_jwk).map_err(ApiError::internal)?;
    jwk["kid"] = json!(device_id);
    jose::parse_key_set(&json!({"keys": [jwk]})).map_err(ApiError::internal)
}

/// Verifies the device proof of a call to `path` and loads its device and person. A revoked
/// device, an unknown one and a bad signature are all `invalid_token` (401), each with its cause.
pub async fn authenticate(app: &App, headers: &HeaderMap, method: &str, path: &str) -> Result<DeviceCaller, ApiError> {
    let token = authorization(headers, "Device")
        .ok_or_else(|| ApiError::invalid_token("a device proof is required: Authorization: Device <jws>"))?;
    if token.len() > 8192 {
        return Err(ApiError::invalid_token("the device proof is too large"));
    }
    let h = jose::header(token, &[Algorithm::ES256])
        .map_err(|e| ApiError::invalid_token(format!("the device proof is not acceptable: {e}")))?;
    let kid = h.kid.filter(|k| k.len() <= 64).ok_or_else(|| ApiError::invalid_token("the device proof has no kid (device id)"))?;
    let device = app.store.app_device(&kid).await?.ok_or_else(|| ApiError::invalid_token("unknown device"))?;
    if device.revoked_at.is_some() {
        return Err(ApiError::invalid_token("this device was revoked"));
    }
    let set = key_set(&device.id, &device.public_jwk)?;
    let v = jose::verify_with_set(token, &set, &[Algorithm::ES256], Some(PROOF_TYP)).map_err(|e| match e {
        JoseError::Signature => ApiError::invalid_token("the device signature does not verify"),
        other => ApiError::invalid_token(format!("the device proof is not acceptable: {other}")),
    })?;
    check_proof_claims(app, &v.claims, &device.id, method, path).await?;
    let person = app.store.person(&device.person_id).await?.ok_or_else(|| ApiError::invalid_token("unknown device"))?;
    if person.status != PersonStatus::Active {
        return Err(ApiError::invalid_token("this account cannot sign in"));
    }
    app.store.touch_app_device(&device.id, app.now()).await?;
    Ok(DeviceCaller { device, person, claims: v.claims })
}

/// A P-256 public key, reduced to its public members (anything else, a private `d` above all,
/// is refused).
fn public_p256(v: &Value) -> Result<(Jwk, Value), ApiError> {
    let bad = |d: &'static str| ApiError::invalid_request(d);
    let o = v.as_object().ok_or_else(|| bad("public_jwk must be a JSON object"))?;
    if o.contains_key("d") {
        return Err(bad("public_jwk carries a private key"));
    }
    if o.get("kty").and_then(Value::as_str) != Some("EC") || o.get("crv").and_then(Value::as_str) != Some("P-256") {
        return Err(bad("public_jwk must be a P-256 (EC) key"));
    }
    let (Some(x), Some(y)) = (o.get("x").and_then(Value::as_str), o.get("y").and_then(Value::as_str)) else {
        return Err(bad("public_jwk lacks x or y"));
    };
    let clean = json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "alg": "ES256", "use": "sig"});
    let jwk: Jwk = serde_json::from_value(clean.clone()).map_err(|_| bad("public_jwk is not a valid JWK"))?;
    if jsonwebtoken::DecodingKey::from_jwk(&jwk).is_err() {
        return Err(bad("public_jwk is not a valid P-256 point"));
    }
    Ok((jwk, clean))
}

fn device_name(v: Option<&Value>) -> Result<String, ApiError> {
    let name = v.and_then(Value::as_str).map(str::trim).unwrap_or_default();
    if name.is_empty() || name.chars().count() > NAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Err(ApiError::invalid_request(format!("name must be 1 to {NAME_MAX_CHARS} printable characters")));
    }
    Ok(name.to_string())
}

/// `POST /api/v1/devices`: binds a new device key to the person the bearer token was issued for.
pub async fn register(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    match bind(&app, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn bind(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<Response, ApiError> {
    let token = authorization(headers, "Bearer").ok_or_else(|| ApiError::invalid_token("a bearer access token of the app is required"))?;
    let now = app.now();
    let (grant, person) = app
        .store
        .access_token_with_person(&token_hash(token), now)
        .await?
        .ok_or_else(|| ApiError::invalid_token("the access token is invalid or expired"))?;
    if grant.client_id.as_str() != APP_CLIENT_ID {
        return Err(ApiError::invalid_token("the access token was not issued to the national app"));
    }
    if grant.jkt.is_some() {
        return Err(ApiError::invalid_token("DPoP-bound access tokens cannot bind a device"));
    }
    if now - grant.issued_at > BINDING_TOKEN_MAX_AGE {
        return Err(ApiError::invalid_token("the access token is too old to bind a device; sign in again"));
    }
    if person.status != PersonStatus::Active {
        return Err(ApiError::invalid_token("this account cannot sign in"));
    }
    let signed_in = match grant.sid.as_deref() {
        Some(sid) => app.store.session_by_sid(sid).await?,
        None => None,
    };
    let signed_in =
        signed_in.filter(|s| s.expires_at > now).ok_or_else(|| ApiError::invalid_token("the sign-in behind this token has ended"))?;
    let body: Value = serde_json::from_slice(body).map_err(|_| ApiError::invalid_request("the body must be a JSON object"))?;
    let name = device_name(body.get("name"))?;
    let (jwk, clean) = public_p256(body.get("public_jwk").unwrap_or(&Value::Null))?;
    let proof = body.get("proof").and_then(Value::as_str).ok_or_else(|| ApiError::invalid_request("proof is required"))?;
    let jkt = jose::thumbprint(&jwk).map_err(ApiError::internal)?;
    // The new key has no device id yet: the proof names it by its thumbprint, or not at all.
    let mut named = jwk.clone();
    named.common.key_id = Some(jkt.clone());
    let set = jsonwebtoken::jwk::JwkSet { keys: vec![named] };
    let v = jose::verify_with_set(proof, &set, &[Algorithm::ES256], Some(PROOF_TYP))
        .map_err(|e| ApiError::invalid_request(format!("the proof of possession does not verify: {e}")))?;
    if jose::str_claim(&v.claims, "ath") != Some(b64url(&sha256(token.as_bytes())).as_str()) {
        return Err(ApiError::invalid_request("the proof of possession is not bound to this access token (ath)"));
    }
    check_proof_claims(app, &v.claims, &jkt, "POST", "/api/v1/devices")
        .await
        // An internal failure stays one (with its incident); a bad proof is the request's fault.
        .map_err(|e| match e.incident {
            Some(_) => e,
            None => ApiError::invalid_request(format!("the proof of possession is not acceptable: {}", e.description)),
        })?;
    let device = AppDevice {
        id: uuid::Uuid::new_v4().to_string(),
        person_id: person.id.clone(),
        name,
        public_jwk: clean.to_string(),
        jkt,
        bound_acr: signed_in.acr.clone(),
        bound_amr: signed_in.amr.clone(),
        bound_level: person.account_level.as_i64(),
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    if !app.store.insert_app_device(&device).await? {
        return Err(ApiError::conflict("this key is bound to a device already"));
    }
    let detail = json!({"device_id": device.id, "name": device.name, "acr": device.bound_acr, "level": device.bound_level});
    audit::record(&app.store, now, Event::AppDeviceBound, Some(&person.id), Some(APP_CLIENT_ID), detail).await?;
    Ok(json_response(StatusCode::CREATED, device_json(&device, Some(&device.id))))
}

fn device_json(d: &AppDevice, current: Option<&str>) -> Value {
    json!({
        "device_id": d.id,
        "name": d.name,
        "bound_acr": d.bound_acr,
        "bound_account_level": d.bound_level,
        "created_at": d.created_at,
        "last_used_at": d.last_used_at,
        "revoked_at": d.revoked_at,
        "current": current == Some(d.id.as_str()),
    })
}

/// `GET /api/v1/devices`: the calling device's person's devices.
pub async fn list(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let run = async {
        let caller = authenticate(&app, &headers, "GET", "/api/v1/devices").await?;
        let devices = app.store.app_devices_of(&caller.person.id).await?;
        let list: Vec<Value> = devices.iter().map(|d| device_json(d, Some(&caller.device.id))).collect();
        Ok::<_, ApiError>(json_response(StatusCode::OK, json!({ "devices": list })))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// `DELETE /api/v1/devices/{id}`: revokes one of the person's devices (the calling one too).
pub async fn revoke(State(app): State<Arc<App>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let run = async {
        let caller = authenticate(&app, &headers, "DELETE", &format!("/api/v1/devices/{id}")).await?;
        let now = app.now();
        if !app.store.revoke_app_device(&caller.person.id, &id, now).await? {
            return Err(ApiError::not_found("no such active device of this person"));
        }
        let detail = json!({"device_id": id, "by": "app", "from_device": caller.device.id});
        audit::record(&app.store, now, Event::AppDeviceRevoked, Some(&caller.person.id), Some(APP_CLIENT_ID), detail).await?;
        Ok::<_, ApiError>(StatusCode::NO_CONTENT.into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// The assurance a device's approval reaches: the methods it reports, evaluated for the
/// person's level, and never above the acr of the sign-in that bound the device (a device bound
/// after a password-only sign-in does not become a second factor for whoever knew the password).
pub fn approval_assurance(person: &Person, device: &AppDevice, user_verified: bool) -> (Acr, Vec<String>) {
    use crate::assurance::Amr;
    let methods: &[Amr] = if user_verified { &[Amr::Swk, Amr::User] } else { &[Amr::Swk] };
    let (acr, amr) = crate::assurance::evaluate(person.account_level, methods);
    let cap = Acr::parse(&device.bound_acr).unwrap_or(Acr::Loa1);
    (acr.min(cap), amr.iter().map(|a| a.as_str().to_string()).collect())
}

// ---- the account page ----

pub struct DeviceRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: String,
    pub acr: String,
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "account_devices.html")]
pub struct AccountDevicesPage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub signed_in: bool,
    pub person_name: String,
    pub devices: Vec<DeviceRow>,
    pub csrf: String,
    pub notice: Option<&'static str>,
}

fn date(ts: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(ts).ok().and_then(|t| t.format(&format).ok()).unwrap_or_default()
}

/// `GET /account/devices`.
pub async fn account_page(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let q = Params::from_query(&q);
    let locale = crate::web::lang::page_locale(app.settings.default_locale, &headers, &jar, None, q.get("lang"));
    let jar = crate::web::lang::remember_lang(jar, q.get("lang"));
    let notice = match q.get("done") {
        Some("revoked") => Some("devices.revoked"),
        _ => None,
    };
    match account_view(&app, jar, locale, notice).await {
        Ok(r) | Err(r) => r,
    }
}

async fn account_view(app: &App, jar: CookieJar, locale: Locale, notice: Option<&'static str>) -> Result<Response, Response> {
    let internal = |e: StoreError| PageError::internal(locale, e).into_response();
    let other = locale.other();
    let switch_href = Some(format!("/account/devices?lang={}", other.as_str()));
    let Some(s) = session::current(app, &jar, app.now()).await.map_err(internal)? else {
        let page = AccountDevicesPage {
            locale,
            switch_href,
            signed_in: false,
            person_name: String::new(),
            devices: vec![],
            csrf: String::new(),
            notice: None,
        };
        return Ok((jar, render(StatusCode::UNAUTHORIZED, &page)).into_response());
    };
    let person =
        app.store.person(&s.record.person_id).await.map_err(internal)?.ok_or_else(|| PageError::expired(locale).into_response())?;
    let devices = app.store.app_devices_of(&person.id).await.map_err(internal)?;
    let (jar, browser) = session::browser_id(jar);
    let rows = devices
        .iter()
        .map(|d| DeviceRow {
            id: d.id.clone(),
            name: d.name.clone(),
            created: date(d.created_at),
            last_used: d.last_used_at.map(date).unwrap_or_default(),
            acr: d.bound_acr.clone(),
            revoked: d.revoked_at.is_some(),
        })
        .collect();
    let page = AccountDevicesPage {
        locale,
        switch_href,
        signed_in: true,
        person_name: person.full_name(),
        devices: rows,
        csrf: csrf::token(&app.secrets.csrf, &browser, CSRF_PURPOSE),
        notice,
    };
    Ok((jar, render(StatusCode::OK, &page)).into_response())
}

/// `POST /account/devices/revoke`.
pub async fn account_revoke(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let f = Params::parse(&body).unwrap_or_default();
    let locale = crate::web::lang::page_locale(app.settings.default_locale, &headers, &jar, None, None);
    let presented = f.get("csrf").unwrap_or_default();
    let csrf_ok = jar.get(cookies::BROWSER).is_some_and(|b| csrf::verify(&app.secrets.csrf, b.value(), CSRF_PURPOSE, presented));
    if !csrf_ok {
        return PageError::new(StatusCode::FORBIDDEN, locale, "error.csrf").into_response();
    }
    let now = app.now();
    let s = match session::current(&app, &jar, now).await {
        Ok(Some(s)) => s,
        Ok(None) => return PageError::new(StatusCode::UNAUTHORIZED, locale, "devices.sign_in_first").into_response(),
        Err(e) => return PageError::internal(locale, e).into_response(),
    };
    let id = f.get("device_id").unwrap_or_default();
    match app.store.revoke_app_device(&s.record.person_id, id, now).await {
        Ok(true) => {}
        Ok(false) => return PageError::new(StatusCode::NOT_FOUND, locale, "devices.not_found").into_response(),
        Err(e) => return PageError::internal(locale, e).into_response(),
    }
    let detail = json!({"device_id": id, "by": "account_page", "sid": s.record.sid});
    if let Err(e) = audit::record(&app.store, now, Event::AppDeviceRevoked, Some(&s.record.person_id), None, detail).await {
        return PageError::internal(locale, e).into_response();
    }
    (StatusCode::SEE_OTHER, [(header::LOCATION, HeaderValue::from_static("/account/devices?done=revoked"))]).into_response()
}
