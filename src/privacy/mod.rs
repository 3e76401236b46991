//! Privacy by design: pairwise subjects and consent.

pub mod consent;
pub mod pairwise;
pub mod sector;
