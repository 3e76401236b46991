//! Client authentication at the token, PAR, introspection, revocation and device endpoints
//! (RFC 6749 §2.3, OIDC Core §9, RFC 7523): the registered method exactly, secrets compared as
//! SHA-256 in constant time, client assertions verified and single use.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::client::{AuthMethod, Client, ClientId};
use crate::crypto::token_hash;
use crate::protocol::error::OAuthError;
use crate::protocol::jose::{self, CLIENT_ALGS, FAPI_ALGS, JoseError};
use crate::state::App;
use crate::web::form::Params;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The bound on a client assertion's lifetime.
const MAX_ASSERTION_LIFETIME: i64 = 120;
const SKEW: i64 = 30;

/// Credentials as presented, before the client is looked up.
struct Presented {
    client_id: String,
    secret: Option<String>,
    assertion: Option<String>,
    method: AuthMethod,
}

fn presented(headers: &HeaderMap, p: &Params) -> Result<Presented, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, creds)| creds.trim().to_string());
    let assertion = p.get("client_assertion");
    if assertion.is_some() || p.has("client_assertion_type") {
        if basic.is_some() || p.has("client_secret") {
            return Err(OAuthError::invalid_request("use one client authentication method, not several"));
        }
        if p.get("client_assertion_type") != Some(JWT_BEARER) {
            return Err(OAuthError::invalid_client("client_assertion_type must be jwt-bearer", false));
        }
        let assertion = assertion.ok_or_else(|| OAuthError::invalid_client("client_assertion is missing", false))?;
        // The client is named by the assertion's `sub` (RFC 7523 §3); it is checked against
        // `iss` and any `client_id` parameter once the signature verified.
        let claims = jsonwebtoken::dangerous::insecure_decode_claims::<serde_json::Map<String, serde_json::Value>>(assertion)
            .map_err(|_| OAuthError::invalid_client("client_assertion is not a JWT", false))?;
        let id = jose::str_claim(&claims, "sub").ok_or_else(|| OAuthError::invalid_client("client_assertion has no sub", false))?;
        if p.get("client_id").is_some_and(|body_id| body_id != id) {
            return Err(OAuthError::invalid_client("client_id differs from the assertion's subject", false));
        }
        return Ok(Presented {
            client_id: id.to_string(),
            secret: None,
            assertion: Some(assertion.to_string()),
            method: AuthMethod::PrivateKeyJwt,
        });
    }
    match (basic, p.get("client_secret")) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request("use one client authentication method, not several")),
        (Some(creds), None) => {
            let fail = || OAuthError::invalid_client("malformed HTTP Basic credentials", true);
            let decoded = STANDARD.decode(creds).map_err(|_| fail())?;
            let decoded = String::from_utf8(decoded).map_err(|_| fail())?;
            let (id, secret) = decoded.split_once(':').ok_or_else(fail)?;
            // RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
            let id = form_decode(id).ok_or_else(fail)?;
            let secret = form_decode(secret).ok_or_else(fail)?;
            if p.get("client_id").is_some_and(|body_id| body_id != id) {
                return Err(OAuthError::invalid_request("client_id in the body differs from the authenticated client"));
            }
            Ok(Presented { client_id: id, secret: Some(secret), assertion: None, method: AuthMethod::ClientSecretBasic })
        }
        (None, Some(secret)) => {
            let id = p.get("client_id").ok_or_else(|| OAuthError::invalid_request("client_id is required"))?;
            Ok(Presented {
                client_id: id.to_string(),
                secret: Some(secret.to_string()),
                assertion: None,
                method: AuthMethod::ClientSecretPost,
            })
        }
        (None, None) => {
            let id = p.get("client_id").ok_or_else(|| OAuthError::invalid_client("client authentication is required", false))?;
            Ok(Presented { client_id: id.to_string(), secret: None, assertion: None, method: AuthMethod::None })
        }
    }
}

fn form_decode(s: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={s}")).ok()?;
    pairs.into_iter().next().map(|(_, v)| v)
}

/// Authenticates the client, then holds it to its portal's rate limit (`[throttle]`).
pub async fn authenticate(app: &App, headers: &HeaderMap, p: &Params) -> Result<Client, OAuthError> {
    let client = authenticate_credentials(app, headers, p).await?;
    if let Err(wait) = app.throttle.check_portal(client.id.as_str()) {
        return Err(OAuthError::too_many("this portal is over its request rate; retry later", wait));
    }
    Ok(client)
}

async fn authenticate_credentials(app: &App, headers: &HeaderMap, p: &Params) -> Result<Client, OAuthError> {
    let pr = presented(headers, p)?;
    let basic = pr.method == AuthMethod::ClientSecretBasic;
    let unknown = || OAuthError::invalid_client("client authentication failed", basic);
    let id = ClientId::parse(&pr.client_id).ok_or_else(unknown)?;
    let client = app.store.client(&id).await?.ok_or_else(unknown)?;
    if client.auth_method != pr.method {
        return Err(OAuthError::invalid_client(format!("this client is registered for {}", client.auth_method.as_str()), basic));
    }
    if let Some(assertion) = &pr.assertion {
        verify_assertion(app, &client, assertion).await?;
        return Ok(client);
    }
    if let (Some(secret), Some(_)) = (&pr.secret, &client.secret_hash) {
        if !client.secret_matches(secret, app.now()) {
            return Err(unknown());
        }
    } else if pr.method != AuthMethod::None {
        return Err(unknown());
    }
    Ok(client)
}

/// RFC 7523 §3 with the bounds: signed by a registered key, `iss` = `sub` = client id,
/// `aud` = our issuer, `exp` at most 120 s after `iat`, `jti` never seen before.
async fn verify_assertion(app: &App, client: &Client, assertion: &str) -> Result<(), OAuthError> {
    let fail = |d: &'static str| OAuthError::invalid_client(d, false);
    let now = app.now();
    let algs: &[jsonwebtoken::Algorithm] = if client.is_fapi() { &FAPI_ALGS } else { &CLIENT_ALGS };
    let mut set = app.client_keys.get(client, now, false).await.map_err(|_| fail("the client's keys are unavailable"))?;
    let mut verified = jose::verify_with_set(assertion, &set, algs, None);
    if verified.as_ref().err() == Some(&JoseError::UnknownKey) && client.options.jwks_uri.is_some() {
        set = app.client_keys.get(client, now, true).await.map_err(|_| fail("the client's keys are unavailable"))?;
        verified = jose::verify_with_set(assertion, &set, algs, None);
    }
    let v = verified.map_err(|e| match e {
        JoseError::Algorithm => fail("client_assertion uses an algorithm that is not accepted"),
        JoseError::UnknownKey => fail("client_assertion is signed with an unknown key"),
        JoseError::Signature => fail("client_assertion signature is invalid"),
        _ => fail("client_assertion is malformed"),
    })?;
    let c = &v.claims;
    let id = client.id.as_str();
    if jose::str_claim(c, "iss") != Some(id) || jose::str_claim(c, "sub") != Some(id) {
        return Err(fail("client_assertion iss and sub must be the client id"));
    }
    // FAPI 2.0 §5.3.2.1 (and RFC 7523bis): exactly the issuer as a string; other clients may
    // send it inside an array too.
    let aud_ok = if client.is_fapi() {
        jose::str_claim(c, "aud") == Some(app.settings.issuer_str.as_str())
    } else {
        jose::audience_contains(c, &[app.settings.issuer_str.as_str()])
    };
    if !aud_ok {
        return Err(fail("client_assertion aud must be the issuer"));
    }
    let exp = jose::int_claim(c, "exp").ok_or_else(|| fail("client_assertion exp is required"))?;
    let iat = jose::int_claim(c, "iat").ok_or_else(|| fail("client_assertion iat is required"))?;
    if exp <= now - SKEW {
        return Err(fail("client_assertion has expired"));
    }
    // Checked arithmetic: `exp = 2^62, iat = -2^62` once wrapped round to a short lifetime.
    let lifetime_ok = exp.checked_sub(iat).is_some_and(|l| (0..=MAX_ASSERTION_LIFETIME).contains(&l));
    let iat_ok = iat <= now + SKEW && iat >= now - MAX_ASSERTION_LIFETIME - SKEW;
    if !lifetime_ok || !iat_ok {
        return Err(fail("client_assertion lifetime must be at most 120 seconds from iat"));
    }
    if jose::int_claim(c, "nbf").is_some_and(|nbf| nbf > now + SKEW) {
        return Err(fail("client_assertion is not yet valid"));
    }
    let jti =
        jose::str_claim(c, "jti").filter(|j| !j.is_empty() && j.len() <= 256).ok_or_else(|| fail("client_assertion jti is required"))?;
    let key = token_hash(&format!("client_assertion\n{id}\n{jti}"));
    if !app.store.use_once(&key, exp + SKEW).await? {
        return Err(fail("client_assertion was already used"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn basic_parts_are_form_decoded() {
        assert_eq!(super::form_decode("a%3Ab+c").as_deref(), Some("a:b c"));
    }
}
