//! Password rules as NIST SP 800-63B-4 §3.1.1.2 puts them: a minimum length (8, or 15 when the
//! password is the only factor), a generous maximum, no composition rules, and a refusal of
//! passwords that are common or easily guessed, estimated offline (zxcvbn; no network look-up).
//! Passwords are compared in Unicode NFC, so "mật khẩu" typed on two keyboards is one password.

use unicode_normalization::UnicodeNormalization;

use crate::authn::password::canonical;
use zxcvbn::Score;

/// Shortest password with a second factor beside it, and standing alone.
pub const MIN_WITH_SECOND_FACTOR: usize = 8;
pub const MIN_ALONE: usize = 15;
/// Longest accepted (NIST: at least 64); beyond this is a paste accident.
pub const MAX: usize = 128;

/// Words people in Viet Nam often build passwords from, which zxcvbn's English lists lack.
const LOCAL_WORDS: &[&str] = &[
    "matkhau",
    "anhyeuem",
    "emyeuanh",
    "yeuem",
    "yeuanh",
    "vietnam",
    "hanoi",
    "saigon",
    "hochiminh",
    "danang",
    "haiphong",
    "cantho",
    "nguyen",
    "tran",
    "pham",
    "hoang",
    "huynh",
    "phan",
    "dinhdanh",
    "canCuoc",
    "cancuoc",
    "taikhoan",
    "dangnhap",
    "vneid",
    "dichvucong",
    "congdan",
    "password",
];

/// Why a password was refused; each has a message in the person's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    TooShort {
        min: usize,
    },
    TooLong,
    Mismatch,
    /// Made of the person's own details: ID number, birth date, name, phone, e-mail.
    Personal,
    /// Common, a keyboard pattern, a repeat, a date…: found within few guesses.
    Guessable,
}

impl Refusal {
    pub fn message_key(self) -> &'static str {
        match self {
            Refusal::TooShort { min } if min >= MIN_ALONE => "password.error.too_short_alone",
            Refusal::TooShort { .. } => "password.error.too_short",
            Refusal::TooLong => "password.error.too_long",
            Refusal::Mismatch => "password.error.mismatch",
            Refusal::Personal => "password.error.personal",
            Refusal::Guessable => "password.error.guessable",
        }
    }
}

/// What the person's own details are, for the "personal" refusal.
#[derive(Debug, Default)]
pub struct PersonalDetails<'a> {
    pub personal_id: &'a str,
    /// `YYYY-MM-DD`.
    pub birthdate: Option<String>,
    pub names: Vec<&'a str>,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
}

impl<'a> PersonalDetails<'a> {
    pub fn of(p: &'a crate::identity::Person) -> Self {
        Self {
            personal_id: p.personal_id.as_str(),
            birthdate: p.birthdate_iso(),
            names: vec![p.family_name.as_str(), p.middle_name.as_str(), p.given_name.as_str()],
            phone: p.phone.as_deref(),
            email: p.email.as_deref(),
        }
    }

    /// Every form the details are typed in: the ID and its halves, dates as ddmmyyyy, yyyymmdd,
    /// ddmmyy and the year, names without diacritics, the phone and the e-mail's local part.
    fn inputs(&self) -> Vec<String> {
        let mut v = vec![self.personal_id.to_string(), self.personal_id[self.personal_id.len().saturating_sub(6)..].to_string()];
        if let Some(d) = &self.birthdate {
            let parts: Vec<&str> = d.split('-').collect();
            if let [y, m, day] = parts[..] {
                v.extend([
                    format!("{day}{m}{y}"),
                    format!("{y}{m}{day}"),
                    format!("{day}{m}{}", &y[y.len().saturating_sub(2)..]),
                    y.to_string(),
                ]);
            }
        }
        for n in &self.names {
            let plain = fold(n);
            v.extend(plain.split_whitespace().map(str::to_string));
            v.push(plain.replace(' ', ""));
        }
        if let Some(p) = self.phone {
            v.push(p.chars().filter(char::is_ascii_digit).collect());
        }
        if let Some(e) = self.email {
            v.push(e.split('@').next().unwrap_or_default().to_lowercase());
        }
        v.retain(|s| s.chars().count() >= 3);
        v
    }
}

/// Lower case without Vietnamese diacritics (and đ → d): how names turn up in passwords.
fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .map(|c| if c == 'đ' || c == 'Đ' { 'd' } else { c })
        .collect::<String>()
        .to_lowercase()
}

/// Checks a new password. `alone`: no second factor will stand beside it.
pub fn check(password: &str, confirmation: &str, alone: bool, who: &PersonalDetails<'_>) -> Result<(), Refusal> {
    let password = canonical(password);
    if password != canonical(confirmation) {
        return Err(Refusal::Mismatch);
    }
    let min = if alone { MIN_ALONE } else { MIN_WITH_SECOND_FACTOR };
    let len = password.chars().count();
    if len < min {
        return Err(Refusal::TooShort { min });
    }
    if len > MAX {
        return Err(Refusal::TooLong);
    }
    let folded = fold(&password);
    let compact: String = folded.chars().filter(|c| c.is_alphanumeric()).collect();
    let inputs = who.inputs();
    // A password that is only the person's details (in any order, with separators) is refused
    // whatever its length.
    let mut rest = compact.clone();
    let mut sorted = inputs.iter().map(|i| fold(i)).collect::<Vec<_>>();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for i in &sorted {
        rest = rest.replace(i.as_str(), "");
    }
    if rest.chars().count() < 4 && compact.chars().count() > rest.chars().count() {
        return Err(Refusal::Personal);
    }
    let mut words: Vec<&str> = inputs.iter().map(String::as_str).collect();
    words.extend(LOCAL_WORDS);
    let estimate = zxcvbn::zxcvbn(&folded, &words);
    if estimate.score() < Score::Three {
        // Refused because of the person's own details, or for being guessable in general?
        let personal = sorted.iter().any(|i| i.chars().count() >= 4 && compact.contains(i.as_str()));
        return Err(if personal { Refusal::Personal } else { Refusal::Guessable });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who() -> PersonalDetails<'static> {
        PersonalDetails {
            personal_id: "001090001234",
            birthdate: Some("1990-05-17".into()),
            names: vec!["Nguyễn", "Văn", "Đức"],
            phone: Some("0901234567"),
            email: Some("duc.nguyen@example.vn"),
        }
    }

    #[test]
    fn refuses_with_the_reason() {
        let w = who();
        let check = |p: &str, alone| check(p, p, alone, &w);
        assert_eq!(check("short", false), Err(Refusal::TooShort { min: 8 }));
        assert_eq!(check("a perfectly fine", true), Ok(()));
        assert_eq!(check("tàu hỏa đêm", true), Err(Refusal::TooShort { min: 15 }));
        assert_eq!(check(&"x".repeat(129), false), Err(Refusal::TooLong));
        assert_eq!(super::check("correct horse battery", "correct horse batterY", false, &w), Err(Refusal::Mismatch));
        for common in ["password1", "12345678", "qwertyuiop", "iloveyou", "anhyeuem123", "matkhau2024", "aaaaaaaaaa"] {
            assert_eq!(check(common, false), Err(Refusal::Guessable), "{common}");
        }
        for personal in ["001090001234", "17051990Duc", "nguyenvanduc", "duc17051990", "0901234567"] {
            assert_eq!(check(personal, false), Err(Refusal::Personal), "{personal}");
        }
        for fine in ["correct horse battery", "Mây trắng bay về núi", "t3h-ranh-Vo1-ngua"] {
            assert_eq!(check(fine, false), Ok(()), "{fine}");
        }
        // No composition rules: lower-case words alone are fine when long and uncommon.
        assert_eq!(check("cơm tấm sườn bì chả trứng", true), Ok(()));
    }

    #[test]
    fn one_password_whatever_the_keyboard_wrote() {
        let nfd: String = "mật khẩu rừng thông già".nfd().collect();
        assert_ne!(nfd, "mật khẩu rừng thông già");
        assert_eq!(canonical(&nfd), canonical("mật khẩu rừng thông già"));
        assert_eq!(check(&nfd, "mật khẩu rừng thông già", true, &who()), Ok(()));
    }
}
