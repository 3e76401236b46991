//! A person: citizen or foreign resident holding an electronic identification account.

use serde::{Deserialize, Serialize};
use time::Date;

use super::PersonalId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "male" => Some(Sex::Male),
            "female" => Some(Sex::Female),
            _ => None,
        }
    }
}

impl std::fmt::Display for Sex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Account level of Decree 69/2024: level 1 proofed remotely, level 2 in person with the chip card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AccountLevel {
    Level1 = 1,
    Level2 = 2,
}

impl AccountLevel {
    pub fn from_i64(n: i64) -> Option<Self> {
        match n {
            1 => Some(AccountLevel::Level1),
            2 => Some(AccountLevel::Level2),
            _ => None,
        }
    }
    pub fn as_i64(self) -> i64 {
        self as i64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonStatus {
    Active,
    LockedByOwner,
    LockedByOperator,
    Deceased,
}

impl PersonStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PersonStatus::Active => "active",
            PersonStatus::LockedByOwner => "locked_by_owner",
            PersonStatus::LockedByOperator => "locked_by_operator",
            PersonStatus::Deceased => "deceased",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(PersonStatus::Active),
            "locked_by_owner" => Some(PersonStatus::LockedByOwner),
            "locked_by_operator" => Some(PersonStatus::LockedByOperator),
            "deceased" => Some(PersonStatus::Deceased),
            _ => None,
        }
    }
}

/// A person's internal id (a UUID): what every table keys on. Never the personal
/// identification number ([`PersonalId`]), and never shown outside (portals see a pairwise
/// subject).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct PersonId(String);

impl PersonId {
    /// A fresh id for a new person.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// An id read back from storage or a signed artefact of ours.
    pub fn from_stored(id: String) -> Self {
        Self(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for PersonId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// A first-party portal's public subject is the person's id.
impl PartialEq<PersonId> for String {
    fn eq(&self, other: &PersonId) -> bool {
        *self == other.0
    }
}

impl std::fmt::Display for PersonId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: PersonId,
    pub personal_id: PersonalId,
    pub family_name: String,
    pub middle_name: String,
    pub given_name: String,
    pub birthdate: Option<Date>,
    pub sex: Option<Sex>,
    /// ISO 3166-1 alpha-2.
    pub nationality: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub account_level: AccountLevel,
    pub status: PersonStatus,
}

impl Person {
    /// Vietnamese order: family, middle, given.
    pub fn full_name(&self) -> String {
        [&self.family_name, &self.middle_name, &self.given_name]
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn birthdate_iso(&self) -> Option<String> {
        self.birthdate.map(format_date)
    }
}

pub fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

pub fn parse_date(s: &str) -> Option<Date> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        let d = parse_date("1990-03-07").unwrap();
        assert_eq!(format_date(d), "1990-03-07");
        assert!(parse_date("1990-13-07").is_none());
    }
}
