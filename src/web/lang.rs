//! The language of a page, and remembering a person's explicit choice of it.

use axum::http::{HeaderMap, header};
use axum_extra::extract::CookieJar;

use super::cookies;
use super::i18n::Locale;

/// Page language: an explicit choice (`lang` link, then its cookie), then the portal's
/// `ui_locales`, then the browser's Accept-Language, then the configured default.
pub fn page_locale(default: Locale, headers: &HeaderMap, jar: &CookieJar, ui_locales: Option<&str>, lang: Option<&str>) -> Locale {
    lang.and_then(Locale::parse)
        .or_else(|| jar.get(cookies::LANG).and_then(|c| Locale::parse(c.value())))
        .or_else(|| ui_locales.and_then(Locale::from_ui_locales))
        .or_else(|| headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Locale::from_accept_language))
        .unwrap_or(default)
}

/// Remembers an explicit language choice.
pub fn remember_lang(jar: CookieJar, lang: Option<&str>) -> CookieJar {
    match lang.and_then(Locale::parse) {
        Some(l) => jar.add(cookies::build(cookies::LANG, l.as_str().to_string(), Some(365 * 24 * 3600))),
        None => jar,
    }
}
