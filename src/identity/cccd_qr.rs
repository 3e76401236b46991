//! Reader for the QR code printed on the back of the chip citizen identity card (CCCD):
//! `ID|oldID|FULL NAME|DDMMYYYY|Nam/Nữ|address|issueDDMMYYYY`.
//!
//! **Pre-fill only, never proof.** The QR carries no signature, MAC or key id: anyone can print one
//! with any content. Use the result to fill in forms or to derive the chip's BAC key, never to
//! identify, authenticate or raise an assurance level. The trustworthy data is on the chip
//! (ICAO 9303, checked with Passive Authentication) or in the national population database.
//!
//! Accepted variations, all seen in published samples or scanner output:
//! - 7 fields, or 6 fields in either of two shortened layouts: without the old-ID field
//!   (`ID|name|…|issue`), or without the issue date (`ID|oldID|name|…|address`). The two are told
//!   apart by the second field: an old ID is empty or all digits, a name never is.
//! - An empty old-ID field; an old ID is the 9-digit CMND or the 12-digit CMND.
//! - Dates as `DDMMYYYY` or `DD/MM/YYYY`.
//! - `Nam`/`Nữ` in any letter case, with `ữ` precomposed or decomposed in any canonical order.
//! - Trailing pipe: an empty issue-date field means "no issue date", and one empty field after a
//!   complete 7-field record is dropped. So `…|address|` reads as "no issue date" and
//!   `…|issue|` as if the pipe were absent. Two trailing pipes are a field-count error.
//! - Surrounding whitespace (scanners append CR/LF) and a leading byte-order mark.
//!
//! Errors name the field but do not echo its content, which is personal data and ends up in logs.
//! The one exception is what a nested [`PersonalIdError`] itself reports (a birthplace code, or
//! the sex and birth year that disagree).

use time::{Date, Month};

use super::Sex;
use super::personal_id::{PersonalId, PersonalIdError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CccdQrError {
    #[error("a CCCD QR has 6 or 7 fields separated by |; found {0}")]
    FieldCount(usize),
    #[error("personal ID field: {0}")]
    PersonalId(#[source] PersonalIdError),
    #[error("old ID field: an old identity card (CMND) number has 9 or 12 digits, or the field is empty")]
    OldId,
    #[error("full name field is empty or has no letters")]
    EmptyName,
    #[error("date of birth field: expected an existing date as DDMMYYYY or DD/MM/YYYY")]
    BirthDate,
    #[error("sex field: expected Nam or Nữ")]
    Sex,
    #[error("address field is empty")]
    EmptyAddress,
    #[error("issue date field: expected an existing date as DDMMYYYY or DD/MM/YYYY, or nothing")]
    IssueDate,
    #[error("issue date is before the date of birth")]
    IssueBeforeBirth,
    #[error("the personal ID does not match the QR's sex and date of birth: {0}")]
    Mismatch(#[source] PersonalIdError),
}

/// The decoded QR. Untrusted: see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CccdQr {
    pub personal_id: PersonalId,
    /// The pre-CCCD identity card number (CMND), when the card shows one.
    pub old_id: Option<String>,
    /// As printed, with diacritics and in the Unicode form the QR used (not normalised), so a
    /// pre-filled form shows exactly what the card holds.
    pub full_name: String,
    pub birth_date: Date,
    pub sex: Sex,
    /// Permanent residence as printed; free text, not structured.
    pub address: String,
    pub issue_date: Option<Date>,
}

const COMBINING_HORN: char = '\u{031B}';
const COMBINING_TILDE: char = '\u{0303}';

impl CccdQr {
    pub fn parse(input: &str) -> Result<Self, CccdQrError> {
        let text = input.trim().trim_start_matches('\u{FEFF}').trim();
        let mut fields: Vec<&str> = text.split('|').collect();
        if fields.len() == 8 && fields[7].trim().is_empty() {
            fields.pop();
        }
        let (id, old_id, name, birth, sex, address, issue) = match fields[..] {
            [id, old, name, birth, sex, address, issue] => (id, old, name, birth, sex, address, issue),
            [id, old, name, birth, sex, address] if looks_like_old_id(old) => (id, old, name, birth, sex, address, ""),
            [id, name, birth, sex, address, issue] => (id, "", name, birth, sex, address, issue),
            _ => return Err(CccdQrError::FieldCount(fields.len())),
        };

        let personal_id = PersonalId::parse(id).map_err(CccdQrError::PersonalId)?;
        let old_id = parse_old_id(old_id)?;
        let full_name = name.trim();
        if !full_name.chars().any(char::is_alphabetic) {
            return Err(CccdQrError::EmptyName);
        }
        let birth_date = parse_date(birth).ok_or(CccdQrError::BirthDate)?;
        let sex = parse_sex(sex).ok_or(CccdQrError::Sex)?;
        let address = address.trim();
        if address.is_empty() {
            return Err(CccdQrError::EmptyAddress);
        }
        let issue_date = match issue.trim() {
            "" => None,
            s => Some(parse_date(s).ok_or(CccdQrError::IssueDate)?),
        };
        if issue_date.is_some_and(|d| d < birth_date) {
            return Err(CccdQrError::IssueBeforeBirth);
        }
        personal_id.check_against(Some(sex), Some(birth_date.year())).map_err(CccdQrError::Mismatch)?;

        Ok(Self { personal_id, old_id, full_name: full_name.to_string(), birth_date, sex, address: address.to_string(), issue_date })
    }
}

impl std::str::FromStr for CccdQr {
    type Err = CccdQrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn looks_like_old_id(field: &str) -> bool {
    field.trim().bytes().all(|b| b.is_ascii_digit())
}

fn parse_old_id(field: &str) -> Result<Option<String>, CccdQrError> {
    let s = field.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if matches!(s.len(), 9 | 12) && s.bytes().all(|b| b.is_ascii_digit()) { Ok(Some(s.to_string())) } else { Err(CccdQrError::OldId) }
}

/// Exactly `width` ASCII digits; `str::parse` alone would also accept a sign.
fn number(s: &str, width: usize) -> Option<u16> {
    if s.len() != width || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `DDMMYYYY` or `DD/MM/YYYY`; `None` for any other shape or a date that does not exist.
fn parse_date(field: &str) -> Option<Date> {
    let s = field.trim();
    // `get` rather than indexing: a non-ASCII field must yield None, not a char-boundary panic.
    let (day, month, year) = match s.len() {
        8 => (s.get(0..2)?, s.get(2..4)?, s.get(4..8)?),
        10 if s.get(2..3)? == "/" && s.get(5..6)? == "/" => (s.get(0..2)?, s.get(3..5)?, s.get(6..10)?),
        _ => return None,
    };
    let month = Month::try_from(u8::try_from(number(month, 2)?).ok()?).ok()?;
    let day = u8::try_from(number(day, 2)?).ok()?;
    Date::from_calendar_date(i32::from(number(year, 4)?), month, day).ok()
}

/// `Nam` or `Nữ`. The `ữ` may arrive precomposed (U+1EEF), partly composed (`ư` or `ũ` plus the
/// other mark) or fully decomposed with the two marks in either order; all are canonically
/// equivalent, and QR generators differ in which they emit.
fn parse_sex(field: &str) -> Option<Sex> {
    let s = field.trim().to_lowercase();
    if s == "nam" {
        return Some(Sex::Male);
    }
    let rest = s.strip_prefix('n')?;
    let mut decomposed = Vec::with_capacity(3);
    for c in rest.chars() {
        match c {
            'ữ' => decomposed.extend(['u', COMBINING_HORN, COMBINING_TILDE]),
            'ư' => decomposed.extend(['u', COMBINING_HORN]),
            'ũ' => decomposed.extend(['u', COMBINING_TILDE]),
            other => decomposed.push(other),
        }
    }
    match decomposed[..] {
        ['u', COMBINING_HORN, COMBINING_TILDE] | ['u', COMBINING_TILDE, COMBINING_HORN] => Some(Sex::Female),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CccdQrError as E;
    use time::macros::date;

    const REFERENCE_EXAMPLE: &str = "001090123456|012345678|NGUYEN VAN A|01011990|Nam|Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh|15042021";
    const NU_DECOMPOSED: &str = "Nu\u{31B}\u{303}";

    fn parse(s: &str) -> CccdQr {
        CccdQr::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn reference_example() {
        let qr = parse(REFERENCE_EXAMPLE);
        assert_eq!(
            qr,
            CccdQr {
                personal_id: PersonalId::parse("001090123456").unwrap(),
                old_id: Some("012345678".into()),
                full_name: "NGUYEN VAN A".into(),
                birth_date: date!(1990 - 01 - 01),
                sex: Sex::Male,
                address: "Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh".into(),
                issue_date: Some(date!(2021 - 04 - 15)),
            }
        );
    }

    #[test]
    fn valid_records() {
        // (QR text, personal ID, old ID, name, birth date, sex, issue date)
        type Case<'a> = (&'a str, Option<&'a str>, &'a str, Date, Sex, Option<Date>);
        let cases: Vec<(String, Case)> = vec![
            // 7 fields, slashed dates, empty old ID, name with diacritics.
            (
                "079195001234||Nguyễn Thị Minh Khai|23/11/1995|Nữ|Số 12 Lê Lợi, Phường Bến Thành, Quận 1, TP. Hồ Chí Minh|01/07/2021"
                    .into(),
                ("079195001234", None, "Nguyễn Thị Minh Khai", date!(1995 - 11 - 23), Sex::Female, Some(date!(2021 - 07 - 01))),
            ),
            // 6 fields, no old-ID field.
            (
                "038201009876|Lê Văn Tám|05062001|Nam|Thôn 3, Xã Quảng Phú, Huyện Quảng Xương, Thanh Hóa|20122021".into(),
                ("038201009876", None, "Lê Văn Tám", date!(2001 - 06 - 05), Sex::Male, Some(date!(2021 - 12 - 20))),
            ),
            // 6 fields, no issue date.
            (
                "001185004321|123456789|TRẦN THỊ HOA|12031985|Nữ|Phố Huế, Quận Hai Bà Trưng, Hà Nội".into(),
                ("001185004321", Some("123456789"), "TRẦN THỊ HOA", date!(1985 - 03 - 12), Sex::Female, None),
            ),
            // 6 fields, no issue date, empty old ID.
            (
                "048088000555||Phạm Quốc Bảo|29021988|Nam|Phường Hải Châu 1, Quận Hải Châu, Đà Nẵng".into(),
                ("048088000555", None, "Phạm Quốc Bảo", date!(1988 - 02 - 29), Sex::Male, None),
            ),
            // Fully decomposed Nữ, mixed date forms.
            (
                format!("092301112233||Võ Ngọc Hân|14/02/2001|{NU_DECOMPOSED}|Phường An Hòa, Quận Ninh Kiều, Cần Thơ|22122022"),
                ("092301112233", None, "Võ Ngọc Hân", date!(2001 - 02 - 14), Sex::Female, Some(date!(2022 - 12 - 22))),
            ),
            // Partly composed Nữ (ư + combining tilde).
            (
                "031172000777|031456789|Đỗ Thị Lan|07071972|Nư\u{303}|Quận Lê Chân, Hải Phòng|10/08/2021".into(),
                ("031172000777", Some("031456789"), "Đỗ Thị Lan", date!(1972 - 07 - 07), Sex::Female, Some(date!(2021 - 08 - 10))),
            ),
            // Decomposed with the two marks in the other order (canonically equivalent).
            (
                "066199345678||H'HEN NIÊ|18091999|Nu\u{303}\u{31B}|Buôn Ma Thuột, Đắk Lắk|01042021".into(),
                ("066199345678", None, "H'HEN NIÊ", date!(1999 - 09 - 18), Sex::Female, Some(date!(2021 - 04 - 01))),
            ),
            // Upper-case NAM.
            (
                "040080246810|186123456|HỒ VĂN HÙNG|02091980|NAM|Xã Nghi Phong, Huyện Nghi Lộc, Nghệ An|25052021".into(),
                ("040080246810", Some("186123456"), "HỒ VĂN HÙNG", date!(1980 - 09 - 02), Sex::Male, Some(date!(2021 - 05 - 25))),
            ),
            // Upper-case precomposed NỮ.
            (
                "036163000123||LƯU THỊ NGA|30041963|NỮ|Thành phố Nam Định, Nam Định|13/03/2022".into(),
                ("036163000123", None, "LƯU THỊ NGA", date!(1963 - 04 - 30), Sex::Female, Some(date!(2022 - 03 - 13))),
            ),
            // Trailing pipe after a complete 7-field record: ignored.
            (
                "001090123456|012345678|NGUYEN VAN A|01011990|Nam|Quận 1, TP. Hồ Chí Minh|15042021|".into(),
                ("001090123456", Some("012345678"), "NGUYEN VAN A", date!(1990 - 01 - 01), Sex::Male, Some(date!(2021 - 04 - 15))),
            ),
            // Trailing pipe after the address: no issue date.
            (
                "001090123456|012345678|NGUYEN VAN A|01011990|Nam|Quận 1, TP. Hồ Chí Minh|".into(),
                ("001090123456", Some("012345678"), "NGUYEN VAN A", date!(1990 - 01 - 01), Sex::Male, None),
            ),
            // Scanner noise: byte-order mark, CR/LF, spaces around fields.
            (
                "\u{FEFF}001090123456 | 012345678 | NGUYEN VAN A | 01011990 | Nam | Quận 1 | 15/04/2021\r\n".into(),
                ("001090123456", Some("012345678"), "NGUYEN VAN A", date!(1990 - 01 - 01), Sex::Male, Some(date!(2021 - 04 - 15))),
            ),
            // Old 12-digit CMND; born abroad (175 = USA), 2000s female.
            (
                "175305000042|175305000042|NGUYEN LINH CHI|09092005|Nữ|Quận 7, TP. Hồ Chí Minh|01/10/2021".into(),
                ("175305000042", Some("175305000042"), "NGUYEN LINH CHI", date!(2005 - 09 - 09), Sex::Female, Some(date!(2021 - 10 - 01))),
            ),
            // An issue date equal to the birth date is not rejected; only an earlier one is.
            (
                "001224000001||NGUYEN MINH AN|01032024|Nam|Hà Nội|01032024".into(),
                ("001224000001", None, "NGUYEN MINH AN", date!(2024 - 03 - 01), Sex::Male, Some(date!(2024 - 03 - 01))),
            ),
        ];
        for (text, (id, old, name, birth, sex, issue)) in cases {
            let qr = parse(&text);
            assert_eq!(qr.personal_id.as_str(), id, "{text:?}");
            assert_eq!(qr.old_id.as_deref(), old, "{text:?}");
            assert_eq!(qr.full_name, name, "{text:?}");
            assert_eq!(qr.birth_date, birth, "{text:?}");
            assert_eq!(qr.sex, sex, "{text:?}");
            assert_eq!(qr.issue_date, issue, "{text:?}");
            assert!(!qr.address.is_empty() && qr.address == qr.address.trim());
        }
    }

    #[test]
    fn name_is_kept_as_given() {
        let decomposed_name = "Nguye\u{302}\u{303}n Thi\u{323}"; // NFD "Nguyễn Thị"
        let qr = parse(&format!("079195001234||{decomposed_name}|23111995|Nữ|TP. Hồ Chí Minh|01072021"));
        assert_eq!(qr.full_name, decomposed_name);
    }

    #[test]
    fn invalid_records() {
        let ok = ["001090123456", "012345678", "NGUYEN VAN A", "01011990", "Nam", "Quận 1, TP. Hồ Chí Minh", "15042021"];
        // Replaces field `i` of the valid 7-field record.
        let with = |i: usize, v: &str| {
            let mut f = ok;
            f[i] = v;
            f.join("|")
        };
        let cases: Vec<(String, CccdQrError)> = vec![
            (String::new(), E::FieldCount(1)),
            ("001090123456|NGUYEN VAN A|01011990|Nam|Quận 1".into(), E::FieldCount(5)),
            (format!("{}||", ok.join("|")), E::FieldCount(9)),
            (format!("{}|extra", ok.join("|")), E::FieldCount(8)),
            ("CCCD:001090123456;CMND:012345678".into(), E::FieldCount(1)),
            (with(0, "00109012345"), E::PersonalId(PersonalIdError::Length)),
            (with(0, "00109012345X"), E::PersonalId(PersonalIdError::NotDigits)),
            (with(0, "097090123456"), E::PersonalId(PersonalIdError::Birthplace(97))),
            (with(0, ""), E::PersonalId(PersonalIdError::Length)),
            (with(1, "01234567"), E::OldId),
            (with(1, "0123456789"), E::OldId),
            (with(1, "B12345678"), E::OldId),
            (with(2, ""), E::EmptyName),
            (with(2, "   "), E::EmptyName),
            (with(2, "-"), E::EmptyName),
            (with(3, "31022000"), E::BirthDate),
            (with(3, "29021990"), E::BirthDate), // 1990 is not a leap year
            (with(3, "32/01/1990"), E::BirthDate),
            (with(3, "01/13/1990"), E::BirthDate),
            (with(3, "1990-01-01"), E::BirthDate),
            (with(3, "01.01.1990"), E::BirthDate),
            (with(3, "1/1/1990"), E::BirthDate),
            (with(3, "0101199"), E::BirthDate),
            (with(3, "ữ1011990"), E::BirthDate), // non-ASCII at a slice boundary must not panic
            (with(3, ""), E::BirthDate),
            (with(4, "Male"), E::Sex),
            (with(4, "Nu"), E::Sex),
            (with(4, "Nũ"), E::Sex),
            (with(4, "Nư"), E::Sex),
            (with(4, "Nữa"), E::Sex),
            (with(4, "N"), E::Sex),
            (with(4, ""), E::Sex),
            (with(5, ""), E::EmptyAddress),
            (with(5, "  "), E::EmptyAddress),
            (with(6, "31022021"), E::IssueDate),
            (with(6, "2021-04-15"), E::IssueDate),
            (with(6, "31121989"), E::IssueBeforeBirth),
        ];
        for (text, err) in cases {
            assert_eq!(CccdQr::parse(&text), Err(err), "{text:?}");
        }
    }

    #[test]
    fn cross_check_against_the_personal_id() {
        let mismatch = |id_sex, id_year, sex, year| E::Mismatch(PersonalIdError::Mismatch { id_sex, id_year, sex, year });
        let cases = [
            // ID says male 1990, QR says Nữ.
            ("001090123456|012345678|NGUYEN THI A|01011990|Nữ|Hà Nội|15042021", mismatch(Sex::Male, 1990, Sex::Female, 1990)),
            // ID says 1990, QR says 1991.
            ("001090123456|012345678|NGUYEN VAN A|01011991|Nam|Hà Nội|15042021", mismatch(Sex::Male, 1990, Sex::Male, 1991)),
            // Same two-digit year, wrong century: century digit 2 means the 2000s.
            ("001290123456||NGUYEN VAN A|01011990|Nam|Hà Nội|15042021", mismatch(Sex::Male, 2090, Sex::Male, 1990)),
            // Both wrong, in the 6-field layout without an old ID.
            ("079195001234|Nguyễn Văn Bình|23111996|Nam|TP. Hồ Chí Minh|01072021", mismatch(Sex::Female, 1995, Sex::Male, 1996)),
        ];
        for (text, err) in cases {
            assert_eq!(CccdQr::parse(text), Err(err), "{text:?}");
        }
    }

    #[test]
    fn errors_do_not_echo_personal_data() {
        let err = CccdQr::parse("001090123456|012345678|NGUYEN VAN A|31021990|Nam|Hà Nội|15042021").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("date of birth") && !msg.contains("31021990"), "{msg}");
    }

    /// Tiny deterministic LCG (Knuth's MMIX constants) so the property test needs no extra crate.
    struct Lcg(u64);
    impl Lcg {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    #[test]
    fn property_generated_records_parse_back() {
        let mut rng = Lcg(0xCCCD);
        let names = ["NGUYỄN VĂN AN", "Trần Thị Bích Ngọc", "LÊ HOÀNG", "Đặng Thu Thảo", "H'Hen Niê"];
        for _ in 0..3000 {
            let birth = date!(1920 - 01 - 01) + time::Duration::days(rng.below(365 * 104) as i64);
            let sex = if rng.below(2) == 0 { Sex::Male } else { Sex::Female };
            let century_digit = (birth.year() / 100 - 19) * 2 + i32::from(sex == Sex::Female);
            let province = [1, 31, 48, 79, 92, 96, 175][rng.below(7) as usize];
            let id = format!("{province:03}{century_digit}{:02}{:06}", birth.year() % 100, rng.below(1_000_000));
            let slashed = rng.below(2) == 0;
            let fmt_date = |d: Date| {
                let (dd, mm, yy) = (d.day(), u8::from(d.month()), d.year());
                if slashed { format!("{dd:02}/{mm:02}/{yy}") } else { format!("{dd:02}{mm:02}{yy}") }
            };
            let issue = birth + time::Duration::days(rng.below(365 * 30) as i64);
            let sex_text = match (sex, rng.below(3)) {
                (Sex::Male, _) => "Nam",
                (Sex::Female, 0) => "Nữ",
                (Sex::Female, 1) => NU_DECOMPOSED,
                (Sex::Female, _) => "Nư\u{303}",
            };
            let old = if rng.below(2) == 0 { String::new() } else { format!("{:09}", rng.below(1_000_000_000)) };
            let name = names[rng.below(names.len() as u64) as usize];
            let (text, want_old, want_issue) = match rng.below(3) {
                0 => (format!("{id}|{old}|{name}|{}|{sex_text}|Hà Nội|{}", fmt_date(birth), fmt_date(issue)), !old.is_empty(), true),
                1 => (format!("{id}|{name}|{}|{sex_text}|Hà Nội|{}", fmt_date(birth), fmt_date(issue)), false, true),
                _ => (format!("{id}|{old}|{name}|{}|{sex_text}|Hà Nội", fmt_date(birth)), !old.is_empty(), false),
            };
            let qr = parse(&text);
            assert_eq!(qr.personal_id.as_str(), id);
            assert_eq!(qr.old_id.is_some(), want_old, "{text}");
            assert_eq!(qr.full_name, name);
            assert_eq!((qr.birth_date, qr.sex), (birth, sex), "{text}");
            assert_eq!(qr.issue_date, want_issue.then_some(issue), "{text}");

            // The same record with the other sex must be caught by the cross-check.
            let flipped =
                if sex == Sex::Male { text.replacen("|Nam|", "|Nữ|", 1) } else { text.replacen(&format!("|{sex_text}|"), "|Nam|", 1) };
            assert!(matches!(CccdQr::parse(&flipped), Err(E::Mismatch(_))), "{flipped}");
        }
    }
}
