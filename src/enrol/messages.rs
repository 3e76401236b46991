//! The texts people receive, in their language: short (an SMS), with the code, what it is for,
//! how long it lives, and a warning never to share it. No product name: people know the
//! service as their national electronic identity.

use super::channels::{Address, Message};
use crate::authn::one_time_code::Purpose;
use crate::web::i18n::Locale;

/// The words for what a code is for.
fn purpose_key(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Letter | Purpose::Activation => "message.purpose.activation",
        Purpose::Recovery => "message.purpose.recovery",
        Purpose::SignIn => "message.purpose.sign_in",
    }
}

/// A one-time code message.
pub fn one_time_code(locale: Locale, to: Address, purpose: Purpose, code: &str, minutes: i64) -> Message {
    let what = locale.t(purpose_key(purpose));
    let minutes = minutes.to_string();
    Message {
        to,
        subject: locale.t_with("message.code.subject", &[("purpose", &what)]),
        text: locale.t_with("message.code.text", &[("code", code), ("purpose", &what), ("minutes", &minutes)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_messages_carry_the_code_purpose_lifetime_and_warning_in_both_languages() {
        for (locale, warning) in [(Locale::Vi, "Không chia sẻ"), (Locale::En, "Do not share")] {
            for purpose in [Purpose::Letter, Purpose::Activation, Purpose::Recovery, Purpose::SignIn] {
                let m = one_time_code(locale, Address::Phone("0901234567".into()), purpose, "482913", 10);
                assert!(m.text.contains("482913") && m.text.contains("10") && m.text.contains(warning), "{}", m.text);
                assert!(m.text.contains(&locale.t(purpose_key(purpose))) && !m.text.contains('%'), "{}", m.text);
                assert!(!m.text.to_lowercase().contains("nixa") && !m.subject.to_lowercase().contains("nixa"));
                // Short enough for two SMS parts even in UCS-2 (2 × 67 characters).
                assert!(m.text.chars().count() <= 134, "{} characters: {}", m.text.chars().count(), m.text);
            }
        }
        let vi = one_time_code(Locale::Vi, Address::Email("a@example.vn".into()), Purpose::Recovery, "1", 5);
        let en = one_time_code(Locale::En, Address::Email("a@example.vn".into()), Purpose::Recovery, "1", 5);
        assert_ne!(vi.text, en.text);
    }
}
