//! The protocol's vocabulary, shared by the endpoints (`oidc`) and the sign-in (`signin`), with
//! no endpoint of its own: the authorization request and its parsing, OAuth errors and their
//! HTTP form, scopes and the claims they release, the `claims` parameter, RFC 8628 user codes,
//! JOSE helpers, the portals' published keys, and the provider's metadata document.

pub mod claims_request;
pub mod client_keys;
pub mod error;
pub mod jose;
pub mod metadata;
pub mod request;
pub mod scopes;
pub mod user_code;
