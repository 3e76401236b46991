//! Upstream identity providers as configured in `nixa.toml` (`[[upstreams]]`), validated once at
//! start-up into [`Upstream`].

use serde::{Deserialize, Serialize};
use url::Url;

use crate::assurance::Acr;

/// One `[[upstreams]]` table.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Short name in URLs and `idp_hint` (`a-z`, `0-9`, `-`).
    pub id: String,
    /// Shown on the login page ("VNeID", "Ngân hàng …").
    pub display_name: String,
    #[serde(default)]
    pub logo_url: Option<String>,
    /// The upstream's issuer; its metadata is discovered from `/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    /// `client_secret_basic`, or `private_key_jwt` (RFC 7523, signed with this server's own
    /// signing key; the upstream knows it from our `/jwks`).
    #[serde(default = "default_client_auth")]
    pub client_auth: String,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    #[serde(default = "yes")]
    pub pkce: bool,
    /// The highest acr this upstream may assert; anything above is capped to it.
    pub trust_level: String,
    /// Whether this upstream's personal IDs are trusted for linking accounts at all.
    #[serde(default)]
    pub trust_personal_id: bool,
    /// A boolean claim that must be `true` for the personal ID to count as verified; without it
    /// every personal ID of a trusted upstream counts as verified.
    #[serde(default)]
    pub personal_id_verified_claim: Option<String>,
    #[serde(default)]
    pub claims: ClaimMapping,
    /// What a first sign-in whose personal ID matches no link does: `link` (to an existing
    /// account only) or `create` (an account is created from the upstream's claims).
    #[serde(default = "default_first_sign_in")]
    pub first_sign_in: String,
    /// Every call to the upstream gives up after this long.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

/// Which upstream claim carries what. The national hub's names are `SoDinhDanh`, `HoVaTen`,
/// `NgayThangNamSinh`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ClaimMapping {
    pub personal_id: String,
    pub name: String,
    pub birthdate: String,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self { personal_id: "vn_personal_id".into(), name: "name".into(), birthdate: "birthdate".into() }
    }
}

fn default_client_auth() -> String {
    "client_secret_basic".into()
}
fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "profile".into()]
}
fn yes() -> bool {
    true
}
fn default_first_sign_in() -> String {
    "link".into()
}
fn default_timeout() -> u64 {
    10
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    SecretBasic,
    PrivateKeyJwt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstSignIn {
    LinkExisting,
    Create,
}

/// A validated upstream.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub id: String,
    pub display_name: String,
    pub logo_url: Option<Url>,
    pub issuer: Url,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub client_auth: ClientAuth,
    pub scopes: Vec<String>,
    pub pkce: bool,
    pub trust_level: Acr,
    pub trust_personal_id: bool,
    pub personal_id_verified_claim: Option<String>,
    pub claims: ClaimMapping,
    pub first_sign_in: FirstSignIn,
    pub timeout: std::time::Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("upstream {id:?}: {reason}")]
pub struct UpstreamConfigError {
    pub id: String,
    pub reason: String,
}

impl Upstream {
    pub fn from_config(c: &UpstreamConfig) -> Result<Self, UpstreamConfigError> {
        let bad = |reason: String| UpstreamConfigError { id: c.id.clone(), reason };
        let slug = !c.id.is_empty() && c.id.len() <= 32 && c.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !slug {
            return Err(bad("id must be 1–32 of a-z, 0-9, -".into()));
        }
        let issuer = Url::parse(&c.issuer).map_err(|e| bad(format!("issuer: {e}")))?;
        let loopback = matches!(issuer.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if issuer.scheme() != "https" && !(issuer.scheme() == "http" && loopback) {
            return Err(bad("issuer must be https (http only for localhost)".into()));
        }
        let trust_level =
            super::acr::parse_upstream(&c.trust_level).ok_or_else(|| bad(format!("trust_level {:?} is not a known acr", c.trust_level)))?;
        let client_auth = match c.client_auth.as_str() {
            "client_secret_basic" if c.client_secret.is_some() => ClientAuth::SecretBasic,
            "client_secret_basic" => return Err(bad("client_secret_basic needs client_secret".into())),
            "private_key_jwt" if c.client_secret.is_none() => ClientAuth::PrivateKeyJwt,
            "private_key_jwt" => return Err(bad("private_key_jwt takes no client_secret".into())),
            other => return Err(bad(format!("client_auth {other:?} is not client_secret_basic or private_key_jwt"))),
        };
        if !c.scopes.iter().any(|s| s == "openid") {
            return Err(bad("scopes must include openid".into()));
        }
        let first_sign_in = match c.first_sign_in.as_str() {
            "link" => FirstSignIn::LinkExisting,
            "create" => FirstSignIn::Create,
            other => return Err(bad(format!("first_sign_in {other:?} is not link or create"))),
        };
        if c.timeout_secs == 0 || c.timeout_secs > 60 {
            return Err(bad("timeout_secs must be 1–60".into()));
        }
        let logo_url = c.logo_url.as_deref().map(|u| Url::parse(u).map_err(|e| bad(format!("logo_url: {e}")))).transpose()?;
        Ok(Self {
            id: c.id.clone(),
            display_name: c.display_name.clone(),
            logo_url,
            issuer,
            client_id: c.client_id.clone(),
            client_secret: c.client_secret.clone(),
            client_auth,
            scopes: c.scopes.clone(),
            pkce: c.pkce,
            trust_level,
            trust_personal_id: c.trust_personal_id,
            personal_id_verified_claim: c.personal_id_verified_claim.clone(),
            claims: c.claims.clone(),
            first_sign_in,
            timeout: std::time::Duration::from_secs(c.timeout_secs),
        })
    }

    /// The issuer exactly as the upstream writes it in `iss` (no trailing slash added by `Url`).
    pub fn issuer_str(&self) -> String {
        let s = self.issuer.as_str();
        if self.issuer.path() == "/" { s.trim_end_matches('/').to_string() } else { s.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> UpstreamConfig {
        UpstreamConfig {
            id: "vneid".into(),
            display_name: "VNeID".into(),
            logo_url: None,
            issuer: "https://sso.example.gov.vn".into(),
            client_id: "nixa".into(),
            client_secret: Some("s".into()),
            client_auth: default_client_auth(),
            scopes: default_scopes(),
            pkce: true,
            trust_level: "LoA2".into(),
            trust_personal_id: true,
            personal_id_verified_claim: None,
            claims: ClaimMapping::default(),
            first_sign_in: default_first_sign_in(),
            timeout_secs: 10,
        }
    }

    #[test]
    fn validation() {
        let u = Upstream::from_config(&base()).unwrap();
        assert_eq!(u.trust_level, Acr::Loa2);
        assert_eq!(u.issuer_str(), "https://sso.example.gov.vn");
        let reject = |f: &dyn Fn(&mut UpstreamConfig)| {
            let mut c = base();
            f(&mut c);
            assert!(Upstream::from_config(&c).is_err(), "{c:?} must be refused");
        };
        reject(&|c| c.id = "Bad Id".into());
        reject(&|c| c.issuer = "http://sso.example.gov.vn".into());
        reject(&|c| c.trust_level = "gold".into());
        reject(&|c| c.client_secret = None);
        reject(&|c| c.client_auth = "private_key_jwt".into());
        reject(&|c| c.client_auth = "none".into());
        reject(&|c| c.scopes = vec!["profile".into()]);
        reject(&|c| c.first_sign_in = "email".into());
        reject(&|c| c.timeout_secs = 0);
        let mut c = base();
        c.client_auth = "private_key_jwt".into();
        c.client_secret = None;
        c.trust_level = "3".into();
        let u = Upstream::from_config(&c).unwrap();
        assert_eq!((u.client_auth, u.trust_level), (ClientAuth::PrivateKeyJwt, Acr::Loa3));
    }

    #[test]
    fn nixa_toml_upstreams_table() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nixa.toml");
        std::fs::write(
            &file,
            r#"
[[upstreams]]
id = "vneid"
display_name = "VNeID"
issuer = "https://sso.example.gov.vn"
client_id = "nixa"
client_secret = "s"
scopes = ["openid", "vn"]
trust_level = "LoA2"
trust_personal_id = true
[upstreams.claims]
personal_id = "SoDinhDanh"
name = "HoVaTen"
birthdate = "NgayThangNamSinh"
"#,
        )
        .unwrap();
        let c = crate::config::Config::load(Some(&file)).unwrap();
        let u = Upstream::from_config(&c.upstreams[0]).unwrap();
        assert_eq!(u.claims.personal_id, "SoDinhDanh");
        assert_eq!((u.pkce, u.first_sign_in, u.timeout.as_secs()), (true, FirstSignIn::LinkExisting, 10));
    }
}
