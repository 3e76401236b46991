//! Assurance in one place: which `acr` a sign-in reaches, which `amr` it reports, and whether a
//! session is strong enough for a request (DESIGN §4).

use serde::Serialize;

use crate::identity::AccountLevel;

/// Canonical levels of assurance; ordered, so `a >= b` means "a satisfies b". Written (in
/// tokens, JSON and the database) as its URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Acr {
    /// Single factor.
    Loa1,
    /// Multi-factor.
    Loa2,
    /// Level-2 account with a phishing-resistant, hardware-backed authenticator.
    Loa3,
}

impl Acr {
    pub fn as_uri(self) -> &'static str {
        match self {
            Acr::Loa1 => "urn:vn:eid:loa:1",
            Acr::Loa2 => "urn:vn:eid:loa:2",
            Acr::Loa3 => "urn:vn:eid:loa:3",
        }
    }

    pub const ALL: [Acr; 3] = [Acr::Loa1, Acr::Loa2, Acr::Loa3];

    /// Accepts the canonical URIs and the aliases of DESIGN §4 (the national hub's `LoA1`–`LoA3`
    /// and the eIDAS URIs). Unknown values are `None`: they are ignored, never guessed.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "urn:vn:eid:loa:1" | "LoA1" | "http://eidas.europa.eu/LoA/low" => Some(Acr::Loa1),
            "urn:vn:eid:loa:2" | "LoA2" | "http://eidas.europa.eu/LoA/substantial" => Some(Acr::Loa2),
            "urn:vn:eid:loa:3" | "LoA3" | "http://eidas.europa.eu/LoA/high" => Some(Acr::Loa3),
            _ => None,
        }
    }

    /// The weakest level that satisfies a space-separated `acr_values` list (each listed value
    /// is acceptable to the portal, so meeting any one of them is enough).
    pub fn minimum_of(acr_values: &str) -> Option<Self> {
        acr_values.split_ascii_whitespace().filter_map(Acr::parse).min()
    }
}

impl Serialize for Acr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_uri())
    }
}

/// Authentication method references (RFC 8176).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Amr {
    Pwd,
    Otp,
    /// A code by text message (RFC 8176 `sms`): a restricted authenticator (NIST SP 800-63B-4
    /// §3.2.9), not phishing-resistant, so it never counts towards loa:3.
    Sms,
    Hwk,
    Swk,
    User,
    Pin,
    Fpt,
    Face,
    Sc,
    Mfa,
}

impl Amr {
    pub fn as_str(self) -> &'static str {
        match self {
            Amr::Pwd => "pwd",
            Amr::Otp => "otp",
            Amr::Sms => "sms",
            Amr::Hwk => "hwk",
            Amr::Swk => "swk",
            Amr::User => "user",
            Amr::Pin => "pin",
            Amr::Fpt => "fpt",
            Amr::Face => "face",
            Amr::Sc => "sc",
            Amr::Mfa => "mfa",
        }
    }

    /// The factor category: something known, held, or inherent.
    fn factor(self) -> Option<Factor> {
        match self {
            Amr::Pwd | Amr::Pin => Some(Factor::Knowledge),
            Amr::Otp | Amr::Sms | Amr::Hwk | Amr::Swk | Amr::Sc => Some(Factor::Possession),
            Amr::Fpt | Amr::Face | Amr::User => Some(Factor::Inherence),
            Amr::Mfa => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Factor {
    Knowledge,
    Possession,
    Inherence,
}

/// The outcome of one sign-in: its methods as reported in `amr` (with `mfa` added when two
/// factor categories were used) and the `acr` it reaches.
pub fn evaluate(level: AccountLevel, methods: &[Amr]) -> (Acr, Vec<Amr>) {
    let mut factors: Vec<Factor> = methods.iter().filter_map(|m| m.factor()).collect();
    factors.dedup();
    let categories = [Factor::Knowledge, Factor::Possession, Factor::Inherence].iter().filter(|f| factors.contains(f)).count();
    let multi = categories >= 2;
    let hardware_phishing_resistant = methods.contains(&Amr::Hwk) || methods.contains(&Amr::Sc);
    let acr = if level == AccountLevel::Level2 && hardware_phishing_resistant && multi {
        Acr::Loa3
    } else if multi {
        Acr::Loa2
    } else {
        Acr::Loa1
    };
    let mut amr: Vec<Amr> = methods.to_vec();
    if multi && !amr.contains(&Amr::Mfa) {
        amr.push(Amr::Mfa);
    }
    (acr, amr)
}

/// Whether an existing session may be reused for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionFit {
    Reuse,
    /// `prompt=login` or `max_age` exceeded: authenticate again.
    Reauthenticate,
    /// The session's acr is below what the request asks: authenticate with a stronger method.
    StepUp,
}

pub fn session_fit(
    session_acr: Acr,
    auth_time: i64,
    now: i64,
    required: Option<Acr>,
    max_age: Option<i64>,
    force_login: bool,
) -> SessionFit {
    // max_age=0 asks for a fresh authentication even within the same second.
    if force_login || max_age.is_some_and(|m| m == 0 || now - auth_time > m) {
        SessionFit::Reauthenticate
    } else if required.is_some_and(|r| session_acr < r) {
        SessionFit::StepUp
    } else {
        SessionFit::Reuse
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccountLevel::*;

    #[test]
    fn acr_is_written_as_its_uri() {
        assert_eq!(serde_json::to_value(Acr::Loa2).unwrap(), serde_json::json!("urn:vn:eid:loa:2"));
        for a in Acr::ALL {
            assert_eq!(Acr::parse(a.as_uri()), Some(a));
        }
    }

    #[test]
    fn acr_from_level_and_methods() {
        assert_eq!(evaluate(Level1, &[Amr::Pwd]), (Acr::Loa1, vec![Amr::Pwd]));
        assert_eq!(evaluate(Level1, &[Amr::Pwd, Amr::Otp]), (Acr::Loa2, vec![Amr::Pwd, Amr::Otp, Amr::Mfa]));
        assert_eq!(evaluate(Level2, &[Amr::Pwd, Amr::Otp]).0, Acr::Loa2);
        assert_eq!(evaluate(Level2, &[Amr::Hwk, Amr::User]).0, Acr::Loa3);
        assert_eq!(evaluate(Level1, &[Amr::Hwk, Amr::User]).0, Acr::Loa2);
        assert_eq!(evaluate(Level2, &[Amr::Swk, Amr::User]).0, Acr::Loa2);
        // Two possession factors are not multi-factor.
        assert_eq!(evaluate(Level2, &[Amr::Otp, Amr::Swk]).0, Acr::Loa1);
    }

    #[test]
    fn aliases_and_minimum() {
        assert_eq!(Acr::parse("LoA2"), Some(Acr::Loa2));
        assert_eq!(Acr::parse("http://eidas.europa.eu/LoA/high"), Some(Acr::Loa3));
        assert_eq!(Acr::parse("loa2"), None);
        assert_eq!(Acr::minimum_of("urn:vn:eid:loa:3 LoA2 junk"), Some(Acr::Loa2));
        assert_eq!(Acr::minimum_of("junk"), None);
    }

    #[test]
    fn session_reuse_rules() {
        use SessionFit::*;
        assert_eq!(session_fit(Acr::Loa1, 100, 200, None, None, false), Reuse);
        assert_eq!(session_fit(Acr::Loa1, 100, 200, None, None, true), Reauthenticate);
        assert_eq!(session_fit(Acr::Loa1, 100, 200, None, Some(50), false), Reauthenticate);
        assert_eq!(session_fit(Acr::Loa1, 100, 200, None, Some(100), false), Reuse);
        assert_eq!(session_fit(Acr::Loa1, 200, 200, None, Some(0), false), Reauthenticate);
        assert_eq!(session_fit(Acr::Loa1, 100, 200, Some(Acr::Loa2), None, false), StepUp);
        assert_eq!(session_fit(Acr::Loa2, 100, 200, Some(Acr::Loa2), None, false), Reuse);
    }
}
