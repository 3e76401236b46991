//! Client authentication at the token endpoint (RFC 6749 §2.3, OIDC Core §9): the registered
//! method exactly, secrets compared as SHA-256 in constant time.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::client::{AuthMethod, Client, ClientId};
use super::error::OAuthError;
use crate::keys::secret::{ct_eq, token_hash};
use crate::store::Store;
use crate::web::form::Params;

/// Credentials as presented, before the client is looked up.
struct Presented {
    client_id: String,
    secret: Option<String>,
    method: AuthMethod,
}

fn presented(headers: &HeaderMap, p: &Params) -> Result<Presented, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, creds)| creds.trim().to_string());
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
            Ok(Presented { client_id: id, secret: Some(secret), method: AuthMethod::ClientSecretBasic })
        }
        (None, Some(secret)) => {
            let id = p.get("client_id").ok_or_else(|| OAuthError::invalid_request("client_id is required"))?;
            Ok(Presented { client_id: id.to_string(), secret: Some(secret.to_string()), method: AuthMethod::ClientSecretPost })
        }
        (None, None) => {
            let id = p.get("client_id").ok_or_else(|| OAuthError::invalid_client("client authentication is required", false))?;
            Ok(Presented { client_id: id.to_string(), secret: None, method: AuthMethod::None })
        }
    }
}

fn form_decode(s: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={s}")).ok()?;
    pairs.into_iter().next().map(|(_, v)| v)
}

pub async fn authenticate(store: &Store, headers: &HeaderMap, p: &Params) -> Result<Client, OAuthError> {
    let pr = presented(headers, p)?;
    let basic = pr.method == AuthMethod::ClientSecretBasic;
    let unknown = || OAuthError::invalid_client("client authentication failed", basic);
    let id = ClientId::parse(&pr.client_id).ok_or_else(unknown)?;
    let client = store.client(&id).await.map_err(OAuthError::server_error)?.ok_or_else(unknown)?;
    if client.auth_method != pr.method {
        return Err(OAuthError::invalid_client(
            format!("this client is registered for {}", client.auth_method.as_str()),
            basic,
        ));
    }
    if let (Some(secret), Some(stored)) = (&pr.secret, &client.secret_hash) {
        if !ct_eq(token_hash(secret).as_bytes(), stored.as_bytes()) {
            return Err(unknown());
        }
    } else if pr.method != AuthMethod::None {
        return Err(unknown());
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    #[test]
    fn basic_parts_are_form_decoded() {
        assert_eq!(super::form_decode("a%3Ab+c").as_deref(), Some("a:b c"));
    }
}
