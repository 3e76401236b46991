//! CRLs and OCSP responses as they are fetched from a CA (DER): parsing, the CRL signature
//! check against a real CA certificate, and the OCSP response checks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nixa::pki::cert::Cert;
use nixa::pki::revocation::{Crl, OcspRules, ocsp_status};

static ISSUER: &[u8] = include_bytes!("../../trust/cpcag2.crt");

fuzz_target!(|data: &[u8]| {
    let Ok(issuer) = Cert::parse(ISSUER) else { return };
    if let Ok(crl) = Crl::parse(data, "fuzz") {
        let _ = crl.verify(&issuer, 1_767_225_600);
    }
    let rules = OcspRules { nonce: Some(vec![1, 2, 3, 4]), max_age: 86_400, skew: 300, designated: Vec::new() };
    let _ = ocsp_status(data, &[0x01, 0x02], &issuer, 1_767_225_600, &rules, "fuzz");
});
