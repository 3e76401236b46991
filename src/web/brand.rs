//! What people see the platform called and who runs it: the public name (default "Định danh
//! điện tử quốc gia" / "National electronic identification"), the operator's name and the
//! help contact, from the configuration. Every page's header and footer read them; a layer
//! makes the server's brand current for each request ([`layer`]), so templates need not carry
//! it and two servers in one process (the tests) keep their own.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::i18n::Locale;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Brand {
    /// The platform's public name in both languages; `None`: the built-in one.
    pub platform_name: Option<crate::client::Bilingual>,
    /// Who runs this installation (the footer's first line); `None`: a generic line.
    pub operator_name: Option<String>,
    /// Where people get help: a telephone number, an e-mail address or a web address.
    pub help_contact: Option<String>,
}

/// The built-in public name, as the locale files give it in Vietnamese (`app.name`), for the
/// places outside a page (the name a passkey is saved under).
pub const DEFAULT_NAME: &str = "Định danh điện tử quốc gia";

tokio::task_local! {
    static CURRENT: Arc<Brand>;
}

/// Handles the request with this server's brand current.
pub async fn layer(State(brand): State<Arc<Brand>>, req: Request, next: Next) -> Response {
    CURRENT.scope(brand, next.run(req)).await
}

fn with<T>(f: impl Fn(&Brand) -> T) -> T {
    CURRENT.try_with(|b| f(b)).unwrap_or_else(|_| f(&Brand::default()))
}

pub fn platform_name(locale: Locale) -> String {
    with(|b| b.platform_name.as_ref().map(|n| locale.pick(n).to_string())).unwrap_or_else(|| locale.t("app.name"))
}

pub fn operator_name(locale: Locale) -> String {
    with(|b| b.operator_name.clone()).unwrap_or_else(|| locale.t("footer.operator_default"))
}

pub fn help_contact() -> Option<String> {
    with(|b| b.help_contact.clone())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_name_is_the_vietnamese_locale_name() {
        assert_eq!(super::DEFAULT_NAME, crate::web::i18n::Locale::Vi.t("app.name"));
    }
}
