//! Digital-signature certificates (DESIGN §5): trust store, strict RFC 5280 path validation,
//! CRL/OCSP revocation, the holder's identity from `UID` attributes, and the Web eID token.

pub mod api;
pub mod cert;
pub mod config;
pub mod fetch;
pub mod identity;
pub mod names;
pub mod online;
pub mod path;
pub mod revocation;
pub mod sig;
pub mod token_signer;
pub mod trust;
pub mod webeid;

use serde::Serialize;

use crate::web::i18n::Locale;

pub use cert::Cert;
pub use identity::CertIdentity;
pub use path::{Check, EkuRule, PathResult, Policy};
pub use revocation::{Crl, Mode, OcspRules, Status};
pub use trust::TrustStore;

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("malformed input: {0}")]
    Malformed(String),
    #[error("trust store certificate {name} has fingerprint {got}, expected {expected}")]
    Fingerprint { name: String, expected: String, got: String },
    #[error("cannot read {0}")]
    Io(String),
}

/// Revocation evidence at hand and how to treat its absence.
#[derive(Debug, Clone)]
pub struct Revocation {
    pub mode: Mode,
    pub crls: Vec<Crl>,
    /// OCSP answers, each with the nonce it was asked with.
    pub ocsp: Vec<online::OcspEvidence>,
    pub rules: OcspRules,
    /// Check intermediates too, not only the leaf.
    pub whole_chain: bool,
    /// Fingerprints of configured intermediates marked `revocation_exempt` (reported as
    /// `not_checked`).
    pub exempt: Vec<[u8; 32]>,
}

impl Revocation {
    pub fn new(mode: Mode) -> Self {
        Self { mode, crls: Vec::new(), ocsp: Vec::new(), rules: OcspRules::default(), whole_chain: true, exempt: Vec::new() }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RevocationEntry {
    pub cert: usize,
    pub subject: String,
    #[serde(flatten)]
    pub status: Status,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub vi: String,
    pub en: String,
}

/// The report `nixa cert verify --json` and `POST /api/v1/certificates/verify` return.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub valid: bool,
    pub validated_at: String,
    pub revocation_mode: Mode,
    pub chain: Vec<path::CertSummary>,
    pub checks: Vec<Check>,
    pub revocation: Vec<RevocationEntry>,
    pub identity: CertIdentity,
    pub summary: Summary,
}

/// Status of each certificate of a validated chain (the anchor excluded).
pub fn check_revocation(chain: &[Cert], rev: &Revocation, at: i64) -> Vec<RevocationEntry> {
    let mut out = Vec::new();
    if rev.mode == Mode::Off {
        return out;
    }
    let last = if rev.whole_chain { chain.len().saturating_sub(1) } else { chain.len().min(1) };
    for i in 0..last {
        let (c, Some(issuer)) = (&chain[i], chain.get(i + 1)) else { continue };
        if i > 0 && rev.exempt.contains(&c.fingerprint) {
            let reason = "configured intermediate marked revocation_exempt".to_string();
            out.push(RevocationEntry { cert: i, subject: c.subject(), status: Status::NotChecked { reason } });
            continue;
        }
        let serial = c.cert.tbs_certificate.serial_number.as_bytes();
        let mut status = None;
        // An answer fetched for one certificate says nothing about another.
        for ev in rev.ocsp.iter().filter(|ev| ev.for_cert.is_none_or(|f| f == c.fingerprint)) {
            let rules = OcspRules {
                nonce: ev.nonce.clone().or_else(|| rev.rules.nonce.clone()),
                designated: [rev.rules.designated.as_slice(), ev.designated.as_slice()].concat(),
                ..rev.rules.clone()
            };
            let s = revocation::ocsp_status(&ev.der, serial, issuer, at, &rules, &ev.source);
            let decisive = !matches!(s, Status::Unknown { .. });
            status = Some(s);
            if decisive {
                break;
            }
        }
        // Only good or revoked from OCSP decides; otherwise a signed CRL may (an unusable OCSP
        // answer, say from a responder that ignores nonces, must not block a good CRL).
        let decided = status.as_ref().is_some_and(|s| matches!(s, Status::Good { .. } | Status::Revoked { .. }));
        if let (false, Some(s)) = (decided, revocation::crl_status(c, issuer, &rev.crls, at)) {
            status = Some(s);
        }
        let status = status.unwrap_or_else(|| Status::Unknown { reason: "no CRL or OCSP response for this certificate".into() });
        out.push(RevocationEntry { cert: i, subject: c.subject(), status });
    }
    out
}

fn revocation_ok(entries: &[RevocationEntry], mode: Mode) -> bool {
    entries.iter().all(|e| match e.status {
        Status::Good { .. } | Status::NotChecked { .. } => true,
        Status::Unknown { .. } => mode != Mode::FailClosed,
        Status::Revoked { .. } | Status::Invalid { .. } => false,
    })
}

/// Path validation, then revocation, then identity: the whole verdict on one certificate.
pub fn verify(leaf: &Cert, intermediates: &[Cert], trust: &TrustStore, policy: &Policy, rev: &Revocation) -> Report {
    let path = path::validate(leaf, intermediates, trust, policy);
    let path_ok = path.valid();
    let revocation = if path_ok { check_revocation(&path.chain, rev, policy.at) } else { Vec::new() };
    let rev_ok = revocation_ok(&revocation, rev.mode);
    let valid = path_ok && rev_ok;
    let identity = identity::extract(leaf);
    let summary = summarise(valid, &path, &revocation, rev.mode, &identity);
    Report {
        valid,
        validated_at: time::OffsetDateTime::from_unix_timestamp(policy.at)
            .ok()
            .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_default(),
        revocation_mode: rev.mode,
        chain: path.summaries(),
        checks: path.checks,
        revocation,
        identity,
        summary,
    }
}

/// The verdict in both languages, from the messages in `locales/`.
fn summarise(valid: bool, path: &PathResult, rev: &[RevocationEntry], mode: Mode, id: &CertIdentity) -> Summary {
    let who = id.common_name.clone().unwrap_or_else(|| path.chain.first().map(Cert::subject).unwrap_or_default());
    let both = |key: &str, args: &[(&str, &str)]| {
        let mut all = vec![("who", who.as_str())];
        all.extend_from_slice(args);
        Summary { vi: Locale::Vi.t_with(key, &all), en: Locale::En.t_with(key, &all) }
    };
    if valid {
        return both("pki.summary.valid", &[("anchor", path.anchor_name.as_deref().unwrap_or_default())]);
    }
    if let Some(f) = path.first_failure() {
        let at = f.cert.map(|i| format!(" (#{i})")).unwrap_or_default();
        return both("pki.summary.failed", &[("check", f.check), ("at", &at), ("detail", &f.detail)]);
    }
    let tolerated = |s: &Status| {
        matches!(s, Status::Good { .. } | Status::NotChecked { .. }) || (matches!(s, Status::Unknown { .. }) && mode != Mode::FailClosed)
    };
    let bad = rev.iter().find(|e| !tolerated(&e.status));
    match bad.map(|e| &e.status) {
        Some(Status::Revoked { source, .. }) => both("pki.summary.revoked", &[("source", source)]),
        Some(Status::Invalid { source, reason }) => both("pki.summary.untrusted_status", &[("source", source), ("reason", reason)]),
        _ => both("pki.summary.unknown_status", &[]),
    }
}
