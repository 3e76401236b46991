//! QR credentials (DESIGN §6): signed identity QR codes for people and organisations, and a
//! generic verifier that also reads EU DCC and MOSIP Claim 169 codes.

pub mod claims;
pub mod cose;
pub mod encoding;
pub mod issue;
pub mod keys;
pub mod person;
pub mod render;
pub mod verify;
pub mod api;
pub mod service;
pub mod cli;
pub mod status_list;
