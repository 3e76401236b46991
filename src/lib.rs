//! nixa: national electronic identification and authentication server.
//! Architecture and formats: DESIGN.md (shared/), folders mirror it.
#![forbid(unsafe_code)]

rust_i18n::i18n!("locales", fallback = "vi");

pub mod account;
pub mod admin;
pub mod app;
pub mod app_client;
pub mod assurance;
pub mod audit;
pub mod authn;
pub mod config;
pub mod credentials;
pub mod demo;
pub mod identity;
pub mod keys;
pub mod oidc;
pub mod pki;
pub mod privacy;
pub mod store;
pub mod web;
