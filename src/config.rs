//! Configuration: defaults ← nixa.toml (`--config FILE`) ← `NIXA_*` environment variables
//! (and `DATABASE_URL`). Validated once at start-up into [`Settings`].

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::keys::MasterKey;
use crate::web::i18n::Locale;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Public https URL of this provider; the `iss` of every token.
    pub issuer: Option<String>,
    pub listen: SocketAddr,
    /// `sqlite://FILE` or `postgres://…`.
    pub database_url: Option<String>,
    /// 32 random bytes, base64 (`nixa keys generate-master`).
    pub master_key: Option<String>,
    /// A file holding the master key (as `master_key`), readable by nixa only: keeps the key
    /// out of nixa.toml and the environment.
    pub master_key_file: Option<std::path::PathBuf>,
    /// A file holding the master key wrapped by the PKCS#11 token of `[keys]` (`nixa keys
    /// wrap-master`): the key is unwrapped inside the token at start.
    pub master_key_wrapped_file: Option<std::path::PathBuf>,
    /// Where private signing keys are made and kept (`keys::pkcs11`).
    pub keys: crate::keys::pkcs11::KeysConfig,
    /// Language of the pages when the request names none: `vi` or `en`.
    pub default_locale: String,
    /// Where `/metrics` (Prometheus) is served: its own address, loopback by default, so that
    /// it is never public; "" = not served.
    pub metrics_listen: String,
    /// `text` (one readable line per event) or `json` (one JSON object per line, for a log
    /// collector). Colours only when standard error is a terminal.
    pub log_format: String,
    pub session_ttl_secs: i64,
    /// A session not used for this long ends (NIST SP 800-63B AAL2: 30 minutes); 0 = never.
    pub session_idle_secs: i64,
    /// How long the disclosure record keeps a release (Decree 13/2023: the person's evidence of
    /// who received their data); the janitor purges older ones.
    pub disclosure_retention_days: i64,
    /// The statistics' anonymity threshold: a published count describes at least this many
    /// people (smaller ones are suppressed, with whatever would let them be recomputed).
    pub stats_k: i64,
    /// Ask "how was signing in?" (1–5, an optional comment) after a sign-in at a portal in which
    /// the person authenticated, at most once per person in this many days; 0 = never asked.
    /// Off by default: it puts one more page between a person and their service.
    pub satisfaction_every_days: i64,
    /// The platform's public name as people see it, `{ vi = "…", en = "…" }`; default
    /// "Định danh điện tử quốc gia" / "National electronic identification".
    pub platform_name: Option<crate::client::Bilingual>,
    /// Who runs this installation, shown in every page's footer.
    pub operator_name: Option<String>,
    /// Where people get help (telephone, e-mail or web address), on the home page and footer.
    pub help_contact: Option<String>,
    /// How long the sign-in history keeps a sign-in.
    pub sign_in_retention_days: i64,
    pub code_ttl_secs: i64,
    pub access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    /// How long a sign-in may stay on the login or consent page.
    pub sign_in_ttl_secs: i64,
    /// How long before it signs a rotated key is published in JWKS.
    pub key_publish_lead_secs: i64,
    /// Failed password attempts before an account is throttled.
    pub login_max_failures: i64,
    /// First lock period; it doubles with every further failure.
    pub login_lock_secs: i64,
    /// Lifetime of a refresh token (each rotation starts a new one).
    pub refresh_token_ttl_secs: i64,
    /// How long a rotated refresh token may still be presented once, for a client that lost the
    /// response of its last refresh.
    pub refresh_grace_secs: i64,
    /// Require server nonces in DPoP proofs at the token and PAR endpoints (RFC 9449 §8).
    pub dpop_require_nonce: bool,
    /// Lifetime of a pushed authorization request (RFC 9126 §2.2).
    pub par_ttl_secs: i64,
    /// Automatic signing-key rotation period; 0 turns it off (`nixa keys rotate` still works).
    pub key_rotation_secs: i64,
    /// RFC 8628: how long a device code waits for the person to approve it.
    pub device_code_ttl_secs: i64,
    /// Authenticator models (AAGUIDs) officials may register passkeys with; empty = any.
    pub passkey_official_aaguids: Vec<String>,
    /// Certificate trust, revocation and OCSP responders (`[pki]`).
    pub pki: crate::pki::config::PkiConfig,
    /// Upstream identity providers the hub brokers sign-ins to (`[[upstreams]]`, DESIGN §1).
    pub upstreams: Vec<crate::federation::config::UpstreamConfig>,
    /// How messages reach people: SMTP, an SMS gateway, or a file (`[channels]`).
    pub channels: crate::channels::ChannelsConfig,
    /// Activation and recovery codes: lifetimes, tries, send limits (`[enrolment]`).
    pub enrolment: crate::enrol::config::EnrolmentConfig,
    /// Limits per client address and the proxies believed (`[throttle]`).
    pub throttle: crate::web::throttle::ThrottleConfig,
    /// Addresses (CIDR blocks) the server may call although they are loopback, private or
    /// reserved: an internal OCSP responder, an upstream inside the government network.
    pub outbound_allow: Vec<String>,
    /// Connection limits: header and body timeouts, the most connections at once (`[http]`).
    pub http: crate::web::serve::HttpLimits,
    /// Admission control when saturated: requests at once, the line, `Retry-After` (`[admission]`).
    pub admission: crate::web::admission::AdmissionConfig,
    /// Audit export to a SIEM (`audit::siem`).
    pub siem: crate::audit::siem::SiemConfig,
    /// Trace export over OTLP/HTTP (`trace`).
    pub traces: crate::trace::TracesConfig,
    /// Native TLS: certificate and key files, reloaded on SIGHUP (`web::tls`).
    pub tls: crate::web::tls::TlsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            issuer: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            master_key: None,
            master_key_file: None,
            master_key_wrapped_file: None,
            keys: crate::keys::pkcs11::KeysConfig::default(),
            default_locale: "vi".into(),
            log_format: "text".into(),
            metrics_listen: "127.0.0.1:9464".into(),
            session_ttl_secs: 8 * 3600,
            session_idle_secs: 30 * 60,
            disclosure_retention_days: 5 * 365,
            stats_k: 10,
            satisfaction_every_days: 0,
            platform_name: None,
            operator_name: None,
            help_contact: None,
            sign_in_retention_days: 365,
            code_ttl_secs: 60,
            access_token_ttl_secs: 600,
            id_token_ttl_secs: 600,
            sign_in_ttl_secs: 900,
            key_publish_lead_secs: 3600,
            login_max_failures: 5,
            login_lock_secs: 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            refresh_grace_secs: 30,
            dpop_require_nonce: true,
            par_ttl_secs: 60,
            key_rotation_secs: 90 * 24 * 3600,
            device_code_ttl_secs: 600,
            passkey_official_aaguids: Vec::new(),
            pki: crate::pki::config::PkiConfig::default(),
            upstreams: Vec::new(),
            channels: crate::channels::ChannelsConfig::default(),
            enrolment: crate::enrol::config::EnrolmentConfig::default(),
            throttle: crate::web::throttle::ThrottleConfig::default(),
            outbound_allow: Vec::new(),
            http: crate::web::serve::HttpLimits::default(),
            admission: crate::web::admission::AdmissionConfig::default(),
            siem: crate::audit::siem::SiemConfig::default(),
            traces: crate::trace::TracesConfig::default(),
            tls: crate::web::tls::TlsConfig::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration: `issuer` is required (the public https URL of this provider), or start with --demo")]
    MissingIssuer,
    #[error("configuration: issuer {0:?} must be an https URL without query or fragment (http only for localhost)")]
    BadIssuer(String),
    #[error(
        "configuration: `master_key` or `master_key_file` is required (generate one with `nixa keys generate-master`), or start with --demo"
    )]
    MissingMasterKey,
    #[error("configuration: the example master key from keys-example/ is refused outside --demo")]
    DemoKeyRefused,
    #[error("configuration: `database_url` is required (sqlite://FILE or postgres://…), or start with --demo")]
    MissingDatabase,
    #[error("configuration: {0}")]
    Invalid(String),
    #[error(transparent)]
    MasterKey(#[from] crate::keys::master::MasterKeyError),
}

fn read_secret_file(what: &str, path: &std::path::Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid(format!("{what} {}: {e}", path.display())))
}

/// The master key's text, unwrapped inside the token that `[keys]` names.
fn unwrap_master_key(keys: &crate::keys::pkcs11::KeysConfig, path: &std::path::Path) -> Result<String, ConfigError> {
    if !keys.uses_token() {
        return Err(ConfigError::Invalid("master_key_wrapped_file needs [keys] backend = \"pkcs11\" (the token that wrapped it)".into()));
    }
    let wrapped = read_secret_file("master_key_wrapped_file", path)?;
    let failed = |e: crate::keys::pkcs11::HsmError| ConfigError::Invalid(format!("master_key_wrapped_file {}: {e}", path.display()));
    let text = crate::keys::pkcs11::Hsm::open(keys).and_then(|hsm| hsm.unwrap_master(&wrapped)).map_err(failed)?;
    String::from_utf8(text).map_err(|_| ConfigError::Invalid("master_key_wrapped_file: the unwrapped key is not text".into()))
}

impl Config {
    const KEYS: [&'static str; 44] = [
        "issuer",
        "listen",
        "database_url",
        "master_key",
        "master_key_file",
        "master_key_wrapped_file",
        "keys",
        "default_locale",
        "log_format",
        "metrics_listen",
        "session_ttl_secs",
        "session_idle_secs",
        "disclosure_retention_days",
        "stats_k",
        "satisfaction_every_days",
        "platform_name",
        "operator_name",
        "help_contact",
        "sign_in_retention_days",
        "code_ttl_secs",
        "access_token_ttl_secs",
        "id_token_ttl_secs",
        "sign_in_ttl_secs",
        "key_publish_lead_secs",
        "login_max_failures",
        "login_lock_secs",
        "refresh_token_ttl_secs",
        "refresh_grace_secs",
        "dpop_require_nonce",
        "par_ttl_secs",
        "key_rotation_secs",
        "device_code_ttl_secs",
        "passkey_official_aaguids",
        "pki",
        "upstreams",
        "channels",
        "enrolment",
        "throttle",
        "outbound_allow",
        "http",
        "admission",
        "siem",
        "traces",
        "tls",
    ];

    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.exists() {
                return Err(ConfigError::Invalid(format!("config file {} does not exist", f.display())));
            }
            fig = fig.merge(Toml::file(f));
        }
        fig = fig
            .merge(Env::raw().only(&["DATABASE_URL"]).map(|_| "database_url".into()))
            // Only our keys: other NIXA_* variables in the environment are not configuration.
            .merge(Env::prefixed("NIXA_").only(&Self::KEYS));
        fig.extract().map_err(|e| ConfigError::Load(Box::new(e)))
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// The validated configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub issuer: Url,
    /// The issuer without a trailing slash, as it appears in `iss`.
    pub issuer_str: String,
    pub listen: SocketAddr,
    /// `metrics_listen`, parsed; `None`: no metrics endpoint.
    pub metrics_listen: Option<SocketAddr>,
    pub database_url: String,
    pub master_key: Arc<MasterKey>,
    pub keys: crate::keys::pkcs11::KeysConfig,
    pub default_locale: Locale,
    pub session_ttl: i64,
    pub session_idle: i64,
    /// Seconds (from `disclosure_retention_days`, `sign_in_retention_days`).
    pub disclosure_retention: i64,
    /// At least 2 (`stats_k`).
    pub stats_k: u64,
    /// Seconds between two satisfaction questions to one person; 0 = never asked.
    pub satisfaction_every: i64,
    pub brand: crate::web::brand::Brand,
    pub sign_in_retention: i64,
    pub code_ttl: i64,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub sign_in_ttl: i64,
    pub key_publish_lead: i64,
    pub login_max_failures: i64,
    pub login_lock: i64,
    pub refresh_token_ttl: i64,
    pub refresh_grace: i64,
    pub dpop_require_nonce: bool,
    pub par_ttl: i64,
    pub key_rotation: i64,
    pub device_code_ttl: i64,
    pub passkey_official_aaguids: Vec<uuid::Uuid>,
    pub pki: Arc<crate::pki::config::PkiSettings>,
    pub upstreams: Vec<crate::federation::config::Upstream>,
    pub channels: crate::channels::ChannelsConfig,
    pub enrolment: crate::enrol::config::EnrolmentConfig,
    pub throttle: crate::web::throttle::ThrottleConfig,
    /// `outbound_allow`, parsed; `--demo` adds loopback (its upstreams and portals run there).
    pub outbound_allow: Vec<ipnet::IpNet>,
    pub http: crate::web::serve::HttpLimits,
    pub admission: crate::web::admission::AdmissionConfig,
    pub siem: crate::audit::siem::SiemConfig,
    pub traces: crate::trace::TracesConfig,
    pub tls: crate::web::tls::TlsConfig,
    pub demo: bool,
}

pub const DEMO_DATABASE_URL: &str = "sqlite://nixa-demo.db";
/// Where `--demo` writes the messages it would send (codes, notifications), when no channel is
/// configured.
pub const DEMO_MESSAGES_FILE: &str = "nixa-demo-messages.txt";

impl Settings {
    pub fn from_config(c: &Config, demo: bool) -> Result<Self, ConfigError> {
        let issuer_text = match (&c.issuer, demo) {
            (Some(i), _) => i.clone(),
            (None, true) => format!("http://localhost:{}", c.listen.port()),
            (None, false) => return Err(ConfigError::MissingIssuer),
        };
        let issuer = parse_issuer(&issuer_text)?;
        let from_file = match (&c.master_key_file, &c.master_key_wrapped_file) {
            (Some(_), Some(_)) => return Err(ConfigError::Invalid("master_key_file and master_key_wrapped_file are both set".into())),
            (Some(_), None) | (None, Some(_)) if c.master_key.is_some() => {
                return Err(ConfigError::Invalid("master_key and a master key file are both set".into()));
            }
            (Some(f), None) => Some(read_secret_file("master_key_file", f)?),
            (None, Some(f)) => Some(unwrap_master_key(&c.keys, f)?),
            (None, None) => None,
        };
        let master_key = match (c.master_key.as_deref().or(from_file.as_deref()), demo) {
            (Some(k), _) => MasterKey::from_base64(k.trim())?,
            (None, true) => MasterKey::demo(),
            (None, false) => return Err(ConfigError::MissingMasterKey),
        };
        if master_key.is_demo() && !demo {
            return Err(ConfigError::DemoKeyRefused);
        }
        let database_url = match (&c.database_url, demo) {
            (Some(u), _) => u.clone(),
            (None, true) => DEMO_DATABASE_URL.into(),
            (None, false) => return Err(ConfigError::MissingDatabase),
        };
        let default_locale = Locale::parse(&c.default_locale)
            .ok_or_else(|| ConfigError::Invalid(format!("default_locale {:?} is not vi or en", c.default_locale)))?;
        if LogFormat::parse(&c.log_format).is_none() {
            return Err(ConfigError::Invalid(format!("log_format {:?} is not text or json", c.log_format)));
        }
        let positive = |name: &str, v: i64| {
            if v > 0 { Ok(v) } else { Err(ConfigError::Invalid(format!("{name} must be positive"))) }
        };
        // RFC 6749 §4.1.2 recommends at most 10 minutes; we keep codes far shorter.
        let code_ttl = positive("code_ttl_secs", c.code_ttl_secs)?;
        if code_ttl > 60 {
            return Err(ConfigError::Invalid("code_ttl_secs must be at most 60".into()));
        }
        let issuer_str = issuer.as_str().trim_end_matches('/').to_string();
        let passkey_official_aaguids = c
            .passkey_official_aaguids
            .iter()
            .map(|a| uuid::Uuid::parse_str(a).map_err(|_| ConfigError::Invalid(format!("passkey_official_aaguids: {a:?} is not a UUID"))))
            .collect::<Result<Vec<_>, _>>()?;
        let upstreams = c
            .upstreams
            .iter()
            .map(crate::federation::config::Upstream::from_config)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        if let Some(dup) = upstreams.iter().enumerate().find(|(i, u)| upstreams[..*i].iter().any(|o| o.id == u.id)) {
            return Err(ConfigError::Invalid(format!("upstream id {:?} is used twice", dup.1.id)));
        }
        Ok(Self {
            issuer,
            issuer_str,
            listen: c.listen,
            metrics_listen: match c.metrics_listen.trim() {
                "" => None,
                a => Some(a.parse().map_err(|_| ConfigError::Invalid(format!("metrics_listen {a:?} is not an address:port")))?),
            },
            database_url,
            master_key: Arc::new(master_key),
            keys: {
                c.keys.validate().map_err(ConfigError::Invalid)?;
                c.keys.clone()
            },
            default_locale,
            session_ttl: positive("session_ttl_secs", c.session_ttl_secs)?,
            session_idle: c.session_idle_secs.max(0),
            brand: crate::web::brand::Brand {
                platform_name: c.platform_name.clone().filter(crate::client::Bilingual::is_valid),
                operator_name: c.operator_name.clone().filter(|n| !n.trim().is_empty()),
                help_contact: c.help_contact.clone().filter(|n| !n.trim().is_empty()),
            },
            disclosure_retention: positive("disclosure_retention_days", c.disclosure_retention_days)?.saturating_mul(86_400),
            stats_k: match u64::try_from(c.stats_k) {
                Ok(k) if k >= 2 => k,
                _ => return Err(ConfigError::Invalid("stats_k must be at least 2 (1 would publish single people)".into())),
            },
            satisfaction_every: match c.satisfaction_every_days {
                d @ 0..=3650 => d * 86_400,
                _ => return Err(ConfigError::Invalid("satisfaction_every_days must be 0 (never asked) to 3650".into())),
            },
            sign_in_retention: positive("sign_in_retention_days", c.sign_in_retention_days)?.saturating_mul(86_400),
            code_ttl,
            access_token_ttl: positive("access_token_ttl_secs", c.access_token_ttl_secs)?,
            id_token_ttl: positive("id_token_ttl_secs", c.id_token_ttl_secs)?,
            sign_in_ttl: positive("sign_in_ttl_secs", c.sign_in_ttl_secs)?,
            key_publish_lead: c.key_publish_lead_secs.max(0),
            login_max_failures: positive("login_max_failures", c.login_max_failures)?,
            login_lock: positive("login_lock_secs", c.login_lock_secs)?,
            refresh_token_ttl: positive("refresh_token_ttl_secs", c.refresh_token_ttl_secs)?,
            refresh_grace: c.refresh_grace_secs.max(0),
            dpop_require_nonce: c.dpop_require_nonce,
            par_ttl: positive("par_ttl_secs", c.par_ttl_secs)?.min(600),
            key_rotation: c.key_rotation_secs.max(0),
            device_code_ttl: positive("device_code_ttl_secs", c.device_code_ttl_secs)?,
            passkey_official_aaguids,
            pki: Arc::new(crate::pki::config::PkiSettings::load_for(&c.pki, demo).map_err(|e| ConfigError::Invalid(e.to_string()))?),
            upstreams,
            channels: if demo && c.channels.is_empty() {
                crate::channels::ChannelsConfig { file: Some(DEMO_MESSAGES_FILE.into()), ..Default::default() }
            } else {
                c.channels.clone()
            },
            enrolment: {
                c.enrolment.check().map_err(ConfigError::Invalid)?;
                c.enrolment.clone()
            },
            throttle: {
                c.throttle.proxies().map_err(ConfigError::Invalid)?;
                c.throttle.clone()
            },
            outbound_allow: {
                let mut allow = c
                    .outbound_allow
                    .iter()
                    .map(|a| {
                        a.parse::<ipnet::IpNet>().map_err(|_| ConfigError::Invalid(format!("outbound_allow: {a:?} is not a CIDR block")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if demo {
                    allow.extend(["127.0.0.0/8", "::1/128"].iter().filter_map(|n| n.parse::<ipnet::IpNet>().ok()));
                }
                allow
            },
            http: c.http.clone(),
            admission: {
                c.admission.check().map_err(ConfigError::Invalid)?;
                c.admission.clone()
            },
            traces: {
                c.traces.validate().map_err(ConfigError::Invalid)?;
                c.traces.clone()
            },
            tls: {
                c.tls.validate().map_err(ConfigError::Invalid)?;
                c.tls.clone()
            },
            siem: {
                if let Some(u) = c.siem.http_url.as_deref().filter(|u| !is_http_url(u)) {
                    return Err(ConfigError::Invalid(format!("siem.http_url {u:?} is not an http(s) URL")));
                }
                if let Some(a) = &c.siem.syslog_tcp
                    && a.rsplit_once(':').is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
                {
                    return Err(ConfigError::Invalid(format!("siem.syslog_tcp {a:?} is not host:port")));
                }
                if c.siem.syslog_tls && c.siem.syslog_tcp.is_none() {
                    return Err(ConfigError::Invalid("siem.syslog_tls needs siem.syslog_tcp".into()));
                }
                crate::audit::siem::tls_connector(&c.siem).map_err(ConfigError::Invalid)?;
                c.siem.clone()
            },
            demo,
        })
    }

    /// An absolute URL under the issuer.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer_str, path)
    }

    /// The longest any signed token lives: how long a retired key stays in JWKS.
    pub fn max_token_lifetime(&self) -> i64 {
        self.id_token_ttl.max(self.access_token_ttl)
    }
}

/// Whether `text` is an absolute http(s) URL (a receiver or collector the operator names).
pub(crate) fn is_http_url(text: &str) -> bool {
    Url::parse(text).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

fn parse_issuer(text: &str) -> Result<Url, ConfigError> {
    let bad = || ConfigError::BadIssuer(text.to_string());
    let url = Url::parse(text).map_err(|_| bad())?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    if !scheme_ok || url.query().is_some() || url.fragment().is_some() || url.cannot_be_a_base() {
        return Err(bad());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_requires_everything_and_refuses_demo_key() {
        let mut c = Config::default();
        assert!(matches!(Settings::from_config(&c, false), Err(ConfigError::MissingIssuer)));
        c.issuer = Some("https://id.gov.vn".into());
        assert!(matches!(Settings::from_config(&c, false), Err(ConfigError::MissingMasterKey)));
        c.master_key = Some(crate::keys::master::DEMO_MASTER_KEY.into());
        assert!(matches!(Settings::from_config(&c, false), Err(ConfigError::DemoKeyRefused)));
        c.master_key = Some(MasterKey::generate_base64());
        assert!(matches!(Settings::from_config(&c, false), Err(ConfigError::MissingDatabase)));
        c.database_url = Some("postgres://db/nixa".into());
        let s = Settings::from_config(&c, false).unwrap();
        assert_eq!(s.issuer_str, "https://id.gov.vn");
    }

    #[test]
    fn issuer_rules() {
        assert!(parse_issuer("https://id.gov.vn/realm").is_ok());
        assert!(parse_issuer("http://localhost:8080").is_ok());
        assert!(parse_issuer("http://id.gov.vn").is_err());
        assert!(parse_issuer("https://id.gov.vn/?x=1").is_err());
        assert!(parse_issuer("https://id.gov.vn/#f").is_err());
    }

    #[test]
    fn every_field_is_settable_from_the_environment() {
        let fields = serde_json::to_value(Config::default()).unwrap();
        let mut names: Vec<_> = fields.as_object().unwrap().keys().cloned().collect();
        let mut keys: Vec<_> = Config::KEYS.iter().map(|k| k.to_string()).collect();
        names.sort();
        keys.sort();
        assert_eq!(names, keys);
    }

    #[test]
    fn the_master_key_comes_from_a_file_but_not_from_both_places() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("master.key");
        let key = MasterKey::generate_base64();
        std::fs::write(&file, format!("{key}\n")).unwrap();
        let base =
            || Config { issuer: Some("https://id.example.gov.vn".into()), database_url: Some("sqlite://x.db".into()), ..Config::default() };
        let from_file = Settings::from_config(&Config { master_key_file: Some(file.clone()), ..base() }, false).unwrap();
        let inline = Settings::from_config(&Config { master_key: Some(key.clone()), ..base() }, false).unwrap();
        let sealed = inline.master_key.seal("k", b"secret").unwrap();
        assert_eq!(from_file.master_key.open("k", &sealed).unwrap(), b"secret", "the same key");
        let both = Settings::from_config(&Config { master_key: Some(key), master_key_file: Some(file), ..base() }, false);
        assert!(matches!(both, Err(ConfigError::Invalid(m)) if m.contains("both")));
        let missing = Settings::from_config(&Config { master_key_file: Some(dir.path().join("absent")), ..base() }, false);
        assert!(matches!(missing, Err(ConfigError::Invalid(m)) if m.contains("master_key_file")));
    }

    #[test]
    fn demo_defaults() {
        let s = Settings::from_config(&Config::default(), true).unwrap();
        assert_eq!(s.issuer_str, "http://localhost:8080");
        assert!(s.master_key.is_demo());
        assert_eq!(s.channels.file.as_deref(), Some(std::path::Path::new(DEMO_MESSAGES_FILE)));
    }

    #[test]
    fn channels_are_read_from_the_file_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nixa.toml");
        std::fs::write(
            &file,
            "[channels.sms]\nurl = \"https://sms.example.vn/send\"\nsecret = \"s\"\nretries = 1\n\
             [channels.email]\nsmtp_url = \"smtp://relay.example.vn:25\"\nfrom = \"no-reply@id.example.vn\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&file)).unwrap();
        let sms = c.channels.sms.as_ref().unwrap();
        assert_eq!((sms.retries, sms.timeout_secs), (1, 10));
        assert_eq!(c.channels.email.as_ref().unwrap().from, "no-reply@id.example.vn");
        // Configured channels are kept in --demo (no file channel is added).
        assert!(Settings::from_config(&c, true).unwrap().channels.file.is_none());
        std::fs::write(&file, "[channels.sms]\nurl = \"https://sms.example.vn/send\"\nsecret = \"s\"\npassword = \"x\"\n").unwrap();
        assert!(Config::load(Some(&file)).is_err(), "unknown keys are an error");
    }
}
