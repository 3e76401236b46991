//! Upstream `acr` and `amr` values mapped to ours (DESIGN §4). An upstream never raises the
//! level above its configured trust level, and an unknown value counts as the lowest.

use crate::assurance::{Acr, Amr};

/// Our values, the aliases `Acr::parse` knows, and the bare digits the national hub sends.
pub fn parse_upstream(value: &str) -> Option<Acr> {
    match value.trim() {
        "1" => Some(Acr::Loa1),
        "2" => Some(Acr::Loa2),
        "3" => Some(Acr::Loa3),
        v => Acr::parse(v),
    }
}

/// The acr a brokered sign-in reaches: what the upstream asserted, capped by its trust level.
pub fn effective(asserted: Option<&str>, trust_level: Acr) -> Acr {
    asserted.and_then(parse_upstream).unwrap_or(Acr::Loa1).min(trust_level)
}

/// The acr of a brokered sign-in: the upstream's word, capped by its trust level and by the
/// account itself (as for a local sign-in, only a level-2 account reaches loa:3).
pub fn for_account(asserted: Option<&str>, trust_level: Acr, level: crate::identity::AccountLevel) -> Acr {
    let account_cap = if level == crate::identity::AccountLevel::Level2 { Acr::Loa3 } else { Acr::Loa2 };
    effective(asserted, trust_level).min(account_cap)
}

/// The RFC 8176 values we know; others are dropped rather than passed on unexamined.
pub fn amr_of(values: &[String]) -> Vec<Amr> {
    let mut out = Vec::new();
    for v in values {
        let m = match v.as_str() {
            "pwd" => Amr::Pwd,
            "otp" => Amr::Otp,
            "sms" => Amr::Sms,
            "hwk" => Amr::Hwk,
            "swk" => Amr::Swk,
            "user" => Amr::User,
            "pin" => Amr::Pin,
            "fpt" => Amr::Fpt,
            "face" => Amr::Face,
            "sc" => Amr::Sc,
            "mfa" => Amr::Mfa,
            _ => continue,
        };
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_level_1_account_never_reaches_loa3() {
        use crate::identity::AccountLevel;
        assert_eq!(for_account(Some("LoA3"), Acr::Loa3, AccountLevel::Level1), Acr::Loa2);
        assert_eq!(for_account(Some("LoA3"), Acr::Loa3, AccountLevel::Level2), Acr::Loa3);
        assert_eq!(for_account(Some("1"), Acr::Loa3, AccountLevel::Level2), Acr::Loa1);
    }

    #[test]
    fn capped_never_upgraded() {
        assert_eq!(effective(Some("2"), Acr::Loa3), Acr::Loa2);
        assert_eq!(effective(Some("LoA3"), Acr::Loa2), Acr::Loa2);
        assert_eq!(effective(Some("urn:vn:eid:loa:3"), Acr::Loa1), Acr::Loa1);
        assert_eq!(effective(Some("http://eidas.europa.eu/LoA/substantial"), Acr::Loa3), Acr::Loa2);
        assert_eq!(effective(Some("gold"), Acr::Loa3), Acr::Loa1);
        assert_eq!(effective(None, Acr::Loa3), Acr::Loa1);
        assert_eq!(effective(Some("1"), Acr::Loa3), Acr::Loa1);
    }

    #[test]
    fn amr_known_values_only() {
        let v: Vec<String> = ["pwd", "otp", "kba", "pwd"].iter().map(|s| s.to_string()).collect();
        assert_eq!(amr_of(&v), vec![Amr::Pwd, Amr::Otp]);
    }
}
