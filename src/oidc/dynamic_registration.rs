//! Dynamic client registration (RFC 7591, OIDC Dynamic Client Registration 1.0) and its
//! management protocol (RFC 7592).
//!
//! `POST /register` needs an initial access token: an operator token with `clients:register`
//! (and `clients:first_party` to register a client with public subjects). The metadata is mapped
//! onto a `ClientSpec` and validated by `registration::build`, like every other registration path.
//! The response carries a registration access token (256 random bits, stored as its hash) for
//! `GET/PUT/DELETE /register/{client_id}`. An update keeps that token and the client secret: a
//! rotation whose response is lost would lock the client out of its own registration.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::registration::{self, ClientSpec, RegistrationError};
use crate::audit::{self, Event};
use crate::client::{AuthMethod, Client, ClientId, GRANT_AUTHORIZATION_CODE, GRANT_DEVICE_CODE, GRANT_REFRESH_TOKEN};
use crate::crypto::{ct_eq, random_token, token_hash};
use crate::privacy::sector;
use crate::state::App;
use crate::store::StoreError;
use crate::store::registrations::Registration;

/// The operator-token scope that makes a token an initial access token (RFC 7591 §3).
pub const SCOPE_REGISTER: &str = "clients:register";
/// Additionally lets the initial access token register first-party clients (public `sub`).
pub const SCOPE_FIRST_PARTY: &str = "clients:first_party";

#[derive(Debug, thiserror::Error)]
pub enum DcrError {
    #[error("no access token")]
    NoToken,
    #[error("{0}")]
    InvalidToken(&'static str),
    #[error("the initial access token lacks the scope {SCOPE_REGISTER}")]
    InsufficientScope,
    #[error("{0}")]
    InvalidRedirectUri(String),
    #[error("{0}")]
    InvalidClientMetadata(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DcrError {
    fn metadata(d: impl std::fmt::Display) -> Self {
        DcrError::InvalidClientMetadata(d.to_string())
    }
}

impl From<RegistrationError> for DcrError {
    fn from(e: RegistrationError) -> Self {
        match e {
            RegistrationError::RedirectUri(_) => DcrError::InvalidRedirectUri(e.to_string()),
            _ => DcrError::metadata(e),
        }
    }
}

impl From<sector::SectorError> for DcrError {
    fn from(e: sector::SectorError) -> Self {
        DcrError::metadata(e)
    }
}

fn no_store(res: &mut Response) {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// RFC 7591 §3.2.2 for metadata, RFC 6750 §3.1 for the bearer tokens.
impl IntoResponse for DcrError {
    fn into_response(self) -> Response {
        let (status, code, challenge) = match &self {
            // RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
            DcrError::NoToken => (StatusCode::UNAUTHORIZED, "invalid_token", Some("Bearer realm=\"nixa\"".to_string())),
            DcrError::InvalidToken(_) => {
                (StatusCode::UNAUTHORIZED, "invalid_token", Some("Bearer realm=\"nixa\", error=\"invalid_token\"".to_string()))
            }
            DcrError::InsufficientScope => (
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                Some(format!("Bearer realm=\"nixa\", error=\"insufficient_scope\", scope=\"{SCOPE_REGISTER}\"")),
            ),
            DcrError::InvalidRedirectUri(_) => (StatusCode::BAD_REQUEST, "invalid_redirect_uri", None),
            DcrError::InvalidClientMetadata(_) => (StatusCode::BAD_REQUEST, "invalid_client_metadata", None),
            DcrError::Store(e) => {
                let incident = crate::web::incident::Incident::of(e);
                let body = json!({"error": "server_error", "error_description": format!("internal error, incident {}", incident.id())});
                let mut res = (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
                no_store(&mut res);
                return incident.attach(res);
            }
        };
        let mut res = (status, Json(json!({"error": code, "error_description": self.to_string()}))).into_response();
        no_store(&mut res);
        if let Some(c) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, c);
        }
        res
    }
}

/// Client metadata as sent (RFC 7591 §2, OIDC Registration §2). Unknown members are ignored
/// (RFC 7591 §2); `null` counts as absent.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MetadataIn {
    redirect_uris: Option<Vec<String>>,
    client_name: Option<String>,
    token_endpoint_auth_method: Option<String>,
    token_endpoint_auth_signing_alg: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    scope: Option<String>,
    jwks: Option<Value>,
    jwks_uri: Option<String>,
    id_token_signed_response_alg: Option<String>,
    subject_type: Option<String>,
    sector_identifier_uri: Option<String>,
    post_logout_redirect_uris: Option<Vec<String>>,
    backchannel_logout_uri: Option<String>,
    require_pushed_authorization_requests: Option<bool>,
    dpop_bound_access_tokens: Option<bool>,
    application_type: Option<String>,
    // Decree 13/2023: what each scope is used for and who answers for it (extension members).
    purposes: Option<std::collections::BTreeMap<String, crate::client::Bilingual>>,
    responsible_organisation: Option<crate::client::Responsible>,
    legal_basis: Option<crate::client::Bilingual>,
    // RFC 7592 §2.2: only meaningful in an update.
    client_id: Option<String>,
    client_secret: Option<String>,
    registration_access_token: Option<Value>,
    registration_client_uri: Option<Value>,
    client_id_issued_at: Option<Value>,
    client_secret_expires_at: Option<Value>,
}

/// Registered metadata without a column of its own, kept in `client_registrations`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Extra {
    application_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token_endpoint_auth_signing_alg: Option<String>,
}

fn parse(body: &[u8]) -> Result<MetadataIn, DcrError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => serde_json::from_value(v).map_err(|e| DcrError::metadata(format!("malformed client metadata: {e}"))),
        Ok(_) => Err(DcrError::metadata("the client metadata must be a JSON object")),
        Err(e) => Err(DcrError::metadata(format!("malformed JSON: {e}"))),
    }
}

/// Maps the request onto what `registration::build` validates, plus the checks only dynamic
/// registration needs.
fn to_spec(m: &MetadataIn, first_party: bool) -> Result<(ClientSpec, Extra), DcrError> {
    let redirect_uris = m.redirect_uris.clone().unwrap_or_default();
    let application_type = m.application_type.as_deref().unwrap_or("web");
    match application_type {
        "web" => {
            // OIDC Registration §2: custom URI schemes belong to native applications.
            if let Some(u) = redirect_uris.iter().find(|u| !(u.starts_with("https://") || u.starts_with("http://"))) {
                return Err(DcrError::InvalidRedirectUri(format!("redirect URI {u:?} needs application_type native")));
            }
        }
        "native" => {}
        _ => return Err(DcrError::metadata("application_type must be web or native")),
    }
    let grants = m.grant_types.clone().unwrap_or_default();
    let code_grant = grants.is_empty() || grants.iter().any(|g| g == GRANT_AUTHORIZATION_CODE);
    // RFC 7591 §2.1: response_types and grant_types must agree; only the code flow exists here.
    let response_types = m.response_types.clone().unwrap_or_else(|| if code_grant { vec!["code".into()] } else { vec![] });
    if response_types.iter().any(|r| r != "code") {
        return Err(DcrError::metadata("response_types: only code is supported"));
    }
    // A refresh token alone is never issued: some grant has to start the client's sessions.
    if !code_grant && !grants.iter().any(|g| g == GRANT_DEVICE_CODE) {
        return Err(DcrError::metadata("grant_types must include authorization_code or the device code grant"));
    }
    if response_types.is_empty() == code_grant {
        return Err(DcrError::metadata("response_types code and grant_types authorization_code go together (RFC 7591 §2.1)"));
    }
    let first_party = match m.subject_type.as_deref() {
        None | Some("pairwise") => false,
        Some("public") if first_party => true,
        Some("public") => return Err(DcrError::metadata("subject_type public is reserved for first-party portals")),
        Some(_) => return Err(DcrError::metadata("subject_type must be pairwise or public")),
    };
    let auth_method = m.token_endpoint_auth_method.clone();
    if let Some(alg) = &m.token_endpoint_auth_signing_alg {
        if auth_method.as_deref() != Some(AuthMethod::PrivateKeyJwt.as_str()) {
            return Err(DcrError::metadata("token_endpoint_auth_signing_alg applies to private_key_jwt only"));
        }
        if !crate::protocol::jose::alg_names(&crate::protocol::jose::CLIENT_ALGS).contains(alg) {
            return Err(DcrError::metadata(format!("token_endpoint_auth_signing_alg {alg:?} is not supported")));
        }
    }
    let name = match m.client_name.as_deref() {
        Some(n) => n.to_string(),
        // The name is optional in RFC 7591 but shown on the consent page: the host stands in.
        None => redirect_uris
            .first()
            .and_then(|u| url::Url::parse(u).ok())
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "portal".into()),
    };
    let options = crate::client::ClientOptions {
        jwks: m.jwks.clone(),
        jwks_uri: m.jwks_uri.clone(),
        require_pushed_authorization_requests: m.require_pushed_authorization_requests.unwrap_or(false),
        dpop_bound_access_tokens: m.dpop_bound_access_tokens.unwrap_or(false),
        post_logout_redirect_uris: m.post_logout_redirect_uris.clone().unwrap_or_default(),
        backchannel_logout_uri: m.backchannel_logout_uri.clone(),
        sector_identifier_uri: m.sector_identifier_uri.clone(),
        grant_types: grants,
        purposes: m.purposes.clone().unwrap_or_default(),
        responsible_organisation: m.responsible_organisation.clone(),
        legal_basis: m.legal_basis.clone(),
        ..Default::default()
    };
    let spec = ClientSpec {
        id: None,
        name,
        redirect_uris,
        auth_method,
        // OIDC Registration §2: RS256 when the client does not say; operators' default differs.
        alg: Some(m.id_token_signed_response_alg.clone().unwrap_or_else(|| "RS256".into())),
        scopes: m.scope.as_deref().unwrap_or_default().split_ascii_whitespace().map(str::to_owned).collect(),
        first_party,
        claims_profile: None,
        options,
    };
    let extra =
        Extra { application_type: application_type.into(), token_endpoint_auth_signing_alg: m.token_endpoint_auth_signing_alg.clone() };
    Ok((spec, extra))
}

/// The client information response (RFC 7591 §3.2.1, RFC 7592 §3).
fn information(app: &App, c: &Client, extra: &Extra, issued_at: i64, secret: Option<&str>, token: &str) -> Value {
    let o = &c.options;
    let grants: Vec<&str> = if o.grant_types.is_empty() {
        vec![GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN]
    } else {
        o.grant_types.iter().map(String::as_str).collect()
    };
    let response_types: Vec<&str> = if grants.contains(&GRANT_AUTHORIZATION_CODE) { vec!["code"] } else { vec![] };
    let mut v = json!({
        "client_id": c.id,
        "client_id_issued_at": issued_at,
        "client_name": c.name,
        "redirect_uris": c.redirect_uris,
        "token_endpoint_auth_method": c.auth_method.as_str(),
        "grant_types": grants,
        "response_types": response_types,
        "scope": c.allowed_scopes.join(" "),
        "id_token_signed_response_alg": c.id_token_alg.as_str(),
        "subject_type": if c.first_party { "public" } else { "pairwise" },
        "application_type": extra.application_type,
        "require_pushed_authorization_requests": c.requires_par(),
        "dpop_bound_access_tokens": c.requires_dpop(),
        "registration_access_token": token,
        "registration_client_uri": app.settings.url(&format!("/register/{}", c.id)),
    });
    let optional = [
        ("token_endpoint_auth_signing_alg", extra.token_endpoint_auth_signing_alg.as_ref().map(|a| json!(a))),
        ("jwks", o.jwks.clone()),
        ("jwks_uri", o.jwks_uri.as_ref().map(|u| json!(u))),
        ("sector_identifier_uri", o.sector_identifier_uri.as_ref().map(|u| json!(u))),
        ("post_logout_redirect_uris", (!o.post_logout_redirect_uris.is_empty()).then(|| json!(o.post_logout_redirect_uris))),
        ("backchannel_logout_uri", o.backchannel_logout_uri.as_ref().map(|u| json!(u))),
        ("client_secret", secret.map(|s| json!(s))),
        ("purposes", (!o.purposes.is_empty()).then(|| json!(o.purposes))),
        ("responsible_organisation", o.responsible_organisation.as_ref().map(|r| json!(r))),
        ("legal_basis", o.legal_basis.as_ref().map(|b| json!(b))),
    ];
    for (k, val) in optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))) {
        v[k] = val;
    }
    if c.secret_hash.is_some() {
        // RFC 7591 §3.2.1: 0 means the secret does not expire.
        v["client_secret_expires_at"] = json!(0);
    }
    v
}

fn respond(status: StatusCode, body: Value) -> Response {
    let mut res = (status, Json(body)).into_response();
    no_store(&mut res);
    res
}

fn bearer(headers: &HeaderMap) -> Result<&str, DcrError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(DcrError::NoToken);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, t)| scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() && t.len() <= 256)
        .map(|(_, t)| t.trim())
        .ok_or(DcrError::InvalidToken("send the token as Authorization: Bearer"))
}

/// POST /register
pub async fn register(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Result<Response, DcrError> {
    let now = app.now();
    let initial = bearer(&headers)?;
    let op = app
        .store
        .operator_token(&token_hash(initial), now)
        .await?
        .ok_or(DcrError::InvalidToken("the initial access token is not valid"))?;
    if !op.scopes.iter().any(|s| s == SCOPE_REGISTER) {
        return Err(DcrError::InsufficientScope);
    }
    let m = parse(&body)?;
    let (spec, extra) = to_spec(&m, op.scopes.iter().any(|s| s == SCOPE_FIRST_PARTY))?;
    let (client, secret) = registration::build(&spec)?;
    sector::verify_client(&app.outbound, &client).await?;
    let token = random_token();
    app.store.put_client(&client, now).await?;
    app.store.set_registration_token(&client.id, &token_hash(&token)).await?;
    app.store.put_registration_metadata(&client.id, &extra_json(&extra)?, now).await?;
    let detail = json!({"operator": op.name, "name": client.name, "via": "dynamic_registration"});
    audit::record(&app.store, now, Event::ClientRegistered, None, Some(client.id.as_str()), detail).await?;
    Ok(respond(StatusCode::CREATED, information(&app, &client, &extra, now, secret.as_deref(), &token)))
}

fn extra_json(extra: &Extra) -> Result<String, DcrError> {
    serde_json::to_string(extra).map_err(|e| DcrError::Store(StoreError::Corrupt(e.to_string())))
}

/// The client named in the path, if the bearer token is its registration access token. Every
/// failure is the same 401 so that the answer does not tell whether the client exists.
async fn authorised(app: &App, headers: &HeaderMap, id: &str) -> Result<(Client, Registration, Extra), DcrError> {
    const INVALID: DcrError = DcrError::InvalidToken("the registration access token is not valid for this client");
    let presented = token_hash(bearer(headers)?);
    let Some(id) = ClientId::parse(id) else {
        return Err(INVALID);
    };
    let Some(reg) = app.store.registration(&id).await? else {
        // RFC 7592 §2.1: a token used for a client that does not exist is revoked.
        app.store.revoke_registration_token(&presented).await?;
        return Err(INVALID);
    };
    let valid = reg.token_hash.as_deref().is_some_and(|h| ct_eq(h.as_bytes(), presented.as_bytes()));
    if !valid {
        return Err(INVALID);
    }
    let client = app.store.client(&id).await?.ok_or(INVALID)?;
    let extra = match reg.metadata.as_deref() {
        Some(text) => serde_json::from_str(text).map_err(|_| StoreError::Corrupt("client_registrations.metadata".into()))?,
        None => Extra { application_type: "web".into(), token_endpoint_auth_signing_alg: None },
    };
    Ok((client, reg, extra))
}

/// GET /register/{client_id} (RFC 7592 §2.1). The secret is stored hashed, so it is not returned.
pub async fn read(State(app): State<Arc<App>>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, DcrError> {
    let (client, reg, extra) = authorised(&app, &headers, &id).await?;
    let token = bearer(&headers)?;
    Ok(respond(StatusCode::OK, information(&app, &client, &extra, reg.issued_at, None, token)))
}

/// PUT /register/{client_id} (RFC 7592 §2.2): replaces the metadata.
pub async fn update(State(app): State<Arc<App>>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Result<Response, DcrError> {
    let (current, reg, _) = authorised(&app, &headers, &id).await?;
    let token = bearer(&headers)?;
    let m = parse(&body)?;
    let server_issued = [
        ("registration_access_token", m.registration_access_token.is_some()),
        ("registration_client_uri", m.registration_client_uri.is_some()),
        ("client_id_issued_at", m.client_id_issued_at.is_some()),
        ("client_secret_expires_at", m.client_secret_expires_at.is_some()),
    ];
    if let Some((name, _)) = server_issued.iter().find(|(_, present)| *present) {
        return Err(DcrError::metadata(format!("{name} must not be sent in an update (RFC 7592 §2.2)")));
    }
    if m.client_id.as_deref() != Some(current.id.as_str()) {
        return Err(DcrError::metadata("client_id must be sent and match the client being updated"));
    }
    if let Some(s) = &m.client_secret {
        // RFC 7592 §2.2: a client cannot choose its secret; it may only repeat the current one.
        let matches = current.secret_hash.as_deref().is_some_and(|h| ct_eq(h.as_bytes(), token_hash(s).as_bytes()));
        if !matches {
            return Err(DcrError::metadata("client_secret does not match the current secret"));
        }
    }
    // The subject type is fixed at registration: the registration access token is not an
    // operator's and cannot grant first-party status, and dropping it would change every `sub`.
    let wanted_public = m.subject_type.as_deref().map(|s| s == "public").unwrap_or(current.first_party);
    if wanted_public != current.first_party {
        return Err(DcrError::metadata("subject_type cannot change after registration"));
    }
    let (mut spec, extra) = to_spec(&m, current.first_party)?;
    spec.first_party = current.first_party;
    spec.id = Some(current.id.to_string());
    spec.claims_profile = Some(current.claims_profile.as_str().into());
    spec.options.access_token_format = current.options.access_token_format;
    spec.options.profile = current.options.profile;
    let (mut client, mut secret) = registration::build(&spec)?;
    if !client.first_party && client.sector != current.sector {
        return Err(DcrError::metadata(format!(
            "the pairwise sector would change from {} to {}, changing every subject; register a new client instead",
            current.sector, client.sector
        )));
    }
    sector::verify_client(&app.outbound, &client).await?;
    // Keep the current secret when the client still uses one; a new one only when it starts to.
    if client.secret_hash.is_some() && current.secret_hash.is_some() {
        client.secret_hash = current.secret_hash.clone();
        secret = None;
    }
    let now = app.now();
    app.store.put_client(&client, now).await?;
    app.store.put_registration_metadata(&client.id, &extra_json(&extra)?, now).await?;
    audit::record(&app.store, now, Event::ClientUpdated, None, Some(client.id.as_str()), json!({"name": client.name})).await?;
    Ok(respond(StatusCode::OK, information(&app, &client, &extra, reg.issued_at, secret.as_deref(), token)))
}

/// DELETE /register/{client_id} (RFC 7592 §2.3): the client and everything issued to it.
pub async fn delete(State(app): State<Arc<App>>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, DcrError> {
    let (client, _, _) = authorised(&app, &headers, &id).await?;
    app.store.delete_client(&client.id).await?;
    audit::record(&app.store, app.now(), Event::ClientDeleted, None, Some(client.id.as_str()), json!({"name": client.name})).await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    no_store(&mut res);
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::RedirectUriError;

    fn meta(v: Value) -> MetadataIn {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn maps_and_checks_metadata() {
        let m = meta(json!({"redirect_uris": ["https://a.gov.vn/cb"], "unknown": 1, "client_name": null}));
        let (s, e) = to_spec(&m, false).unwrap();
        assert_eq!(s.name, "a.gov.vn");
        assert_eq!(s.alg.as_deref(), Some("RS256"));
        assert_eq!(e.application_type, "web");
        let err = |v: Value, fp: bool| to_spec(&meta(v), fp).unwrap_err().to_string();
        assert!(err(json!({"response_types": ["token"]}), false).contains("only code"));
        assert!(err(json!({"grant_types": ["refresh_token"]}), false).contains("must include"));
        assert!(err(json!({"grant_types": ["authorization_code"], "response_types": []}), false).contains("go together"));
        assert!(err(json!({"subject_type": "public"}), false).contains("first-party"));
        assert!(to_spec(&meta(json!({"subject_type": "public"})), true).unwrap().0.first_party);
        assert!(err(json!({"application_type": "desktop"}), false).contains("application_type"));
        assert!(matches!(to_spec(&meta(json!({"redirect_uris": ["vn.gov.app:/cb"]})), false), Err(DcrError::InvalidRedirectUri(_))));
        assert!(to_spec(&meta(json!({"redirect_uris": ["vn.gov.app:/cb"], "application_type": "native"})), false).is_ok());
        assert!(err(json!({"token_endpoint_auth_signing_alg": "ES256"}), false).contains("private_key_jwt"));
        let pkj = json!({"token_endpoint_auth_method": "private_key_jwt", "token_endpoint_auth_signing_alg": "HS256"});
        assert!(err(pkj, false).contains("not supported"));
        let device = meta(json!({"grant_types": [crate::client::GRANT_DEVICE_CODE]}));
        assert!(to_spec(&device, false).is_ok());
    }

    #[test]
    fn registration_errors_map_to_rfc_7591_codes() {
        let e: DcrError = RegistrationError::RedirectUri(RedirectUriError::Missing).into();
        assert!(matches!(e, DcrError::InvalidRedirectUri(_)));
        let e: DcrError = RegistrationError::Alg.into();
        assert!(matches!(e, DcrError::InvalidClientMetadata(_)));
    }
}
