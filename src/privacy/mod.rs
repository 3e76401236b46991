//! Privacy by design: pairwise subjects and consent.

pub mod consent;
pub mod consent_page;
pub mod pairwise;
pub mod sector;
