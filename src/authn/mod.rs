//! Authentication methods, one module each. Each proves who the person is and hands over to
//! `signin::journey::authenticated`, which starts the session and carries the sign-in on.

pub mod app_device;
pub mod certificate;
pub mod code_delivery;
pub mod lockout;
pub mod login;
pub mod one_time_code;
pub mod passkey;
pub mod password;
pub mod proof_of_work;
pub mod qr_login;
pub mod recovery_codes;
pub mod totp;
pub mod upstream;
