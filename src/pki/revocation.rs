//! Revocation: CRLs (signature, issuer, cRLSign, CRL number, cached until nextUpdate) and OCSP
//! responses (CertID match, responder authorisation, signature, thisUpdate freshness, nonce).
//! Whatever cannot be established is `unknown`; the caller's mode decides whether that fails.

use der::asn1::ObjectIdentifier as O;
use der::{Decode, Encode};
use serde::Serialize;
use x509_cert::crl::CertificateList;
use x509_ocsp::{BasicOcspResponse, CertStatus, OcspResponse, OcspResponseStatus, ResponderId};

use super::PkiError;
use super::cert::{Cert, hex, oid};
use super::sig;

const CRL_NUMBER: O = O::new_unwrap("2.5.29.20");
const DELTA_CRL: O = O::new_unwrap("2.5.29.27");
const ISSUING_DP: O = O::new_unwrap("2.5.29.28");
const OCSP_BASIC: O = O::new_unwrap("1.3.6.1.5.5.7.48.1.1");
const OCSP_NONCE: O = O::new_unwrap("1.3.6.1.5.5.7.48.1.2");
pub(super) const SHA1: O = O::new_unwrap("1.3.14.3.2.26");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Not checked (tests, or an operator who knowingly turns it off).
    Off,
    /// Unknown status is accepted; revoked or a forged/invalid answer still fails.
    SoftFail,
    /// Unknown status fails (the default).
    FailClosed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    Good {
        source: String,
    },
    Revoked {
        source: String,
        revoked_at: i64,
    },
    Unknown {
        reason: String,
    },
    Invalid {
        source: String,
        reason: String,
    },
    /// Deliberately not checked (a configured intermediate marked `revocation_exempt`).
    NotChecked {
        reason: String,
    },
}

#[derive(Debug, Clone)]
pub struct Crl {
    pub der: Vec<u8>,
    pub list: CertificateList,
    pub tbs_der: Vec<u8>,
    pub issuer_der: Vec<u8>,
    pub this_update: i64,
    pub next_update: Option<i64>,
    pub source: String,
    pub problems: Vec<String>,
}

fn secs(t: x509_cert::time::Time) -> i64 {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

impl Crl {
    pub fn parse(input: &[u8], source: &str) -> Result<Self, PkiError> {
        let der = super::cert::pem_or_der(input, "X509 CRL")?.into_iter().next().unwrap_or_default();
        let list = CertificateList::from_der(&der).map_err(|e| PkiError::Malformed(format!("CRL: {e}")))?;
        let tbs = &list.tbs_cert_list;
        let enc = |r: der::Result<Vec<u8>>| r.map_err(|e| PkiError::Malformed(format!("CRL: {e}")));
        let tbs_der = enc(tbs.to_der())?;
        let issuer_der = enc(tbs.issuer.to_der())?;
        let mut problems = Vec::new();
        if tbs.version != x509_cert::Version::V2 {
            problems.push("CRL is not version 2".to_string());
        }
        if tbs.signature != list.signature_algorithm {
            problems.push("signature algorithm differs between the CRL and its TBS part".into());
        }
        let exts = tbs.crl_extensions.clone().unwrap_or_default();
        match exts.iter().find(|e| e.extn_id == CRL_NUMBER) {
            None => problems.push("CRL number missing (RFC 5280 §5.2.3)".into()),
            Some(e) if e.critical => problems.push("CRL number must not be critical".into()),
            Some(_) => {}
        }
        for e in &exts {
            if e.critical && ![CRL_NUMBER, DELTA_CRL, ISSUING_DP].contains(&e.extn_id) {
                problems.push(format!("unrecognised critical CRL extension {}", e.extn_id));
            }
            // Delta and partitioned CRLs are not supported: refusing them beats misreading them.
            if e.extn_id == DELTA_CRL || e.extn_id == ISSUING_DP {
                problems.push(format!("unsupported CRL scope extension {}", e.extn_id));
            }
        }
        let this_update = secs(tbs.this_update);
        let next_update = tbs.next_update.map(secs);
        Ok(Self { der, list, tbs_der, issuer_der, this_update, next_update, source: source.to_string(), problems })
    }

    /// Checks the CRL as evidence about certificates issued by `issuer` at `at`.
    pub fn verify(&self, issuer: &Cert, at: i64) -> Result<(), String> {
        if !self.problems.is_empty() {
            return Err(self.problems.join("; "));
        }
        if self.issuer_der != issuer.subject_der {
            return Err("CRL issuer differs from the certificate issuer".into());
        }
        if issuer.ext.key_usage.as_ref().is_some_and(|k| !k.crl_sign()) {
            return Err("CRL issuer's keyUsage lacks cRLSign".into());
        }
        sig::verify(
            &issuer.cert.tbs_certificate.subject_public_key_info,
            &self.list.signature_algorithm,
            &self.tbs_der,
            self.list.signature.raw_bytes(),
        )
        .map_err(|e| format!("CRL signature: {e}"))?;
        if self.this_update > at {
            return Err("CRL thisUpdate is in the future".into());
        }
        if self.next_update.is_some_and(|n| n < at) {
            return Err("CRL is past its nextUpdate".into());
        }
        Ok(())
    }

    pub fn revoked_at(&self, serial: &[u8]) -> Option<i64> {
        self.list
            .tbs_cert_list
            .revoked_certificates
            .iter()
            .flatten()
            .find(|r| r.serial_number.as_bytes() == serial)
            .map(|r| secs(r.revocation_date))
    }
}

/// The status of `cert` from the CRLs at hand: one whose issuer is `issuer` decides.
pub fn crl_status(cert: &Cert, issuer: &Cert, crls: &[Crl], at: i64) -> Option<Status> {
    let crl = crls.iter().find(|c| c.issuer_der == issuer.subject_der)?;
    Some(match crl.verify(issuer, at) {
        Err(reason) => Status::Invalid { source: crl.source.clone(), reason },
        Ok(()) => match crl.revoked_at(cert.cert.tbs_certificate.serial_number.as_bytes()) {
            Some(t) => Status::Revoked { source: crl.source.clone(), revoked_at: t },
            None => Status::Good { source: crl.source.clone() },
        },
    })
}

/// Limits on an OCSP answer.
#[derive(Debug, Clone)]
pub struct OcspRules {
    /// The nonce sent in the request, when one was sent.
    pub nonce: Option<Vec<u8>>,
    /// Greatest age of thisUpdate, and the clock skew tolerated either way (seconds).
    pub max_age: i64,
    pub skew: i64,
    /// Responders trusted directly for this issuer (the designated-responder map).
    pub designated: Vec<Cert>,
}

impl Default for OcspRules {
    fn default() -> Self {
        Self { nonce: None, max_age: 15 * 60, skew: 15 * 60, designated: Vec::new() }
    }
}

fn gt(t: &x509_ocsp::OcspGeneralizedTime) -> i64 {
    i64::try_from(t.0.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

pub(super) fn digest(alg: O, data: &[u8]) -> Option<Vec<u8>> {
    let a = match alg {
        SHA1 => &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        sig::SHA256 => &aws_lc_rs::digest::SHA256,
        sig::SHA384 => &aws_lc_rs::digest::SHA384,
        sig::SHA512 => &aws_lc_rs::digest::SHA512,
        _ => return None,
    };
    Some(aws_lc_rs::digest::digest(a, data).as_ref().to_vec())
}

/// Checks an OCSP response (DER) about the certificate with `serial` issued by `issuer`.
pub fn ocsp_status(response: &[u8], serial: &[u8], issuer: &Cert, at: i64, rules: &OcspRules, source: &str) -> Status {
    match ocsp_inner(response, serial, issuer, at, rules) {
        Ok(Some(t)) => Status::Revoked { source: source.to_string(), revoked_at: t },
        Ok(None) => Status::Good { source: source.to_string() },
        Err(OcspOutcome::Unknown(reason)) => Status::Unknown { reason: format!("{source}: {reason}") },
        Err(OcspOutcome::Invalid(reason)) => Status::Invalid { source: source.to_string(), reason },
    }
}

enum OcspOutcome {
    Unknown(String),
    Invalid(String),
}

fn ocsp_inner(response: &[u8], serial: &[u8], issuer: &Cert, at: i64, rules: &OcspRules) -> Result<Option<i64>, OcspOutcome> {
    let inv = |m: String| OcspOutcome::Invalid(m);
    let resp = OcspResponse::from_der(response).map_err(|e| inv(format!("OCSP response: {e}")))?;
    if resp.response_status != OcspResponseStatus::Successful {
        return Err(OcspOutcome::Unknown(format!("responder answered {:?}", resp.response_status)));
    }
    let bytes = resp.response_bytes.ok_or_else(|| inv("OCSP response without a body".into()))?;
    if bytes.response_type != OCSP_BASIC {
        return Err(inv(format!("OCSP response type {}", bytes.response_type)));
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).map_err(|e| inv(format!("basic OCSP response: {e}")))?;
    let data = &basic.tbs_response_data;
    let tbs = data.to_der().map_err(|e| inv(e.to_string()))?;
    // Who signed: the issuer itself, a configured (designated) responder, or a responder
    // certificate the issuer delegated to with id-kp-OCSPSigning.
    let embedded: Vec<Cert> =
        basic.certs.iter().flatten().filter_map(|c| c.to_der().ok()).filter_map(|d| Cert::from_der(&d).ok()).collect();
    let names_signer = |c: &Cert| match &data.responder_id {
        ResponderId::ByName(n) => n.to_der().is_ok_and(|d| d == c.subject_der),
        ResponderId::ByKey(k) => digest(SHA1, c.public_key_bits()).is_some_and(|h| h == k.as_bytes()),
    };
    let verifies = |c: &Cert| {
        sig::verify(&c.cert.tbs_certificate.subject_public_key_info, &basic.signature_algorithm, &tbs, basic.signature.raw_bytes()).is_ok()
    };
    let mut authorised = false;
    let mut last_err = "no certificate named by the responder ID".to_string();
    for c in std::iter::once(issuer).chain(rules.designated.iter()).chain(embedded.iter()) {
        if !names_signer(c) {
            continue;
        }
        let designated = !std::ptr::eq(c, issuer) && rules.designated.iter().any(|d| d.fingerprint == c.fingerprint);
        let delegated = !std::ptr::eq(c, issuer) && !designated;
        if designated {
            let (nb, na) = c.validity();
            if at < nb - rules.skew || at > na + rules.skew {
                last_err = "designated responder certificate not valid at the validation time".into();
                continue;
            }
        }
        if delegated {
            let (nb, na) = c.validity();
            if c.issuer_der != issuer.subject_der || super::path::verify_signature(c, issuer).is_err() {
                last_err = "responder certificate not issued by the certificate's issuer".into();
                continue;
            }
            if !c.ext.eku.as_ref().is_some_and(|(_, e)| e.contains(&oid::EKU_OCSP_SIGNING)) {
                last_err = "responder certificate lacks id-kp-OCSPSigning".into();
                continue;
            }
            if at < nb - rules.skew || at > na + rules.skew {
                last_err = "responder certificate not valid at the validation time".into();
                continue;
            }
        }
        if verifies(c) {
            authorised = true;
            break;
        }
        last_err = "OCSP signature does not verify".into();
    }
    if !authorised {
        return Err(inv(format!("OCSP responder not authorised: {last_err}")));
    }
    if let Some(want) = &rules.nonce {
        let got = data.response_extensions.iter().flatten().find(|e| e.extn_id == OCSP_NONCE).map(|e| e.extn_value.as_bytes().to_vec());
        let inner = got.as_deref().and_then(|g| der::asn1::OctetString::from_der(g).ok()).map(|o| o.as_bytes().to_vec());
        if got.as_deref() != Some(want.as_slice()) && inner.as_deref() != Some(want.as_slice()) {
            return Err(inv("OCSP nonce missing or different".into()));
        }
    }
    let issuer_name = &issuer.subject_der;
    let issuer_key = issuer.public_key_bits();
    let single = data.responses.iter().find(|r| {
        let id = &r.cert_id;
        id.serial_number.as_bytes() == serial
            && digest(id.hash_algorithm.oid, issuer_name).is_some_and(|h| h == id.issuer_name_hash.as_bytes())
            && digest(id.hash_algorithm.oid, issuer_key).is_some_and(|h| h == id.issuer_key_hash.as_bytes())
    });
    let Some(single) = single else {
        return Err(OcspOutcome::Unknown(format!("no status for serial {} in the OCSP response", hex(serial))));
    };
    let this_update = gt(&single.this_update);
    if this_update > at + rules.skew {
        return Err(inv("OCSP thisUpdate is in the future".into()));
    }
    if this_update < at - rules.max_age - rules.skew {
        return Err(OcspOutcome::Unknown("OCSP thisUpdate is too old".into()));
    }
    if single.next_update.as_ref().is_some_and(|n| gt(n) < at - rules.skew) {
        return Err(OcspOutcome::Unknown("OCSP nextUpdate has passed".into()));
    }
    match &single.cert_status {
        CertStatus::Good(_) => Ok(None),
        CertStatus::Revoked(info) => Ok(Some(gt(&info.revocation_time))),
        CertStatus::Unknown(_) => Err(OcspOutcome::Unknown("the responder does not know the certificate".into())),
    }
}
