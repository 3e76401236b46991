//! Getting in (DESIGN §10): activation, recovery, factor enrolment and the notifications that go
//! with them, and the channels that carry messages to people.
//!
//! A person proves who they are (`prove`: an operator's activation code, or a code sent to the
//! registry's phone or e-mail, each with the birth date), receives an enrolment ticket
//! (`ticket`), and goes through the steps (`steps`): a password that passes the rules
//! (`password_rules`), an authenticator app (`totp_setup`) with recovery codes. Operators issue
//! activation letters (`letters`). The codes themselves are an authentication method
//! (`authn::one_time_code`, `authn::recovery_codes`); here is their sending (`delivery`), the
//! texts (`messages`), and the notifications that follow the audit log (`notify`).

pub mod channels;
pub mod config;
pub mod delivery;
pub mod letters;
pub mod messages;
pub mod notify;
pub mod pages;
pub mod password_rules;
pub mod prove;
pub mod steps;
pub mod ticket;
pub mod totp_setup;
