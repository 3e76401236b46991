//! Getting in (DESIGN §10): activation, recovery, factor enrolment and the notifications that go
//! with them. The channels that carry messages to people are `crate::channels`.
//!
//! A person proves who they are (`prove`: an operator's activation code, or a code sent to the
//! registry's phone or e-mail, each with the birth date), receives an enrolment ticket
//! (`ticket`), and goes through the steps (`steps`): a password that passes the rules
//! (`password_rules`), an authenticator app (`totp_setup`) with recovery codes. Operators issue
//! activation letters (`letters`). The codes themselves, and their sending, are an
//! authentication method (`authn::one_time_code`, `authn::code_delivery`,
//! `authn::recovery_codes`); here are the notifications that follow the audit log (`notify`).

pub mod config;
pub mod letters;
pub mod notify;
pub mod pages;
pub mod password_rules;
pub mod prove;
pub mod steps;
pub mod ticket;
pub mod totp_setup;
