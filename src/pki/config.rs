//! The `[pki]` section of nixa.toml: which anchors and intermediates are trusted, pins, how
//! revocation is checked, and the designated-responder map for OCSP hosts whose responder
//! certificate does not chain to the issuing CA (such as the Government CA's `ocsp.ca.ptc`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use der::asn1::ObjectIdentifier;
use serde::{Deserialize, Serialize};

use super::cert::Cert;
use super::{Mode, PkiError, TrustStore};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PkiConfig {
    /// Start from the national store shipped in `trust/` (both roots and their intermediates).
    pub national_store: bool,
    pub anchors: Vec<TrustFile>,
    /// Intermediates used to complete chains a token does not carry (a Web eID token sends the
    /// leaf only).
    pub intermediates: Vec<TrustFile>,
    /// SHA-256 fingerprints (hex) of intermediates every path must pass through; empty: none.
    pub pins: Vec<String>,
    /// `fail_closed` (default), `soft_fail` or `off`.
    pub revocation: Mode,
    pub ocsp_timeout_secs: u64,
    /// Largest age of an OCSP answer's thisUpdate, in seconds.
    pub ocsp_max_age_secs: i64,
    /// Send a nonce and require it back (RFC 8954); turn off only for responders that
    /// answer from a pre-signed cache and ignore nonces.
    pub ocsp_nonce: bool,
    pub ocsp_responders: Vec<OcspResponderConfig>,
    /// Certificate policies (dotted OIDs) that must not sign in, e.g. signing-only profiles.
    pub disallowed_policies: Vec<String>,
}

impl Default for PkiConfig {
    fn default() -> Self {
        Self {
            national_store: true,
            anchors: Vec::new(),
            intermediates: Vec::new(),
            pins: Vec::new(),
            revocation: Mode::FailClosed,
            ocsp_timeout_secs: 5,
            ocsp_max_age_secs: 15 * 60,
            ocsp_nonce: true,
            ocsp_responders: Vec::new(),
            disallowed_policies: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustFile {
    pub name: String,
    /// PEM or DER; relative paths are read from the working directory.
    pub file: PathBuf,
    /// SHA-256 of the DER (hex, colons allowed): a file that differs is refused at start.
    pub fingerprint: Option<String>,
}

/// One entry of the designated-responder map.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OcspResponderConfig {
    /// The host named in the certificates' authorityInfoAccess OCSP URL.
    pub host: String,
    /// Where to send the requests instead (e.g. the responder's address on the closed network).
    pub url: Option<String>,
    /// A responder certificate trusted directly for answers from this host.
    pub cert: Option<PathBuf>,
}

/// The `[pki]` section, checked and loaded at start-up.
#[derive(Debug, Clone)]
pub struct PkiSettings {
    pub trust: TrustStore,
    pub revocation: Mode,
    pub ocsp_timeout: Duration,
    pub ocsp_max_age: i64,
    pub ocsp_nonce: bool,
    pub responders: Vec<OcspResponder>,
    pub disallowed_policies: Vec<ObjectIdentifier>,
}

#[derive(Debug, Clone)]
pub struct OcspResponder {
    pub host: String,
    pub url: Option<url::Url>,
    pub cert: Option<Cert>,
}

fn read_cert(path: &Path) -> Result<Cert, PkiError> {
    let bytes = std::fs::read(path).map_err(|e| PkiError::Io(format!("{}: {e}", path.display())))?;
    Cert::parse(&bytes)
}

impl PkiSettings {
    pub fn load(c: &PkiConfig) -> Result<Self, PkiError> {
        let bad = |m: String| PkiError::Malformed(format!("[pki] {m}"));
        let mut trust = if c.national_store { TrustStore::national()? } else { TrustStore::default() };
        for a in &c.anchors {
            trust.add_file(&a.name, &a.file, a.fingerprint.as_deref(), true)?;
        }
        for i in &c.intermediates {
            trust.add_file(&i.name, &i.file, i.fingerprint.as_deref(), false)?;
        }
        if trust.anchors.is_empty() {
            return Err(bad("no trust anchor: keep national_store = true or name [[pki.anchors]]".into()));
        }
        if !c.pins.is_empty() {
            let mut pins = Vec::new();
            for p in &c.pins {
                let hex = p.replace(':', "").to_ascii_lowercase();
                let bytes: Option<Vec<u8>> =
                    (0..hex.len()).step_by(2).map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok())).collect();
                let pin: [u8; 32] = bytes.and_then(|b| b.try_into().ok()).ok_or_else(|| bad(format!("pin {p:?} is not a SHA-256 fingerprint in hex")))?;
                pins.push(pin);
            }
            trust.pinned = Some(pins);
        }
        let mut responders = Vec::new();
        for r in &c.ocsp_responders {
            if r.host.is_empty() || r.host.contains('/') {
                return Err(bad(format!("ocsp_responders: host {:?} must be a bare host name", r.host)));
            }
            let url = match &r.url {
                Some(u) => Some(url::Url::parse(u).ok().filter(|u| matches!(u.scheme(), "http" | "https")).ok_or_else(|| bad(format!("ocsp_responders: url {u:?} is not an http(s) URL")))?),
                None => None,
            };
            let cert = r.cert.as_deref().map(read_cert).transpose()?;
            responders.push(OcspResponder { host: r.host.to_ascii_lowercase(), url, cert });
        }
        let disallowed_policies = c
            .disallowed_policies
            .iter()
            .map(|p| ObjectIdentifier::new(p).map_err(|_| bad(format!("disallowed_policies: {p:?} is not an OID"))))
            .collect::<Result<_, _>>()?;
        if c.ocsp_timeout_secs == 0 || c.ocsp_timeout_secs > 60 {
            return Err(bad("ocsp_timeout_secs must be between 1 and 60".into()));
        }
        Ok(Self {
            trust,
            revocation: c.revocation,
            ocsp_timeout: Duration::from_secs(c.ocsp_timeout_secs),
            ocsp_max_age: c.ocsp_max_age_secs.max(60),
            ocsp_nonce: c.ocsp_nonce,
            responders,
            disallowed_policies,
        })
    }

    /// The designated-responder entry for an OCSP URL's host, if any.
    pub fn responder_for(&self, ocsp_url: &str) -> Option<&OcspResponder> {
        let host = url::Url::parse(ocsp_url).ok()?.host_str()?.to_ascii_lowercase();
        self.responders.iter().find(|r| r.host == host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchor_file(dir: &Path) -> PathBuf {
        let p = dir.join("root.crt");
        std::fs::write(&p, include_bytes!("../../trust/vnrca256.crt")).unwrap();
        p
    }

    #[test]
    fn defaults_load_the_national_store() {
        let s = PkiSettings::load(&PkiConfig::default()).unwrap();
        assert_eq!((s.trust.anchors.len(), s.trust.intermediates.len()), (2, 2));
        assert_eq!(s.revocation, Mode::FailClosed);
        assert!(s.trust.pinned.is_none());
    }

    #[test]
    fn configured_anchors_pins_and_responders_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = anchor_file(dir.path());
        let national = TrustStore::national().unwrap();
        let vnpt = national.intermediates[0].cert.fingerprint;
        let mut c = PkiConfig { national_store: false, ..PkiConfig::default() };
        assert!(PkiSettings::load(&c).unwrap_err().to_string().contains("no trust anchor"));
        c.anchors = vec![TrustFile { name: "root".into(), file: file.clone(), fingerprint: Some("00".repeat(32)) }];
        assert!(matches!(PkiSettings::load(&c), Err(PkiError::Fingerprint { .. })));
        c.anchors[0].fingerprint = Some(crate::pki::cert::hex(&national.anchors[0].cert.fingerprint).to_uppercase());
        c.pins = vec!["zz".into()];
        assert!(PkiSettings::load(&c).unwrap_err().to_string().contains("pin"));
        c.pins = vec![crate::pki::cert::hex(&vnpt)];
        c.ocsp_responders = vec![OcspResponderConfig { host: "ocsp.ca.ptc".into(), url: Some("ftp://x".into()), cert: None }];
        assert!(PkiSettings::load(&c).unwrap_err().to_string().contains("url"));
        c.ocsp_responders[0].url = Some("http://10.0.0.5:8080/ocsp".into());
        c.ocsp_responders[0].cert = Some(file);
        let s = PkiSettings::load(&c).unwrap();
        assert_eq!(s.trust.pinned, Some(vec![vnpt]));
        assert!(s.responder_for("http://OCSP.ca.ptc/").is_some_and(|r| r.cert.is_some()));
        assert!(s.responder_for("http://ocsp.vnpt-ca.vn/").is_none());
    }
}
