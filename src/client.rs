//! Registered portals (relying parties).

use serde::Serialize;

use crate::crypto::Alg;

/// A portal's client id, as registered. Stored as text (only validated ids are ever written).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, sqlx::Type)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct ClientId(String);

impl ClientId {
    /// RFC 6749 Appendix A.1: VSCHAR (printable ASCII). Length capped to keep lookups bounded.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| (0x20..=0x7e).contains(&b));
        ok.then(|| Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for ClientId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Token endpoint authentication, as registered; a client must use exactly its method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    /// RFC 7523 §2.2: a JWT signed with a key from the client's `jwks` or `jwks_uri`.
    PrivateKeyJwt,
    None,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "client_secret_basic" => Some(AuthMethod::ClientSecretBasic),
            "client_secret_post" => Some(AuthMethod::ClientSecretPost),
            "private_key_jwt" => Some(AuthMethod::PrivateKeyJwt),
            "none" => Some(AuthMethod::None),
            _ => None,
        }
    }
}

/// Which claim names UserInfo speaks. `VnHub` adds the national hub's Vietnamese names
/// (`SoDinhDanh`, `HoVaTen`, `NgayThangNamSinh`, `LoaiTaiKhoan`) so that portals integrated with
/// it migrate without code changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimsProfile {
    Standard,
    VnHub,
}

impl ClaimsProfile {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimsProfile::Standard => "standard",
            ClaimsProfile::VnHub => "vn_hub",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "standard" => Some(ClaimsProfile::Standard),
            "vn_hub" => Some(ClaimsProfile::VnHub),
            _ => None,
        }
    }
}

/// The security profile a client is held to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    #[default]
    Default,
    /// FAPI 2.0 Security Profile: PAR, PKCE, private_key_jwt, DPoP-bound tokens, `iss`, and
    /// codes that live at most 60 seconds.
    Fapi2,
}

/// How access tokens are issued to a client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessTokenFormat {
    /// 256 random bits, stored hashed; checked by introspection.
    #[default]
    Opaque,
    /// RFC 9068 JWT, verifiable with the JWKS.
    Jwt,
}

/// Registration metadata beyond the core columns, stored as one JSON document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ClientOptions {
    /// RFC 7591: the client's public keys, inline…
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// …or by reference (fetched over https, cached).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// RFC 9126 §6.
    pub require_pushed_authorization_requests: bool,
    /// RFC 9449 §5.2: every access token of this client must be DPoP-bound.
    pub dpop_bound_access_tokens: bool,
    pub access_token_format: AccessTokenFormat,
    /// OIDC RP-Initiated Logout §3.1, exact match.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
    /// OIDC Back-Channel Logout §2.2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// OIDC Core §8.1: a document listing the redirect URIs of one sector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sector_identifier_uri: Option<String>,
    /// RFC 7591 §2: empty means the defaults (authorization_code, refresh_token).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grant_types: Vec<String>,
    pub profile: Profile,
    /// Decree 13/2023 Art. 11 (specific, informed consent): what the portal uses each scope
    /// for, by scope name; the consent page and the person's account page show it.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub purposes: std::collections::BTreeMap<String, Bilingual>,
    /// The organisation responsible for the portal's processing, and how a person reaches it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsible_organisation: Option<Responsible>,
    /// A legal basis other than consent (Decree 13/2023 Art. 17), when the portal processes the
    /// data because a law requires it. Recorded on each disclosure; the person is still shown
    /// what the portal receives.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Bilingual>,
    /// The state agency code of the organisation running the portal (`000.00.00.G12`,
    /// `000.00.00.H29`, …): the monitoring centre counts integrated portals by administrative level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agency_code: Option<String>,
}

/// A text a person reads, in both of the platform's languages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Bilingual {
    pub vi: String,
    pub en: String,
}

impl Bilingual {
    /// The longest text kept: a sentence or two, not a privacy policy.
    pub const MAX: usize = 500;

    /// Both texts present, of a readable length, without control characters.
    pub fn is_valid(&self) -> bool {
        [&self.vi, &self.en].iter().all(|t| is_plain_text(t, Self::MAX))
    }
}

/// The organisation answerable for a portal (the data controller) and a contact point (an
/// e-mail address, a telephone number or a web address).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Responsible {
    pub name: String,
    pub contact: String,
}

impl Responsible {
    pub fn is_valid(&self) -> bool {
        is_plain_text(&self.name, 200) && is_plain_text(&self.contact, 200)
    }
}

fn is_plain_text(t: &str, max: usize) -> bool {
    let t = t.trim();
    !t.is_empty() && t.chars().count() <= max && !t.chars().any(char::is_control)
}

pub const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";
pub const GRANT_DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";

impl ClientOptions {
    pub fn allows_grant(&self, grant: &str) -> bool {
        if self.grant_types.is_empty() {
            grant == GRANT_AUTHORIZATION_CODE || grant == GRANT_REFRESH_TOKEN
        } else {
            self.grant_types.iter().any(|g| g == grant)
        }
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    pub id: ClientId,
    pub name: String,
    /// SHA-256 of the secret (base64url); secrets are high-entropy, so no slow hash is needed.
    pub secret_hash: Option<String>,
    pub auth_method: AuthMethod,
    pub redirect_uris: Vec<String>,
    pub allowed_scopes: Vec<String>,
    pub id_token_alg: Alg,
    /// Sector identifier for pairwise subjects (the redirect URIs' host).
    pub sector: String,
    /// First-party portals get the public subject; everyone else a pairwise one.
    pub first_party: bool,
    pub claims_profile: ClaimsProfile,
    pub options: ClientOptions,
    /// Set while an operator has the portal disabled; it then refuses every protocol request
    /// (the store does not hand it to the protocol paths at all).
    pub disabled: Option<Disabled>,
    /// The secret replaced by the last rotation, still accepted until its overlap ends.
    pub previous_secret: Option<PreviousSecret>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Disabled {
    pub at: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousSecret {
    pub hash: String,
    pub expires_at: i64,
}

/// The platform's own sign-in clients (the account page, the operator's console): not portals,
/// so lists and reports of portals leave them out.
pub const ACCOUNT_CLIENT: &str = "nixa-account";
pub const CONSOLE_CLIENT: &str = "nixa-console";

pub fn is_built_in(id: &ClientId) -> bool {
    matches!(id.as_str(), ACCOUNT_CLIENT | CONSOLE_CLIENT)
}

/// The administrative level of a portal's agency, for the integration report.
pub fn administrative_level(agency_code: Option<&str>) -> &'static str {
    let Some(code) = agency_code.and_then(|c| crate::identity::AgencyCode::parse(c).ok()) else { return "unknown" };
    match (code.kind(), code.level()) {
        (crate::identity::AgencyKind::Central, _) => "central",
        (crate::identity::AgencyKind::Provincial, 1 | 2) => "provincial",
        (crate::identity::AgencyKind::Provincial, _) => "commune",
    }
}

impl Client {
    /// Whether `secret` is the client's secret, or its previous one within the overlap. Both
    /// comparisons always run, in constant time, so the timing does not say which one matched.
    pub fn secret_matches(&self, secret: &str, now: i64) -> bool {
        let presented = crate::crypto::token_hash(secret);
        let current = self.secret_hash.as_deref().is_some_and(|h| crate::crypto::ct_eq(presented.as_bytes(), h.as_bytes()));
        let previous = self
            .previous_secret
            .as_ref()
            .is_some_and(|p| crate::crypto::ct_eq(presented.as_bytes(), p.hash.as_bytes()) & (now < p.expires_at));
        current | previous
    }

    pub fn is_fapi(&self) -> bool {
        self.options.profile == Profile::Fapi2
    }

    /// PAR is required by the client's registration or by its profile.
    pub fn requires_par(&self) -> bool {
        self.options.require_pushed_authorization_requests || self.is_fapi()
    }

    /// Access tokens must be sender-constrained with DPoP.
    pub fn requires_dpop(&self) -> bool {
        self.options.dpop_bound_access_tokens || self.is_fapi()
    }

    pub fn is_public(&self) -> bool {
        self.auth_method == AuthMethod::None
    }

    /// Exact string comparison (RFC 9700 §4.1.3): no normalisation, no prefix or wildcard match.
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RedirectUriError {
    #[error("redirect URI {0:?} is not an absolute URL")]
    NotAbsolute(String),
    #[error("redirect URI {0:?} has a fragment")]
    Fragment(String),
    #[error("redirect URI {0:?} must use https (http is allowed for loopback addresses only)")]
    Insecure(String),
    #[error("redirect URIs on several hosts need a sector identifier; found {0} and {1}")]
    SeveralHosts(String, String),
    #[error("at least one redirect URI is required")]
    Missing,
}

/// Validates redirect URIs at registration and derives the pairwise sector (their common host).
pub fn validate_redirect_uris(uris: &[String]) -> Result<String, RedirectUriError> {
    let mut sector: Option<String> = None;
    for uri in uris {
        let u = url::Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute(uri.clone()))?;
        if u.fragment().is_some() || uri.contains('#') {
            return Err(RedirectUriError::Fragment(uri.clone()));
        }
        let host = u.host_str().unwrap_or_default().to_string();
        let loopback = matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]");
        match u.scheme() {
            "https" => {}
            "http" if loopback => {}
            // Private-use schemes of native apps (RFC 8252 §7.1) use a reverse domain name.
            s if s.contains('.') => {}
            _ => return Err(RedirectUriError::Insecure(uri.clone())),
        }
        let this = if host.is_empty() { u.scheme().to_string() } else { host };
        match &sector {
            None => sector = Some(this),
            Some(s) if *s == this => {}
            Some(s) => return Err(RedirectUriError::SeveralHosts(s.clone(), this)),
        }
    }
    sector.ok_or(RedirectUriError::Missing)
}

/// A URL a client registers for us to call or to send people to: https, or http on loopback;
/// no fragment.
pub fn is_callable_url(u: &str) -> bool {
    let Ok(parsed) = url::Url::parse(u) else { return false };
    let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    let scheme_ok = parsed.scheme() == "https" || (parsed.scheme() == "http" && loopback);
    scheme_ok && parsed.fragment().is_none() && !u.contains('#') && parsed.host_str().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_rules() {
        let v = |u: &[&str]| validate_redirect_uris(&u.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(v(&["https://portal.gov.vn/cb", "https://portal.gov.vn/cb2"]), Ok("portal.gov.vn".into()));
        assert_eq!(v(&["http://localhost:3000/cb"]), Ok("localhost".into()));
        assert!(matches!(v(&["http://portal.gov.vn/cb"]), Err(RedirectUriError::Insecure(_))));
        assert!(matches!(v(&["https://portal.gov.vn/cb#x"]), Err(RedirectUriError::Fragment(_))));
        assert!(matches!(v(&["/cb"]), Err(RedirectUriError::NotAbsolute(_))));
        assert!(matches!(v(&["https://a.vn/cb", "https://b.vn/cb"]), Err(RedirectUriError::SeveralHosts(..))));
        assert_eq!(v(&[]), Err(RedirectUriError::Missing));
        assert_eq!(v(&["vn.gov.app:/cb"]), Ok("vn.gov.app".into()));
    }

    #[test]
    fn client_id_charset() {
        assert!(ClientId::parse("portal-1").is_some());
        assert!(ClientId::parse("").is_none());
        assert!(ClientId::parse("a\nb").is_none());
        assert!(ClientId::parse(&"x".repeat(129)).is_none());
    }
}
