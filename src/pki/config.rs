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
    /// Certificate policies (dotted OIDs) under which CAs issue keys only on a PIN-protected
    /// token or card: a sign-in with such a certificate reports amr `hwk sc pin`; any other
    /// certificate reports `swk` (nothing proves where its key is kept).
    pub hardware_policies: Vec<String>,
    /// Show the challenge on the login page so a token made elsewhere (`nixa cert
    /// sign-challenge`) can be pasted, when the Web eID extension does not answer. Off by
    /// default: pasting lets a relaying site have the person sign for it; on in --demo.
    pub allow_pasted_tokens: Option<bool>,
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
            hardware_policies: Vec::new(),
            allow_pasted_tokens: None,
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
    /// Intermediates only: do not check this CA's own revocation (for a CA that names no CRL
    /// or OCSP source). Reported as `not_checked`, never as good.
    #[serde(default)]
    pub revocation_exempt: bool,
}

/// One entry of the designated-responder map.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OcspResponderConfig {
    /// The host named in the certificates' authorityInfoAccess OCSP URL.
    pub host: String,
    /// Where to send the requests instead (e.g. the responder's address on the closed network).
    pub url: Option<String>,
    /// A responder certificate trusted directly for answers from this host, about
    /// certificates of the issuer below only. It must carry id-kp-OCSPSigning.
    pub cert: Option<PathBuf>,
    /// SHA-256 fingerprint (hex) of the issuing CA whose certificates the responder answers
    /// for; required with `cert`.
    pub issuer_fingerprint: Option<String>,
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
    pub hardware_policies: Vec<ObjectIdentifier>,
    pub allow_pasted_tokens: bool,
    /// Configured intermediates whose own revocation is not checked.
    pub revocation_exempt: Vec<[u8; 32]>,
}

#[derive(Debug, Clone)]
pub struct OcspResponder {
    pub host: String,
    pub url: Option<url::Url>,
    /// The trusted responder certificate and the issuer it answers for.
    pub cert: Option<(Cert, [u8; 32])>,
}

fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    let hex = text.replace(':', "").to_ascii_lowercase();
    let bytes: Option<Vec<u8>> =
        (0..hex.len()).step_by(2).map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok())).collect();
    bytes.and_then(|b| b.try_into().ok())
}

fn read_cert(path: &Path) -> Result<Cert, PkiError> {
    let bytes = std::fs::read(path).map_err(|e| PkiError::Io(format!("{}: {e}", path.display())))?;
    Cert::parse(&bytes)
}

impl PkiSettings {
    /// `demo`: defaults that suit a demonstration (pasted tokens allowed unless configured).
    pub fn load(c: &PkiConfig) -> Result<Self, PkiError> {
        Self::load_for(c, false)
    }

    pub fn load_for(c: &PkiConfig, demo: bool) -> Result<Self, PkiError> {
        let bad = |m: String| PkiError::Malformed(format!("[pki] {m}"));
        let mut trust = if c.national_store { TrustStore::national()? } else { TrustStore::default() };
        for a in &c.anchors {
            trust.add_file(&a.name, &a.file, a.fingerprint.as_deref(), true)?;
        }
        let mut revocation_exempt = Vec::new();
        for i in &c.intermediates {
            trust.add_file(&i.name, &i.file, i.fingerprint.as_deref(), false)?;
            if i.revocation_exempt
                && let Some(a) = trust.intermediates.last()
            {
                revocation_exempt.push(a.cert.fingerprint);
            }
        }
        if c.anchors.iter().any(|a| a.revocation_exempt) {
            return Err(bad("revocation_exempt applies to intermediates only (anchors are not checked)".into()));
        }
        if trust.anchors.is_empty() {
            return Err(bad("no trust anchor: keep national_store = true or name [[pki.anchors]]".into()));
        }
        if !c.pins.is_empty() {
            let mut pins = Vec::new();
            for p in &c.pins {
                pins.push(parse_fingerprint(p).ok_or_else(|| bad(format!("pin {p:?} is not a SHA-256 fingerprint in hex")))?);
            }
            trust.pinned = Some(pins);
        }
        let mut responders = Vec::new();
        for r in &c.ocsp_responders {
            if r.host.is_empty() || r.host.contains('/') {
                return Err(bad(format!("ocsp_responders: host {:?} must be a bare host name", r.host)));
            }
            let url = match &r.url {
                Some(u) => Some(
                    url::Url::parse(u)
                        .ok()
                        .filter(|u| matches!(u.scheme(), "http" | "https"))
                        .ok_or_else(|| bad(format!("ocsp_responders: url {u:?} is not an http(s) URL")))?,
                ),
                None => None,
            };
            let cert = match (&r.cert, &r.issuer_fingerprint) {
                (None, _) => None,
                (Some(_), None) => {
                    return Err(bad(format!("ocsp_responders: {} names a responder cert without issuer_fingerprint", r.host)));
                }
                (Some(path), Some(fp)) => {
                    let cert = read_cert(path)?;
                    if !cert.ext.eku.as_ref().is_some_and(|(_, e)| e.contains(&super::cert::oid::EKU_OCSP_SIGNING)) {
                        return Err(bad(format!("ocsp_responders: {} lacks id-kp-OCSPSigning", path.display())));
                    }
                    let issuer = parse_fingerprint(fp)
                        .ok_or_else(|| bad(format!("ocsp_responders: issuer_fingerprint {fp:?} is not a SHA-256 fingerprint")))?;
                    Some((cert, issuer))
                }
            };
            responders.push(OcspResponder { host: r.host.to_ascii_lowercase(), url, cert });
        }
        let oids = |name: &str, list: &[String]| {
            list.iter()
                .map(|p| ObjectIdentifier::new(p).map_err(|_| bad(format!("{name}: {p:?} is not an OID"))))
                .collect::<Result<Vec<_>, _>>()
        };
        let disallowed_policies = oids("disallowed_policies", &c.disallowed_policies)?;
        let hardware_policies = oids("hardware_policies", &c.hardware_policies)?;
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
            hardware_policies,
            allow_pasted_tokens: c.allow_pasted_tokens.unwrap_or(demo),
            revocation_exempt,
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
        c.anchors =
            vec![TrustFile { name: "root".into(), file: file.clone(), fingerprint: Some("00".repeat(32)), revocation_exempt: false }];
        assert!(matches!(PkiSettings::load(&c), Err(PkiError::Fingerprint { .. })));
        c.anchors[0].fingerprint = Some(crate::pki::cert::hex(&national.anchors[0].cert.fingerprint).to_uppercase());
        c.pins = vec!["zz".into()];
        assert!(PkiSettings::load(&c).unwrap_err().to_string().contains("pin"));
        c.pins = vec![crate::pki::cert::hex(&vnpt)];
        c.ocsp_responders =
            vec![OcspResponderConfig { host: "ocsp.ca.ptc".into(), url: Some("ftp://x".into()), cert: None, issuer_fingerprint: None }];
        assert!(PkiSettings::load(&c).unwrap_err().to_string().contains("url"));
        c.ocsp_responders[0].url = Some("http://10.0.0.5:8080/ocsp".into());
        c.ocsp_responders[0].cert = Some(file.clone());
        assert!(PkiSettings::load(&c).unwrap_err().to_string().contains("issuer_fingerprint"));
        c.ocsp_responders[0].issuer_fingerprint = Some(crate::pki::cert::hex(&vnpt));
        assert!(PkiSettings::load(&c).unwrap_err().to_string().contains("OCSPSigning"), "a root is no OCSP responder");
        c.ocsp_responders[0].cert = None;
        let s = PkiSettings::load(&c).unwrap();
        assert_eq!(s.trust.pinned, Some(vec![vnpt]));
        assert!(s.responder_for("http://OCSP.ca.ptc/").is_some_and(|r| r.url.is_some()));
        assert!(s.responder_for("http://ocsp.vnpt-ca.vn/").is_none());
    }
}
