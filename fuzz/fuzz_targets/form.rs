//! Form bodies and query strings as every endpoint receives them, and the values parsed from
//! them (scopes, languages, acr values, user codes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nixa::web::form::Params;

fuzz_target!(|data: &[u8]| {
    let _ = Params::parse(data);
    let _ = Params::parse_lenient(data);
    let Ok(text) = std::str::from_utf8(data) else { return };
    let q = Params::from_query(&Some(text.to_string()));
    let _ = q.get("scope").map(nixa::scope::Scopes::parse);
    let _ = nixa::web::i18n::Locale::parse(text);
    let _ = nixa::assurance::Acr::parse(text);
    let _ = nixa::protocol::user_code::normalise_user_code(text);
});
