//! Name constraints (RFC 5280 §4.2.1.10) over directory names, DNS names, IP addresses and
//! mailboxes, and the optional peer-name match used by the x509-limbo harness.

use der::Encode;
use x509_cert::ext::pkix::constraints::name::GeneralSubtree;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

use super::cert::{Cert, oid, valid_dns_name};

/// The names a certificate asserts, for constraint checking.
struct Names<'a> {
    subject: &'a Name,
    sans: Vec<&'a GeneralName>,
    emails: Vec<String>,
}

fn names_of(c: &Cert) -> Names<'_> {
    let subject = &c.cert.tbs_certificate.subject;
    let sans = c.ext.san.as_ref().map(|(_, s)| s.iter().collect()).unwrap_or_default();
    let mut emails = Vec::new();
    for rdn in subject.0.iter() {
        for atv in rdn.0.iter() {
            if let (true, Ok(s)) = (atv.oid == oid::EMAIL, atv.value.decode_as::<der::asn1::Ia5StringRef<'_>>()) {
                emails.push(s.as_str().to_string());
            }
        }
    }
    Names { subject, sans, emails }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dns,
    Ip,
    Email,
    Dn,
    Other,
}

fn kind(g: &GeneralName) -> Kind {
    match g {
        GeneralName::DnsName(_) => Kind::Dns,
        GeneralName::IpAddress(_) => Kind::Ip,
        GeneralName::Rfc822Name(_) => Kind::Email,
        GeneralName::DirectoryName(_) => Kind::Dn,
        _ => Kind::Other,
    }
}

/// Checks the syntax of one constraint: a base this validator cannot interpret is an error,
/// never silently ignored.
pub fn constraint_problem(s: &GeneralSubtree) -> Option<String> {
    if s.minimum != 0 || s.maximum.is_some() {
        return Some("name constraint with minimum/maximum (must be absent, RFC 5280)".into());
    }
    match &s.base {
        GeneralName::DnsName(d) => {
            let d = d.as_str();
            (!d.is_empty() && !valid_dns_name(d, false)).then(|| format!("invalid dNSName constraint {d:?}"))
        }
        GeneralName::IpAddress(ip) => {
            let b = ip.as_bytes();
            if b.len() != 8 && b.len() != 32 {
                return Some(format!("iPAddress constraint of {} octets", b.len()));
            }
            let mask = &b[b.len() / 2..];
            let bits: Vec<bool> = mask.iter().flat_map(|m| (0..8).rev().map(move |i| m >> i & 1 == 1)).collect();
            let contiguous = bits.windows(2).all(|w| w[0] || !w[1]);
            (!contiguous).then(|| "iPAddress constraint with a non-contiguous mask".into())
        }
        _ => None,
    }
}

fn dns_within(name: &str, base: &str) -> bool {
    if base.is_empty() {
        return true;
    }
    let name = name.to_ascii_lowercase();
    let base = base.to_ascii_lowercase();
    name == base || name.ends_with(&format!(".{base}"))
}

fn email_within(mailbox: &str, base: &str) -> bool {
    let Some((local, host)) = mailbox.rsplit_once('@') else { return false };
    if let Some((blocal, bhost)) = base.rsplit_once('@') {
        // A full mailbox constraint: exact local part (case-sensitive), host case-insensitive.
        return local == blocal && host.eq_ignore_ascii_case(bhost);
    }
    if let Some(domain) = base.strip_prefix('.') {
        return host.to_ascii_lowercase().ends_with(&format!(".{}", domain.to_ascii_lowercase()));
    }
    host.eq_ignore_ascii_case(base)
}

fn dn_within(subject: &Name, base: &Name) -> bool {
    let enc = |r: &x509_cert::name::RelativeDistinguishedName| r.to_der().ok();
    base.0.len() <= subject.0.len() && base.0.iter().zip(subject.0.iter()).all(|(b, s)| enc(b).is_some() && enc(b) == enc(s))
}

fn ip_within(ip: &[u8], base: &[u8]) -> bool {
    let n = ip.len();
    base.len() == 2 * n && (0..n).all(|i| ip[i] & base[n + i] == base[i] & base[n + i])
}

/// Does `name` fall within `base`? `excluded` widens a wildcard DNS name to every name it covers.
fn within(name: &GeneralName, base: &GeneralName, excluded: bool) -> bool {
    match (name, base) {
        (GeneralName::DnsName(n), GeneralName::DnsName(b)) => {
            let (n, b) = (n.as_str(), b.as_str());
            if let Some(rest) = n.strip_prefix("*.") {
                // `*.rest` is within `b` when every name it covers is; it meets an excluded `b`
                // when any name it covers is inside `b`.
                return dns_within(rest, b) || (excluded && !b.is_empty() && dns_within(b, rest) && b.len() > rest.len());
            }
            dns_within(n, b)
        }
        (GeneralName::IpAddress(n), GeneralName::IpAddress(b)) => ip_within(n.as_bytes(), b.as_bytes()),
        (GeneralName::Rfc822Name(n), GeneralName::Rfc822Name(b)) => email_within(n.as_str(), b.as_str()),
        (GeneralName::DirectoryName(n), GeneralName::DirectoryName(b)) => dn_within(n, b),
        _ => false,
    }
}

/// Applies one CA's constraints to a certificate below it. Returns the first violation.
pub fn check(c: &Cert, permitted: &[GeneralSubtree], excluded: &[GeneralSubtree]) -> Result<(), String> {
    let names = names_of(c);
    let mut all: Vec<GeneralName> = names.sans.iter().map(|g| (*g).clone()).collect();
    if !names.subject.0.is_empty() {
        all.push(GeneralName::DirectoryName(names.subject.clone()));
    }
    for e in &names.emails {
        if let Ok(s) = der::asn1::Ia5String::new(e) {
            all.push(GeneralName::Rfc822Name(s));
        }
    }
    // Quadratic work on hostile input (x509-limbo nc-dos): refuse beyond a fixed budget.
    if (permitted.len() + excluded.len()).saturating_mul(all.len()) > 1 << 16 {
        return Err(format!("{} names against {} constraints exceeds the checking budget", all.len(), permitted.len() + excluded.len()));
    }
    for name in &all {
        let k = kind(name);
        let constrained = permitted.iter().chain(excluded).any(|s| kind(&s.base) == k);
        if k == Kind::Other {
            if constrained
                || permitted
                    .iter()
                    .chain(excluded)
                    .any(|s| matches!(s.base, GeneralName::OtherName(_)) && matches!(name, GeneralName::OtherName(_)))
            {
                return Err("a name form this validator cannot check is constrained".into());
            }
            continue;
        }
        if let Some(s) = excluded.iter().find(|s| kind(&s.base) == k && within(name, &s.base, true)) {
            return Err(format!("name {} is in an excluded subtree {}", show(name), show(&s.base)));
        }
        let of_kind: Vec<_> = permitted.iter().filter(|s| kind(&s.base) == k).collect();
        if !of_kind.is_empty() && !of_kind.iter().any(|s| within(name, &s.base, false)) {
            return Err(format!("name {} is outside the permitted subtrees", show(name)));
        }
    }
    Ok(())
}

pub fn show(g: &GeneralName) -> String {
    match g {
        GeneralName::DnsName(d) => format!("DNS:{}", d.as_str()),
        GeneralName::Rfc822Name(d) => format!("email:{}", d.as_str()),
        GeneralName::IpAddress(ip) => match ip.as_bytes().len() {
            4 => {
                let b = ip.as_bytes();
                format!("IP:{}.{}.{}.{}", b[0], b[1], b[2], b[3])
            }
            _ => format!("IP:{}", super::cert::hex(ip.as_bytes())),
        },
        GeneralName::DirectoryName(n) => format!("DN:{n}"),
        GeneralName::UniformResourceIdentifier(u) => format!("URI:{}", u.as_str()),
        _ => "other name".into(),
    }
}

/// The peer name a TLS-style check expects; certificate sign-in does not use this.
#[derive(Debug, Clone)]
pub enum PeerName {
    Dns(String),
    Ip(std::net::IpAddr),
}

/// RFC 6125 matching against subjectAltName only (no common-name fallback); a wildcard stands
/// for exactly one whole leftmost label.
pub fn matches_peer(c: &Cert, peer: &PeerName) -> bool {
    let Some((_, sans)) = c.ext.san.as_ref() else { return false };
    sans.iter().any(|g| match (g, peer) {
        (GeneralName::DnsName(d), PeerName::Dns(want)) => {
            let have = d.as_str().to_ascii_lowercase();
            let want = want.to_ascii_lowercase();
            if !valid_dns_name(&want, false) {
                return false;
            }
            match have.strip_prefix("*.") {
                Some(rest) => want.split_once('.').is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
                None => have == want,
            }
        }
        (GeneralName::IpAddress(ip), PeerName::Ip(want)) => match want {
            std::net::IpAddr::V4(v4) => ip.as_bytes() == v4.octets(),
            std::net::IpAddr::V6(v6) => ip.as_bytes() == v6.octets(),
        },
        _ => false,
    })
}
