//! The text of the QR code printed on the chip-based citizen identity card (CCCD).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = nixa::identity::cccd_qr::CccdQr::parse(text);
});
