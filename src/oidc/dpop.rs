//! DPoP proofs (RFC 9449): checked at the token and PAR endpoints and at UserInfo, with server
//! nonces that every node can check without shared state (an HMAC over a five-minute window).

use axum::http::HeaderMap;
use jsonwebtoken::Algorithm;

use crate::crypto::{b64url, ct_eq, hmac_sha256, sha256, token_hash};
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::jose::{self, JoseError};
use crate::state::App;

/// Asymmetric algorithms accepted in proofs.
pub const ALGS: [Algorithm; 5] = crate::protocol::jose::DPOP_ALGS;

/// The proof algorithms a client may use: FAPI 2.0 §5.4 narrows them to PS256, ES256, EdDSA.
pub fn algs_for(client: &crate::client::Client) -> &'static [Algorithm] {
    if client.is_fapi() { &crate::protocol::jose::FAPI_ALGS } else { &ALGS }
}
const NONCE_WINDOW: i64 = 300;
/// How old a proof may be, and how far in the future its `iat` may lie (clock skew).
const MAX_AGE: i64 = 300;
const SKEW: i64 = 60;

/// Where a proof is presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place<'a> {
    /// The token or PAR endpoint: server nonces are required when configured.
    AuthorizationServer,
    /// A protected resource; the proof must carry `ath` for this token.
    Resource { access_token: &'a str },
}

/// A verified proof: the thumbprint of its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub jkt: String,
}

/// The nonce a client should put in its next proof.
pub fn current_nonce(app: &App) -> String {
    nonce_for(&app.secrets.dpop, app.now().div_euclid(NONCE_WINDOW))
}

fn nonce_for(secret: &[u8], window: i64) -> String {
    b64url(&hmac_sha256(secret, &[b"dpop-nonce", &window.to_be_bytes()]))
}

fn nonce_valid(secret: &[u8], now: i64, presented: &str) -> bool {
    let w = now.div_euclid(NONCE_WINDOW);
    [w, w - 1].iter().any(|w| ct_eq(nonce_for(secret, *w).as_bytes(), presented.as_bytes()))
}

/// `htu` is compared without query and fragment (RFC 9449 §4.3 item 9), after URL parsing so
/// that default ports and case in the host do not matter.
fn same_target(htu: &str, expected: &str) -> bool {
    let norm = |s: &str| {
        url::Url::parse(s).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        })
    };
    matches!((norm(htu), norm(expected)), (Some(a), Some(b)) if a == b)
}

/// Checks the `DPoP` header if there is one. `Ok(None)`: no proof was sent.
pub async fn check(
    app: &App,
    headers: &HeaderMap,
    method: &str,
    url: &str,
    place: Place<'_>,
    algs: &[Algorithm],
) -> Result<Option<Proof>, OAuthError> {
    let at_resource = matches!(place, Place::Resource { .. });
    let bad = |d: &'static str| {
        let e = OAuthError::new(ErrorCode::InvalidDpopProof, d);
        if at_resource { e.dpop_scheme() } else { e }
    };
    let mut values = headers.get_all("dpop").iter();
    let Some(value) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(bad("send exactly one DPoP proof"));
    }
    let token = value.to_str().map_err(|_| bad("the DPoP proof is not a JWT"))?;
    let (v, jwk) = jose::verify_self_signed(token, algs, "dpop+jwt").map_err(|e| match e {
        JoseError::Type(_) => bad("the DPoP proof must have typ dpop+jwt"),
        JoseError::Algorithm => bad("the DPoP proof uses an algorithm that is not accepted"),
        JoseError::Signature => bad("the DPoP proof signature is invalid"),
        JoseError::PrivateKey => bad("the DPoP proof header carries a private key"),
        _ => bad("the DPoP proof is malformed"),
    })?;
    let c = &v.claims;
    let now = app.now();
    if jose::str_claim(c, "htm") != Some(method) {
        return Err(bad("the DPoP proof htm does not match the request method"));
    }
    if !jose::str_claim(c, "htu").is_some_and(|h| same_target(h, url)) {
        return Err(bad("the DPoP proof htu does not match the request URL"));
    }
    let iat = jose::int_claim(c, "iat").ok_or_else(|| bad("the DPoP proof has no iat"))?;
    if iat > now + SKEW || iat < now - MAX_AGE {
        return Err(bad("the DPoP proof iat is outside the accepted window"));
    }
    if let Place::Resource { access_token } = place {
        let ath = b64url(&sha256(access_token.as_bytes()));
        if !jose::str_claim(c, "ath").is_some_and(|a| ct_eq(a.as_bytes(), ath.as_bytes())) {
            return Err(bad("the DPoP proof ath does not match the access token"));
        }
    }
    if place == Place::AuthorizationServer && app.settings.dpop_require_nonce {
        match jose::str_claim(c, "nonce") {
            Some(n) if nonce_valid(&app.secrets.dpop, now, n) => {}
            Some(_) => {
                return Err(OAuthError::new(ErrorCode::UseDpopNonce, "the DPoP nonce is stale; use the one in the DPoP-Nonce header")
                    .with_dpop_nonce(current_nonce(app)));
            }
            None => {
                return Err(OAuthError::new(ErrorCode::UseDpopNonce, "a DPoP nonce is required; use the one in the DPoP-Nonce header")
                    .with_dpop_nonce(current_nonce(app)));
            }
        }
    }
    let jkt = jose::thumbprint(&jwk).map_err(|_| bad("the DPoP proof key is not usable"))?;
    let jti = jose::str_claim(c, "jti").filter(|j| !j.is_empty() && j.len() <= 256).ok_or_else(|| bad("the DPoP proof has no jti"))?;
    if !app.store.use_once(&token_hash(&format!("dpop\n{jkt}\n{jti}")), iat + MAX_AGE + SKEW).await? {
        return Err(bad("the DPoP proof was already used"));
    }
    Ok(Some(Proof { jkt }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_roll_over_one_window() {
        let s = b"secret";
        let n = nonce_for(s, 1000 / NONCE_WINDOW);
        assert!(nonce_valid(s, 1000, &n));
        assert!(nonce_valid(s, 1000 + NONCE_WINDOW, &n));
        assert!(!nonce_valid(s, 1000 + 2 * NONCE_WINDOW, &n));
        assert!(!nonce_valid(b"other", 1000, &n));
    }

    #[test]
    fn htu_comparison() {
        assert!(same_target("https://id.gov.vn/token", "https://id.gov.vn/token"));
        assert!(same_target("https://ID.gov.vn:443/token?x=1", "https://id.gov.vn/token"));
        assert!(!same_target("https://id.gov.vn/token2", "https://id.gov.vn/token"));
        assert!(!same_target("not a url", "https://id.gov.vn/token"));
    }
}
