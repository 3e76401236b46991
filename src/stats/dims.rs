//! The breakdowns of the statistics: every value is one of a small, fixed set (or a portal's
//! id), so that no dimension carries a person.

use crate::identity::{Person, PersonalId, Sex};

/// Days are counted in Viet Nam's time (UTC+7, no daylight saving): a sign-in at 23:30 in Hà Nội
/// belongs to that day.
pub const DAY_OFFSET_SECS: i64 = 7 * 3600;

/// The day (`YYYY-MM-DD`, Viet Nam time) of a timestamp.
pub fn day_of(at: i64) -> String {
    let days = (at + DAY_OFFSET_SECS).div_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to a proleptic Gregorian date.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

pub const GENDERS: [&str; 3] = ["female", "male", "unknown"];

pub fn gender(sex: Option<Sex>) -> &'static str {
    match sex {
        Some(Sex::Female) => "female",
        Some(Sex::Male) => "male",
        None => "unknown",
    }
}

/// The age bands of the monitoring centre's reports.
pub const AGE_BANDS: [&str; 8] = ["under_18", "18_24", "25_34", "35_44", "45_54", "55_64", "65_plus", "unknown"];

/// The band of a person born on `birthdate` (`YYYY-MM-DD`), on `day` (`YYYY-MM-DD`).
pub fn age_band(birthdate: Option<&str>, day: &str) -> &'static str {
    let Some(age) = birthdate.and_then(|b| age_on(b, day)) else { return "unknown" };
    match age {
        ..=17 => "under_18",
        18..=24 => "18_24",
        25..=34 => "25_34",
        35..=44 => "35_44",
        45..=54 => "45_54",
        55..=64 => "55_64",
        _ => "65_plus",
    }
}

/// Completed years between two ISO dates (the strings compare as dates once split).
fn age_on(birthdate: &str, day: &str) -> Option<i64> {
    let parse = |s: &str| -> Option<(i64, u32, u32)> {
        let mut it = s.get(..10)?.split('-');
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    };
    let (by, bm, bd) = parse(birthdate)?;
    let (y, m, d) = parse(day)?;
    let age = y - by - i64::from((m, d) < (bm, bd));
    (0..150).contains(&age).then_some(age)
}

/// The province: the birthplace code at the start of the personal ID (Circular 59/2021: the
/// first three digits), e.g. `001` for Hà Nội. Codes of 100 and above are births abroad, kept
/// as one value.
pub fn province(id: &PersonalId) -> String {
    if id.born_abroad() { "abroad".into() } else { format!("{:03}", id.birthplace_code()) }
}

/// The three demographic values of one person on one day.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Demographics {
    pub gender: &'static str,
    pub age_band: &'static str,
    pub province: String,
}

impl Demographics {
    pub const UNKNOWN: Demographics = Demographics { gender: "unknown", age_band: "unknown", province: String::new() };

    pub fn of(person: &Person, day: &str) -> Self {
        Self::from_parts(Some(&person.personal_id), person.sex, person.birthdate_iso().as_deref(), day)
    }

    /// From what is known: a verified credential carries these without a stored person.
    pub fn from_parts(personal_id: Option<&PersonalId>, sex: Option<Sex>, birthdate: Option<&str>, day: &str) -> Self {
        // The personal ID encodes the sex, so a record without one is still counted.
        let sex = sex.or(personal_id.map(PersonalId::sex));
        Self { gender: gender(sex), age_band: age_band(birthdate, day), province: personal_id.map(province).unwrap_or_default() }
    }

    pub fn province(&self) -> &str {
        if self.province.is_empty() { "unknown" } else { &self.province }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_counted_in_viet_nam_time() {
        assert_eq!(day_of(0), "1970-01-01");
        // 2026-12-07 16:59:59 UTC is 23:59:59 in Hà Nội; a second later it is the 8th there.
        assert_eq!(day_of(1_796_662_799), "2026-12-07");
        assert_eq!(day_of(1_796_662_800), "2026-12-08");
        assert_eq!(day_of(951_782_400 - 7 * 3600), "2000-02-29");
    }

    #[test]
    fn age_bands_count_completed_years() {
        assert_eq!(age_band(Some("2008-12-08"), "2026-12-07"), "under_18");
        assert_eq!(age_band(Some("2008-12-07"), "2026-12-07"), "18_24");
        assert_eq!(age_band(Some("1961-01-01"), "2026-12-07"), "65_plus");
        assert_eq!(age_band(Some("1990-06-15"), "2026-12-07"), "35_44");
        assert_eq!(age_band(None, "2026-12-07"), "unknown");
        assert_eq!(age_band(Some("not a date"), "2026-12-07"), "unknown");
    }
}
