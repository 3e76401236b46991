//! Finding a person as a helpdesk does: by name typed without diacritics ("nguyen van an" finds
//! "Nguyễn Văn An"), birth date, phone, or the exact personal ID.

use unicode_normalization::UnicodeNormalization;

/// A name as it is searched: lower case, without diacritics (đ as d), single spaces.
pub fn fold(name: &str) -> String {
    let bare: String = name
        .nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect();
    bare.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What the helpdesk typed, sorted out: at least one criterion; all of them must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonQuery {
    pub personal_id: Option<String>,
    /// Folded; matches names that start with it.
    pub name: Option<String>,
    /// `YYYY-MM-DD`.
    pub birthdate: Option<String>,
    pub phone: Option<String>,
}

impl PersonQuery {
    /// From one search box and an optional birth date: 12 digits are a personal ID, other
    /// digits (with `+`, spaces) a phone number, anything else a name.
    pub fn parse(text: &str, birthdate: Option<&str>) -> Self {
        let t = text.trim();
        let mut q = Self::default();
        let digits: String = t.chars().filter(char::is_ascii_digit).collect();
        if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '+' || c == ' ' || c == '.' || c == '-') {
            if digits.len() == 12 && t.chars().all(|c| c.is_ascii_digit()) {
                q.personal_id = Some(digits);
            } else {
                q.phone = Some(t.chars().filter(|c| !c.is_whitespace() && *c != '.' && *c != '-').collect());
            }
        } else if !t.is_empty() {
            q.name = Some(fold(t)).filter(|n| !n.is_empty());
        }
        q.birthdate = birthdate.map(str::trim).filter(|b| b.len() == 10).map(str::to_string);
        q
    }

    pub fn is_empty(&self) -> bool {
        self.personal_id.is_none() && self.name.is_none() && self.birthdate.is_none() && self.phone.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_to_plain_lower_case() {
        assert_eq!(fold("Nguyễn Văn An"), "nguyen van an");
        assert_eq!(fold("  ĐẶNG   Thị  Hồng "), "dang thi hong");
        assert_eq!(fold("Trần Thị Bình"), fold("tran thi binh"));
    }

    #[test]
    fn one_box_tells_ids_phones_and_names_apart() {
        assert_eq!(PersonQuery::parse("001090001234", None).personal_id.as_deref(), Some("001090001234"));
        assert_eq!(PersonQuery::parse("+84 912 345 678", None).phone.as_deref(), Some("+84912345678"));
        let q = PersonQuery::parse("nguyen van an", Some("1990-01-15"));
        assert_eq!((q.name.as_deref(), q.birthdate.as_deref()), (Some("nguyen van an"), Some("1990-01-15")));
        assert!(PersonQuery::parse("  ", None).is_empty());
    }
}
