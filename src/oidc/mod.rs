//! The protocol surface, one endpoint per file: discovery, JWKS, authorization, PAR, token,
//! UserInfo, introspection, revocation, logout, registration, device authorization; token
//! minting without HTTP (`mint`). The vocabulary they share is in `protocol`.

pub mod authorize;
pub mod client_auth;
pub mod device;
pub mod discovery;
pub mod dpop;
pub mod dynamic_registration;
pub mod id_token;
pub mod introspection;
pub mod logout;
pub mod mint;
pub mod par;
pub mod registration;
pub mod request_object;
pub mod token;
pub mod userinfo;
