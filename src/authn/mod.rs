//! Authentication methods, one module each, and the browser session they produce.

pub mod login;
pub mod passkey;
pub mod password;
pub mod session;
pub mod totp;
