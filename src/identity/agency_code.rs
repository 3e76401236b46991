//! Agency electronic identifier (mã định danh điện tử của cơ quan, tổ chức; Decision 20/2020/QĐ-TTg,
//! coding per QCVN 102:2016/BTTTT): `AAA.BB.CC.Xnn`, e.g. `000.00.18.G12`.
//!
//! Read right to left, from the top of the hierarchy down:
//!
//! | Group | Width | Level | Example in `000.00.18.G12` |
//! |---|---|---|---|
//! | `Xnn` (4th) | letter + 2 digits | level 1: `G` central agency, `H` province | `G12` Ministry of Finance |
//! | `CC` (3rd) | 2 digits | level 2 unit under level 1 | `18` General Department of Taxation |
//! | `BB` (2nd) | 2 digits | level 3 unit under level 2 | `00` not used |
//! | `AAA` (1st) | 3 digits | level 4 unit under level 3 | `000` not used |
//!
//! The full QCVN 102:2016 text was not available, so two rules here are inferred from the
//! published examples rather than quoted (see the reference notes, section 1(e)):
//! - only `G` and `H` are accepted as level-1 letters, since they are the only ones observed;
//! - all-zero groups mean "level not used", and a level can only be used when every level above
//!   it is, so `000.05.00.G12` (a level-3 unit with no level-2 parent) is rejected. That rule is
//!   what makes [`AgencyCode::parent`] and [`AgencyCode::is_ancestor_of`] a proper tree.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgencyCodeError {
    #[error("an agency code has four dot-separated groups, AAA.BB.CC.Xnn (e.g. 000.00.00.G22); found {0}")]
    GroupCount(usize),
    #[error("the first group (level-4 unit) of an agency code is exactly 3 digits, e.g. 000")]
    Level4,
    #[error("the second group (level-3 unit) of an agency code is exactly 2 digits, e.g. 00")]
    Level3,
    #[error("the third group (level-2 unit) of an agency code is exactly 2 digits, e.g. 18")]
    Level2,
    #[error("the last group (level-1 unit) of an agency code is a letter and 2 digits, e.g. G22")]
    Level1Shape,
    #[error("the level-1 letter of an agency code is G (central agency) or H (province); found {0:?}")]
    Level1Letter(char),
    #[error("the level-{level} group of an agency code is set while the level-{parent} group above it is zero")]
    SkippedLevel { level: u8, parent: u8 },
}

/// Whether a level-1 unit is a central body or a province.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgencyKind {
    /// `G`: ministries, ministerial-level agencies, bodies under the Government.
    Central,
    /// `H`: provincial People's Councils and Committees.
    Provincial,
}

impl AgencyKind {
    pub fn letter(self) -> char {
        match self {
            AgencyKind::Central => 'G',
            AgencyKind::Provincial => 'H',
        }
    }

    fn from_letter(c: char) -> Option<Self> {
        match c {
            'G' => Some(AgencyKind::Central),
            'H' => Some(AgencyKind::Provincial),
            _ => None,
        }
    }
}

/// The level-1 unit an agency belongs to: the last group of its code, e.g. `G12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Level1Unit {
    pub kind: AgencyKind,
    pub number: u8,
}

impl std::fmt::Display for Level1Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{:02}", self.kind.letter(), self.number)
    }
}

/// A validated agency code. The string is kept as given (it is already canonical once valid), and
/// the groups are kept decoded so that hierarchy questions need no re-parsing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AgencyCode {
    code: String,
    /// Level-2, level-3 and level-4 unit numbers, 0 when the level is not used.
    sub: [u16; 3],
    level1: Level1Unit,
}

/// Parses a group of exactly `width` ASCII digits; `str::parse` alone would also take `+1`.
fn digits(group: &str, width: usize) -> Option<u16> {
    if group.len() != width || !group.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    group.parse().ok()
}

impl AgencyCode {
    pub fn parse(input: &str) -> Result<Self, AgencyCodeError> {
        let s = input.trim();
        let groups: Vec<&str> = s.split('.').collect();
        let [l4, l3, l2, l1] = groups[..] else {
            return Err(AgencyCodeError::GroupCount(groups.len()));
        };
        let level4 = digits(l4, 3).ok_or(AgencyCodeError::Level4)?;
        let level3 = digits(l3, 2).ok_or(AgencyCodeError::Level3)?;
        let level2 = digits(l2, 2).ok_or(AgencyCodeError::Level2)?;

        let mut chars = l1.chars();
        let letter = chars.next().ok_or(AgencyCodeError::Level1Shape)?;
        let number = digits(chars.as_str(), 2).ok_or(AgencyCodeError::Level1Shape)?;
        let kind = AgencyKind::from_letter(letter).ok_or(AgencyCodeError::Level1Letter(letter))?;
        let number = u8::try_from(number).map_err(|_| AgencyCodeError::Level1Shape)?;

        if level2 == 0 && level3 != 0 {
            return Err(AgencyCodeError::SkippedLevel { level: 3, parent: 2 });
        }
        if level3 == 0 && level4 != 0 {
            return Err(AgencyCodeError::SkippedLevel { level: 4, parent: 3 });
        }
        Ok(Self { code: s.to_string(), sub: [level2, level3, level4], level1: Level1Unit { kind, number } })
    }

    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// The level-1 unit (ministry, central body or province) at the top of this agency's tree.
    pub fn level1_unit(&self) -> Level1Unit {
        self.level1
    }

    pub fn kind(&self) -> AgencyKind {
        self.level1.kind
    }

    /// Depth in the hierarchy: 1 for a level-1 unit such as `000.00.00.G12`, up to 4.
    pub fn level(&self) -> u8 {
        match self.sub {
            [0, _, _] => 1,
            [_, 0, _] => 2,
            [_, _, 0] => 3,
            _ => 4,
        }
    }

    /// The unit directly above this one, or `None` for a level-1 unit.
    ///
    /// Rule: the lowest level in use (the leftmost non-zero group, since levels are filled from
    /// the right) is reset to zeros. `001.02.18.G12` → `000.02.18.G12` → `000.00.18.G12` →
    /// `000.00.00.G12` → `None`. Because parsing rejects skipped levels, this is always one step up.
    pub fn parent(&self) -> Option<AgencyCode> {
        let mut sub = self.sub;
        let lowest = sub.iter().rposition(|&n| n != 0)?;
        sub[lowest] = 0;
        Some(Self::from_parts(sub, self.level1))
    }

    /// True if `other` sits strictly below this unit in the same tree (a code is not its own
    /// ancestor). A unit is an ancestor when every level it uses matches and `other` goes deeper.
    pub fn is_ancestor_of(&self, other: &AgencyCode) -> bool {
        let depth = usize::from(self.level()) - 1;
        self.level1 == other.level1 && self.level() < other.level() && self.sub[..depth] == other.sub[..depth]
    }

    fn from_parts(sub: [u16; 3], level1: Level1Unit) -> Self {
        let [level2, level3, level4] = sub;
        let code = format!("{level4:03}.{level3:02}.{level2:02}.{level1}");
        Self { code, sub, level1 }
    }
}

impl std::fmt::Display for AgencyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.code)
    }
}

impl std::str::FromStr for AgencyCode {
    type Err = AgencyCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for AgencyCode {
    type Error = AgencyCodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<AgencyCode> for String {
    fn from(a: AgencyCode) -> String {
        a.code
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AgencyCodeError as E;

    fn code(s: &str) -> AgencyCode {
        AgencyCode::parse(s).unwrap()
    }

    #[test]
    fn valid_codes() {
        // (code, level-1 unit, kind, depth)
        let cases = [
            ("000.00.00.G22", "G22", AgencyKind::Central, 1), // Government Office (VPCP)
            ("000.00.00.G12", "G12", AgencyKind::Central, 1), // Ministry of Finance
            ("000.00.18.G12", "G12", AgencyKind::Central, 2), // General Department of Taxation
            ("000.00.00.G09", "G09", AgencyKind::Central, 1), // Ministry of Home Affairs
            ("000.00.00.G17", "G17", AgencyKind::Central, 1), // Ministry of Construction
            ("000.00.04.G14", "G14", AgencyKind::Central, 2),
            ("000.00.00.H41", "H41", AgencyKind::Provincial, 1), // Nghệ An PPC
            ("000.00.00.H14", "H14", AgencyKind::Provincial, 1),
            ("000.00.00.H29", "H29", AgencyKind::Provincial, 1),
            ("000.00.00.H30", "H30", AgencyKind::Provincial, 1), // Hậu Giang PPC
            ("000.00.12.H41", "H41", AgencyKind::Provincial, 2),
            ("000.01.21.H41", "H41", AgencyKind::Provincial, 3),
            ("001.01.21.H41", "H41", AgencyKind::Provincial, 4),
            ("999.99.99.H99", "H99", AgencyKind::Provincial, 4),
            (" 000.00.18.G12\n", "G12", AgencyKind::Central, 2),
        ];
        for (input, unit, kind, depth) in cases {
            let a = AgencyCode::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(a.as_str(), input.trim());
            assert_eq!(a.to_string(), input.trim());
            assert_eq!(a.level1_unit().to_string(), unit, "{input}");
            assert_eq!(a.kind(), kind, "{input}");
            assert_eq!(a.level(), depth, "{input}");
        }
    }

    #[test]
    fn invalid_codes() {
        let cases = [
            ("", E::GroupCount(1)),
            ("000000000G22", E::GroupCount(1)),
            ("000.00.G22", E::GroupCount(3)),
            ("000.00.00.00.G22", E::GroupCount(5)),
            ("000.00.00.G09.2010.01.TH", E::GroupCount(7)), // a document code, not an agency
            ("VN:GOV:000.00.00.G22:vpcpdvcprovider", E::Level4), // an X-Road address, not a bare code
            ("00.00.00.G22", E::Level4),
            ("0000.00.00.G22", E::Level4),
            ("+00.00.00.G22", E::Level4),
            ("000.0.00.G22", E::Level3),
            ("000.0a.00.G22", E::Level3),
            ("000.00.180.G12", E::Level2),
            ("000.00.1８.G12", E::Level2), // full-width digit
            ("000.00.00.G2", E::Level1Shape),
            ("000.00.00.G222", E::Level1Shape),
            ("000.00.00.22", E::Level1Shape),
            ("000.00.00.", E::Level1Shape),
            ("000.00.00.g22", E::Level1Letter('g')),
            ("000.00.00.A01", E::Level1Letter('A')),
            ("000.00.00.K01", E::Level1Letter('K')),
            ("000.00.00.Ğ22", E::Level1Letter('Ğ')),
            ("000.05.00.G12", E::SkippedLevel { level: 3, parent: 2 }),
            ("001.00.18.G12", E::SkippedLevel { level: 4, parent: 3 }),
            ("001.00.00.H29", E::SkippedLevel { level: 4, parent: 3 }),
        ];
        for (input, err) in cases {
            assert_eq!(AgencyCode::parse(input), Err(err), "{input:?}");
        }
    }

    #[test]
    fn parent_chain() {
        let a = code("001.02.18.G12");
        let chain: Vec<String> = std::iter::successors(Some(a), AgencyCode::parent).map(String::from).collect();
        assert_eq!(chain, ["001.02.18.G12", "000.02.18.G12", "000.00.18.G12", "000.00.00.G12"]);
        assert_eq!(code("000.00.00.H29").parent(), None);
        assert_eq!(code("000.00.18.G12").parent(), Some(code("000.00.00.G12")));
    }

    #[test]
    fn ancestry() {
        let mof = code("000.00.00.G12");
        let gdt = code("000.00.18.G12");
        let dept = code("000.03.18.G12");
        let office = code("007.03.18.G12");
        assert!(mof.is_ancestor_of(&gdt));
        assert!(mof.is_ancestor_of(&office));
        assert!(gdt.is_ancestor_of(&dept));
        assert!(gdt.is_ancestor_of(&office));
        assert!(dept.is_ancestor_of(&office));
        assert!(!gdt.is_ancestor_of(&gdt), "not its own ancestor");
        assert!(!gdt.is_ancestor_of(&mof), "not upwards");
        assert!(!code("000.00.17.G12").is_ancestor_of(&dept), "sibling subtree");
        assert!(!code("000.00.00.H12").is_ancestor_of(&gdt), "same number, other kind");
        assert!(!code("000.00.00.G13").is_ancestor_of(&gdt), "other ministry");
        assert!(!code("000.04.18.G12").is_ancestor_of(&office), "cousin");
    }

    #[test]
    fn serde_round_trip() {
        let a = code("000.00.18.G12");
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"000.00.18.G12\"");
        assert_eq!(serde_json::from_str::<AgencyCode>(&json).unwrap(), a);
        assert!(serde_json::from_str::<AgencyCode>("\"000.00.18.X12\"").is_err());
        assert_eq!("000.00.00.H41".parse::<AgencyCode>().unwrap().kind(), AgencyKind::Provincial);
    }

    /// Tiny deterministic LCG (Knuth's MMIX constants) so the property tests need no extra crate.
    struct Lcg(u64);
    impl Lcg {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    #[test]
    fn property_generated_codes_round_trip_and_climb_to_level1() {
        let mut rng = Lcg(20_2020);
        for _ in 0..5000 {
            let depth = 1 + rng.below(4);
            let mut pick = |level: u64, max: u64| if depth >= level { 1 + rng.below(max) } else { 0 };
            let (l2, l3, l4) = (pick(2, 99), pick(3, 99), pick(4, 999));
            let letter = if rng.below(2) == 0 { 'G' } else { 'H' };
            let s = format!("{l4:03}.{l3:02}.{l2:02}.{letter}{:02}", rng.below(100));
            let a = AgencyCode::parse(&s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(a.to_string(), s);
            assert_eq!(u64::from(a.level()), depth);
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(serde_json::from_str::<AgencyCode>(&json).unwrap(), a);

            let mut steps = 0;
            let mut cur = a.clone();
            while let Some(p) = cur.parent() {
                assert_eq!(p.level() + 1, cur.level());
                assert!(p.is_ancestor_of(&a) && !a.is_ancestor_of(&p));
                assert_eq!(AgencyCode::parse(p.as_str()).unwrap(), p, "parent is itself a valid code");
                cur = p;
                steps += 1;
            }
            assert_eq!(steps + 1, depth);
            assert_eq!(cur.level1_unit(), a.level1_unit());
        }
    }
}
