//! Organisations: enterprises (by tax code) and agencies.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxCodeError {
    #[error("a tax code is 10 digits, 10 digits with a -NNN branch suffix, or a 12-digit personal tax code")]
    Format,
    #[error("the check digit of tax code {0} is wrong")]
    CheckDigit(String),
}

/// Enterprise tax code (mã số thuế): 10 digits with a mod-11 check digit, optional `-NNN` branch.
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
                let sum: u32 = WEIGHTS.iter().zip(&d).map(|(w, x)| w * x).sum();
                let check = 10 - (sum % 11);
                if check == 10 || check != d[9] {
                    return Err(TaxCodeError::CheckDigit(main.to_string()));
                }
            }
            12 if branch.is_none() => {}
            _ => return Err(TaxCodeError::Format),
        }
        Ok(Self(s.to_string()))
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
}
