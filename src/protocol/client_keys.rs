//! Client public keys: inline `jwks`, or `jwks_uri` fetched over https and cached. A key the
//! cache does not know triggers one early refetch (the client rotated), at most once a minute.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;

use super::jose::parse_key_set;
use crate::client::Client;

const TTL: i64 = 300;
const MIN_REFETCH: i64 = 60;
const MAX_BODY: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("the client has no registered keys")]
    NoKeys,
    #[error("fetching jwks_uri failed: {0}")]
    Fetch(String),
    #[error("jwks_uri did not return a JWK set")]
    BadSet,
}

pub struct ClientKeys {
    outbound: crate::outbound::Outbound,
    cache: Mutex<HashMap<String, (i64, JwkSet)>>,
}

impl ClientKeys {
    pub fn new(outbound: crate::outbound::Outbound) -> Self {
        Self { outbound, cache: Mutex::new(HashMap::new()) }
    }

    /// The client's key set; `refresh` asks for a refetch of a cached `jwks_uri`.
    pub async fn get(&self, client: &Client, now: i64, refresh: bool) -> Result<JwkSet, KeysError> {
        if let Some(inline) = &client.options.jwks {
            return parse_key_set(inline).map_err(|_| KeysError::BadSet);
        }
        let uri = client.options.jwks_uri.as_deref().ok_or(KeysError::NoKeys)?;
        let cached = self.cache.lock().unwrap_or_else(|e| e.into_inner()).get(uri).cloned();
        if let Some((at, set)) = cached {
            let fresh = now - at < TTL;
            let may_refetch = now - at >= MIN_REFETCH;
            if fresh && !(refresh && may_refetch) {
                return Ok(set);
            }
        }
        let set = self.fetch(uri).await?;
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).insert(uri.to_string(), (now, set.clone()));
        Ok(set)
    }

    async fn fetch(&self, uri: &str) -> Result<JwkSet, KeysError> {
        let http = self.outbound.client_for(uri).map_err(|e| KeysError::Fetch(e.to_string()))?;
        let res = http.get(uri).timeout(Duration::from_secs(5)).send().await.map_err(|e| KeysError::Fetch(e.without_url().to_string()))?;
        if !res.status().is_success() {
            return Err(KeysError::Fetch(format!("HTTP {}", res.status().as_u16())));
        }
        if res.content_length().is_some_and(|l| l > MAX_BODY as u64) {
            return Err(KeysError::BadSet);
        }
        let body = res.bytes().await.map_err(|e| KeysError::Fetch(e.without_url().to_string()))?;
        if body.len() > MAX_BODY {
            return Err(KeysError::BadSet);
        }
        let v: serde_json::Value = serde_json::from_slice(&body).map_err(|_| KeysError::BadSet)?;
        parse_key_set(&v).map_err(|_| KeysError::BadSet)
    }
}
