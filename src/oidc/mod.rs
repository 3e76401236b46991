//! The protocol surface: discovery, JWKS, authorization, token and UserInfo endpoints.

pub mod authorize;
pub mod client;
pub mod client_auth;
pub mod device;
pub mod device_page;
pub mod discovery;
pub mod error;
pub mod flow;
pub mod jose;
pub mod id_token;
pub mod registration;
pub mod request;
pub mod scopes;
pub mod token;
pub mod userinfo;
