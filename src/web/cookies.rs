//! Cookie names and attributes. Every cookie is `__Host-` (Secure, Path=/, no Domain), HttpOnly
//! and SameSite=Lax: sent on the top-level navigation back from a portal, never on cross-site
//! sub-requests or cross-site POSTs.

use axum_extra::extract::cookie::{Cookie, SameSite};
use time::Duration;

/// Binds a sign-in in progress to the browser that started it. Not a credential.
pub const BROWSER: &str = "__Host-nixa-b";
/// The SSO session secret.
pub const SESSION: &str = "__Host-nixa-s";
/// The page language chosen with the language switch.
pub const LANG: &str = "__Host-nixa-lang";
/// A person part-way through activation or recovery (`enrol::ticket`).
pub const ENROL: &str = "__Host-nixa-enrol";

pub fn build(name: &'static str, value: String, max_age: Option<i64>) -> Cookie<'static> {
    let mut c = Cookie::build((name, value)).path("/").secure(true).http_only(true).same_site(SameSite::Lax).build();
    if let Some(secs) = max_age {
        c.set_max_age(Duration::seconds(secs));
    }
    c
}

pub fn removal(name: &'static str) -> Cookie<'static> {
    build(name, String::new(), Some(0))
}
