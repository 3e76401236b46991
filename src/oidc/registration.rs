//! Building a client registration from what an operator (CLI or admin API) asks for, with the
//! metadata validated in one place.

use serde_json::{Value, json};

use crate::client::{
    AuthMethod, ClaimsProfile, Client, ClientId, ClientOptions, GRANT_AUTHORIZATION_CODE, GRANT_DEVICE_CODE, GRANT_REFRESH_TOKEN,
    RedirectUriError, validate_redirect_uris,
};
use crate::crypto::Alg;
use crate::crypto::{random_token, token_hash};
use crate::protocol::scopes;

#[derive(Debug, Default, Clone)]
pub struct ClientSpec {
    pub id: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
    /// `client_secret_basic` (default), `client_secret_post` or `none` (public client).
    pub auth_method: Option<String>,
    pub alg: Option<String>,
    pub scopes: Vec<String>,
    pub first_party: bool,
    pub claims_profile: Option<String>,
    pub options: ClientOptions,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistrationError {
    #[error("client_name must be 1–200 characters")]
    Name,
    #[error("client_id must be 1–128 printable ASCII characters")]
    Id,
    #[error(transparent)]
    RedirectUri(#[from] RedirectUriError),
    #[error("token_endpoint_auth_method must be client_secret_basic, client_secret_post, private_key_jwt or none")]
    AuthMethod,
    #[error("id_token_signed_response_alg must be ES256 or RS256")]
    Alg,
    #[error("unsupported scope {0:?}; supported: openid profile email phone address vn_identity vn_org vn_official offline_access")]
    Scope(String),
    #[error("claims_profile must be standard or vn_hub")]
    ClaimsProfile,
    #[error("private_key_jwt needs exactly one of jwks or jwks_uri")]
    KeysRequired,
    #[error("jwks is not a JWK set of public signing keys")]
    Jwks,
    #[error("{0} must be an https URL (http only for loopback) without a fragment")]
    Url(&'static str),
    #[error("post_logout_redirect_uris: {0}")]
    PostLogoutRedirectUri(RedirectUriError),
    #[error("unsupported grant type {0:?}; supported: authorization_code refresh_token urn:ietf:params:oauth:grant-type:device_code")]
    GrantType(String),
    #[error("the FAPI 2.0 profile needs private_key_jwt and an ES256 ID token signature")]
    Fapi,
    #[error("purposes and legal_basis need a text in Vietnamese (vi) and English (en), each 1–500 characters without control characters")]
    Purpose,
    #[error("responsible_organisation needs a name and a contact, each 1–200 characters")]
    Responsible,
    #[error("agency_code is not a state agency code (e.g. 000.00.00.G12)")]
    AgencyCode,
}

/// The pairwise sector of a client whose redirect URIs are on `host`. Loopback hosts belong to
/// no one: every native app (and every demo portal) on `localhost` would share one pairwise
/// subject, so such a client is its own sector (RFC 8252 apps, development).
pub fn loopback_own_sector(id: &ClientId, host: String) -> String {
    if matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]") { format!("client:{id}") } else { host }
}

/// A client ready to store, and its secret (shown once; only its hash is stored).
pub fn build(spec: &ClientSpec) -> Result<(Client, Option<String>), RegistrationError> {
    let name = spec.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(RegistrationError::Name);
    }
    let id = match &spec.id {
        Some(i) => ClientId::parse(i).ok_or(RegistrationError::Id)?,
        None => ClientId::parse(&random_token()[..22]).ok_or(RegistrationError::Id)?,
    };
    let sector = match validate_redirect_uris(&spec.redirect_uris) {
        // OIDC Core §8.1: a sector identifier document lets one client span several hosts; each
        // URI is still checked, and the sector becomes the document's host (below).
        Err(RedirectUriError::SeveralHosts(..)) if spec.options.sector_identifier_uri.is_some() => {
            for u in &spec.redirect_uris {
                validate_redirect_uris(std::slice::from_ref(u))?;
            }
            String::new()
        }
        other => other?,
    };
    let auth_method = match spec.auth_method.as_deref() {
        None => AuthMethod::ClientSecretBasic,
        Some(m) => AuthMethod::parse(m).ok_or(RegistrationError::AuthMethod)?,
    };
    let id_token_alg = match spec.alg.as_deref() {
        None => Alg::ES256,
        Some(a) => Alg::parse(a).ok_or(RegistrationError::Alg)?,
    };
    let mut allowed: Vec<String> = Vec::new();
    for s in &spec.scopes {
        if !scopes::is_supported(s) {
            return Err(RegistrationError::Scope(s.clone()));
        }
        if !allowed.contains(s) {
            allowed.push(s.clone());
        }
    }
    // Least privilege: a portal that asks for nothing gets sign-in alone (`openid`); every
    // scope that releases personal data is asked for by name.
    if !allowed.iter().any(|s| s == "openid") {
        allowed.insert(0, "openid".into());
    }
    let claims_profile = match spec.claims_profile.as_deref() {
        None => ClaimsProfile::Standard,
        Some(p) => ClaimsProfile::parse(p).ok_or(RegistrationError::ClaimsProfile)?,
    };
    let mut options = spec.options.clone();
    check_options(&mut options, auth_method, id_token_alg)?;
    let sector = match &options.sector_identifier_uri {
        // OIDC Core §8.1: the sector is the host of the sector identifier URI; that the document
        // lists every redirect URI is checked by `sector::verify` before the client is stored.
        Some(u) => {
            url::Url::parse(u).ok().and_then(|u| u.host_str().map(str::to_owned)).ok_or(RegistrationError::Url("sector_identifier_uri"))?
        }
        None => loopback_own_sector(&id, sector),
    };
    let has_secret = matches!(auth_method, AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost);
    let secret = has_secret.then(random_token);
    let client = Client {
        id,
        name: name.to_string(),
        secret_hash: secret.as_deref().map(token_hash),
        auth_method,
        redirect_uris: spec.redirect_uris.clone(),
        allowed_scopes: allowed,
        id_token_alg,
        sector,
        first_party: spec.first_party,
        claims_profile,
        options,
        disabled: None,
        previous_secret: None,
    };
    Ok((client, secret))
}

/// A URL a client registers for us to call or to send people to: https, or http on loopback.
pub fn check_https_url(u: &str, what: &'static str) -> Result<(), RegistrationError> {
    if crate::client::is_callable_url(u) { Ok(()) } else { Err(RegistrationError::Url(what)) }
}

fn check_options(o: &mut ClientOptions, method: AuthMethod, alg: Alg) -> Result<(), RegistrationError> {
    if let Some(jwks) = &o.jwks {
        let set = crate::protocol::jose::parse_key_set(jwks).map_err(|_| RegistrationError::Jwks)?;
        // A private key in a registration is a leak; refuse it rather than store it.
        let private = jwks.get("keys").and_then(|k| k.as_array()).is_some_and(|ks| ks.iter().any(|k| k.get("d").is_some()));
        if private || set.keys.iter().any(|k| matches!(k.algorithm, jsonwebtoken::jwk::AlgorithmParameters::OctetKey(_))) {
            return Err(RegistrationError::Jwks);
        }
    }
    if let Some(u) = &o.jwks_uri {
        check_https_url(u, "jwks_uri")?;
    }
    if method == AuthMethod::PrivateKeyJwt && o.jwks.is_some() == o.jwks_uri.is_some() {
        return Err(RegistrationError::KeysRequired);
    }
    if !o.post_logout_redirect_uris.is_empty() {
        validate_redirect_uris(&o.post_logout_redirect_uris).map_err(RegistrationError::PostLogoutRedirectUri)?;
    }
    if let Some(u) = &o.backchannel_logout_uri {
        check_https_url(u, "backchannel_logout_uri")?;
    }
    if let Some(u) = &o.sector_identifier_uri {
        check_https_url(u, "sector_identifier_uri")?;
    }
    let mut grants: Vec<String> = Vec::new();
    for g in &o.grant_types {
        if ![GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN, GRANT_DEVICE_CODE].contains(&g.as_str()) {
            return Err(RegistrationError::GrantType(g.clone()));
        }
        if !grants.contains(g) {
            grants.push(g.clone());
        }
    }
    o.grant_types = grants;
    for (scope, purpose) in &o.purposes {
        if !crate::protocol::scopes::is_supported(scope) {
            return Err(RegistrationError::Scope(scope.clone()));
        }
        if !purpose.is_valid() {
            return Err(RegistrationError::Purpose);
        }
    }
    if o.legal_basis.as_ref().is_some_and(|b| !b.is_valid()) {
        return Err(RegistrationError::Purpose);
    }
    if let Some(code) = &o.agency_code {
        // Stored in canonical form, as imports store organisations.
        o.agency_code = Some(crate::identity::AgencyCode::parse(code).map_err(|_| RegistrationError::AgencyCode)?.as_str().to_string());
    }
    if o.responsible_organisation.as_ref().is_some_and(|r| !r.is_valid()) {
        return Err(RegistrationError::Responsible);
    }
    if o.profile == crate::client::Profile::Fapi2 && (method != AuthMethod::PrivateKeyJwt || alg != Alg::ES256) {
        return Err(RegistrationError::Fapi);
    }
    Ok(())
}

/// The client's registration metadata (RFC 7591 names), never its secret hash.
pub fn metadata(c: &Client) -> Value {
    json!({
        "client_id": c.id,
        "client_name": c.name,
        "token_endpoint_auth_method": c.auth_method.as_str(),
        "redirect_uris": c.redirect_uris,
        "scope": c.allowed_scopes.join(" "),
        "id_token_signed_response_alg": c.id_token_alg.as_str(),
        "subject_type": if c.first_party { "public" } else { "pairwise" },
        "claims_profile": c.claims_profile.as_str(),
        "options": c.options,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ClientSpec {
        ClientSpec { name: "Cổng A".into(), redirect_uris: vec!["https://a.gov.vn/cb".into()], ..Default::default() }
    }

    #[test]
    fn defaults_and_errors() {
        let (c, secret) = build(&spec()).unwrap();
        assert_eq!(c.auth_method, AuthMethod::ClientSecretBasic);
        assert_eq!(secret.as_deref().map(token_hash), c.secret_hash);
        assert_eq!(c.allowed_scopes, ["openid"]);
        let public = build(&ClientSpec { auth_method: Some("none".into()), ..spec() }).unwrap();
        assert!(public.1.is_none() && public.0.secret_hash.is_none());
        let only = build(&ClientSpec { scopes: vec!["profile".into()], ..spec() }).unwrap().0;
        assert_eq!(only.allowed_scopes, ["openid", "profile"]);
        assert_eq!(build(&ClientSpec { name: " ".into(), ..spec() }).unwrap_err(), RegistrationError::Name);
        assert_eq!(build(&ClientSpec { alg: Some("HS256".into()), ..spec() }).unwrap_err(), RegistrationError::Alg);
        assert_eq!(build(&ClientSpec { scopes: vec!["admin".into()], ..spec() }).unwrap_err(), RegistrationError::Scope("admin".into()));
        assert!(matches!(build(&ClientSpec { redirect_uris: vec![], ..spec() }), Err(RegistrationError::RedirectUri(_))));
        let hosts = vec!["https://a.gov.vn/cb".to_string(), "https://b.gov.vn/cb".to_string()];
        let several = ClientSpec { redirect_uris: hosts.clone(), ..spec() };
        assert!(matches!(build(&several), Err(RegistrationError::RedirectUri(RedirectUriError::SeveralHosts(..)))));
        let sector_uri = Some("https://sector.gov.vn/s.json".to_string());
        let with_sector =
            ClientSpec { options: ClientOptions { sector_identifier_uri: sector_uri.clone(), ..Default::default() }, ..several };
        assert_eq!(build(&with_sector).unwrap().0.sector, "sector.gov.vn");
        let insecure = ClientSpec { redirect_uris: vec![hosts[0].clone(), "http://b.gov.vn/cb".into()], ..with_sector };
        assert!(matches!(build(&insecure), Err(RegistrationError::RedirectUri(RedirectUriError::Insecure(_)))));
    }
}
