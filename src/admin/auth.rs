//! Operator tokens: random bearer tokens stored as SHA-256, each with scopes.

use axum::http::{HeaderMap, header};

use super::problem::Problem;
use crate::crypto::token_hash;
use crate::state::App;
use crate::store::operators::OperatorToken;

/// `clients:register` makes a token an initial access token for `/register` (RFC 7591 §3), and
/// `clients:first_party` lets that token register clients with public subjects.
pub const SCOPES: [&str; 12] = [
    "persons:read",
    "persons:write",
    "orgs:read",
    "orgs:write",
    "clients:read",
    "clients:write",
    "clients:register",
    "clients:first_party",
    "upstreams:read",
    "upstreams:write",
    "audit:read",
    "stats:read",
];

/// The operator behind the request, if its token carries `scope`.
pub async fn require(app: &App, headers: &HeaderMap, scope: &str) -> Result<OperatorToken, Problem> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, t)| scheme.eq_ignore_ascii_case("bearer") && !t.is_empty() && t.len() <= 256)
        .map(|(_, t)| t.trim())
        .ok_or_else(Problem::unauthorized)?;
    let op = app.store.operator_token(&token_hash(token), app.now()).await?.ok_or_else(Problem::unauthorized)?;
    if !op.scopes.iter().any(|s| s == scope) {
        return Err(Problem::forbidden(scope));
    }
    Ok(op)
}
