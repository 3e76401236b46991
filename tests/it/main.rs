//! The integration tests, one binary (every file in `tests/` would be linked on its own): a
//! module per area, the harness in `tests/common`, shared vectors in `tests/vectors`. Add new
//! areas as modules here.
// The whole crate is test code: its helpers, not only its `#[test]` functions, may unwrap and
// panic (a failed assumption is a failed test) and read the wall clock.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::disallowed_methods)]

#[path = "../common/mod.rs"]
mod common;
#[path = "../vectors/mod.rs"]
mod vectors;

mod abuse;
mod admin;
mod backup;
mod certificate_login;
mod channels;
mod cli;
mod console;
mod credential_vectors;
mod credentials;
mod credentials_api;
mod data_rights;
mod device;
mod enrolment;
mod federation;
mod hsm;
mod identity_flow;
mod import;
mod logout;
mod mobile;
mod observe;
mod oidc_errors;
mod oidc_flow;
mod passkeys;
mod pki;
mod pki_api;
mod pki_limbo;
mod portals;
mod protocol;
mod registration;
mod resilience;
mod satisfaction;
mod stats;
mod store;
mod tls;
mod upgrade;
