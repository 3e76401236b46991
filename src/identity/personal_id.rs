//! The 12-digit personal identification number (số định danh cá nhân): `PPP G YY RRRRRR`.
//! Birthplace (province or country code), century+sex digit, two birth-year digits, six random
//! digits. There is no check digit, so none is verified.

use serde::{Deserialize, Serialize};

use super::Sex;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonalIdError {
    #[error("a personal identification number has exactly 12 digits")]
    Length,
    #[error("a personal identification number contains digits only")]
    NotDigits,
    #[error("birthplace code {0:03} is neither a province code (001–096) nor a country code (1xx–2xx)")]
    Birthplace(u16),
    #[error("the century and sex digit says {id_sex} born {id_year}, but the record says {sex} born {year}")]
    Mismatch { id_sex: Sex, id_year: i32, sex: Sex, year: i32 },
}

/// The 63 province codes in use before the 2025 merger; numbers never change, so these stay valid.
const PROVINCE_CODES: [u16; 63] = [
    1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37, 38, 40, 42, 44, 45, 46, 48, 49, 51, 52,
    54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77, 79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96,
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonalId(String);

impl PersonalId {
    pub fn parse(input: &str) -> Result<Self, PersonalIdError> {
        let s = input.trim();
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PersonalIdError::NotDigits);
        }
        if s.len() != 12 {
            return Err(PersonalIdError::Length);
        }
        let place: u16 = s[0..3].parse().map_err(|_| PersonalIdError::NotDigits)?;
        let valid_place = PROVINCE_CODES.contains(&place) || (100..300).contains(&place);
        if !valid_place {
            return Err(PersonalIdError::Birthplace(place));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birthplace_code(&self) -> u16 {
        self.0[0..3].parse().unwrap_or(0)
    }

    pub fn born_abroad(&self) -> bool {
        self.birthplace_code() >= 100
    }

    pub fn sex(&self) -> Sex {
        if self.century_digit().is_multiple_of(2) { Sex::Male } else { Sex::Female }
    }

    pub fn birth_year(&self) -> i32 {
        let yy: i32 = self.0[4..6].parse().unwrap_or(0);
        (i32::from(self.century_digit()) / 2 + 19) * 100 + yy
    }

    fn century_digit(&self) -> u8 {
        self.0.as_bytes()[3] - b'0'
    }

    /// Cross-checks the number against a record's sex and birth year when both are known.
    pub fn check_against(&self, sex: Option<Sex>, birth_year: Option<i32>) -> Result<(), PersonalIdError> {
        let (id_sex, id_year) = (self.sex(), self.birth_year());
        let sex_ok = sex.is_none_or(|s| s == id_sex);
        let year_ok = birth_year.is_none_or(|y| y == id_year);
        if sex_ok && year_ok {
            Ok(())
        } else {
            Err(PersonalIdError::Mismatch { id_sex, id_year, sex: sex.unwrap_or(id_sex), year: birth_year.unwrap_or(id_year) })
        }
    }
}

impl std::fmt::Display for PersonalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PersonalId {
    type Error = PersonalIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<PersonalId> for String {
    fn from(p: PersonalId) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_documented_example() {
        let id = PersonalId::parse("079215000001").unwrap();
        assert_eq!(id.birthplace_code(), 79);
        assert_eq!(id.sex(), Sex::Male);
        assert_eq!(id.birth_year(), 2015);
        assert!(!id.born_abroad());
    }

    #[test]
    fn century_and_sex_table() {
        for (digit, sex, century) in
            [(0, Sex::Male, 1900), (1, Sex::Female, 1900), (2, Sex::Male, 2000), (3, Sex::Female, 2000), (4, Sex::Male, 2100)]
        {
            let id = PersonalId::parse(&format!("001{digit}85123456")).unwrap();
            assert_eq!((id.sex(), id.birth_year()), (sex, century + 85));
        }
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(PersonalId::parse("07921500000"), Err(PersonalIdError::Length));
        assert_eq!(PersonalId::parse("0792150000012"), Err(PersonalIdError::Length));
        assert_eq!(PersonalId::parse("07921500000a"), Err(PersonalIdError::NotDigits));
        assert_eq!(PersonalId::parse("003215000001"), Err(PersonalIdError::Birthplace(3)));
        assert_eq!(PersonalId::parse("097215000001"), Err(PersonalIdError::Birthplace(97)));
        assert_eq!(PersonalId::parse("300215000001"), Err(PersonalIdError::Birthplace(300)));
        assert!(PersonalId::parse("175215000001").unwrap().born_abroad());
    }

    #[test]
    fn cross_check() {
        let id = PersonalId::parse("001190012345").unwrap(); // female, 1990
        assert!(id.check_against(Some(Sex::Female), Some(1990)).is_ok());
        assert!(id.check_against(None, None).is_ok());
        assert!(id.check_against(Some(Sex::Male), Some(1990)).is_err());
        assert!(id.check_against(Some(Sex::Female), Some(1991)).is_err());
    }

    #[test]
    fn valid_table() {
        // (input, birthplace code, sex, birth year, born abroad)
        let cases = [
            ("079215000001", 79, Sex::Male, 2015, false), // the documented example (TP. Hồ Chí Minh)
            ("001090123456", 1, Sex::Male, 1990, false),  // Hà Nội
            ("001190012345", 1, Sex::Female, 1990, false),
            ("002099999999", 2, Sex::Male, 1999, false),    // Hà Giang
            ("046100000001", 46, Sex::Female, 1900, false), // Thừa Thiên Huế
            ("048088000555", 48, Sex::Male, 1988, false),   // Đà Nẵng
            ("036163000123", 36, Sex::Female, 1963, false), // Nam Định
            ("077200000000", 77, Sex::Male, 2000, false),   // Bà Rịa–Vũng Tàu
            ("092301112233", 92, Sex::Female, 2001, false), // Cần Thơ
            ("096399000000", 96, Sex::Female, 2099, false), // Cà Mau, highest province code
            ("001224000001", 1, Sex::Male, 2024, false),
            ("001485000000", 1, Sex::Male, 2185, false),
            ("001585000000", 1, Sex::Female, 2185, false),
            ("001600000000", 1, Sex::Male, 2200, false),
            ("001799000000", 1, Sex::Female, 2299, false),
            ("001800000000", 1, Sex::Male, 2300, false),
            ("001999000000", 1, Sex::Female, 2399, false),
            ("175305000042", 175, Sex::Female, 2005, true),  // born in the USA
            ("232087123456", 232, Sex::Male, 1987, true),    // born in Japan
            ("240201000007", 240, Sex::Male, 2001, true),    // born in France
            ("100000000000", 100, Sex::Male, 1900, true),    // lowest country code accepted
            ("299999999999", 299, Sex::Female, 2399, true),  // highest
            (" 079215000001\n", 79, Sex::Male, 2015, false), // surrounding whitespace is trimmed
        ];
        for (input, place, sex, year, abroad) in cases {
            let id = PersonalId::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(id.as_str(), input.trim());
            assert_eq!(id.to_string(), input.trim());
            assert_eq!((id.birthplace_code(), id.sex(), id.birth_year(), id.born_abroad()), (place, sex, year, abroad), "{input:?}");
            assert!(id.check_against(Some(sex), Some(year)).is_ok());
        }
    }

    #[test]
    fn invalid_table() {
        use PersonalIdError as E;
        let cases = [
            ("", E::Length),
            ("07921500000", E::Length),
            ("0792150000012", E::Length),
            ("0792", E::Length),
            ("07921500000a", E::NotDigits),
            ("079 215000001", E::NotDigits),
            ("079-215-000001", E::NotDigits),
            ("\u{FF10}79215000001", E::NotDigits), // full-width zero
            ("+79215000001", E::NotDigits),
            ("-79215000001", E::NotDigits),
            ("79215000001.", E::NotDigits),
            ("CCCD079215000", E::NotDigits),
            ("000215000001", E::Birthplace(0)),
            ("003215000001", E::Birthplace(3)), // gaps in the province list
            ("005215000001", E::Birthplace(5)),
            ("028215000001", E::Birthplace(28)),
            ("090215000001", E::Birthplace(90)),
            ("097215000001", E::Birthplace(97)),
            ("099215000001", E::Birthplace(99)),
            ("300215000001", E::Birthplace(300)),
            ("999215000001", E::Birthplace(999)),
        ];
        for (input, err) in cases {
            assert_eq!(PersonalId::parse(input), Err(err), "{input:?}");
        }
    }

    #[test]
    fn serde_round_trip() {
        let id = PersonalId::parse("079215000001").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"079215000001\"");
        assert_eq!(serde_json::from_str::<PersonalId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<PersonalId>("\"097215000001\"").is_err());
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
    fn property_generated_numbers_decode_to_what_was_encoded() {
        let mut rng = Lcg(79_215_000_001);
        for _ in 0..5000 {
            let place = if rng.below(4) == 0 {
                100 + rng.below(200) as u16
            } else {
                PROVINCE_CODES[rng.below(PROVINCE_CODES.len() as u64) as usize]
            };
            let year = 1900 + rng.below(500) as i32;
            let sex = if rng.below(2) == 0 { Sex::Male } else { Sex::Female };
            let digit = (year / 100 - 19) * 2 + i32::from(sex == Sex::Female);
            let s = format!("{place:03}{digit}{:02}{:06}", year % 100, rng.below(1_000_000));
            let id = PersonalId::parse(&s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(id.as_str(), s);
            assert_eq!((id.birthplace_code(), id.sex(), id.birth_year(), id.born_abroad()), (place, sex, year, place >= 100));
            let back: PersonalId = serde_json::from_str(&serde_json::to_string(&id).unwrap()).unwrap();
            assert_eq!(back, id);
            assert!(id.check_against(Some(sex), Some(year)).is_ok());
            let other = if sex == Sex::Male { Sex::Female } else { Sex::Male };
            assert!(id.check_against(Some(other), None).is_err());
            assert!(id.check_against(None, Some(year + 100)).is_err());

            // Dropping or adding a digit, or any non-digit, is always caught.
            assert_eq!(PersonalId::parse(&s[1..]), Err(PersonalIdError::Length));
            assert_eq!(PersonalId::parse(&format!("{s}0")), Err(PersonalIdError::Length));
            let pos = rng.below(12) as usize;
            let bad = format!("{}x{}", &s[..pos], &s[pos + 1..]);
            assert_eq!(PersonalId::parse(&bad), Err(PersonalIdError::NotDigits));
        }
    }
}
