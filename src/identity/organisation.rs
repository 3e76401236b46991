//! Organisations: enterprises (by tax code) and agencies.

use serde::{Deserialize, Serialize};

use super::personal_id::{PersonalId, PersonalIdError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxCodeError {
    #[error("a tax code is 10 digits, 10 digits with a -NNN branch suffix, or a 12-digit personal tax code")]
    Format,
    #[error("the check digit of tax code {0} is wrong")]
    CheckDigit(String),
    #[error("digits 3 to 9 of a tax code are a sequence number from 0000001; 0000000 is never issued")]
    Sequence,
    #[error("a tax code branch suffix runs from 001 to 999")]
    Branch,
    #[error("a 12-digit personal tax code is the holder's personal identification number: {0}")]
    PersonalId(#[source] PersonalIdError),
}

/// Enterprise tax code (mã số thuế): 10 digits with a mod-11 check digit, optional `-NNN` branch;
/// or a 12-digit personal tax code, which is the holder's personal identification number.
/// Stored canonically: a branch written without its dash (`0100233488001`) is kept as
/// `0100233488-001`, so one code has one representation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TaxCode(String);

const WEIGHTS: [u32; 9] = [31, 29, 23, 19, 17, 13, 7, 5, 3];

impl TaxCode {
    pub fn parse(input: &str) -> Result<Self, TaxCodeError> {
        let s = input.trim();
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        let (main, branch) = match s.split_once('-') {
            Some((m, b)) => (m, Some(b)),
            // The branch is also written without its dash (python-stdnum, the reference notes).
            None if s.len() == 13 && digits(s) => {
                let (m, b) = s.split_at(10);
                (m, Some(b))
            }
            None => (s, None),
        };
        if let Some(b) = branch
            && !(b.len() == 3 && digits(b))
        {
            return Err(TaxCodeError::Format);
        }
        if !digits(main) {
            return Err(TaxCodeError::Format);
        }
        match main.len() {
            10 => {
                let d: Vec<u32> = main.bytes().map(|b| u32::from(b - b'0')).collect();
                if d[2..9].iter().all(|&x| x == 0) {
                    return Err(TaxCodeError::Sequence);
                }
                let sum: u32 = WEIGHTS.iter().zip(&d).map(|(w, x)| w * x).sum();
                let check = 10 - (sum % 11);
                if check == 10 || check != d[9] {
                    return Err(TaxCodeError::CheckDigit(main.to_string()));
                }
                if branch == Some("000") {
                    return Err(TaxCodeError::Branch);
                }
            }
            12 if branch.is_none() => {
                PersonalId::parse(main).map_err(TaxCodeError::PersonalId)?;
            }
            _ => return Err(TaxCodeError::Format),
        }
        Ok(Self(match branch {
            Some(b) => format!("{main}-{b}"),
            None => main.to_string(),
        }))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TaxCode {
    type Error = TaxCodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<TaxCode> for String {
    fn from(t: TaxCode) -> String {
        t.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub id: String,
    /// Tax code for enterprises, agency code for agencies.
    pub code: String,
    pub kind: String,
    pub name: String,
    pub address: Option<String>,
}

/// What a person may do for an organisation (`org_representatives.role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepresentativeRole {
    /// Người đại diện theo pháp luật.
    LegalRepresentative,
    /// Staff authorised to act for the organisation.
    AuthorisedStaff,
}

impl RepresentativeRole {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "legal_representative" => Some(Self::LegalRepresentative),
            "authorised_staff" => Some(Self::AuthorisedStaff),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::LegalRepresentative => "legal_representative",
            Self::AuthorisedStaff => "authorised_staff",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mod11_check_digit() {
        // 010010910: Σ weights×digits = 114, 10 − (114 mod 11) = 6.
        assert!(TaxCode::parse("0100109106").is_ok());
        assert!(TaxCode::parse("0100109106-001").is_ok());
        assert_eq!(TaxCode::parse("0100109107"), Err(TaxCodeError::CheckDigit("0100109107".into())));
        assert_eq!(TaxCode::parse("0100109106-01"), Err(TaxCodeError::Format));
        assert_eq!(TaxCode::parse("01001091"), Err(TaxCodeError::Format));
        assert!(TaxCode::parse("001190012345").is_ok());
    }

    #[test]
    fn worked_example_sum() {
        // Reference notes 1(e): 0·31 + 1·29 + 0·23 + 0·19 + 2·17 + 3·13 + 3·7 + 4·5 + 8·3 = 167,
        // 167 mod 11 = 2, check = 10 − 2 = 8.
        let sum: u32 = WEIGHTS.iter().zip([0, 1, 0, 0, 2, 3, 3, 4, 8]).map(|(w, d)| w * d).sum();
        assert_eq!((sum, sum % 11, 10 - sum % 11), (167, 2, 8));
    }

    #[test]
    fn table() {
        use TaxCodeError as E;
        let check = |s: &str| Err(E::CheckDigit(s.into()));
        // (input, expected: Ok(canonical form) or the error)
        let cases: Vec<(&str, Result<&str, TaxCodeError>)> = vec![
            // Valid enterprise codes (Σ mod 11 from 1 to 10, so every check digit 0–9 is exercised).
            ("0100233488", Ok("0100233488")), // the worked example
            ("0314409058", Ok("0314409058")),
            ("0314409058-002", Ok("0314409058-002")),
            ("0300588569", Ok("0300588569")), // Σ mod 11 = 1 → check 9
            ("0100112437", Ok("0100112437")),
            ("0312687878-001", Ok("0312687878-001")),
            ("0101243150", Ok("0101243150")), // Σ mod 11 = 10 → check 0
            ("0302035520", Ok("0302035520")),
            ("0106026495", Ok("0106026495")),
            ("0400101556", Ok("0400101556")),
            ("3600224423", Ok("3600224423")),
            ("0200253985-999", Ok("0200253985-999")),
            ("0312345673", Ok("0312345673")),
            // Accepted forms normalised to the canonical one.
            (" 0100233488 ", Ok("0100233488")),
            ("0314409058002", Ok("0314409058-002")),
            // 12-digit personal tax codes are personal identification numbers.
            ("079215000001", Ok("079215000001")),
            ("175305000042", Ok("175305000042")),
            // One-digit changes of the worked example.
            ("0100233489", check("0100233489")),
            ("0100233480", check("0100233480")),
            ("1100233488", check("1100233488")),
            ("0110233488", check("0110233488")),
            ("0100233588", check("0100233588")),
            ("0100233478", check("0100233478")),
            // Adjacent transposition in the worked example.
            ("0100234388", check("0100234388")),
            // Σ mod 11 = 0 would need check digit 10: no last digit is valid.
            ("0100233400", check("0100233400")),
            ("0100233409", check("0100233409")),
            // Check digit right but no sequence number.
            ("0100000003", Err(E::Sequence)),
            ("0100000003-001", Err(E::Sequence)),
            // Branches.
            ("0100233488-000", Err(E::Branch)),
            ("0100233488000", Err(E::Branch)),
            ("0100233488-01", Err(E::Format)),
            ("0100233488-0001", Err(E::Format)),
            ("0100233488-", Err(E::Format)),
            ("0100233488-00a", Err(E::Format)),
            ("0100233488-001-002", Err(E::Format)),
            ("0100233488 001", Err(E::Format)),
            ("0100233489-001", check("0100233489")),
            // Shapes.
            ("", Err(E::Format)),
            ("-001", Err(E::Format)),
            ("010023348", Err(E::Format)),
            ("01002334881", Err(E::Format)),
            ("01.00.233.488", Err(E::Format)),
            ("01002334８8", Err(E::Format)), // full-width digit
            ("MST0100233488", Err(E::Format)),
            ("079215000001-001", Err(E::Format)),
            ("01002334880011", Err(E::Format)),
            // 12 digits that are not a personal identification number.
            ("097215000001", Err(E::PersonalId(PersonalIdError::Birthplace(97)))),
            ("000000000000", Err(E::PersonalId(PersonalIdError::Birthplace(0)))),
        ];
        for (input, want) in cases {
            let got = TaxCode::parse(input);
            assert_eq!(got.as_ref().map(TaxCode::as_str).map_err(Clone::clone), want, "{input:?}");
        }
    }

    #[test]
    fn serde_round_trip() {
        let t = TaxCode::parse("0314409058002").unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"0314409058-002\"");
        assert_eq!(serde_json::from_str::<TaxCode>(&json).unwrap(), t);
        assert!(serde_json::from_str::<TaxCode>("\"0100233489\"").is_err());
    }

    /// Tiny deterministic LCG (Knuth's MMIX constants) so the property test needs no extra crate.
    struct Lcg(u64);
    impl Lcg {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    /// Builds a valid 10-digit code from a random 9-digit prefix, or `None` when the prefix's
    /// check digit would be 10.
    fn complete(prefix: [u32; 9]) -> Option<String> {
        let sum: u32 = WEIGHTS.iter().zip(prefix).map(|(w, d)| w * d).sum();
        let check = 10 - sum % 11;
        (check < 10).then(|| prefix.iter().chain([&check]).map(|&d| char::from(b'0' + d as u8)).collect())
    }

    #[test]
    fn property_valid_codes_parse_and_single_digit_errors_fail() {
        let mut rng = Lcg(100_233_488);
        let mut generated = 0;
        while generated < 2000 {
            let mut prefix = [0u32; 9];
            for d in &mut prefix {
                *d = rng.below(10) as u32;
            }
            prefix[8] = prefix[8].max(1); // keep the sequence number non-zero
            let Some(code) = complete(prefix) else { continue };
            generated += 1;
            let t = TaxCode::parse(&code).unwrap_or_else(|e| panic!("{code}: {e}"));
            assert_eq!(t.as_str(), code);
            let branch = format!("{code}-{:03}", 1 + rng.below(999));
            assert_eq!(TaxCode::parse(&branch).unwrap().as_str(), branch);

            // Every weight is non-zero mod 11 (11 is prime), so any single substitution in the
            // first nine digits moves Σ mod 11 and therefore the check digit: all must fail.
            let pos = rng.below(10) as usize;
            let mut bytes = code.clone().into_bytes();
            bytes[pos] = b'0' + ((bytes[pos] - b'0' + 1 + rng.below(9) as u8) % 10);
            let mutated = String::from_utf8(bytes).unwrap();
            assert!(TaxCode::parse(&mutated).is_err(), "{code} → {mutated}");

            // Adjacent weights differ by 2, 4 or 6, never 0 mod 11, and swapping the last prefix
            // digit with the check digit only passes if they are equal: so every adjacent
            // transposition of two different digits must fail too.
            let pos = rng.below(9) as usize;
            let mut bytes = code.clone().into_bytes();
            if bytes[pos] != bytes[pos + 1] {
                bytes.swap(pos, pos + 1);
                let swapped = String::from_utf8(bytes).unwrap();
                assert!(TaxCode::parse(&swapped).is_err(), "{code} → {swapped}");
            }
        }
    }
}
