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
    1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37,
    38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77,
    79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96,
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
            Err(PersonalIdError::Mismatch {
                id_sex,
                id_year,
                sex: sex.unwrap_or(id_sex),
                year: birth_year.unwrap_or(id_year),
            })
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
}
