//! The OpenID Connect scopes of a request, a consent or a grant (RFC 6749 §3.3): a list in the
//! order asked, stored space-separated and carried as a JSON array.

use std::ops::Deref;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Space-separated, as the `scope` parameter and the database write them.
    pub fn parse(text: &str) -> Self {
        Self(text.split_ascii_whitespace().map(str::to_owned).collect())
    }

    /// Space-separated, as the `scope` parameter and the database write them.
    pub fn joined(&self) -> String {
        self.0.join(" ")
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    /// Whether every one of `wanted` is here.
    pub fn covers(&self, wanted: &Scopes) -> bool {
        wanted.0.iter().all(|s| self.contains(s))
    }

    /// These, then those of `more` not among them.
    pub fn union(&self, more: &Scopes) -> Scopes {
        let mut out = self.0.clone();
        for s in &more.0 {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        Scopes(out)
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

impl Deref for Scopes {
    type Target = [String];

    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl From<Vec<String>> for Scopes {
    fn from(v: Vec<String>) -> Self {
        Self(v)
    }
}

impl FromIterator<String> for Scopes {
    fn from_iter<I: IntoIterator<Item = String>>(it: I) -> Self {
        Self(it.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Scopes {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::Scopes;

    #[test]
    fn parse_cover_union_join() {
        let granted = Scopes::parse("openid  profile");
        assert_eq!(granted.joined(), "openid profile");
        assert!(granted.covers(&Scopes::parse("openid")));
        assert!(!granted.covers(&Scopes::parse("openid email")));
        assert_eq!(granted.union(&Scopes::parse("openid email")).joined(), "openid profile email");
        assert_eq!(serde_json::to_string(&granted).unwrap(), r#"["openid","profile"]"#);
        assert_eq!(serde_json::from_str::<Scopes>(r#"["openid"]"#).unwrap(), Scopes::parse("openid"));
    }
}
