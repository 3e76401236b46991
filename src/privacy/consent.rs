//! Consent decisions: a portal receives a scope only if the person allowed it.

use crate::scope::Scopes;

/// Whether an earlier consent covers every requested scope. `openid` alone needs no consent
/// beyond the sign-in itself, but a remembered consent record is still required.
pub fn covers(granted: &Scopes, requested: &Scopes) -> bool {
    granted.covers(requested)
}

/// What to remember after an approval: the union, so approving fewer scopes later does not
/// silently withdraw what was granted before.
pub fn merge(granted: &Scopes, requested: &Scopes) -> Scopes {
    granted.union(requested)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Scopes {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn coverage_and_merge() {
        assert!(covers(&v(&["openid", "profile"]), &v(&["openid"])));
        assert!(!covers(&v(&["openid"]), &v(&["openid", "email"])));
        assert_eq!(merge(&v(&["openid", "profile"]), &v(&["openid", "email"])), v(&["openid", "profile", "email"]));
    }
}
