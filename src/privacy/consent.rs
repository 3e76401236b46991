//! Consent decisions: a portal receives a scope only if the person allowed it.

/// Whether an earlier consent covers every requested scope. `openid` alone needs no consent
/// beyond the sign-in itself, but a remembered consent record is still required.
pub fn covers(granted: &[String], requested: &[String]) -> bool {
    requested.iter().all(|s| granted.contains(s))
}

/// What to remember after an approval: the union, so approving fewer scopes later does not
/// silently withdraw what was granted before.
pub fn merge(granted: &[String], requested: &[String]) -> Vec<String> {
    let mut out: Vec<String> = granted.to_vec();
    for s in requested {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn coverage_and_merge() {
        assert!(covers(&v(&["openid", "profile"]), &v(&["openid"])));
        assert!(!covers(&v(&["openid"]), &v(&["openid", "email"])));
        assert_eq!(merge(&v(&["openid", "profile"]), &v(&["openid", "email"])), v(&["openid", "profile", "email"]));
    }
}
