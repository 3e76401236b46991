//! The shared state and the router.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::config::Settings;
use crate::keys::{KeyError, KeyRing, MasterKey};
use crate::store::{Store, StoreError};
use crate::web::error::PageError;
use crate::web::i18n::Locale;
use crate::{account, authn, identity, oidc, privacy, web};

/// Secrets the server derives values from; generated once per deployment, sealed in the database.
pub struct ServerSecrets {
    pub csrf: Vec<u8>,
    pub pairwise: Vec<u8>,
    /// Keys the stateless DPoP server nonces.
    pub dpop: Vec<u8>,
}

impl ServerSecrets {
    async fn load(store: &Store, master: &MasterKey, now: i64) -> Result<Self, KeyError> {
        let get = async |name: &str| -> Result<Vec<u8>, KeyError> {
            let candidate = master.seal(name, &crate::keys::secret::random_bytes::<32>())?;
            let sealed = store.server_secret(name, &candidate, now).await?;
            Ok(master.open(name, &sealed)?)
        };
        Ok(Self { csrf: get("csrf").await?, pairwise: get("pairwise").await?, dpop: get("dpop").await? })
    }
}

/// Wall-clock seconds, with an offset that tests move forward to expire codes and sessions.
#[derive(Default)]
pub struct Clock {
    offset: AtomicI64,
}

impl Clock {
    pub fn now(&self) -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp() + self.offset.load(Ordering::Relaxed)
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
    /// For calls the server makes itself: client keys, sector documents, logout delivery.
    pub http: reqwest::Client,
    pub client_keys: oidc::client_keys::ClientKeys,
    /// Trust store for signature certificates, and the CRLs downloaded for them.
    pub pki: crate::pki::TrustStore,
    pub crls: crate::pki::fetch::CrlCache,
    /// Upstream identity providers (the federation hub).
    pub federation: authn::upstream::Federation,
    /// QR credentials: the credential-signing key and the verification key set.
    pub credentials: crate::credentials::service::Credentials,
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
    Upstream(#[from] authn::upstream::UpstreamError),
    #[error(transparent)]
    Credentials(#[from] crate::credentials::service::ServiceError),
}

impl App {
    /// Connects, migrates, and loads keys and secrets (generating them on first start).
    pub async fn start(settings: Settings) -> Result<Arc<Self>, StartError> {
        let store = Store::connect(&settings.database_url).await?;
        store.migrate().await?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let keys = KeyRing::load(store.clone(), settings.master_key.clone(), now).await?;
        let secrets = ServerSecrets::load(&store, &settings.master_key, now).await?;
        let discovery = oidc::discovery::document(&settings);
        let http = oidc::client_keys::http_client();
        let client_keys = oidc::client_keys::ClientKeys::new(http.clone());
        // Checks the compiled-in certificates' fingerprints: a tampered store stops the start.
        let pki = settings.pki.trust.clone();
        let crls = crate::pki::fetch::CrlCache::default();
        let federation = authn::upstream::Federation::new(&settings.upstreams)?;
        federation.load_stored(&store, &settings.master_key).await?;
        let credentials = crate::credentials::service::Credentials::load(&store, &settings.master_key, &settings.issuer_str, now).await?;
        Ok(Arc::new(Self { settings: Arc::new(settings), store, keys, secrets, discovery, clock: Clock::default(), http, client_keys, pki, crls, federation, credentials }))
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Rotates the signing keys when the rotation period has passed (and records it).
    pub async fn rotate_keys_if_due(&self, now: i64) -> Result<bool, KeyError> {
        let s = &self.settings;
        let rotated =
            crate::keys::rotate_if_due(&self.store, &s.master_key, now, s.key_rotation, s.key_publish_lead, s.max_token_lifetime()).await?;
        if rotated {
            let detail = serde_json::json!({"automatic": true, "lead_secs": s.key_publish_lead});
            crate::audit::record(&self.store, now, crate::audit::Event::KeysRotated, None, None, detail).await.map_err(KeyError::Store)?;
            self.keys.reload(now).await?;
        }
        Ok(rotated)
    }

    /// Background upkeep: picks up rotated keys, purges expired rows and retries back-channel
    /// logout deliveries that are due. Runs until dropped.
    pub fn spawn_janitor(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(30));
            loop {
                tick.tick().await;
                let now = app.now();
                if let Err(e) = app.rotate_keys_if_due(now).await {
                    tracing::warn!(error = %e, "automatic key rotation failed");
                }
                if let Err(e) = app.keys.reload(now).await {
                    tracing::warn!(error = %e, "reloading signing keys failed");
                }
                if let Err(e) = app.store.purge_expired(now).await {
                    tracing::warn!(error = %e, "purging expired rows failed");
                }
                if let Err(e) = oidc::logout::run_deliveries(&app).await {
                    tracing::warn!(error = %e, "back-channel logout deliveries failed");
                }
            }
        })
    }
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(oidc::discovery::configuration))
        .route("/jwks", get(oidc::discovery::jwks))
        .route("/authorize", get(oidc::authorize::get).post(oidc::authorize::post))
        .route("/token", post(oidc::token::token))
        .route("/par", post(oidc::par::push))
        .route("/introspect", post(oidc::introspection::introspect))
        .route("/revoke", post(oidc::introspection::revoke))
        .route("/device_authorization", post(oidc::device::authorization))
        .route("/device", get(oidc::device_page::page).post(oidc::device_page::submit))
        .route("/device/confirm", get(oidc::device_page::confirm_page).post(oidc::device_page::confirm_submit))
        .route("/userinfo", get(oidc::userinfo::get).post(oidc::userinfo::post))
        .route("/logout", get(oidc::logout::get).post(oidc::logout::post))
        .route("/logout/confirm", post(oidc::logout::confirm))
        .route("/register", post(oidc::dynamic_registration::register))
        .route(
            "/register/{client_id}",
            get(oidc::dynamic_registration::read).put(oidc::dynamic_registration::update).delete(oidc::dynamic_registration::delete),
        )
        .route("/login", get(authn::login::page).post(authn::login::submit))
        .route("/login/totp", get(authn::login::totp_page).post(authn::login::totp_submit))
        .route(authn::upstream::CALLBACK_PATH, get(authn::upstream::callback))
        .route("/login/upstream/{id}", get(authn::upstream::start))
        .route(authn::upstream::LOGOUT_DONE_PATH, get(authn::upstream::logout_done))
        .route("/consent", get(privacy::consent_page::page).post(privacy::consent_page::submit))
        .route("/organisation", get(identity::org_page::page).post(identity::org_page::submit))
        .route("/login/qr", get(authn::qr_login::page))
        .route("/login/qr/status", get(authn::qr_login::status))
        .route("/login/qr/continue", post(authn::qr_login::continue_submit))
        .route("/account/devices", get(authn::app_device::account_page))
        .route("/account/devices/revoke", post(authn::app_device::account_revoke))
        .route("/api/v1/devices", get(authn::app_device::list).post(authn::app_device::register))
        .route("/api/v1/devices/{id}", axum::routing::delete(authn::app_device::revoke))
        .route("/api/v1/login-requests/show", post(authn::qr_login::api_show))
        .route("/api/v1/login-requests/approve", post(authn::qr_login::api_approve))
        .route("/api/v1/device-approvals/show", post(authn::qr_login::api_device_show))
        .route("/api/v1/device-approvals/approve", post(authn::qr_login::api_device_approve))
        .route("/static/qr-login.js", get(authn::qr_login::script))
        .route("/login/certificate", post(authn::certificate::submit))
        .route("/login/certificate/challenge", post(authn::certificate::challenge))
        .route("/static/webeid.js", get(authn::certificate::script))
        .route("/login/passkey", post(authn::passkey::submit))
        .route("/login/passkey/options", post(authn::passkey::options))
        .route("/account", get(account::page))
        .route("/account/signin", get(account::sign_in))
        .route("/account/passkeys", post(account::register))
        .route("/account/passkeys/options", post(account::register_options))
        .route("/account/passkeys/remove", post(account::remove))
        .route("/account/upstreams/link/{id}", get(account::upstreams::link))
        .route("/account/upstreams/unlink", post(account::upstreams::unlink))
        .route("/static/nixa.css", get(stylesheet))
        .route("/static/passkey.js", get(passkey_script))
        .route("/api/v1/certificates/verify", post(crate::pki::api::verify))
        .route("/api/v1/credentials/verify", post(crate::credentials::api::verify))
        .route("/api/v1/credentials/qr", get(crate::credentials::api::own_qr))
        .route("/api/v1/credentials/revoke", post(crate::credentials::api::owner_revoke))
        .route("/.well-known/nixa-credential-keys.json", get(crate::credentials::api::jwks))
        .route("/.well-known/nixa-credential-keys.cbor", get(crate::credentials::api::cose_keys))
        .route("/credentials/status/{list}", get(crate::credentials::api::status_list))
        .route("/healthz", get(|| async { "ok" }))
        .merge(crate::admin::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(64 * 1024))
        .layer(axum::middleware::from_fn(web::security::headers))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(on_panic))
        .with_state(app)
}

/// A panic is a bug: answer 500 with an incident id instead of dropping the connection.
fn on_panic(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let id = web::error::log_incident(&"a request handler panicked");
    (StatusCode::INTERNAL_SERVER_ERROR, format!("internal error, incident {id}")).into_response()
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        web::pages::STYLESHEET,
    )
}

async fn passkey_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        web::pages::PASSKEY_SCRIPT,
    )
}

async fn not_found() -> PageError {
    PageError::new(StatusCode::NOT_FOUND, Locale::Vi, "error.not_found")
}
