//! The holder's identity from the subject's `UID` attributes (0.9.2342.19200300.100.1.1), read
//! as ASN.1 values, never by parsing the printed name: `CCCD:` (12-digit personal ID), `CMND:`
//! (old 9- or 12-digit ID card), `HC:` (passport), `MST:` (tax code), `MNS:` (budget-unit code).

use der::{Tag, Tagged};
use serde::Serialize;

use super::cert::{Cert, oid};
use crate::identity::{PersonalId, TaxCode};

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CertIdentity {
    /// `person`, `organisation` or `unknown`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_id_card: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passport: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_unit_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// Every UID value as found.
    pub uids: Vec<String>,
    /// Values that did not parse (kept out of the fields above).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// A directory string as text, whatever its ASN.1 string type.
fn text(v: &der::Any) -> Option<String> {
    match v.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::TeletexString => {
            std::str::from_utf8(v.value()).ok().map(str::to_string)
        }
        Tag::BmpString => {
            let units: Vec<u16> = v.value().chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

pub fn extract(c: &Cert) -> CertIdentity {
    extract_name(&c.cert.tbs_certificate.subject)
}

pub fn extract_name(subject: &x509_cert::name::Name) -> CertIdentity {
    let mut id = CertIdentity { kind: "unknown", ..Default::default() };
    for rdn in subject.0.iter() {
        for atv in rdn.0.iter() {
            let Some(value) = text(&atv.value) else {
                if atv.oid == oid::UID {
                    id.problems.push(format!("UID with an unsupported string type {:?}", atv.value.tag()));
                }
                continue;
            };
            match atv.oid {
                oid::CN => id.common_name = Some(value),
                oid::ORG => id.organisation = Some(value),
                oid::UID => {
                    id.uids.push(value.clone());
                    classify(&mut id, &value);
                }
                _ => {}
            }
        }
    }
    id.kind = if id.personal_id.is_some() || id.old_id_card.is_some() || id.passport.is_some() {
        "person"
    } else if id.tax_code.is_some() || id.budget_unit_code.is_some() {
        "organisation"
    } else {
        "unknown"
    };
    id
}

fn classify(id: &mut CertIdentity, value: &str) {
    let Some((prefix, rest)) = value.split_once(':') else {
        id.problems.push(format!("UID without a known prefix: {value}"));
        return;
    };
    let rest = rest.trim();
    let digits = |n: &[usize]| n.contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_digit());
    match prefix.trim().to_ascii_uppercase().as_str() {
        "CCCD" => match PersonalId::parse(rest) {
            Ok(p) if id.personal_id.as_deref().is_some_and(|q| q != p.as_str()) => {
                id.problems.push(format!("two different CCCD values ({rest})"))
            }
            Ok(p) => id.personal_id = Some(p.as_str().to_string()),
            Err(e) => id.problems.push(format!("CCCD {rest}: {e}")),
        },
        "CMND" if digits(&[9, 12]) => id.old_id_card = Some(rest.to_string()),
        "HC" if (6..=12).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            id.passport = Some(rest.to_ascii_uppercase())
        }
        "MST" => match TaxCode::parse(rest) {
            Ok(t) => id.tax_code = Some(t.as_str().to_string()),
            Err(e) => id.problems.push(format!("MST {rest}: {e}")),
        },
        "MNS" if digits(&[7]) => id.budget_unit_code = Some(rest.to_string()),
        _ => id.problems.push(format!("UID not understood: {value}")),
    }
}
