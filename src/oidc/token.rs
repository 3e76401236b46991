//! The token endpoint (RFC 6749 §3.2; OIDC Core §3.1.3, §12): authorization_code with PKCE, and
//! refresh_token with rotation; DPoP binding (RFC 9449) and JWT access tokens (RFC 9068).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::client::{AccessTokenFormat, Client, GRANT_AUTHORIZATION_CODE, GRANT_DEVICE_CODE, GRANT_REFRESH_TOKEN};
use super::client_auth;
use super::dpop::{self, Place, Proof};
use super::error::{ErrorCode, OAuthError};
use super::id_token::{IdTokenClaims, at_hash};
use crate::app::App;
use crate::audit::{self, Event};
use crate::keys::secret::{b64url, ct_eq, random_token, sha256, token_hash};
use crate::store::grants::{AccessGrant, CodeGrant};
use crate::store::refresh::RefreshGrant;
use crate::web::form::Params;

pub async fn token(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    match exchange(&app, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

async fn exchange(app: &App, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    if !is_form(headers) {
        return Err(OAuthError::invalid_request("the body must be application/x-www-form-urlencoded"));
    }
    let p = Params::parse(body).map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    let client = client_auth::authenticate(app, headers, &p).await?;
    let grant_type = p.get("grant_type").ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    if ![GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN, GRANT_DEVICE_CODE].contains(&grant_type) {
        return Err(OAuthError::new(ErrorCode::UnsupportedGrantType, "supported: authorization_code, refresh_token, device_code"));
    }
    if !client.options.allows_grant(grant_type) {
        return Err(OAuthError::new(ErrorCode::UnauthorizedClient, "this client is not registered for this grant type"));
    }
    let proof = dpop::check(app, headers, "POST", &app.settings.url("/token"), Place::AuthorizationServer, dpop::algs_for(&client)).await?;
    if client.requires_dpop() && proof.is_none() {
        // Absent, not invalid: `invalid_dpop_proof` is for a proof that fails its checks.
        return Err(OAuthError::invalid_request("this client must send a DPoP proof"));
    }
    match grant_type {
        GRANT_AUTHORIZATION_CODE => authorization_code(app, &client, &p, proof.as_ref()).await,
        GRANT_REFRESH_TOKEN => refresh_token(app, &client, &p, proof.as_ref()).await,
        _ => super::device::redeem(app, &client, &p, proof.as_ref()).await,
    }
}

/// RFC 7636 §4.1: 43–128 characters of the unreserved set.
fn verifier_well_formed(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

async fn authorization_code(app: &App, client: &Client, p: &Params, proof: Option<&Proof>) -> Result<Response, OAuthError> {
    let code = p.get("code").ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let redirect_uri = p.get("redirect_uri").ok_or_else(|| OAuthError::invalid_request("redirect_uri is required"))?;
    let verifier = p
        .get("code_verifier")
        .ok_or_else(|| OAuthError::invalid_request("code_verifier is required (PKCE)"))?;
    let now = app.now();
    let invalid = || OAuthError::invalid_grant("the authorization code is invalid, expired, or was issued to another client");
    let hash = token_hash(code);
    let grant = app.store.code(&hash).await.map_err(OAuthError::server_error)?.ok_or_else(invalid)?;
    if grant.client_id != client.id.as_str() {
        return Err(invalid());
    }
    if grant.used_at.is_some() {
        return Err(replayed(app, &grant, now).await);
    }
    if grant.expires_at <= now {
        return Err(invalid());
    }
    if grant.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant("redirect_uri differs from the authorization request"));
    }
    let challenge = b64url(&sha256(verifier.as_bytes()));
    if !verifier_well_formed(verifier) || !ct_eq(challenge.as_bytes(), grant.code_challenge.as_bytes()) {
        return Err(OAuthError::invalid_grant("code_verifier does not match the code_challenge"));
    }
    // RFC 9449 §10: a code bound with dpop_jkt is redeemed only with a proof of that key.
    if let Some(bound) = &grant.jkt {
        check_binding(proof, bound, "the code")?;
    }
    if !app.store.use_code(&hash, now).await.map_err(OAuthError::server_error)? {
        // A concurrent redemption won the race: this is a replay too.
        return Err(replayed(app, &grant, now).await);
    }
    let issuance = Issuance {
        grant_id: &grant.grant_id,
        person_id: &grant.person_id,
        subject: &grant.subject,
        scopes: &grant.scopes,
        auth_time: grant.auth_time,
        acr: &grant.acr,
        amr: &grant.amr,
        sid: &grant.sid,
        extra_claims: grant.extra_claims.as_deref(),
        nonce: grant.nonce.as_deref(),
        claims_request: grant.claims_request.as_deref(),
    };
    let refresh = wants_refresh(client, &grant.scopes).then_some(RefreshPlan::Start);
    issue(app, client, &issuance, now, proof, refresh).await
}

/// A grant bound to a DPoP key is used only with a proof of that key.
fn check_binding(proof: Option<&Proof>, bound: &str, what: &str) -> Result<(), OAuthError> {
    match proof {
        None => Err(OAuthError::invalid_request(format!("{what} is DPoP-bound: send a DPoP proof"))),
        Some(p) if p.jkt != bound => Err(OAuthError::new(ErrorCode::InvalidDpopProof, format!("{what} is bound to another DPoP key"))),
        Some(_) => Ok(()),
    }
}

/// OIDC Core §11: a refresh token only for `offline_access`, granted with consent, to a client
/// registered for the refresh grant.
pub fn wants_refresh(client: &Client, scopes: &[String]) -> bool {
    scopes.iter().any(|s| s == "offline_access") && client.options.allows_grant(GRANT_REFRESH_TOKEN)
}

/// RFC 6749 §4.1.2: a code used twice revokes every token it produced.
async fn replayed(app: &App, grant: &CodeGrant, now: i64) -> OAuthError {
    let revoked = match app.store.revoke_grant(&grant.grant_id, now).await {
        Ok(n) => n,
        Err(e) => return OAuthError::server_error(e),
    };
    let detail = json!({ "revoked_tokens": revoked });
    if let Err(e) = audit::record(&app.store, now, Event::CodeReplayed, Some(&grant.person_id), Some(&grant.client_id), detail).await {
        return OAuthError::server_error(e);
    }
    OAuthError::invalid_grant("the authorization code was already used; tokens issued from it are revoked")
}

/// RFC 6749 §6 with rotation (RFC 9700 §4.14.2): every use returns a new refresh token; a
/// rotated token presented again within the grace period (the client lost the response) gets a
/// new pair once more, later it is a theft signal and the whole family is revoked.
async fn refresh_token(app: &App, client: &Client, p: &Params, proof: Option<&Proof>) -> Result<Response, OAuthError> {
    let presented = p.get("refresh_token").ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let now = app.now();
    let invalid = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
    let hash = token_hash(presented);
    let rt = app.store.refresh(&hash).await.map_err(OAuthError::server_error)?.ok_or_else(invalid)?;
    if rt.client_id != client.id.as_str() || rt.revoked_at.is_some() || rt.expires_at <= now {
        return Err(invalid());
    }
    // RFC 9449 §5: a public client's refresh token is bound to its DPoP key.
    if let Some(bound) = &rt.jkt {
        check_binding(proof, bound, "the refresh token")?;
    }
    let scopes = match p.get("scope") {
        None => rt.scopes.clone(),
        Some(wanted) => {
            let wanted: Vec<String> = wanted.split_ascii_whitespace().map(str::to_owned).collect();
            if wanted.iter().any(|w| !rt.scopes.contains(w)) {
                return Err(OAuthError::new(ErrorCode::InvalidScope, "a refresh may narrow the scope, never widen it"));
            }
            wanted
        }
    };
    let active = app.store.person(&rt.person_id).await.map_err(OAuthError::server_error)?.is_some_and(|x| x.status == crate::identity::PersonStatus::Active);
    if !active {
        return Err(invalid());
    }
    if client.is_fapi() {
        // FAPI 2.0 §5.3.2.1: no rotation for these sender-constrained clients; the token stays
        // valid until it expires or is revoked, and the response carries none.
        if rt.rotated_at.is_some() {
            return Err(invalid());
        }
        return issue(app, client, &refreshed(&rt, &scopes), now, proof, None).await;
    }
    let fresh_rotation = rt.rotated_at.is_none() && app.store.rotate_refresh(&hash, now).await.map_err(OAuthError::server_error)?;
    if !fresh_rotation {
        let rotated_at = match rt.rotated_at {
            Some(t) => t,
            // Rotated by a concurrent request a moment ago: treat as a retry at `now`.
            None => now,
        };
        if now - rotated_at >= app.settings.refresh_grace {
            let revoked = app.store.revoke_family(&rt.family_id, now).await.map_err(OAuthError::server_error)?;
            let detail = json!({"family": rt.family_id, "revoked_tokens": revoked});
            audit::record(&app.store, now, Event::RefreshReused, Some(&rt.person_id), Some(&rt.client_id), detail)
                .await
                .map_err(OAuthError::server_error)?;
            return Err(OAuthError::invalid_grant("the refresh token was already used; its family is revoked"));
        }
        // Within the grace period: the successor whose response was lost dies, a new one is issued.
        app.store.revoke_live_refresh(&rt.family_id, now).await.map_err(OAuthError::server_error)?;
    }
    issue(app, client, &refreshed(&rt, &scopes), now, proof, Some(RefreshPlan::Rotate(&rt))).await
}

/// What a refresh issues: the sign-in the family started with, for the (possibly narrowed) scopes.
fn refreshed<'a>(rt: &'a RefreshGrant, scopes: &'a [String]) -> Issuance<'a> {
    Issuance {
        grant_id: &rt.family_id,
        person_id: &rt.person_id,
        subject: &rt.subject,
        scopes,
        auth_time: rt.auth_time,
        acr: &rt.acr,
        amr: &rt.amr,
        sid: &rt.sid,
        extra_claims: rt.extra_claims.as_deref(),
        nonce: None,
        claims_request: None,
    }
}

/// What a grant issues tokens for.
pub struct Issuance<'a> {
    /// The grant id; refresh tokens of this grant form one family with this id.
    pub grant_id: &'a str,
    pub person_id: &'a str,
    pub subject: &'a str,
    pub scopes: &'a [String],
    pub auth_time: i64,
    pub acr: &'a str,
    pub amr: &'a [String],
    pub sid: &'a str,
    pub extra_claims: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub claims_request: Option<&'a str>,
}

pub enum RefreshPlan<'a> {
    /// The first refresh token of a family.
    Start,
    /// The successor of a presented token (keeps its family and original scopes).
    Rotate(&'a RefreshGrant),
}

/// Issues the access token (opaque or RFC 9068 JWT, DPoP-bound when a proof came), the ID token
/// and, when planned, the next refresh token.
pub async fn issue(app: &App, client: &Client, g: &Issuance<'_>, now: i64, proof: Option<&Proof>, refresh: Option<RefreshPlan<'_>>) -> Result<Response, OAuthError> {
    let s = &app.settings;
    let jkt = proof.map(|p| p.jkt.clone());
    let access_token = match client.options.access_token_format {
        AccessTokenFormat::Opaque => random_token(),
        AccessTokenFormat::Jwt => jwt_access_token(app, client, g, now, jkt.as_deref())?,
    };
    let signer = app.keys.signer(client.id_token_alg).map_err(OAuthError::server_error)?;
    let mut extra = crate::identity::acting_for::parse_extra(g.extra_claims);
    if let Some(cr) = g.claims_request {
        super::claims_request::add_id_token_claims(app, g, cr, &mut extra).await?;
    }
    let claims = IdTokenClaims {
        iss: &s.issuer_str,
        sub: g.subject,
        aud: client.id.as_str(),
        exp: now + s.id_token_ttl,
        iat: now,
        auth_time: g.auth_time,
        nonce: g.nonce,
        acr: g.acr,
        amr: g.amr,
        sid: g.sid,
        at_hash: at_hash(&access_token),
        extra,
    };
    let id_token = signer.sign_jwt("JWT", &claims).map_err(OAuthError::server_error)?;
    app.store
        .insert_access_token(&AccessGrant {
            token_hash: token_hash(&access_token),
            grant_id: g.grant_id.to_string(),
            client_id: client.id.as_str().to_string(),
            person_id: g.person_id.to_string(),
            subject: g.subject.to_string(),
            scopes: g.scopes.to_vec(),
            expires_at: now + s.access_token_ttl,
            extra_claims: g.extra_claims.map(str::to_owned),
            jkt: jkt.clone(),
            sid: Some(g.sid.to_string()),
            issued_at: now,
        })
        .await
        .map_err(OAuthError::server_error)?;
    let refresh_token = match refresh {
        None => None,
        Some(plan) => {
            let token = random_token();
            let (family, scopes) = match plan {
                RefreshPlan::Start => (g.grant_id.to_string(), g.scopes.to_vec()),
                RefreshPlan::Rotate(prev) => (prev.family_id.clone(), prev.scopes.clone()),
            };
            app.store
                .insert_refresh(&RefreshGrant {
                    token_hash: token_hash(&token),
                    family_id: family,
                    client_id: client.id.as_str().to_string(),
                    person_id: g.person_id.to_string(),
                    subject: g.subject.to_string(),
                    scopes,
                    auth_time: g.auth_time,
                    acr: g.acr.to_string(),
                    amr: g.amr.to_vec(),
                    sid: g.sid.to_string(),
                    extra_claims: g.extra_claims.map(str::to_owned),
                    // Confidential clients are already sender-constrained by authentication.
                    jkt: if client.is_public() { jkt.clone() } else { None },
                    created_at: now,
                    expires_at: now + s.refresh_token_ttl,
                    rotated_at: None,
                    revoked_at: None,
                })
                .await
                .map_err(OAuthError::server_error)?;
            Some(token)
        }
    };
    let mut body = json!({
        "access_token": access_token,
        "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
        "expires_in": s.access_token_ttl,
        "id_token": id_token,
        "scope": g.scopes.join(" "),
    });
    if let Some(rt) = refresh_token {
        body["refresh_token"] = Value::String(rt);
    }
    let mut res = axum::Json(body).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    if proof.is_some()
        && let Ok(n) = HeaderValue::from_str(&dpop::current_nonce(app))
    {
        h.insert("dpop-nonce", n);
    }
    Ok(res)
}

/// RFC 9068 §2.2. The audience is the client itself unless resource indicators are added: the
/// portal's own API is the resource it calls with the token.
fn jwt_access_token(app: &App, client: &Client, g: &Issuance<'_>, now: i64, jkt: Option<&str>) -> Result<String, OAuthError> {
    let signer = app.keys.signer(client.id_token_alg).map_err(OAuthError::server_error)?;
    let mut claims = json!({
        "iss": app.settings.issuer_str,
        "sub": g.subject,
        "aud": client.id.as_str(),
        "client_id": client.id.as_str(),
        "exp": now + app.settings.access_token_ttl,
        "iat": now,
        "jti": random_token(),
        "scope": g.scopes.join(" "),
        "auth_time": g.auth_time,
        "acr": g.acr,
        "amr": g.amr,
    });
    if let Some(k) = jkt {
        claims["cnf"] = json!({ "jkt": k });
    }
    signer.sign_jwt("at+jwt", &claims).map_err(OAuthError::server_error)
}

#[cfg(test)]
mod tests {
    #[test]
    fn verifier_syntax() {
        assert!(super::verifier_well_formed(&"a".repeat(43)));
        assert!(super::verifier_well_formed(&"a-._~".repeat(20)));
        assert!(!super::verifier_well_formed(&"a".repeat(42)));
        assert!(!super::verifier_well_formed(&"a".repeat(129)));
        assert!(!super::verifier_well_formed(&format!("{}+", "a".repeat(43))));
    }
}
