//! People and bodies the platform identifies, with the validators for their identifiers.

pub mod acting_for;
pub mod agency_code;
pub mod cccd_qr;
pub mod import;
pub mod organisation;
pub mod person;
pub mod personal_id;
pub mod search;

pub use agency_code::{AgencyCode, AgencyCodeError, AgencyKind, Level1Unit};
pub use cccd_qr::{CccdQr, CccdQrError};
pub use organisation::{Organisation, RepresentativeRole, TaxCode};
pub use person::{AccountLevel, Person, PersonId, PersonStatus, Sex};
pub use personal_id::PersonalId;
