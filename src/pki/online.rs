//! Revocation evidence from the network for a validated chain: OCSP first (a fresh answer,
//! with a nonce), then the CRLs of whatever OCSP could not decide.

use der::Encode;
use der::asn1::{ObjectIdentifier as O, OctetString};
use x509_cert::ext::Extension;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_ocsp::{CertId, OcspRequest, Request, TbsRequest, Version};

use super::cert::Cert;
use super::config::PkiSettings;
use super::fetch::{CrlCache, read_capped};
use super::revocation::{self, OcspRules, SHA1, Status, digest};
use super::{Mode, Revocation};

const OCSP_NONCE: O = O::new_unwrap("1.3.6.1.5.5.7.48.1.2");
/// An OCSP answer is a few kilobytes; anything far larger is not one.
const MAX_OCSP_RESPONSE: usize = 256 * 1024;

/// One OCSP answer and what it must be checked against.
#[derive(Debug, Clone)]
pub struct OcspEvidence {
    pub source: String,
    pub der: Vec<u8>,
    /// The nonce sent with the request that produced it.
    pub nonce: Option<Vec<u8>>,
    /// Responder certificates trusted directly for it (the designated-responder map).
    pub designated: Vec<Cert>,
    /// The certificate (fingerprint) it was asked about; `None` for a file, matched by CertID.
    pub for_cert: Option<[u8; 32]>,
}

impl OcspEvidence {
    /// A response read from a file: no nonce was sent.
    pub fn from_file(source: String, der: Vec<u8>) -> Self {
        Self { source, der, nonce: None, designated: Vec::new(), for_cert: None }
    }
}

/// A DER OCSP request about `cert` (CertID with SHA-1, as RFC 5019 responders expect).
pub fn request_der(cert: &Cert, issuer: &Cert, nonce: Option<&[u8]>) -> Result<Vec<u8>, der::Error> {
    let req_cert = CertId {
        hash_algorithm: AlgorithmIdentifierOwned { oid: SHA1, parameters: Some(der::asn1::Null.into()) },
        issuer_name_hash: OctetString::new(digest(SHA1, &issuer.subject_der).unwrap_or_default())?,
        issuer_key_hash: OctetString::new(digest(SHA1, issuer.public_key_bits()).unwrap_or_default())?,
        serial_number: cert.cert.tbs_certificate.serial_number.clone(),
    };
    let request_extensions = match nonce {
        Some(n) => {
            Some(vec![Extension { extn_id: OCSP_NONCE, critical: false, extn_value: OctetString::new(OctetString::new(n)?.to_der()?)? }])
        }
        None => None,
    };
    OcspRequest {
        tbs_request: TbsRequest {
            version: Version::V1,
            requestor_name: None,
            request_list: vec![Request { req_cert, single_request_extensions: None }],
            request_extensions,
        },
        optional_signature: None,
    }
    .to_der()
}

/// Asks the responder of `cert` (its authorityInfoAccess URL, or the designated-responder
/// map's address for that host). `None` when there is no responder or it does not answer.
pub async fn query_ocsp(outbound: &crate::outbound::Outbound, pki: &PkiSettings, cert: &Cert, issuer: &Cert) -> Option<OcspEvidence> {
    let named = cert.ext.ocsp_urls.iter().find(|u| u.starts_with("http://") || u.starts_with("https://"))?;
    let mapped = pki.responder_for(named);
    let url = mapped.and_then(|m| m.url.as_ref()).map(|u| u.to_string()).unwrap_or_else(|| named.clone());
    let nonce = if pki.ocsp_nonce {
        let mut n = [0u8; 32];
        aws_lc_rs::rand::fill(&mut n).ok()?;
        Some(n.to_vec())
    } else {
        None
    };
    let body = request_der(cert, issuer, nonce.as_deref()).ok()?;
    // The address comes from the certificate: the guard decides whether we may call it.
    let sent = outbound
        .client_for(&url)
        .ok()?
        .post(&url)
        .timeout(pki.ocsp_timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/ocsp-request")
        .header(reqwest::header::ACCEPT, "application/ocsp-response")
        .body(body)
        .send()
        .await;
    let answer = match sent.and_then(|r| r.error_for_status()) {
        Ok(r) => read_capped(r, MAX_OCSP_RESPONSE).await,
        Err(e) => {
            tracing::warn!(url = %url, error = %e, "OCSP responder did not answer");
            None
        }
    }?;
    // The mapped responder is trusted only for the issuer it was configured for.
    let designated = mapped
        .and_then(|m| m.cert.as_ref())
        .filter(|(_, for_issuer)| *for_issuer == issuer.fingerprint)
        .map(|(c, _)| c.clone())
        .into_iter()
        .collect();
    Some(OcspEvidence { source: url, der: answer, nonce, designated, for_cert: Some(cert.fingerprint) })
}

/// Everything the network says about each certificate of `chain` (anchor excluded).
pub async fn revocation_for(
    http: &crate::outbound::Outbound,
    crls: &CrlCache,
    pki: &PkiSettings,
    chain: &[Cert],
    at: i64,
    mode: Mode,
) -> Revocation {
    let mut rev = Revocation::new(mode);
    rev.rules.max_age = pki.ocsp_max_age;
    if mode == Mode::Off {
        return rev;
    }
    rev.exempt = pki.revocation_exempt.clone();
    let mut undecided = Vec::new();
    for (i, pair) in chain.windows(2).enumerate() {
        let (cert, issuer) = (&pair[0], &pair[1]);
        if i > 0 && rev.exempt.contains(&cert.fingerprint) {
            continue;
        }
        let decided = match query_ocsp(http, pki, cert, issuer).await {
            Some(ev) => {
                let rules = OcspRules { nonce: ev.nonce.clone(), designated: ev.designated.clone(), ..rev.rules.clone() };
                let status =
                    revocation::ocsp_status(&ev.der, cert.cert.tbs_certificate.serial_number.as_bytes(), issuer, at, &rules, &ev.source);
                rev.ocsp.push(ev);
                matches!(status, Status::Good { .. } | Status::Revoked { .. })
            }
            None => false,
        };
        if !decided {
            undecided.push(cert.clone());
        }
    }
    if !undecided.is_empty() {
        rev.crls = crls.for_chain(http, &undecided, at).await;
    }
    rev
}
