//! People and bodies the platform identifies, with the validators for their identifiers.

pub mod import;
pub mod organisation;
pub mod person;
pub mod personal_id;

pub use organisation::{Organisation, TaxCode};
pub use person::{AccountLevel, Person, PersonStatus, Sex};
pub use personal_id::PersonalId;
