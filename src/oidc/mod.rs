//! The protocol surface: discovery, JWKS, authorization, token, UserInfo and logout endpoints.

pub mod authorize;
pub mod claims_request;
pub mod client_auth;
pub mod client_keys;
pub mod device;
pub mod discovery;
pub mod dpop;
pub mod dynamic_registration;
pub mod error;
pub mod id_token;
pub mod introspection;
pub mod jose;
pub mod logout;
pub mod metadata;
pub mod mint;
pub mod par;
pub mod registration;
pub mod request;
pub mod request_object;
pub mod scopes;
pub mod token;
pub mod user_code;
pub mod userinfo;
