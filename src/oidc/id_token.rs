//! ID tokens (OIDC Core §2, §3.1.3.6).

use serde::Serialize;

use crate::crypto::{b64url, sha256};

#[derive(Debug, Serialize)]
pub struct IdTokenClaims<'a> {
    pub iss: &'a str,
    pub sub: &'a str,
    pub aud: &'a str,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<&'a str>,
    pub acr: crate::assurance::Acr,
    pub amr: &'a [String],
    pub sid: &'a str,
    pub at_hash: String,
    /// `vn_org`, `vn_agency_code`… decided at sign-in.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `at_hash`: the left half of the SHA-256 of the access token (ES256 and RS256 both hash with
/// SHA-256), base64url.
pub fn at_hash(access_token: &str) -> String {
    b64url(&sha256(access_token.as_bytes())[..16])
}

#[cfg(test)]
mod tests {
    #[test]
    fn at_hash_vector() {
        // OIDC Core §A.3 example: access token "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
        // with RS256 → at_hash "77QmUPtjPfzWtF2AnpK9RQ".
        assert_eq!(super::at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"), "77QmUPtjPfzWtF2AnpK9RQ");
    }
}
