//! Authentication methods, one module each, and the browser session they produce.

pub mod app_device;
pub mod certificate;
pub mod login;
pub mod passkey;
pub mod password;
pub mod qr_login;
pub mod session;
pub mod totp;
pub mod upstream;
