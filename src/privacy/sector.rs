//! Sector identifier documents (OIDC Core §8.1). Clients that share a sector identifier URI share
//! pairwise subjects; the document at that URI, a JSON array of redirect URIs, is the sector
//! owner's consent to that sharing, so every redirect URI a client registers must appear in it.

use std::time::Duration;

use crate::client::Client;

/// The document is a short list of URIs; anything larger is a mistake or an attack on our memory.
const MAX_BODY: usize = 64 * 1024;
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SectorError {
    #[error("sector_identifier_uri must be an https URL (http only for loopback) without a fragment")]
    Url,
    /// Not fetched (refused, unreachable, not 200): one answer for all, the detail is logged.
    #[error("sector_identifier_uri could not be fetched")]
    Unreachable,
    #[error("the sector identifier document is larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("the sector identifier document is not a JSON array of URIs")]
    NotAnArray,
    #[error("the sector identifier document does not list the redirect URI {0:?}")]
    Missing(String),
}

/// Checks the client's sector identifier document, if it registered one.
pub async fn verify_client(outbound: &crate::outbound::Outbound, client: &Client) -> Result<(), SectorError> {
    match &client.options.sector_identifier_uri {
        Some(uri) => verify(outbound, uri, &client.redirect_uris).await,
        None => Ok(()),
    }
}

/// Fetches the document at `uri` and requires every redirect URI in it, compared exactly as
/// redirect URIs are at the authorization endpoint.
pub async fn verify(outbound: &crate::outbound::Outbound, uri: &str, redirect_uris: &[String]) -> Result<(), SectorError> {
    if !crate::client::is_callable_url(uri) {
        return Err(SectorError::Url);
    }
    let listed = fetch(outbound, uri).await?;
    match redirect_uris.iter().find(|r| !listed.contains(r)) {
        Some(missing) => Err(SectorError::Missing(missing.clone())),
        None => Ok(()),
    }
}

async fn fetch(outbound: &crate::outbound::Outbound, uri: &str) -> Result<Vec<String>, SectorError> {
    // What went wrong is for the log: a registrant learning the remote status or error could use
    // registration to scan hosts and ports.
    let unreachable = |detail: String| {
        tracing::warn!(%detail, "a sector identifier document could not be fetched");
        SectorError::Unreachable
    };
    // No redirects (the guard's client): a redirect could move the check to another host.
    let http = outbound.client_for(uri).map_err(|e| unreachable(e.to_string()))?;
    let fetch_error = |e: reqwest::Error| unreachable(e.without_url().to_string());
    let mut res = http.get(uri).timeout(TIMEOUT).header(reqwest::header::ACCEPT, "application/json").send().await.map_err(fetch_error)?;
    if res.status() != reqwest::StatusCode::OK {
        return Err(unreachable(format!("HTTP {}", res.status().as_u16())));
    }
    if res.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(SectorError::TooLarge);
    }
    // Read in chunks so that a server lying about (or omitting) its length cannot exceed the cap.
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(fetch_error)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(SectorError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice::<Vec<String>>(&body).map_err(|_| SectorError::NotAnArray)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_insecure_unreachable_and_forbidden_uris_with_one_answer() {
        let uris = ["https://a.gov.vn/cb".to_string()];
        let open = crate::outbound::Outbound::new(vec!["127.0.0.0/8".parse().unwrap()]);
        assert_eq!(verify(&open, "http://sector.gov.vn/s.json", &uris).await, Err(SectorError::Url));
        assert_eq!(verify(&open, "https://sector.gov.vn/s.json#x", &uris).await, Err(SectorError::Url));
        // Port 9 (discard) on loopback: nothing listens in a test environment.
        assert_eq!(verify(&open, "http://127.0.0.1:9/s.json", &uris).await, Err(SectorError::Unreachable));
        // Without the allow-list, loopback is refused before any connection: the same answer.
        let closed = crate::outbound::Outbound::new(Vec::new());
        assert_eq!(verify(&closed, "http://127.0.0.1:9/s.json", &uris).await, Err(SectorError::Unreachable));
    }
}
