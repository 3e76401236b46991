//! The shared state every handler builds on: the settings, the store, the keys, the server
//! secrets and the clock. The ground floor: it imports no handler (the route table is in
//! `routes`, the periodic upkeep in `janitor`).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::config::Settings;
use crate::keys::{KeyError, KeyRing, MasterKey};
use crate::store::{Store, StoreError};

/// Secrets the server derives values from; generated once per deployment, sealed in the database.
pub struct ServerSecrets {
    pub csrf: Vec<u8>,
    pub pairwise: Vec<u8>,
    /// Keys the stateless DPoP server nonces.
    pub dpop: Vec<u8>,
    /// Keys the hashes of one-time, activation and recovery codes: a six-digit code's plain
    /// hash would fall to a million guesses from a copy of the database.
    pub codes: Vec<u8>,
    /// Keys the sign-in failure counters of ID numbers and browsers (`authn::lockout`).
    pub lockout: Vec<u8>,
}

/// The HMAC key of the audit chain, a server secret like the others (sealed under the master
/// key, made on first use).
pub async fn audit_key(store: &Store, master: &MasterKey, now: i64) -> Result<Vec<u8>, KeyError> {
    let candidate = master.seal("audit", &crate::crypto::random_bytes::<32>())?;
    let sealed = store.server_secret("audit", &candidate, now).await?;
    Ok(master.open("audit", &sealed)?)
}

/// The database as every process that writes opens it: connected, migrated, and appending to
/// the audit chain under its key.
pub async fn open_store(settings: &Settings) -> Result<Store, StartError> {
    let store = Store::connect(&settings.database_url).await?;
    store.migrate().await?;
    let key = audit_key(&store, &settings.master_key, Clock::system_now()).await?;
    Ok(store.with_audit_key(key))
}

impl ServerSecrets {
    async fn load(store: &Store, master: &MasterKey, now: i64) -> Result<Self, KeyError> {
        let get = async |name: &str| -> Result<Vec<u8>, KeyError> {
            let candidate = master.seal(name, &crate::crypto::random_bytes::<32>())?;
            let sealed = store.server_secret(name, &candidate, now).await?;
            Ok(master.open(name, &sealed)?)
        };
        Ok(Self {
            csrf: get("csrf").await?,
            pairwise: get("pairwise").await?,
            dpop: get("dpop").await?,
            codes: get("codes").await?,
            lockout: get("lockout").await?,
        })
    }
}

/// Wall-clock seconds, with an offset that tests move forward to expire codes and sessions.
#[derive(Default)]
pub struct Clock {
    offset: AtomicI64,
}

impl Clock {
    /// The wall clock itself, in seconds: the one place it is read (`clippy.toml` disallows it
    /// elsewhere). Request paths take `App::now`; commands read this once and pass it on.
    #[allow(clippy::disallowed_methods)]
    pub fn system_now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    pub fn now(&self) -> i64 {
        Self::system_now() + self.offset.load(Ordering::Relaxed)
    }
    pub fn advance(&self, secs: i64) {
        self.offset.fetch_add(secs, Ordering::Relaxed);
    }
}

pub struct App {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub keys: KeyRing,
    pub secrets: ServerSecrets,
    pub discovery: String,
    pub clock: Clock,
    /// The guarded way out for every fetch the server makes (`crate::outbound`).
    pub outbound: crate::outbound::Outbound,
    pub client_keys: crate::protocol::client_keys::ClientKeys,
    /// Trust store for signature certificates, and the CRLs downloaded for them.
    pub pki: crate::pki::TrustStore,
    pub crls: crate::pki::fetch::CrlCache,
    /// Upstream identity providers (the federation hub).
    pub federation: crate::federation::Federation,
    /// QR credentials: the credential-signing key and the verification key set.
    pub credentials: crate::credentials::service::Credentials,
    /// How messages reach people (e-mail, SMS, or the demo's file).
    pub channels: crate::channels::Channels,
    /// Limits per client address (`web::throttle`).
    pub throttle: Arc<crate::web::throttle::Throttle>,
    /// Admission control when saturated (`web::admission`).
    pub admission: Arc<crate::web::admission::Admission>,
    /// Usage statistics waiting to be folded into the daily counts (`stats`).
    pub stats: Arc<crate::stats::Recorder>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error(transparent)]
    Pki(#[from] crate::pki::PkiError),
    #[error(transparent)]
    Upstream(#[from] crate::federation::UpstreamError),
    #[error(transparent)]
    Credentials(#[from] crate::credentials::service::ServiceError),
    #[error(transparent)]
    Channels(#[from] crate::channels::ChannelError),
    #[error("configuration: {0}")]
    Throttle(String),
}

impl App {
    /// Connects, migrates, and loads keys and secrets (generating them on first start).
    pub async fn start(settings: Settings) -> Result<Arc<Self>, StartError> {
        let store = open_store(&settings).await?;
        let now = Clock::system_now();
        let vault = crate::keys::Vault::open(settings.master_key.clone(), &settings.keys)?;
        let keys = KeyRing::load(store.clone(), vault.clone(), now).await?;
        let secrets = ServerSecrets::load(&store, &settings.master_key, now).await?;
        let discovery = crate::protocol::metadata::document(&settings);
        let outbound = crate::outbound::Outbound::new(settings.outbound_allow.clone());
        let client_keys = crate::protocol::client_keys::ClientKeys::new(outbound.clone());
        // Checks the compiled-in certificates' fingerprints: a tampered store stops the start.
        let pki = settings.pki.trust.clone();
        let crls = crate::pki::fetch::CrlCache::default();
        let federation = crate::federation::Federation::new(&settings.upstreams, outbound.clone())?;
        federation.load_stored(&store, &settings.master_key).await?;
        let credentials = crate::credentials::service::Credentials::load(&store, &vault, &settings.issuer_str, now).await?;
        let channels = crate::channels::Channels::new(&settings.channels)?;
        // The proxies were checked when the settings were built.
        let throttle = crate::web::throttle::Throttle::new(&settings.throttle, settings.default_locale).map_err(StartError::Throttle)?;
        let admission = Arc::new(crate::web::admission::Admission::new(&settings.admission, settings.default_locale));
        Ok(Arc::new(Self {
            settings: Arc::new(settings),
            store,
            keys,
            secrets,
            discovery,
            clock: Clock::default(),
            outbound,
            client_keys,
            pki,
            crls,
            federation,
            credentials,
            channels,
            throttle: Arc::new(throttle),
            admission,
            stats: Arc::default(),
        }))
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}
