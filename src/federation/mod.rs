//! The federation hub's upstream providers (DESIGN §1): their configurations (`config`), one
//! HTTP client each (own timeouts, no redirects), their discovered metadata, and how their
//! `acr` maps to ours (`acr`). No HTTP handler lives here (the brokered sign-in is
//! `authn::upstream`): the shared state holds a [`Federation`].

pub mod acr;
pub mod config;

use std::sync::Arc;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpRequest, IssuerUrl, ProviderMetadataWithLogout};
use opentelemetry::KeyValue;
use tokio::sync::Mutex;

use self::config::Upstream;
use crate::store::StoreError;

/// Discovered metadata and keys are fetched again after this long.
const METADATA_TTL: i64 = 600;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("unknown upstream")]
    Unknown,
    #[error("upstream unreachable: {0}")]
    Unreachable(String),
    #[error("upstream answered with an error: {0}")]
    Refused(String),
    #[error("upstream ID token rejected: {0}")]
    BadToken(String),
    #[error("the upstream did not assert a personal ID")]
    NoPersonalId,
    #[error("the upstream's personal ID is not verified")]
    Unverified,
    #[error("no account with this personal ID, and this upstream may not create one")]
    NoAccount,
    #[error("this upstream is not trusted to identify people by personal ID")]
    NotTrusted,
    #[error("the account cannot sign in")]
    Inactive,
    #[error("linking from the account page: the upstream identified another person")]
    OtherAccount,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("sealing: {0}")]
    Seal(#[from] crate::keys::master::MasterKeyError),
    #[error("http client: {0}")]
    Http(String),
}

pub(crate) struct Provider {
    pub(crate) cfg: Upstream,
    pub(crate) http: openidconnect::reqwest::Client,
    metadata: Mutex<Option<(ProviderMetadataWithLogout, i64)>>,
}

/// The configured upstreams, each with its own HTTP client (its own timeouts, no redirects):
/// those of nixa.toml, then those added through the admin API.
pub struct Federation {
    providers: std::sync::RwLock<Vec<Arc<Provider>>>,
    /// The guarded way out (`crate::outbound`) every provider's client is built from.
    outbound: crate::outbound::Outbound,
    /// Ids from nixa.toml: the admin API neither replaces nor removes them.
    from_config: Vec<String>,
}

fn provider(outbound: &crate::outbound::Outbound, u: &Upstream) -> Result<Arc<Provider>, UpstreamError> {
    // The issuer's own address is checked here; names are checked when resolved.
    outbound.check_url(&u.issuer_str()).map_err(|e| UpstreamError::Http(e.to_string()))?;
    let http = outbound
        .builder()
        // A redirect from a token or metadata endpoint is never followed (SSRF, credentials sent
        // elsewhere).
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .connect_timeout(u.timeout)
        .timeout(u.timeout)
        .build()
        .map_err(|e| UpstreamError::Http(e.to_string()))?;
    Ok(Arc::new(Provider { cfg: u.clone(), http, metadata: Mutex::new(None) }))
}

impl Federation {
    pub fn new(upstreams: &[Upstream], outbound: crate::outbound::Outbound) -> Result<Self, UpstreamError> {
        let providers = upstreams.iter().map(|u| provider(&outbound, u)).collect::<Result<_, UpstreamError>>()?;
        Ok(Self { providers: std::sync::RwLock::new(providers), outbound, from_config: upstreams.iter().map(|u| u.id.clone()).collect() })
    }

    fn list(&self) -> Vec<Arc<Provider>> {
        // A poisoned lock only means a panic elsewhere while swapping an Arc: the list is whole.
        self.providers.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Provider>> {
        self.list().into_iter().find(|p| p.cfg.id == id)
    }

    pub fn is_from_config(&self, id: &str) -> bool {
        self.from_config.iter().any(|c| c == id)
    }

    /// Adds or replaces an upstream managed through the admin API.
    pub fn put(&self, u: &Upstream) -> Result<(), UpstreamError> {
        let p = provider(&self.outbound, u)?;
        let mut list = self.providers.write().unwrap_or_else(|e| e.into_inner());
        list.retain(|q| q.cfg.id != u.id);
        list.push(p);
        Ok(())
    }

    pub fn remove(&self, id: &str) {
        self.providers.write().unwrap_or_else(|e| e.into_inner()).retain(|q| q.cfg.id != id);
    }

    /// The configurations (for the admin API; secrets are left out by the caller).
    pub fn configs(&self) -> Vec<Upstream> {
        self.list().iter().map(|p| p.cfg.clone()).collect()
    }

    /// Loads the upstreams stored through the admin API (at start-up).
    pub async fn load_stored(&self, store: &crate::store::Store, master: &crate::keys::MasterKey) -> Result<(), UpstreamError> {
        for (id, sealed) in store.upstream_providers().await? {
            let plain = master.open(&format!("upstream:{id}"), &sealed)?;
            let cfg: config::UpstreamConfig =
                serde_json::from_slice(&plain).map_err(|e| UpstreamError::Http(format!("stored upstream {id}: {e}")))?;
            let u = Upstream::from_config(&cfg).map_err(|e| UpstreamError::Http(e.to_string()))?;
            if !self.is_from_config(&u.id) {
                self.put(&u)?;
            }
        }
        Ok(())
    }

    /// What the login page shows: one button per upstream.
    pub fn buttons(&self) -> Vec<crate::web::pages::UpstreamButton> {
        self.list()
            .iter()
            .map(|p| crate::web::pages::UpstreamButton {
                id: p.cfg.id.clone(),
                name: p.cfg.display_name.clone(),
                logo: p.cfg.logo_url.as_ref().map(|u| u.to_string()),
            })
            .collect()
    }

    pub fn knows(&self, id: &str) -> bool {
        self.get(id).is_some()
    }
}

impl Provider {
    /// Every call is bounded by the upstream's timeout, also as a whole: a slow upstream that
    /// trickles bytes cannot hold the person's page. `op` names the call for the metrics and
    /// the trace (a child span of the request's, whose `traceparent` the upstream receives).
    pub(crate) async fn bounded<T, F: std::future::Future<Output = Result<T, UpstreamError>>>(
        &self,
        op: &'static str,
        f: F,
    ) -> Result<T, UpstreamError> {
        let started = std::time::Instant::now();
        let bounded = async {
            tokio::time::timeout(self.cfg.timeout + Duration::from_millis(500), f)
                .await
                .map_err(|_| UpstreamError::Unreachable("timed out".into()))
                .and_then(|r| r)
        };
        let describe = || {
            (format!("upstream {op}"), vec![KeyValue::new("nixa.upstream", self.cfg.id.clone()), KeyValue::new("nixa.upstream.call", op)])
        };
        let result = match crate::trace::call(describe) {
            Some((span, recording)) => {
                let result = crate::trace::within(span, bounded).await;
                recording.finish(Vec::new, result.is_err());
                result
            }
            None => bounded.await,
        };
        let outcome = match &result {
            Ok(_) => "ok",
            Err(UpstreamError::Unreachable(_)) => "unreachable",
            Err(UpstreamError::Refused(_)) => "refused",
            Err(_) => "rejected",
        };
        crate::metrics::upstream_call(&self.cfg.id, op, outcome, started.elapsed());
        result
    }

    /// The waiting for the lock counts against the timeout too: with the upstream down, callers
    /// queued behind a fetch must not wait one timeout each.
    pub(crate) async fn metadata(&self, now: i64) -> Result<ProviderMetadataWithLogout, UpstreamError> {
        self.bounded("discovery", async {
            let mut cached = self.metadata.lock().await;
            if let Some((m, at)) = cached.as_ref()
                && now - at < METADATA_TTL
            {
                return Ok(m.clone());
            }
            let issuer = IssuerUrl::new(self.cfg.issuer_str()).map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
            // Discovery checks that the document's issuer is exactly the configured one.
            let m = ProviderMetadataWithLogout::discover_async(issuer, &Traced(&self.http))
                .await
                .map_err(|e| UpstreamError::Unreachable(error_chain(&e)))?;
            *cached = Some((m.clone(), now));
            Ok(m)
        })
        .await
    }

    pub(crate) async fn forget_metadata(&self) {
        *self.metadata.lock().await = None;
    }
}

/// The upstream's client for `openidconnect`'s calls, with the `traceparent` of the call being
/// made (`crate::trace::call`, inside [`Provider::bounded`]).
pub(crate) struct Traced<'a>(pub &'a openidconnect::reqwest::Client);

impl<'c> AsyncHttpClient<'c> for Traced<'_> {
    type Error = <openidconnect::reqwest::Client as AsyncHttpClient<'c>>::Error;
    type Future = <openidconnect::reqwest::Client as AsyncHttpClient<'c>>::Future;

    fn call(&'c self, mut request: HttpRequest) -> Self::Future {
        request.headers_mut().extend(crate::trace::outbound_headers());
        self.0.call(request)
    }
}

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
