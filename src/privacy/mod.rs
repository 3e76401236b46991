//! Privacy by design: pairwise subjects and consent.

pub mod consent;
pub mod disclosure;
pub mod pairwise;
pub mod sector;
