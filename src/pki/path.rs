//! RFC 5280 §6 path building and validation, written strictly for signature certificates:
//! every certificate of the path, the trust anchor included, is held to the profile, and every
//! check is recorded in the report so an operator sees why a certificate was refused.

use std::collections::HashMap;

use der::asn1::ObjectIdentifier;
use serde::Serialize;
use x509_cert::ext::pkix::KeyUsages;

use super::cert::{Cert, hex, oid};
use super::names::{self, PeerName};
use super::sig;
use super::trust::TrustStore;

/// Longest path tried (leaf and anchor included) and the work budget of one build; beyond them
/// the input is treated as hostile (x509-limbo "pathological" cases).
const MAX_PATH_LEN: usize = 10;
const MAX_STEPS: usize = 256;

#[derive(Debug, Clone)]
pub enum EkuRule {
    /// No purpose required.
    Any,
    /// When the leaf has extendedKeyUsage it must name one of these (anyExtendedKeyUsage is
    /// not enough); a leaf without the extension is accepted.
    OneOf(Vec<ObjectIdentifier>),
}

#[derive(Debug, Clone)]
pub struct Policy {
    /// Validation instant, seconds since the epoch.
    pub at: i64,
    /// The leaf must carry keyUsage with at least one of these bits (empty: no requirement).
    pub leaf_key_usage: Vec<KeyUsages>,
    pub eku: EkuRule,
    /// A signature certificate is an end entity: refuse a leaf that says cA=TRUE.
    pub reject_ca_leaf: bool,
    /// At most this many intermediates between the leaf and the anchor.
    pub max_intermediates: Option<usize>,
    /// When non-empty, the path's valid policy set must contain one of these (RFC 5280 §6.1,
    /// simplified: no policy mappings).
    pub required_policies: Vec<ObjectIdentifier>,
    pub peer_name: Option<PeerName>,
    /// Also apply the CA/Browser Forum rules of the web PKI (names in CN must be in the
    /// subjectAltName, a mandatory non-critical EKU without anyExtendedKeyUsage, no EKU in the
    /// root, keyIdentifier-only AKI in the root). Off for signature certificates: used when
    /// measuring against x509-limbo's TLS-flavoured cases.
    pub web_pki: bool,
}

impl Policy {
    /// The profile for citizens', enterprises' and officials' signature certificates.
    pub fn signature(at: i64) -> Self {
        Self {
            at,
            leaf_key_usage: vec![KeyUsages::DigitalSignature, KeyUsages::NonRepudiation],
            eku: EkuRule::Any,
            reject_ca_leaf: true,
            max_intermediates: Some(4),
            required_policies: Vec::new(),
            peer_name: None,
            web_pki: false,
        }
    }

    /// For checking a CA certificate itself (an issuing CA against its root).
    pub fn ca(at: i64) -> Self {
        Self { leaf_key_usage: vec![KeyUsages::KeyCertSign], reject_ca_leaf: false, ..Self::signature(at) }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Stable identifier, e.g. `signature`, `validity`, `basic_constraints`.
    pub check: &'static str,
    /// Index in the chain (0 = the certificate checked), absent for path-wide checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<usize>,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    pub sha256: String,
    pub key: String,
    pub signature_algorithm: String,
    pub role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_anchor: Option<String>,
}

fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

pub fn summary(c: &Cert, role: &'static str, anchor: Option<String>) -> CertSummary {
    let (nb, na) = c.validity();
    CertSummary {
        subject: c.subject(),
        issuer: c.issuer(),
        serial: c.serial_hex(),
        not_before: rfc3339(nb),
        not_after: rfc3339(na),
        sha256: hex(&c.fingerprint),
        key: sig::key_kind(&c.cert.tbs_certificate.subject_public_key_info).map_or_else(|e| e.to_string(), |k| k.to_string()),
        signature_algorithm: sig::algorithm_name(&c.cert.signature_algorithm),
        role,
        trust_anchor: anchor,
    }
}

/// The outcome of path validation: the chosen (or best attempted) chain and its checks.
#[derive(Debug, Clone)]
pub struct PathResult {
    pub chain: Vec<Cert>,
    pub anchor_name: Option<String>,
    pub checks: Vec<Check>,
}

impl PathResult {
    pub fn valid(&self) -> bool {
        self.anchor_name.is_some() && self.checks.iter().all(|c| c.ok)
    }

    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| !c.ok)
    }

    pub fn summaries(&self) -> Vec<CertSummary> {
        let n = self.chain.len();
        self.chain
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let anchor = (i + 1 == n && self.anchor_name.is_some()).then(|| self.anchor_name.clone()).flatten();
                let role = if i == 0 {
                    "leaf"
                } else if anchor.is_some() {
                    "trust_anchor"
                } else {
                    "intermediate"
                };
                summary(c, role, anchor)
            })
            .collect()
    }
}

struct Builder<'a> {
    pool: Vec<(&'a Cert, Option<&'a str>)>,
    sig_cache: HashMap<([u8; 32], [u8; 32]), bool>,
    steps: usize,
    paths: Vec<Vec<usize>>,
}

impl<'a> Builder<'a> {
    fn signed_by(&mut self, child: &Cert, issuer: &Cert) -> bool {
        let key = (child.fingerprint, issuer.fingerprint);
        if let Some(ok) = self.sig_cache.get(&key) {
            return *ok;
        }
        let ok = verify_signature(child, issuer).is_ok();
        self.sig_cache.insert(key, ok);
        ok
    }

    /// Depth-first search from `path`'s last certificate to an anchor, collecting complete
    /// candidate paths (pool indices) in order of preference.
    fn extend(&mut self, leaf: &Cert, path: &mut Vec<usize>) {
        if self.steps >= MAX_STEPS || self.paths.len() >= 8 || path.len() >= MAX_PATH_LEN {
            return;
        }
        self.steps += 1;
        let cur: &Cert = match path.last() {
            Some(i) => self.pool[*i].0,
            None => leaf,
        };
        let aki = cur.ext.aki.as_ref().and_then(|a| a.key_identifier.as_ref()).map(|k| k.as_bytes().to_vec());
        // Anchors sort first in the pool, so a path to an anchor is found before a longer one.
        for i in 0..self.pool.len() {
            let (cand, anchor) = self.pool[i];
            if cand.subject_der != cur.issuer_der || cand.fingerprint == cur.fingerprint {
                continue;
            }
            if path.iter().any(|p| {
                self.pool[*p].0.fingerprint == cand.fingerprint
                    || (self.pool[*p].0.subject_der == cand.subject_der && self.pool[*p].0.spki_der == cand.spki_der)
            }) {
                continue;
            }
            if let (Some(a), Some(s)) = (&aki, &cand.ext.ski)
                && a != s
            {
                continue;
            }
            if !self.signed_by(cur, cand) {
                continue;
            }
            path.push(i);
            if anchor.is_some() {
                self.paths.push(path.clone());
            } else {
                self.extend(leaf, path);
            }
            path.pop();
        }
    }
}

pub fn verify_signature(child: &Cert, issuer: &Cert) -> Result<(), sig::SigError> {
    sig::verify(
        &issuer.cert.tbs_certificate.subject_public_key_info,
        &child.cert.signature_algorithm,
        &child.tbs_der,
        child.cert.signature.raw_bytes(),
    )
}

/// Builds every candidate path from `leaf` through `intermediates` and the store's known
/// intermediates to an anchor, validates them in turn and returns the first valid one, or the
/// failure of the best candidate.
pub fn validate(leaf: &Cert, intermediates: &[Cert], trust: &TrustStore, policy: &Policy) -> PathResult {
    let mut pool: Vec<(&Cert, Option<&str>)> = Vec::new();
    for a in &trust.anchors {
        pool.push((&a.cert, Some(a.name.as_str())));
    }
    for c in trust.intermediates.iter().map(|a| &a.cert).chain(intermediates) {
        if !pool.iter().any(|(p, _)| p.fingerprint == c.fingerprint) {
            pool.push((c, None));
        }
    }
    // A leaf that is itself a trust anchor is trusted directly (limbo: self-signed end entities).
    if let Some((a, name)) = pool.iter().find(|(p, n)| n.is_some() && p.fingerprint == leaf.fingerprint) {
        let chain = vec![(*a).clone()];
        let checks = check_path(&chain, policy);
        return PathResult { chain, anchor_name: name.map(str::to_string), checks };
    }
    let mut b = Builder { pool, sig_cache: HashMap::new(), steps: 0, paths: Vec::new() };
    b.extend(leaf, &mut Vec::new());
    let mut best: Option<PathResult> = None;
    for p in &b.paths {
        let mut chain = vec![leaf.clone()];
        chain.extend(p.iter().map(|i| b.pool[*i].0.clone()));
        let anchor_name = p.last().and_then(|i| b.pool[*i].1).map(str::to_string);
        if let Some(pins) = trust.pinned.as_ref() {
            let pinned = chain[1..chain.len() - 1].iter().any(|c| pins.contains(&c.fingerprint)) || chain.len() == 2;
            if !pinned {
                let checks = vec![Check {
                    check: "pinned_intermediate",
                    cert: None,
                    ok: false,
                    detail: "the path does not pass through a pinned intermediate".into(),
                }];
                best.get_or_insert(PathResult { chain, anchor_name, checks });
                continue;
            }
        }
        let checks = check_path(&chain, policy);
        let r = PathResult { chain, anchor_name, checks };
        if r.valid() {
            return r;
        }
        best.get_or_insert(r);
    }
    best.unwrap_or_else(|| {
        let detail = if b.steps >= MAX_STEPS { "path building gave up: too many candidate issuers" } else { "no path to a trust anchor" };
        let mut checks = structure_checks(leaf, 0, true, false, policy);
        checks.push(Check { check: "path_to_anchor", cert: None, ok: false, detail: format!("{detail} (issuer {})", leaf.issuer()) });
        PathResult { chain: vec![leaf.clone()], anchor_name: None, checks }
    })
}

fn ok(check: &'static str, cert: Option<usize>, detail: impl Into<String>) -> Check {
    Check { check, cert, ok: true, detail: detail.into() }
}
fn fail(check: &'static str, cert: Option<usize>, detail: impl Into<String>) -> Check {
    Check { check, cert, ok: false, detail: detail.into() }
}

/// Checks of one certificate on its own, whatever its place.
fn structure_checks(c: &Cert, i: usize, leaf: bool, anchor: bool, policy: &Policy) -> Vec<Check> {
    let mut out = Vec::new();
    let at = Some(i);
    let tbs = &c.cert.tbs_certificate;
    let mut problems = c.ext.problems.clone();
    if tbs.version != x509_cert::Version::V3 {
        problems.push("not a version 3 certificate".into());
    }
    let serial = tbs.serial_number.as_bytes();
    if serial.len() > 20 {
        problems.push(format!("serial number of {} octets (at most 20)", serial.len()));
    }
    if serial.first().is_some_and(|b| b & 0x80 != 0) {
        problems.push("negative serial number".into());
    }
    // A configured trust anchor is taken as given here (real roots with serial 0 exist).
    if serial.iter().all(|b| *b == 0) && !anchor {
        problems.push("zero serial number".into());
    }
    if tbs.signature != c.cert.signature_algorithm {
        problems.push("signature algorithm differs between the certificate and its TBS part".into());
    }
    if tbs.issuer.0.is_empty() {
        problems.push("empty issuer name".into());
    }
    if tbs.issuer_unique_id.is_some() || tbs.subject_unique_id.is_some() {
        problems.push("unique identifiers are not allowed (RFC 5280 §4.1.2.8)".into());
    }
    if !c.ext.unknown_critical.is_empty() {
        problems.push(format!("unrecognised critical extension(s) {}", c.ext.unknown_critical.join(", ")));
    }
    if let Some((critical, pc)) = &c.ext.policy_constraints {
        if !critical {
            problems.push("policyConstraints must be critical".into());
        }
        if pc.require_explicit_policy.is_none() && pc.inhibit_policy_mapping.is_none() {
            problems.push("empty policyConstraints".into());
        }
    }
    // keyCertSign needs cA=TRUE (RFC 5280 §4.2.1.3, §4.2.1.9).
    if c.ext.key_usage.as_ref().is_some_and(|k| k.key_cert_sign()) && !c.is_ca() {
        problems.push("keyCertSign without cA=TRUE".into());
    }
    // An authority key identifier needs its keyIdentifier; a self-signed one names itself.
    if let Some(aki) = &c.ext.aki {
        match &aki.key_identifier {
            None => problems.push("authorityKeyIdentifier without keyIdentifier".into()),
            Some(k) if c.is_self_issued() && c.ext.ski.as_ref().is_some_and(|s| s != k.as_bytes()) && self_signed(c) => {
                problems.push("self-signed certificate whose authorityKeyIdentifier differs from its subjectKeyIdentifier".into())
            }
            _ => {}
        }
    } else if !self_signed(c) {
        problems.push("authorityKeyIdentifier missing (required unless self-signed)".into());
    }
    if leaf {
        if tbs.subject.0.is_empty() && !c.ext.san.as_ref().is_some_and(|(crit, _)| *crit) {
            problems.push("empty subject needs a critical subjectAltName".into());
        }
        if c.ext.name_constraints.is_some() {
            problems.push("nameConstraints in an end-entity certificate".into());
        }
    }
    out.push(if problems.is_empty() {
        ok("structure", at, "well-formed v3 certificate")
    } else {
        fail("structure", at, problems.join("; "))
    });
    out.push(match sig::key_kind(&tbs.subject_public_key_info) {
        Ok(k) => ok("public_key", at, k.to_string()),
        Err(e) => fail("public_key", at, e.to_string()),
    });
    let (nb, na) = c.validity();
    out.push(if policy.at < nb {
        fail("validity", at, format!("not valid before {}", rfc3339(nb)))
    } else if policy.at > na {
        fail("validity", at, format!("expired at {}", rfc3339(na)))
    } else {
        ok("validity", at, format!("{} – {}", rfc3339(nb), rfc3339(na)))
    });
    out
}

fn self_signed(c: &Cert) -> bool {
    c.is_self_issued() && verify_signature(c, c).is_ok()
}

/// All the checks of a complete path `chain[0]` (leaf) … `chain[n-1]` (trust anchor).
pub fn check_path(chain: &[Cert], policy: &Policy) -> Vec<Check> {
    let n = chain.len();
    let mut out = Vec::new();
    for (i, c) in chain.iter().enumerate() {
        let at = Some(i);
        out.extend(structure_checks(c, i, i == 0, i + 1 == n && n > 1, policy));
        if i + 1 < n {
            let issuer = &chain[i + 1];
            out.push(if c.issuer_der == issuer.subject_der {
                ok("name_chaining", at, "issuer name matches the next certificate's subject")
            } else {
                fail("name_chaining", at, "issuer name differs from the next certificate's subject")
            });
            out.push(match verify_signature(c, issuer) {
                Ok(()) => ok("signature", at, sig::algorithm_name(&c.cert.signature_algorithm)),
                Err(e) => fail("signature", at, e.to_string()),
            });
        }
        if i > 0 {
            out.push(ca_check(chain, i));
        }
        if i == 0 {
            out.extend(leaf_checks(c, policy, n == 1));
        }
    }
    // Path length: intermediates that are not self-issued count (RFC 5280 §6.1.4 (l)).
    if let Some(max) = policy.max_intermediates {
        let k = chain[1..n.saturating_sub(1).max(1)].iter().filter(|c| !c.is_self_issued()).count();
        out.push(if k <= max {
            ok("chain_depth", None, format!("{k} intermediate(s)"))
        } else {
            fail("chain_depth", None, format!("{k} intermediates, at most {max}"))
        });
    }
    out.extend(name_constraint_checks(chain));
    if !policy.required_policies.is_empty() {
        out.push(policy_check(chain, &policy.required_policies));
    }
    if policy.web_pki {
        out.extend(web_pki_checks(chain));
    }
    if let Some(peer) = &policy.peer_name {
        out.push(if names::matches_peer(&chain[0], peer) {
            ok("peer_name", Some(0), format!("{peer:?}"))
        } else {
            fail("peer_name", Some(0), format!("{peer:?} not in subjectAltName"))
        });
    }
    out
}

/// A CA certificate at position `i` (intermediate or anchor).
fn ca_check(chain: &[Cert], i: usize) -> Check {
    let c = &chain[i];
    let at = Some(i);
    let mut problems = Vec::new();
    match &c.ext.basic {
        None => problems.push("basicConstraints missing".to_string()),
        Some((critical, b)) => {
            if !b.ca {
                problems.push("cA is not TRUE".into());
            }
            if !critical {
                problems.push("basicConstraints must be critical in a CA certificate".into());
            }
            if let Some(max) = b.path_len_constraint {
                let below = chain[1..i].iter().filter(|x| !x.is_self_issued()).count();
                if below > usize::from(max) {
                    problems.push(format!("pathLenConstraint {max} exceeded by {below} intermediate(s)"));
                }
            }
        }
    }
    if c.ext.ski.is_none() {
        problems.push("subjectKeyIdentifier missing".into());
    }
    if c.cert.tbs_certificate.subject.0.is_empty() {
        problems.push("empty subject".into());
    }
    if c.ext.key_usage.as_ref().is_some_and(|k| !k.key_cert_sign()) {
        problems.push("keyUsage lacks keyCertSign".into());
    }
    if problems.is_empty() {
        ok("ca_constraints", at, "CA certificate, path length respected")
    } else {
        fail("ca_constraints", at, problems.join("; "))
    }
}

fn leaf_checks(c: &Cert, policy: &Policy, is_anchor: bool) -> Vec<Check> {
    let at = Some(0);
    let mut out = Vec::new();
    if policy.reject_ca_leaf && c.is_ca() && !is_anchor {
        out.push(fail("end_entity", at, "a signature certificate must not be a CA (cA=TRUE)"));
    }
    if !policy.leaf_key_usage.is_empty() {
        out.push(match &c.ext.key_usage {
            Some(k) if policy.leaf_key_usage.iter().any(|u| k.0.contains(*u)) => ok("key_usage", at, format!("{:?}", k.0)),
            Some(k) => fail("key_usage", at, format!("keyUsage {:?} has none of {:?}", k.0, policy.leaf_key_usage)),
            None => fail("key_usage", at, "keyUsage missing"),
        });
    }
    if let EkuRule::OneOf(wanted) = &policy.eku {
        out.push(match &c.ext.eku {
            None => ok("extended_key_usage", at, "no extendedKeyUsage: unrestricted"),
            Some((_, have)) if have.iter().any(|h| wanted.contains(h)) => ok("extended_key_usage", at, "required purpose present"),
            Some(_) => fail("extended_key_usage", at, "extendedKeyUsage lacks the required purpose"),
        });
    }
    out
}

fn name_constraint_checks(chain: &[Cert]) -> Vec<Check> {
    let mut out = Vec::new();
    let n = chain.len();
    for j in 1..n {
        let Some((critical, nc)) = &chain[j].ext.name_constraints else { continue };
        let mut problems = Vec::new();
        if !critical {
            problems.push("nameConstraints must be critical".to_string());
        }
        let permitted = nc.permitted_subtrees.clone().unwrap_or_default();
        let excluded = nc.excluded_subtrees.clone().unwrap_or_default();
        if permitted.is_empty() && excluded.is_empty() {
            problems.push("nameConstraints with neither permitted nor excluded subtrees".into());
        }
        problems.extend(permitted.iter().chain(&excluded).filter_map(names::constraint_problem));
        if problems.is_empty() {
            for (i, c) in chain.iter().enumerate().take(j) {
                // Self-issued intermediates are exempt (RFC 5280 §6.1.3 (b)); the leaf never is.
                if i > 0 && c.is_self_issued() {
                    continue;
                }
                if let Err(e) = names::check(c, &permitted, &excluded) {
                    problems.push(format!("certificate {i}: {e}"));
                }
            }
        }
        out.push(if problems.is_empty() {
            ok("name_constraints", Some(j), "names within constraints")
        } else {
            fail("name_constraints", Some(j), problems.join("; "))
        });
    }
    out
}

/// Simplified policy processing: the intersection of the policies of every certificate below
/// the anchor (anyPolicy matching all) must contain a required policy. Policy mappings are
/// refused when policies are required, since this validator does not apply them.
fn policy_check(chain: &[Cert], required: &[ObjectIdentifier]) -> Check {
    let mut set: Option<Vec<ObjectIdentifier>> = None;
    for c in &chain[..chain.len().saturating_sub(1)] {
        let has_mapping = c.cert.tbs_certificate.extensions.iter().flatten().any(|e| e.extn_id == oid::POLICY_MAPPINGS);
        if has_mapping {
            return fail("policies", None, "policy mappings are not supported when policies are required");
        }
        let Some(p) = &c.ext.policies else { return fail("policies", None, format!("{} has no certificatePolicies", c.subject())) };
        if p.contains(&oid::ANY_POLICY) {
            continue;
        }
        set = Some(match set {
            None => p.clone(),
            Some(s) => s.into_iter().filter(|x| p.contains(x)).collect(),
        });
    }
    let found = match &set {
        None => required.first().copied(),
        Some(s) => required.iter().find(|r| s.contains(r)).copied(),
    };
    match found {
        Some(p) => ok("policies", None, format!("policy {p}")),
        None => fail("policies", None, "no required policy in the path's valid policy set"),
    }
}

/// CA/Browser Forum Baseline Requirements rules (7.1.2.7.10, 7.1.4.3) for the web PKI profile.
fn web_pki_checks(chain: &[Cert]) -> Vec<Check> {
    use x509_cert::ext::pkix::name::GeneralName;
    let leaf = &chain[0];
    let mut problems = Vec::new();
    match &leaf.ext.eku {
        None => problems.push("end-entity certificate without extendedKeyUsage".to_string()),
        Some((critical, ekus)) => {
            if *critical {
                problems.push("critical extendedKeyUsage".into());
            }
            if ekus.contains(&oid::ANY_EKU) {
                problems.push("anyExtendedKeyUsage in an end-entity certificate".into());
            }
        }
    }
    let sans = leaf.ext.san.as_ref().map(|(_, s)| s.as_slice()).unwrap_or_default();
    if leaf.ext.san.as_ref().is_some_and(|(c, _)| *c) && !leaf.cert.tbs_certificate.subject.0.is_empty() {
        problems.push("critical subjectAltName with a non-empty subject".into());
    }
    if let Some(cn) = super::identity::extract(leaf).common_name {
        let listed = sans.iter().any(|g| match g {
            GeneralName::DnsName(d) => d.as_str() == cn,
            GeneralName::IpAddress(ip) => match ip.as_bytes().len() {
                4 => <[u8; 4]>::try_from(ip.as_bytes()).is_ok_and(|b| std::net::Ipv4Addr::from(b).to_string() == cn),
                16 => <[u8; 16]>::try_from(ip.as_bytes()).is_ok_and(|b| std::net::Ipv6Addr::from(b).to_string() == cn),
                _ => false,
            },
            _ => false,
        });
        if !listed {
            problems.push(format!("common name {cn:?} is not one of the subjectAltName entries"));
        }
    }
    if let Some(root) = chain.last().filter(|_| chain.len() > 1) {
        if root.ext.eku.is_some() {
            problems.push("root certificate with extendedKeyUsage".into());
        }
        if root.ext.aki.as_ref().is_some_and(|a| a.authority_cert_issuer.is_some() || a.authority_cert_serial_number.is_some()) {
            problems.push("root authorityKeyIdentifier with issuer/serial".into());
        }
    }
    vec![if problems.is_empty() { ok("web_pki", None, "CA/Browser Forum rules met") } else { fail("web_pki", None, problems.join("; ")) }]
}
