//! QR credentials (DESIGN §6): signed identity QR codes for people and organisations, and a
//! generic verifier that also reads EU DCC and MOSIP Claim 169 codes.

pub mod api;
pub mod claims;
pub mod cli;
pub mod cose;
pub mod encoding;
pub mod issue;
pub mod keys;
pub mod person;
pub mod render;
pub mod revocation;
pub mod service;
pub mod status_list;
pub mod verify;
