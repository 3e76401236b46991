//! nixa: national electronic identification and authentication server.
//! Architecture and formats: DESIGN.md (shared/); the folders mirror it.
//!
//! # The house, from the ground floor up
//!
//! Each floor imports only from the floors below it.
//!
//! | floor | modules | what they hold |
//! |---|---|---|
//! | ground | [`state`], [`config`] | the shared state (`App`, the clock, server secrets) and the settings; no handler |
//! | storage | [`store`] | the sqlx repository for SQLite and PostgreSQL; it returns its own rows and domain types, and imports nothing from the protocol |
//! | domain | [`identity`], [`client`], [`assurance`], [`keys`], [`audit`], [`privacy`], [`pki`], [`credentials`] | people and organisations, registered portals, acr/amr, signing keys and secrets, the audit chain, consent and pairwise subjects, certificates, QR credentials |
//! | HTTP | [`web`] | the people's pages, languages, CSRF, cookies, security headers, incidents |
//! | protocol | [`oidc`] | one endpoint per file; parsing of authorization requests; token minting without HTTP ([`oidc::mint`]) |
//! | sign-in | [`signin`] | the browser side of a sign-in: typed stages and purposes, the one "what next?" decision, the consent, organisation and device pages, the browser session |
//! | methods | [`authn`] | password and TOTP, passkeys, certificates, the app (QR), upstream providers: each ends in `signin::journey::authenticated` |
//! | people and operators | [`account`], [`admin`] | the person's own pages; the operator API |
//! | top | [`routes`], [`janitor`], [`demo`], [`app_client`] | the route table, the periodic upkeep, demo data, the reference app client |
//!
//! The command line (`src/cli/`, one file per subcommand) is the binary's, on top of all.
//!
//! # A password sign-in, step by step
//!
//! `GET /authorize` → [`oidc::authorize`] parses and validates (plain, PAR or JAR) →
//! [`signin::journey::start`] asks [`signin::policy::next`] → the login page
//! ([`authn::login`]) checks the password ([`authn::password`]) →
//! [`signin::journey::authenticated`] starts the session and asks the policy again → consent
//! ([`signin::consent`]) → [`signin::finish`] stores the code → `POST /token`
//! ([`oidc::token`]) mints through [`oidc::mint`] with keys from [`keys`].
#![forbid(unsafe_code)]

rust_i18n::i18n!("locales", fallback = "vi");

pub mod account;
pub mod admin;
pub mod app_client;
pub mod assurance;
pub mod audit;
pub mod authn;
pub mod client;
pub mod config;
pub mod credentials;
pub mod demo;
pub mod identity;
pub mod janitor;
pub mod keys;
pub mod oidc;
pub mod pki;
pub mod privacy;
pub mod routes;
pub mod signin;
pub mod state;
pub mod store;
pub mod web;
