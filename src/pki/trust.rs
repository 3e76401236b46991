//! Trust store: named anchors, known intermediates (used to complete chains a token does not
//! send) and optional pins (when set, a path must pass through a pinned intermediate, so a
//! compromised licensed CA can be cut without touching its root).

use std::path::Path;

use super::PkiError;
use super::cert::{Cert, hex};

#[derive(Debug, Clone)]
pub struct Anchor {
    pub name: String,
    pub cert: Cert,
}

#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    pub anchors: Vec<Anchor>,
    pub intermediates: Vec<Anchor>,
    pub pinned: Option<Vec<[u8; 32]>>,
}

/// The default store, compiled in from `trust/`, with the fingerprints it must have.
const NATIONAL: [(&str, &[u8], &str, bool); 4] = [
    (
        "Vietnam National Root CA",
        include_bytes!("../../trust/vnrca256.crt"),
        "bac8bf609ab420a8ee1780d74f4de5c7f7184959d2a7375b0a75e4c29f0908e7",
        true,
    ),
    (
        "RootCA chuyên dùng Chính phủ G2",
        include_bytes!("../../trust/rootcag2.crt"),
        "f04ba4b459a7c9a1b971ad9b1cb833e695a80c79aea63b174b66a70edfe2fdb8",
        true,
    ),
    (
        "VNPT-CA SHA2",
        include_bytes!("../../trust/vnpt-ca-sha2.crt"),
        "7d6ba5245317f9ed5d8bc765a4634d26ac6340d36b9f584df3b52d9c4a81a306",
        false,
    ),
    (
        "CA phục vụ các cơ quan Nhà nước G2",
        include_bytes!("../../trust/cpcag2.crt"),
        "d8cab7a4aef92e6bb2509d7c61cee7b44f3731b2d21074963530277b366fae4b",
        false,
    ),
];

impl TrustStore {
    /// The national default: both roots as anchors, their two intermediates known.
    pub fn national() -> Result<Self, PkiError> {
        let mut store = Self::default();
        for (name, bytes, fingerprint, anchor) in NATIONAL {
            let a = Anchor { name: name.to_string(), cert: Cert::parse(bytes)? };
            let got = hex(&a.cert.fingerprint);
            if got != fingerprint {
                return Err(PkiError::Fingerprint { name: name.to_string(), expected: fingerprint.to_string(), got });
            }
            if anchor { store.anchors.push(a) } else { store.intermediates.push(a) }
        }
        Ok(store)
    }

    /// Anchors only, named by their subject.
    pub fn from_certs(anchors: Vec<Cert>) -> Self {
        Self { anchors: anchors.into_iter().map(|c| Anchor { name: c.subject(), cert: c }).collect(), ..Self::default() }
    }

    /// Adds an anchor file (PEM or DER); with `fingerprint`, refuses a file that differs.
    pub fn add_file(&mut self, name: &str, path: &Path, fingerprint: Option<&str>, anchor: bool) -> Result<(), PkiError> {
        let bytes = std::fs::read(path).map_err(|e| PkiError::Io(format!("{}: {e}", path.display())))?;
        let cert = Cert::parse(&bytes)?;
        if let Some(f) = fingerprint {
            let want = f.replace(':', "").to_ascii_lowercase();
            let got = hex(&cert.fingerprint);
            if got != want {
                return Err(PkiError::Fingerprint { name: name.to_string(), expected: want, got });
            }
        }
        let a = Anchor { name: name.to_string(), cert };
        if anchor {
            self.anchors.push(a)
        } else {
            self.intermediates.push(a)
        }
        Ok(())
    }
}
