//! nixa: national electronic identification and authentication server.
//! Architecture and formats: DESIGN.md (shared/); the folders mirror it.
//!
//! # The house, from the ground floor up
//!
//! Each floor imports only from the floors below it, with these exceptions: `identity::import`
//! (the registry import) writes through the store; `pki::api` is the HTTP face of the
//! certificate pipeline; the state holds the QR credentials' keys (`credentials::service`).
//!
//! | floor | modules | what they hold |
//! |---|---|---|
//! | primitives | [`crypto`], [`metrics`] | random tokens, token hashes, constant-time comparison, the signature algorithms' names; every Prometheus metric's name and labels (served by [`routes::metrics_router`]) |
//! | domain | [`identity`], [`client`], [`scope`], [`assurance`], [`store`], [`keys`], [`audit`], [`pki`], [`privacy`], [`federation`], [`channels`] | people and organisations (a person's internal [`identity::PersonId`] is never their personal ID), registered portals, the scopes of a grant, acr/amr, the SQLite/PostgreSQL repository (its own rows and domain types, nothing from the protocol), signing keys and the master key, the audit chain and its stream to a SIEM, certificates, consent and pairwise subjects, the upstream providers, the channels that carry messages to people (SMTP, an SMS gateway, a file) |
//! | HTTP basics | [`web`] | pages, languages, CSRF, cookies, security headers, incidents (internal errors logged once, by a layer), the request log, health and readiness |
//! | settings | [`config`] | the configuration and the settings built from it |
//! | protocol vocabulary | [`protocol`] | the authorization request and its parsing, OAuth errors and their wire form, scopes and claims, user codes, JOSE, the metadata document; no endpoint |
//! | statistics | [`stats`] | the monitoring centre's counts: recorded in memory by the sign-in, consent and credential paths, folded by the janitor, exported anonymised (cell suppression) |
//! | ground floor of the server | [`state`] | the shared state (`App`, the clock, server secrets); it imports no handler |
//! | sign-in | [`signin`] | the browser side of a sign-in: typed stages and purposes, the one "what next?" decision ([`signin::policy`]), the journey, the consent, organisation, device and satisfaction pages, the browser session |
//! | endpoints and methods | [`oidc`], [`authn`] | one protocol endpoint per file and token minting without HTTP ([`oidc::mint`]); the authentication methods (one-time codes and their sending among them), each ending in [`signin::journey::authenticated`] |
//! | people and operators | [`admin`], [`credentials`], [`account`], [`enrol`], [`console`] | the operator API; QR credentials; the person's own pages; getting in (activation, recovery, factor set-up, notifications); the operator's console (role-based pages for portals, people, audit, statistics) |
//! | top | [`routes`], [`janitor`], [`demo`], [`app_client`] | the route table, the periodic upkeep, demo data, the reference app client |
//!
//! The command line (`src/cli/`, one file per subcommand) is the binary's, on top of all.
//!
//! # A password sign-in, step by step
//!
//! `GET /authorize` → [`oidc::authorize`] parses and validates the request (plain, PAR or JAR)
//! with [`protocol::request`] → [`signin::journey::start`] asks [`signin::policy::next`] and
//! parks the sign-in ([`signin::pending`]) → the login page ([`authn::login`]) checks the
//! password ([`authn::password`]) → [`signin::journey::authenticated`] starts the session
//! ([`signin::session`]) and asks the policy again → the consent page ([`signin::consent`]) →
//! [`signin::journey::advance`] → [`signin::finish`] stores the code → `POST /token`
//! ([`oidc::token`]) mints through [`oidc::mint`] with keys from [`keys`].
#![forbid(unsafe_code)]

rust_i18n::i18n!("locales", fallback = "vi");

pub mod account;
pub mod admin;
pub mod app_client;
pub mod assurance;
pub mod audit;
pub mod authn;
pub mod channels;
pub mod client;
pub mod config;
pub mod console;
pub mod credentials;
pub mod crypto;
pub mod demo;
pub mod enrol;
pub mod federation;
pub mod identity;
pub mod janitor;
pub mod keys;
pub mod metrics;
pub mod oidc;
pub mod outbound;
pub mod pki;
pub mod privacy;
pub mod protocol;
pub mod routes;
pub mod scope;
pub mod signin;
pub mod state;
pub mod stats;
pub mod store;
pub mod trace;
pub mod web;
