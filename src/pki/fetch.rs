//! Network revocation sources: CRLs downloaded from the distribution points and kept until
//! their nextUpdate.

use std::collections::HashMap;
use std::sync::Mutex;

use super::cert::Cert;
use super::revocation::Crl;

/// The largest CRL accepted (the national CAs' full CRLs are a few megabytes).
const MAX_CRL: usize = 32 * 1024 * 1024;

/// A response body, or `None` once it grows past `cap` (a peer cannot make us buffer more).
pub(crate) async fn read_capped(mut r: reqwest::Response, cap: usize) -> Option<Vec<u8>> {
    if r.content_length().is_some_and(|n| n > cap as u64) {
        return None;
    }
    let mut body = Vec::new();
    while let Some(chunk) = r.chunk().await.ok()? {
        body.extend_from_slice(&chunk);
        if body.len() > cap {
            return None;
        }
    }
    Some(body)
}

#[derive(Default)]
pub struct CrlCache {
    entries: Mutex<HashMap<String, Crl>>,
}

impl CrlCache {
    /// The CRLs for every certificate of `chain` (from their cRLDistributionPoints), fetched or
    /// served from the cache while their nextUpdate has not passed. Download failures are left
    /// out: the revocation mode decides what an unknown status means.
    pub async fn for_chain(&self, outbound: &crate::outbound::Outbound, chain: &[Cert], now: i64) -> Vec<Crl> {
        let mut out = Vec::new();
        for url in chain.iter().flat_map(|c| c.ext.crl_urls.iter()) {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                continue;
            }
            let cached = self.entries.lock().ok().and_then(|m| m.get(url).filter(|c| c.next_update.is_some_and(|n| n > now)).cloned());
            if let Some(c) = cached {
                out.push(c);
                continue;
            }
            let got = async {
                let r = outbound.client_for(url).ok()?.get(url).send().await.ok()?.error_for_status().ok()?;
                let body = read_capped(r, MAX_CRL).await?;
                Crl::parse(&body, url).ok()
            }
            .await;
            match got {
                Some(c) => {
                    if let Ok(mut m) = self.entries.lock() {
                        m.insert(url.clone(), c.clone());
                    }
                    out.push(c);
                }
                None => tracing::warn!(url = %url, "CRL download failed"),
            }
        }
        out
    }
}
