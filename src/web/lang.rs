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

tokio::task_local! {
    /// The path and query of the GET request being handled, for error pages' language switch.
    static PAGE: Option<String>;
}

/// Keeps the address of a GET request at hand while it is handled, so that an error page can
/// offer the same page in the other language ([`switch_for_error`]).
pub async fn remember_page(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let page = (req.method() == axum::http::Method::GET).then(|| req.uri().path_and_query().map(|p| p.as_str().to_string())).flatten();
    PAGE.scope(page, next.run(req)).await
}

/// The link to the page being shown, in the other language; `None` outside a GET request (a
/// form cannot be sent again by a link).
pub fn switch_for_error(locale: Locale) -> Option<String> {
    let page = PAGE.try_with(Clone::clone).ok().flatten()?;
    let mut url = url::Url::parse(&format!("http://page{page}")).ok()?;
    let kept: Vec<(String, String)> =
        url.query_pairs().filter(|(k, _)| k != "lang").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    url.query_pairs_mut().clear().extend_pairs(kept).append_pair("lang", locale.other().as_str());
    Some(format!("{}?{}", url.path(), url.query().unwrap_or_default()))
}
