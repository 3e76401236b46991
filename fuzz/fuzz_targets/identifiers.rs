//! The identifiers people and portals type or send: the 12-digit personal ID, the tax code,
//! the agency code, birth dates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nixa::identity::{agency_code::AgencyCode, organisation::TaxCode, personal_id::PersonalId};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(id) = PersonalId::parse(text) {
        // A parsed ID reads back as itself.
        assert_eq!(PersonalId::parse(id.as_str()).ok().as_ref().map(PersonalId::as_str), Some(id.as_str()));
    }
    let _ = TaxCode::parse(text);
    let _ = AgencyCode::parse(text);
    let _ = nixa::identity::person::parse_date(text);
    let _ = nixa::enrol::pages::parse_birthdate(text);
});
