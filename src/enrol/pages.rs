//! The pages of getting in (templates in `web/templates/enrol_*.html`).

use askama::Template;
use time::Date;

use crate::web::i18n::Locale;

/// Which door the person came in by: activating a new account or recovering one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Activate,
    Recover,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Activate => "activate",
            Mode::Recover => "recover",
        }
    }

    pub fn title_key(self) -> &'static str {
        match self {
            Mode::Activate => "enrol.activate.title",
            Mode::Recover => "enrol.recover.title",
        }
    }

    fn send_title_key(self) -> &'static str {
        match self {
            Mode::Activate => "enrol.send.activate_title",
            Mode::Recover => "enrol.send.recover_title",
        }
    }

    /// The language switch of a page of this door.
    pub fn switch_href(self, locale: Locale) -> Option<String> {
        Some(format!("/{}?lang={}", self.as_str(), locale.other().as_str()))
    }
}

#[derive(Template)]
#[template(path = "enrol_start.html")]
pub struct StartPage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub mode: &'static str,
    pub title_key: &'static str,
    pub send_title_key: &'static str,
    pub csrf: String,
    pub personal_id: String,
    pub error: Option<&'static str>,
}

impl StartPage {
    pub fn new(locale: Locale, mode: Mode, csrf: String, personal_id: String, error: Option<&'static str>) -> Self {
        Self {
            locale,
            switch_href: mode.switch_href(locale),
            mode: mode.as_str(),
            title_key: mode.title_key(),
            send_title_key: mode.send_title_key(),
            csrf,
            personal_id,
            error,
        }
    }
}

#[derive(Template)]
#[template(path = "enrol_code.html")]
pub struct CodePage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub mode: &'static str,
    pub csrf: String,
    pub personal_id: String,
    pub via: &'static str,
    pub sent_key: &'static str,
    /// How long the code lives, in words.
    pub hint: String,
    pub error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "enrol_password.html")]
pub struct PasswordPage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub action: &'static str,
    pub csrf: String,
    /// For password managers: the account the new password belongs to.
    pub username: String,
    /// The length rule, in words.
    pub rule: String,
    pub recovery: bool,
    pub error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "enrol_totp.html")]
pub struct TotpSetupPage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub action: &'static str,
    pub skip_action: Option<&'static str>,
    pub csrf: String,
    /// The secret being confirmed, sealed to the session, where no ticket holds it.
    pub pending: Option<String>,
    pub qr: String,
    pub key: String,
    pub required: bool,
    pub error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "enrol_recovery_codes.html")]
pub struct RecoveryCodesPage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub codes: Vec<String>,
    pub continue_href: &'static str,
}

#[derive(Template)]
#[template(path = "enrol_done.html")]
pub struct DonePage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub title_key: &'static str,
    pub text_key: &'static str,
}

/// A birth date as people type it: `17/05/1990`, `17-05-1990`, `17.5.1990` or `1990-05-17`.
pub fn parse_birthdate(typed: &str) -> Option<Date> {
    let t = typed.trim();
    if let Some(d) = crate::identity::person::parse_date(t) {
        return Some(d);
    }
    let parts: Vec<&str> = t.split(['/', '-', '.']).collect();
    let [d, m, y] = parts[..] else { return None };
    let (d, m, y) = (d.parse::<u8>().ok()?, m.parse::<u8>().ok()?, y.parse::<i32>().ok()?);
    if !(1900..=2200).contains(&y) {
        return None;
    }
    Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()
}

#[cfg(test)]
mod tests {
    use super::parse_birthdate;

    #[test]
    fn birth_dates_as_people_type_them() {
        let d = time::macros::date!(1990 - 05 - 17);
        for typed in ["17/05/1990", "17/5/1990", "17-05-1990", "17.05.1990", "1990-05-17", " 17/05/1990 "] {
            assert_eq!(parse_birthdate(typed), Some(d), "{typed}");
        }
        for bad in ["", "31/02/1990", "17/05/90", "05/17/1990", "17/05/1990/1", "tomorrow"] {
            assert_eq!(parse_birthdate(bad), None, "{bad}");
        }
    }
}
