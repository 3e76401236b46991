//! Page language: Vietnamese by default, English complete. Messages live in `locales/*.yml`
//! (rust-i18n, compiled in).

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    Vi,
    En,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::Vi, Locale::En];

    /// Accepts a BCP 47 tag by its primary language: `vi`, `vi-VN`, `en`, `en-GB`…
    pub fn parse(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        match primary.as_str() {
            "vi" => Some(Locale::Vi),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Vi => "vi",
            Locale::En => "en",
        }
    }

    /// The other language: where the language switch goes.
    pub fn other(self) -> Self {
        match self {
            Locale::Vi => Locale::En,
            Locale::En => Locale::Vi,
        }
    }

    /// The platform's public name in this language (`web::brand`).
    pub fn platform_name(self) -> String {
        super::brand::platform_name(self)
    }

    /// Who runs the platform, for the footer (`web::brand`).
    pub fn operator_name(self) -> String {
        super::brand::operator_name(self)
    }

    pub fn help_contact(self) -> Option<String> {
        super::brand::help_contact()
    }

    /// A portal's text in this language (`client::Bilingual`).
    pub fn pick(self, text: &crate::client::Bilingual) -> &str {
        match self {
            Locale::Vi => &text.vi,
            Locale::En => &text.en,
        }
    }

    /// The first supported language of a space-separated `ui_locales` list (OIDC Core §3.1.2.1).
    pub fn from_ui_locales(list: &str) -> Option<Self> {
        list.split_ascii_whitespace().find_map(Locale::parse)
    }

    /// The best supported language of an Accept-Language header, by q-value.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(f32, Locale)> = None;
        for part in header.split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or_default();
            let q = it.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
            if let Some(l) = Locale::parse(tag)
                && q > 0.0
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, l));
            }
        }
        best.map(|(_, l)| l)
    }

    pub fn t(self, key: &str) -> String {
        rust_i18n::t!(key, locale = self.as_str()).into_owned()
    }

    /// A message with `%{name}` placeholders filled in.
    pub fn t_with(self, key: &str, args: &[(&str, &str)]) -> String {
        args.iter().fold(self.t(key), |text, (name, value)| text.replace(&format!("%{{{name}}}"), value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        assert_eq!(Locale::from_ui_locales("fr-CA en-US vi"), Some(Locale::En));
        assert_eq!(Locale::from_ui_locales("fr"), None);
        assert_eq!(Locale::from_accept_language("fr;q=0.9, en;q=0.5, vi-VN;q=0.8"), Some(Locale::Vi));
        assert_eq!(Locale::from_accept_language("en"), Some(Locale::En));
        assert_eq!(Locale::from_accept_language("vi;q=0"), None);
    }

    #[test]
    fn both_catalogues_have_the_same_keys_and_every_key_resolves() {
        let keys = |text: &str| -> std::collections::BTreeSet<String> {
            text.lines()
                .filter(|l| !l.starts_with('_') && l.contains(':'))
                .map(|l| l.split(':').next().unwrap_or_default().trim().to_string())
                .collect()
        };
        let vi = keys(include_str!("../../locales/vi.yml"));
        let en = keys(include_str!("../../locales/en.yml"));
        assert_eq!(vi, en, "vi.yml and en.yml must list the same keys");
        assert!(vi.len() > 30);
        for key in &vi {
            for l in Locale::ALL {
                let text = l.t(key);
                assert!(!text.is_empty() && !text.ends_with(key.as_str()), "{key} unresolved in {}", l.as_str());
            }
        }
        assert_ne!(Locale::Vi.t("login.title"), Locale::En.t("login.title"));
    }
}
