//! Minting tokens for a grant, without HTTP: the token endpoint (codes, refresh) and the device
//! grant both issue through here (RFC 6749 §5.1, OIDC Core §3.1.3.3, RFC 9068, RFC 9449).

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::id_token::{IdTokenClaims, at_hash};
use crate::assurance::Acr;
use crate::client::{AccessTokenFormat, Client, GRANT_REFRESH_TOKEN};
use crate::crypto::{random_token, token_hash};
use crate::identity::PersonId;
use crate::protocol::error::OAuthError;
use crate::scope::Scopes;
use crate::state::App;
use crate::store::grants::AccessGrant;
use crate::store::refresh::RefreshGrant;

/// The token response body (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub struct Minted {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub id_token: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// OIDC Core §11: a refresh token only for `offline_access`, granted with consent, to a client
/// registered for the refresh grant.
pub fn wants_refresh(client: &Client, scopes: &Scopes) -> bool {
    scopes.contains("offline_access") && client.options.allows_grant(GRANT_REFRESH_TOKEN)
}

/// What a grant issues tokens for.
pub struct Issuance<'a> {
    /// The grant type the tokens are issued for (the disclosure record says how data left).
    pub grant_type: &'static str,
    /// The grant id; refresh tokens of this grant form one family with this id.
    pub grant_id: &'a str,
    pub person_id: &'a PersonId,
    pub subject: &'a str,
    pub scopes: &'a Scopes,
    pub auth_time: i64,
    pub acr: Acr,
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

/// Mints the access token (opaque or RFC 9068 JWT, DPoP-bound to `jkt`), the ID token and, when
/// planned, the next refresh token, and stores what must be stored.
pub async fn mint(
    app: &App,
    client: &Client,
    g: &Issuance<'_>,
    now: i64,
    jkt: Option<&str>,
    refresh: Option<RefreshPlan<'_>>,
) -> Result<Minted, OAuthError> {
    let s = &app.settings;
    let jkt = jkt.map(str::to_owned);
    let access_token = match client.options.access_token_format {
        AccessTokenFormat::Opaque => random_token(),
        AccessTokenFormat::Jwt => jwt_access_token(app, client, g, now, jkt.as_deref())?,
    };
    let signer = app.keys.signer(client.id_token_alg).map_err(OAuthError::server_error)?;
    let mut extra = crate::identity::acting_for::parse_extra(g.extra_claims);
    if let Some(cr) = g.claims_request {
        add_requested_claims(app, g, cr, &mut extra).await?;
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
            client_id: client.id.clone(),
            person_id: g.person_id.clone(),
            subject: g.subject.to_string(),
            scopes: g.scopes.clone(),
            expires_at: now + s.access_token_ttl,
            extra_claims: g.extra_claims.map(str::to_owned),
            jkt: jkt.clone(),
            sid: Some(g.sid.to_string()),
            issued_at: now,
            released: Some(crate::privacy::disclosure::released_by_token(client, g.grant_type, g.scopes, g.acr, g.extra_claims)),
        })
        .await
        .map_err(OAuthError::server_error)?;
    let refresh_token = match refresh {
        None => None,
        Some(plan) => {
            let token = random_token();
            let (family, scopes) = match plan {
                RefreshPlan::Start => (g.grant_id.to_string(), g.scopes.clone()),
                RefreshPlan::Rotate(prev) => (prev.family_id.clone(), prev.scopes.clone()),
            };
            app.store
                .insert_refresh(&RefreshGrant {
                    token_hash: token_hash(&token),
                    family_id: family,
                    client_id: client.id.clone(),
                    person_id: g.person_id.clone(),
                    subject: g.subject.to_string(),
                    scopes,
                    auth_time: g.auth_time,
                    acr: g.acr,
                    amr: g.amr.to_vec(),
                    sid: g.sid.to_string(),
                    extra_claims: g.extra_claims.map(str::to_owned),
                    // Confidential clients are already sender-constrained by authentication.
                    jkt: if client.is_public() { jkt.clone() } else { None },
                    created_at: now,
                    expires_at: now + s.refresh_token_ttl,
                    rotated_at: None,
                    revoked_at: None,
                    displaced_at: None,
                })
                .await
                .map_err(OAuthError::server_error)?;
            Some(token)
        }
    };
    Ok(Minted {
        access_token,
        token_type: if jkt.is_some() { "DPoP" } else { "Bearer" },
        expires_in: s.access_token_ttl,
        id_token,
        scope: g.scopes.joined(),
        refresh_token,
    })
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
        "scope": g.scopes.joined(),
        "auth_time": g.auth_time,
        "acr": g.acr,
        "amr": g.amr,
    });
    if let Some(k) = jkt {
        claims["cnf"] = json!({ "jkt": k });
    }
    signer.sign_jwt("at+jwt", &claims).map_err(OAuthError::server_error)
}

/// OIDC Core §5.5: copies the claims requested for the ID token from what the granted scopes
/// release (never more).
async fn add_requested_claims(app: &App, g: &Issuance<'_>, stored: &str, out: &mut Map<String, Value>) -> Result<(), OAuthError> {
    let names = crate::protocol::claims_request::id_token_claim_names(stored);
    if names.is_empty() {
        return Ok(());
    }
    let Some(person) = app.store.person(g.person_id).await? else { return Ok(()) };
    let released = crate::protocol::scopes::userinfo(g.subject, &person, g.scopes, Map::new(), crate::client::ClaimsProfile::Standard);
    for name in names {
        if let Some(v) = released.get(name.as_str()) {
            out.insert(name, v.clone());
        }
    }
    Ok(())
}
