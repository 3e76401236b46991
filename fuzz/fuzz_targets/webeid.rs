//! Web eID authentication tokens (JSON) as the browser extension posts them, and the
//! certificate they carry.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = nixa::pki::webeid::parse(data);
});
