//! X.509 certificates as a person's signing certificate or a pasted chain arrives (PEM or DER):
//! parsing, then the whole path check against the built-in trust store.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nixa::pki::cert::Cert;

fuzz_target!(|data: &[u8]| {
    let Ok(certs) = Cert::parse_all(data) else { return };
    let _ = Cert::from_der(data);
    if let (Some((leaf, rest)), Ok(trust)) = (certs.split_first(), nixa::pki::TrustStore::national()) {
        let policy = nixa::pki::Policy::signature(1_767_225_600);
        let rev = nixa::pki::Revocation {
            mode: nixa::pki::Mode::Off,
            crls: Vec::new(),
            ocsp: Vec::new(),
            rules: nixa::pki::OcspRules { nonce: None, max_age: 86_400, skew: 300, designated: Vec::new() },
            whole_chain: true,
            exempt: Vec::new(),
        };
        let _ = nixa::pki::verify(leaf, rest, &trust, &policy, &rev);
    }
});
