//! Strict parsing of form and query parameters. RFC 6749 §3.1: a parameter sent more than once
//! is an error, and so is a parameter without a value treated as present.

use std::collections::HashMap;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormError {
    #[error("the request body or query is not valid application/x-www-form-urlencoded")]
    Malformed,
    #[error("parameter {0} is included more than once")]
    Duplicate(String),
}

#[derive(Debug, Default, Clone)]
pub struct Params {
    map: HashMap<String, String>,
    /// The first parameter that was sent more than once (its first value is kept).
    duplicate: Option<String>,
}

impl Params {
    /// Parses, remembering a repeated parameter so that the caller decides where to report it.
    pub fn parse_lenient(input: &[u8]) -> Result<Self, FormError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(input).map_err(|_| FormError::Malformed)?;
        let mut map = HashMap::with_capacity(pairs.len());
        let mut duplicate = None;
        for (k, v) in pairs {
            match map.entry(k) {
                std::collections::hash_map::Entry::Occupied(e) => {
                    duplicate.get_or_insert_with(|| e.key().clone());
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(v);
                }
            }
        }
        Ok(Self { map, duplicate })
    }

    pub fn parse(input: &[u8]) -> Result<Self, FormError> {
        let p = Self::parse_lenient(input)?;
        match p.duplicate {
            Some(d) => Err(FormError::Duplicate(d)),
            None => Ok(p),
        }
    }

    /// The query string of a page request (`RawQuery`), leniently: a malformed or repeated
    /// parameter must not keep a person from the page, which checks what it uses.
    pub fn from_query(q: &Option<String>) -> Self {
        Self::parse_lenient(q.as_deref().unwrap_or_default().as_bytes()).unwrap_or_default()
    }

    /// Parameters that did not come from a form (a request object's claims).
    pub fn from_map(map: HashMap<String, String>) -> Self {
        Self { map, duplicate: None }
    }

    pub fn duplicate(&self) -> Option<&str> {
        self.duplicate.as_deref()
    }

    /// The value of a parameter; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_and_empties() {
        let p = Params::parse(b"a=1&b=&c=%20x").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some(" x"));
        assert_eq!(Params::parse(b"a=1&a=2").unwrap_err(), FormError::Duplicate("a".into()));
        assert_eq!(Params::parse_lenient(b"a=1&a=2").unwrap().duplicate(), Some("a"));
    }
}
