//! The generic verification pipeline: prefix → base45 → zlib (capped) → COSE → CWT → kid lookup
//! → signature → time → status. It verifies our own credentials (`NX1:`), EU DCC (`HC1:`) and
//! MOSIP Claim 169 QR codes (no prefix) given their keys, and reports every check it ran.

use serde::Serialize;

use super::claims::{self, Cwt};
use super::cose;
use super::encoding::{self, EncodingError};
use super::keys::KeySet;

pub const NIXA_PREFIX: &str = "NX1:";
pub const DCC_PREFIX: &str = "HC1:";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    Nixa,
    EuDcc,
    Claim169,
}

/// Why a credential is not valid; one distinct reason per failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    UnknownPrefix,
    MalformedBase45,
    MalformedZlib,
    TooLarge,
    MalformedCbor,
    MalformedCose,
    Encrypted,
    DecryptionFailed,
    MalformedCwt,
    /// The content does not match the profile its prefix (or its absence) selects.
    WrongProfile,
    Unsigned,
    NoKid,
    UnknownKid,
    UnsupportedAlgorithm,
    BadSignature,
    WrongIssuer,
    Expired,
    NotYetValid,
    Revoked,
    StatusUnavailable,
    /// Not the nonce the verifier handed out (a presentation replayed to another verifier).
    WrongNonce,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub valid: bool,
    pub reason: Option<Reason>,
    pub profile: Option<Profile>,
    pub checks: Vec<Check>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusRef>,
    pub claims: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusRef {
    pub uri: String,
    pub idx: u64,
}

/// What a status lookup found for `(uri, idx)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusOutcome {
    Valid,
    Revoked,
    Unavailable(String),
}

/// Looks up `(uri, idx)` in a status list the caller holds.
/// (status list URI, index, kid of the credential's verified signature).
pub type StatusLookup<'a> = &'a dyn Fn(&str, u64, &[u8]) -> StatusOutcome;

pub struct Options<'a> {
    pub now: i64,
    /// Bounded clock skew, in seconds, allowed on `iat`, `nbf` and `exp`.
    pub skew: i64,
    pub keys: &'a KeySet,
    pub max_decompressed: usize,
    /// AES key for Claim 169 COSE_Encrypt0 credentials.
    pub decryption_key: Option<&'a [u8]>,
    /// Status lookups; `None` skips the status check (reported as not checked).
    pub status: Option<StatusLookup<'a>>,
    /// The caller chose not to check status (reported, not failed).
    pub skip_status: bool,
}

impl<'a> Options<'a> {
    pub fn new(keys: &'a KeySet, now: i64) -> Self {
        Self { now, skew: 300, keys, max_decompressed: encoding::MAX_DECOMPRESSED, decryption_key: None, status: None, skip_status: false }
    }
}

struct Builder {
    checks: Vec<Check>,
}

impl Builder {
    fn pass(&mut self, check: &'static str, detail: impl Into<String>) {
        self.checks.push(Check { check, ok: true, reason: None, detail: detail.into() });
    }
    fn fail(&mut self, check: &'static str, reason: Reason, detail: impl Into<String>) {
        self.checks.push(Check { check, ok: false, reason: Some(reason), detail: detail.into() });
    }
    fn report(self, profile: Option<Profile>) -> Report {
        let reason = self.checks.iter().find_map(|c| c.reason);
        Report {
            valid: reason.is_none(),
            reason,
            profile,
            checks: self.checks,
            kid: None,
            alg: None,
            issuer: None,
            subject: None,
            issued_at: None,
            not_before: None,
            expires_at: None,
            nonce: None,
            status: None,
            claims: serde_json::Value::Null,
        }
    }
}

fn is_prefix_like(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 4 && b[3] == b':' && b[..3].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Runs the whole pipeline on a QR text. Never fails: every outcome is a report.
pub fn verify(text: &str, opts: &Options<'_>) -> Report {
    let mut b = Builder { checks: Vec::new() };
    let text = text.trim();
    let (profile, body) = if let Some(rest) = text.strip_prefix(NIXA_PREFIX) {
        (Profile::Nixa, rest)
    } else if let Some(rest) = text.strip_prefix(DCC_PREFIX) {
        (Profile::EuDcc, rest)
    } else if is_prefix_like(text)
        && encoding::base45_decode(text).ok().and_then(|z| encoding::decompress(&z, opts.max_decompressed).ok()).is_none()
    {
        b.fail("prefix", Reason::UnknownPrefix, format!("unknown context identifier {}", &text[..4]));
        return b.report(None);
    } else {
        (Profile::Claim169, text)
    };
    b.pass("prefix", format!("{profile:?}"));

    let compressed = match encoding::base45_decode(body) {
        Ok(c) => c,
        Err(e) => {
            b.fail("base45", Reason::MalformedBase45, e.to_string());
            return b.report(Some(profile));
        }
    };
    b.pass("base45", format!("{} bytes", compressed.len()));
    let cose_bytes = match encoding::decompress(&compressed, opts.max_decompressed) {
        Ok(c) => c,
        Err(e) => {
            let reason = if matches!(e, EncodingError::TooLarge(_)) { Reason::TooLarge } else { Reason::MalformedZlib };
            b.fail("decompress", reason, e.to_string());
            return b.report(Some(profile));
        }
    };
    b.pass("decompress", format!("{} bytes (cap {})", cose_bytes.len(), opts.max_decompressed));

    let cose_bytes = match cose::decrypt0(&cose_bytes, opts.decryption_key) {
        Ok(Some(plain)) => {
            b.pass("decrypt", "COSE_Encrypt0 opened");
            plain
        }
        Ok(None) => cose_bytes,
        Err(cose::CoseError::NoDecryptionKey) => {
            b.fail("decrypt", Reason::Encrypted, "COSE_Encrypt0 and no decryption key");
            return b.report(Some(profile));
        }
        Err(e) => {
            b.fail("decrypt", Reason::DecryptionFailed, e.to_string());
            return b.report(Some(profile));
        }
    };
    let sign1 = match cose::parse_sign1(&cose_bytes) {
        Ok(s) => s,
        // Claim 169 allows an encrypted CWT without signature.
        Err(_) if b.checks.iter().any(|c| c.check == "decrypt") && Cwt::parse(&cose_bytes).is_ok() => {
            b.fail("cose", Reason::Unsigned, "encrypted but not signed");
            let mut r = b.report(Some(profile));
            if let Ok(cwt) = Cwt::parse(&cose_bytes) {
                r.issuer = cwt.iss.clone();
                r.expires_at = cwt.exp;
                r.claims = cwt.identity_json();
            }
            return r;
        }
        Err(cose::CoseError::Cbor(e)) => {
            b.fail("cose", Reason::MalformedCbor, e);
            return b.report(Some(profile));
        }
        Err(e) => {
            b.fail("cose", Reason::MalformedCose, e.to_string());
            return b.report(Some(profile));
        }
    };
    b.pass("cose", "COSE_Sign1");
    let cwt = match Cwt::parse(&sign1.payload) {
        Ok(c) => c,
        Err(e) => {
            b.fail("cwt", Reason::MalformedCwt, e.to_string());
            return b.report(Some(profile));
        }
    };
    b.pass("cwt", "claims decoded");
    if profile == Profile::EuDcc && cwt.claim(claims::HCERT).is_some() && !hcert_well_formed(&cwt) {
        b.fail("cwt", Reason::MalformedCwt, "hcert claim is not a map holding the DCC map under 1");
    }
    let needed = match profile {
        Profile::EuDcc => cwt.claim(claims::HCERT).is_some(),
        Profile::Claim169 => cwt.claim(claims::CLAIM169).is_some(),
        Profile::Nixa => cwt.claim(claims::CLAIM169).is_some() || cwt.claim(claims::ORG).is_some(),
    };
    if needed {
        b.pass("profile", "expected identity claim present");
    } else {
        b.fail("profile", Reason::WrongProfile, format!("the {profile:?} identity claim is missing"));
    }

    // Signature: the key is looked up by exact kid only.
    let kid = sign1.kid();
    let alg = sign1.alg();
    // A credential without kid (some Claim 169 issuers) only meets a key registered for
    // kid-less credentials (empty kid), which a verifier configures for one issuer.
    let key = opts.keys.get(kid.as_deref().unwrap_or_default());
    let mut signed = false;
    match (&kid, key, alg) {
        (None, None, _) => b.fail("signature", Reason::NoKid, "no kid in the COSE header"),
        (Some(_), None, _) => b.fail("signature", Reason::UnknownKid, "no verification key has this kid"),
        (_, Some(_), None) => b.fail("signature", Reason::UnsupportedAlgorithm, "missing or unsupported alg"),
        (_, Some(k), Some(a)) => {
            if k.alg.is_some_and(|ka| ka != a) {
                b.fail("signature", Reason::UnsupportedAlgorithm, format!("{a:?} is not this key's algorithm"));
            } else if k.key.verify(a, &sign1.signed_bytes(), &sign1.signature) {
                b.pass("signature", format!("{a:?}"));
                signed = true;
                if let Some(bound) = &k.issuer {
                    if cwt.iss.as_deref() == Some(bound.as_str()) {
                        b.pass("issuer", bound.clone());
                    } else {
                        b.fail("issuer", Reason::WrongIssuer, format!("the key belongs to {bound}"));
                    }
                }
            } else {
                b.fail("signature", Reason::BadSignature, "signature does not verify");
            }
        }
    }

    let now = opts.now;
    let skew = opts.skew;
    if let Some(exp) = cwt.exp.filter(|e| e.saturating_add(skew) < now) {
        b.fail("time", Reason::Expired, format!("expired at {exp}"));
    } else if let Some(nbf) = cwt.nbf.filter(|n| n.saturating_sub(skew) > now) {
        b.fail("time", Reason::NotYetValid, format!("not before {nbf}"));
    } else if let Some(iat) = cwt.iat.filter(|i| i.saturating_sub(skew) > now) {
        b.fail("time", Reason::NotYetValid, format!("issued in the future ({iat})"));
    } else {
        b.pass("time", format!("within validity (skew {skew} s)"));
    }

    // Status only for a credential whose signature verified: an unsigned QR must not make the
    // verifier fetch whatever URL it names.
    if let (Some((uri, idx)), true) = (&cwt.status, signed) {
        match opts.status.map(|f| f(uri, *idx, kid.as_deref().unwrap_or_default())) {
            Some(StatusOutcome::Valid) => b.pass("status", format!("{uri} #{idx}: valid")),
            Some(StatusOutcome::Revoked) => b.fail("status", Reason::Revoked, format!("{uri} #{idx}: revoked")),
            Some(StatusOutcome::Unavailable(e)) => b.fail("status", Reason::StatusUnavailable, e),
            None if opts.skip_status => b.pass("status", format!("{uri} #{idx}: not checked")),
            None => b.fail("status", Reason::StatusUnavailable, "no status list available"),
        }
    }

    let mut r = b.report(Some(profile));
    r.kid = kid.map(|k| crate::crypto::b64url(&k));
    r.alg = alg.map(|a| format!("{a:?}"));
    r.issuer = cwt.iss.clone();
    r.subject = cwt.sub.clone();
    r.issued_at = cwt.iat;
    r.not_before = cwt.nbf;
    r.expires_at = cwt.exp;
    r.nonce = cwt.nonce.clone();
    r.status = cwt.status.clone().map(|(uri, idx)| StatusRef { uri, idx });
    r.claims = cwt.identity_json();
    r
}

fn hcert_well_formed(cwt: &Cwt) -> bool {
    use serde_cbor_2::Value;
    match cwt.claim(claims::HCERT) {
        Some(Value::Map(m)) => matches!(m.get(&Value::Integer(1)), Some(Value::Map(_))),
        _ => false,
    }
}
