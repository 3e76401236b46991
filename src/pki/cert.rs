//! A parsed certificate with its extensions decoded once, strictly (DER), and every
//! structural problem recorded rather than thrown: the report shows what is wrong with each
//! certificate of a chain instead of stopping at the first malformed byte.

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies, CrlDistributionPoints, ExtendedKeyUsage,
    KeyUsage, NameConstraints, PolicyConstraints, SubjectAltName, SubjectKeyIdentifier,
};

use super::PkiError;

pub mod oid {
    use der::asn1::ObjectIdentifier as O;
    pub const BASIC_CONSTRAINTS: O = O::new_unwrap("2.5.29.19");
    pub const KEY_USAGE: O = O::new_unwrap("2.5.29.15");
    pub const EXT_KEY_USAGE: O = O::new_unwrap("2.5.29.37");
    pub const SUBJECT_KEY_ID: O = O::new_unwrap("2.5.29.14");
    pub const AUTHORITY_KEY_ID: O = O::new_unwrap("2.5.29.35");
    pub const SUBJECT_ALT_NAME: O = O::new_unwrap("2.5.29.17");
    pub const ISSUER_ALT_NAME: O = O::new_unwrap("2.5.29.18");
    pub const NAME_CONSTRAINTS: O = O::new_unwrap("2.5.29.30");
    pub const CERT_POLICIES: O = O::new_unwrap("2.5.29.32");
    pub const POLICY_MAPPINGS: O = O::new_unwrap("2.5.29.33");
    pub const POLICY_CONSTRAINTS: O = O::new_unwrap("2.5.29.36");
    pub const INHIBIT_ANY_POLICY: O = O::new_unwrap("2.5.29.54");
    pub const CRL_DP: O = O::new_unwrap("2.5.29.31");
    pub const FRESHEST_CRL: O = O::new_unwrap("2.5.29.46");
    pub const SUBJECT_DIR_ATTRS: O = O::new_unwrap("2.5.29.9");
    pub const AIA: O = O::new_unwrap("1.3.6.1.5.5.7.1.1");
    pub const SIA: O = O::new_unwrap("1.3.6.1.5.5.7.1.11");
    pub const AD_OCSP: O = O::new_unwrap("1.3.6.1.5.5.7.48.1");
    pub const AD_CA_ISSUERS: O = O::new_unwrap("1.3.6.1.5.5.7.48.2");
    pub const ANY_EKU: O = O::new_unwrap("2.5.29.37.0");
    pub const ANY_POLICY: O = O::new_unwrap("2.5.29.32.0");
    pub const EKU_SERVER_AUTH: O = O::new_unwrap("1.3.6.1.5.5.7.3.1");
    pub const EKU_CLIENT_AUTH: O = O::new_unwrap("1.3.6.1.5.5.7.3.2");
    pub const EKU_EMAIL: O = O::new_unwrap("1.3.6.1.5.5.7.3.4");
    pub const EKU_OCSP_SIGNING: O = O::new_unwrap("1.3.6.1.5.5.7.3.9");
    /// Subject attributes.
    pub const UID: O = O::new_unwrap("0.9.2342.19200300.100.1.1");
    pub const CN: O = O::new_unwrap("2.5.4.3");
    pub const EMAIL: O = O::new_unwrap("1.2.840.113549.1.9.1");
    pub const SERIAL_NUMBER_ATTR: O = O::new_unwrap("2.5.4.5");
    pub const ORG: O = O::new_unwrap("2.5.4.10");
    pub const OCSP_NOCHECK: O = O::new_unwrap("1.3.6.1.5.5.7.48.1.5");
}

/// Decoded extensions; `problems` lists every violation of RFC 5280 §4.2 found while decoding.
#[derive(Debug, Default, Clone)]
pub struct Extensions {
    pub basic: Option<(bool, BasicConstraints)>,
    pub key_usage: Option<KeyUsage>,
    pub eku: Option<(bool, Vec<ObjectIdentifier>)>,
    pub ski: Option<Vec<u8>>,
    pub aki: Option<AuthorityKeyIdentifier>,
    pub san: Option<(bool, Vec<GeneralName>)>,
    pub name_constraints: Option<(bool, NameConstraints)>,
    pub policies: Option<Vec<ObjectIdentifier>>,
    pub policy_constraints: Option<(bool, PolicyConstraints)>,
    pub crl_urls: Vec<String>,
    pub ocsp_urls: Vec<String>,
    pub ocsp_nocheck: bool,
    pub unknown_critical: Vec<String>,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Cert {
    pub der: Vec<u8>,
    pub cert: Certificate,
    pub tbs_der: Vec<u8>,
    pub subject_der: Vec<u8>,
    pub issuer_der: Vec<u8>,
    pub spki_der: Vec<u8>,
    pub fingerprint: [u8; 32],
    pub ext: Extensions,
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

pub use crate::crypto::hex;

/// PEM blocks of one label, or the whole input as DER when it is not PEM.
pub fn pem_or_der(input: &[u8], label: &str) -> Result<Vec<Vec<u8>>, PkiError> {
    let text = std::str::from_utf8(input).ok().filter(|t| t.contains("-----BEGIN "));
    let Some(text) = text else { return Ok(vec![input.to_vec()]) };
    let begin = format!("-----BEGIN {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        // The end marker is looked for after the begin marker, never inside it (the fuzzer
        // found `-----BEGIN X-----END X-----`, whose markers share their dashes).
        let inside = &rest[start + begin.len()..];
        let end_marker = format!("-----END {label}-----");
        let end = inside.find(&end_marker).ok_or_else(|| PkiError::Malformed(format!("unterminated PEM {label}")))?;
        // Base64 between the markers, whitespace (CRLF, odd line lengths) ignored: real CA
        // downloads are not always RFC 7468 strict, the DER inside still is.
        let body: String = inside[..end].chars().filter(|c| !c.is_whitespace()).collect();
        let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body.as_bytes())
            .map_err(|e| PkiError::Malformed(format!("PEM {label}: {e}")))?;
        out.push(der);
        rest = &inside[end + end_marker.len()..];
    }
    if out.is_empty() {
        return Err(PkiError::Malformed(format!("no PEM {label} block")));
    }
    Ok(out)
}

impl Cert {
    pub fn from_der(der: &[u8]) -> Result<Self, PkiError> {
        let cert = Certificate::from_der(der).map_err(|e| PkiError::Malformed(format!("certificate: {e}")))?;
        let enc = |r: der::Result<Vec<u8>>| r.map_err(|e| PkiError::Malformed(format!("certificate: {e}")));
        let tbs = &cert.tbs_certificate;
        let tbs_der = enc(tbs.to_der())?;
        let subject_der = enc(tbs.subject.to_der())?;
        let issuer_der = enc(tbs.issuer.to_der())?;
        let spki_der = enc(tbs.subject_public_key_info.to_der())?;
        let ext = decode_extensions(&cert);
        Ok(Self { der: der.to_vec(), fingerprint: sha256(der), cert, tbs_der, subject_der, issuer_der, spki_der, ext })
    }

    /// Every certificate in a PEM bundle, or one DER certificate.
    pub fn parse_all(input: &[u8]) -> Result<Vec<Self>, PkiError> {
        pem_or_der(input, "CERTIFICATE")?.iter().map(|d| Self::from_der(d)).collect()
    }

    pub fn parse(input: &[u8]) -> Result<Self, PkiError> {
        let mut all = Self::parse_all(input)?;
        if all.len() != 1 {
            return Err(PkiError::Malformed(format!("expected one certificate, found {}", all.len())));
        }
        Ok(all.remove(0))
    }

    pub fn subject(&self) -> String {
        self.cert.tbs_certificate.subject.to_string()
    }

    pub fn issuer(&self) -> String {
        self.cert.tbs_certificate.issuer.to_string()
    }

    pub fn serial_hex(&self) -> String {
        hex(self.cert.tbs_certificate.serial_number.as_bytes())
    }

    pub fn is_self_issued(&self) -> bool {
        self.subject_der == self.issuer_der
    }

    pub fn is_ca(&self) -> bool {
        self.ext.basic.as_ref().is_some_and(|(_, b)| b.ca)
    }

    /// Seconds since the epoch of notBefore and notAfter.
    pub fn validity(&self) -> (i64, i64) {
        let v = &self.cert.tbs_certificate.validity;
        let secs = |t: x509_cert::time::Time| i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
        (secs(v.not_before), secs(v.not_after))
    }

    /// The key identifier used to match an issuer: SKI, else the SHA-1-free SHA-256 of the key.
    pub fn public_key_bits(&self) -> &[u8] {
        self.cert.tbs_certificate.subject_public_key_info.subject_public_key.raw_bytes()
    }
}

fn decode_extensions(cert: &Certificate) -> Extensions {
    let mut x = Extensions::default();
    let Some(exts) = cert.tbs_certificate.extensions.as_ref() else { return x };
    let mut seen: Vec<ObjectIdentifier> = Vec::new();
    for e in exts {
        if seen.contains(&e.extn_id) {
            x.problems.push(format!("duplicate extension {}", e.extn_id));
            continue;
        }
        seen.push(e.extn_id);
        let v = e.extn_value.as_bytes();
        let bad = |name: &str, err: der::Error| format!("malformed {name} extension: {err}");
        let must_not_be_critical = |name: &str, x: &mut Extensions| {
            if e.critical {
                x.problems.push(format!("{name} extension must not be critical (RFC 5280 §4.2)"));
            }
        };
        match e.extn_id {
            oid::BASIC_CONSTRAINTS => match BasicConstraints::from_der(v) {
                Ok(b) => x.basic = Some((e.critical, b)),
                Err(err) => x.problems.push(bad("basicConstraints", err)),
            },
            oid::KEY_USAGE => match KeyUsage::from_der(v) {
                Ok(k) if k.0.is_empty() => x.problems.push("keyUsage extension with no bit set".into()),
                Ok(k) => x.key_usage = Some(k),
                Err(err) => x.problems.push(bad("keyUsage", err)),
            },
            oid::EXT_KEY_USAGE => match ExtendedKeyUsage::from_der(v) {
                Ok(k) if k.0.is_empty() => x.problems.push("extendedKeyUsage extension with no purpose".into()),
                Ok(k) => x.eku = Some((e.critical, k.0)),
                Err(err) => x.problems.push(bad("extendedKeyUsage", err)),
            },
            oid::SUBJECT_KEY_ID => {
                must_not_be_critical("subjectKeyIdentifier", &mut x);
                match SubjectKeyIdentifier::from_der(v) {
                    Ok(k) => x.ski = Some(k.0.as_bytes().to_vec()),
                    Err(err) => x.problems.push(bad("subjectKeyIdentifier", err)),
                }
            }
            oid::AUTHORITY_KEY_ID => {
                must_not_be_critical("authorityKeyIdentifier", &mut x);
                match AuthorityKeyIdentifier::from_der(v) {
                    Ok(k) => x.aki = Some(k),
                    Err(err) => x.problems.push(bad("authorityKeyIdentifier", err)),
                }
            }
            oid::SUBJECT_ALT_NAME => match SubjectAltName::from_der(v) {
                Ok(s) if s.0.is_empty() => x.problems.push("subjectAltName extension with no name".into()),
                Ok(s) => {
                    for n in &s.0 {
                        if let Some(p) = general_name_problem(n) {
                            x.problems.push(p);
                        }
                    }
                    x.san = Some((e.critical, s.0));
                }
                Err(err) => x.problems.push(bad("subjectAltName", err)),
            },
            oid::NAME_CONSTRAINTS => match NameConstraints::from_der(v) {
                Ok(n) => x.name_constraints = Some((e.critical, n)),
                Err(err) => x.problems.push(bad("nameConstraints", err)),
            },
            oid::CERT_POLICIES => match CertificatePolicies::from_der(v) {
                Ok(p) => {
                    let ids: Vec<_> = p.0.iter().map(|i| i.policy_identifier).collect();
                    if ids.iter().enumerate().any(|(i, a)| ids[..i].contains(a)) {
                        x.problems.push("certificatePolicies lists a policy twice".into());
                    }
                    x.policies = Some(ids);
                }
                Err(err) => x.problems.push(bad("certificatePolicies", err)),
            },
            oid::POLICY_CONSTRAINTS => match PolicyConstraints::from_der(v) {
                Ok(p) => x.policy_constraints = Some((e.critical, p)),
                Err(err) => x.problems.push(bad("policyConstraints", err)),
            },
            oid::CRL_DP => match CrlDistributionPoints::from_der(v) {
                Ok(d) => {
                    for dp in d.0 {
                        if let Some(DistributionPointName::FullName(names)) = dp.distribution_point {
                            for n in names {
                                if let GeneralName::UniformResourceIdentifier(u) = n {
                                    x.crl_urls.push(u.to_string());
                                }
                            }
                        }
                    }
                }
                Err(err) => x.problems.push(bad("cRLDistributionPoints", err)),
            },
            oid::AIA => {
                must_not_be_critical("authorityInfoAccess", &mut x);
                match AuthorityInfoAccessSyntax::from_der(v) {
                    Ok(a) => {
                        for d in a.0 {
                            if let (true, GeneralName::UniformResourceIdentifier(u)) = (d.access_method == oid::AD_OCSP, d.access_location)
                            {
                                x.ocsp_urls.push(u.to_string());
                            }
                        }
                    }
                    Err(err) => x.problems.push(bad("authorityInfoAccess", err)),
                }
            }
            oid::SIA => must_not_be_critical("subjectInfoAccess", &mut x),
            oid::FRESHEST_CRL => must_not_be_critical("freshestCRL", &mut x),
            oid::SUBJECT_DIR_ATTRS => must_not_be_critical("subjectDirectoryAttributes", &mut x),
            oid::OCSP_NOCHECK => x.ocsp_nocheck = true,
            // Recognised and processed by the policy step (mappings are rejected there when present).
            oid::ISSUER_ALT_NAME | oid::POLICY_MAPPINGS | oid::INHIBIT_ANY_POLICY => {}
            other if e.critical => x.unknown_critical.push(other.to_string()),
            _ => {}
        }
    }
    x
}

/// Syntax checks on names a certificate asserts (RFC 5280 §4.2.1.6, RFC 1034 preferred syntax).
fn general_name_problem(n: &GeneralName) -> Option<String> {
    match n {
        GeneralName::DnsName(d) => {
            let s = d.as_str();
            (!valid_dns_name(s, true)).then(|| format!("invalid dNSName {s:?}"))
        }
        GeneralName::IpAddress(ip) => {
            let l = ip.as_bytes().len();
            (l != 4 && l != 16).then(|| format!("iPAddress of {l} octets"))
        }
        GeneralName::Rfc822Name(m) => {
            let s = m.as_str();
            let ok =
                s.split_once('@').is_some_and(|(local, host)| !local.is_empty() && !local.contains('@') && valid_dns_name(host, false));
            (!ok).then(|| format!("invalid rfc822Name {s:?}"))
        }
        _ => None,
    }
}

/// LDH labels; a wildcard only as the whole leftmost label when `wildcard` is allowed; never an
/// IP address literal.
pub fn valid_dns_name(s: &str, wildcard: bool) -> bool {
    if s.is_empty() || s.len() > 253 || s.parse::<std::net::IpAddr>().is_ok() {
        return false;
    }
    let s = s.strip_suffix('.').unwrap_or(s);
    let labels: Vec<&str> = s.split('.').collect();
    labels.iter().enumerate().all(|(i, l)| {
        if *l == "*" {
            return wildcard && i == 0 && labels.len() > 2;
        }
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by `cargo fuzz` (target `x509`): markers that share their dashes once made the
    /// parser slice backwards and panic (a 500 at the certificate APIs).
    #[test]
    fn pem_markers_sharing_their_dashes_are_malformed_not_a_panic() {
        for input in [
            "-----BEGIN CERTIFICATE-----END CERTIFICATE-----\n",
            "-----BEGIN CERTIFICATE-----END CERTIFICATE----",
            "-----BEGIN CERTIFICATE-----",
        ] {
            assert!(matches!(Cert::parse_all(input.as_bytes()), Err(PkiError::Malformed(_))), "{input:?}");
        }
        assert!(matches!(crate::pki::Crl::parse(b"-----BEGIN X509 CRL-----END X509 CRL-----", "t"), Err(PkiError::Malformed(_))));
        // An empty block between proper markers is an empty DER: refused by the DER parser.
        assert!(Cert::parse_all(b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n").is_err());
    }
}
