//! Request objects (RFC 9101): an authorization request signed by the client. Only the object's
//! parameters count (§6.3); it must be signed with a registered key, name us as audience and the
//! client as issuer, and expire.

use std::collections::HashMap;

use serde_json::Value;

use crate::client::Client;
use crate::crypto::token_hash;
use crate::protocol::jose::{self, CLIENT_ALGS, FAPI_ALGS, JoseError};
use crate::state::App;
use crate::web::form::Params;

/// FAPI 2.0 (Message Signing §5.3.1): `exp` − `nbf` at most 60 minutes.
const MAX_LIFETIME: i64 = 3600;
const SKEW: i64 = 30;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestObjectError {
    #[error("the request object signature or key is not acceptable: {0}")]
    Jose(JoseError),
    #[error("the client's keys are unavailable")]
    Keys,
    #[error("the request object iss must be the client id")]
    Issuer,
    #[error("the request object aud must be the issuer")]
    Audience,
    #[error("the request object client_id differs from the request's")]
    ClientId,
    #[error("the request object has no exp, or has expired")]
    Expired,
    #[error("the request object is not yet valid, or lives longer than 60 minutes")]
    Lifetime,
    #[error("the request object was already used")]
    Replayed,
    #[error("the request object has a parameter that is not a string, number or object")]
    Parameter,
    #[error("internal error")]
    Internal,
}

pub async fn params(app: &App, client: &Client, jwt: &str) -> Result<Params, RequestObjectError> {
    let now = app.now();
    let algs: &[jsonwebtoken::Algorithm] = if client.is_fapi() { &FAPI_ALGS } else { &CLIENT_ALGS };
    let set = app.client_keys.get(client, now, false).await.map_err(|_| RequestObjectError::Keys)?;
    let v = match jose::verify_with_set(jwt, &set, algs, None) {
        Err(JoseError::UnknownKey) if client.options.jwks_uri.is_some() => {
            let set = app.client_keys.get(client, now, true).await.map_err(|_| RequestObjectError::Keys)?;
            jose::verify_with_set(jwt, &set, algs, None)
        }
        other => other,
    }
    .map_err(RequestObjectError::Jose)?;
    if let Some(t) = v.header.typ.as_deref() {
        // RFC 9101 §10.8: explicit typing; a JWT of another kind must not pass as a request.
        if !["oauth-authz-req+jwt", "application/oauth-authz-req+jwt", "JWT"].contains(&t) {
            return Err(RequestObjectError::Jose(JoseError::Type("oauth-authz-req+jwt")));
        }
    }
    let c = &v.claims;
    let id = client.id.as_str();
    if jose::str_claim(c, "iss") != Some(id) {
        return Err(RequestObjectError::Issuer);
    }
    if !jose::audience_contains(c, &[app.settings.issuer_str.as_str()]) {
        return Err(RequestObjectError::Audience);
    }
    if c.get("client_id").is_some_and(|x| x.as_str() != Some(id)) {
        return Err(RequestObjectError::ClientId);
    }
    let exp = jose::int_claim(c, "exp").filter(|e| *e > now - SKEW).ok_or(RequestObjectError::Expired)?;
    let nbf = jose::int_claim(c, "nbf");
    if nbf.is_some_and(|n| n > now + SKEW) || (client.is_fapi() && nbf.is_none_or(|n| exp - n > MAX_LIFETIME)) {
        return Err(RequestObjectError::Lifetime);
    }
    if let Some(jti) = jose::str_claim(c, "jti") {
        let key = token_hash(&format!("request_object\n{id}\n{jti}"));
        if !app.store.use_once(&key, exp + SKEW).await.map_err(|_| RequestObjectError::Internal)? {
            return Err(RequestObjectError::Replayed);
        }
    }
    let mut map = HashMap::new();
    for (k, val) in c {
        if ["iss", "aud", "exp", "nbf", "iat", "jti"].contains(&k.as_str()) {
            continue;
        }
        let text = match val {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Object(_) => val.to_string(),
            Value::Null => continue,
            _ => return Err(RequestObjectError::Parameter),
        };
        map.insert(k.clone(), text);
    }
    map.insert("client_id".into(), id.to_string());
    Ok(Params::from_map(map))
}
