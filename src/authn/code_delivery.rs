//! Sending one-time codes to the phone or e-mail the registry holds for a person, within the
//! send limits, in the person's language: short (an SMS), with the code, what it is for, how long
//! it lives, and a warning never to share it. No product name: people know the service as their
//! national electronic identity.
//!
//! The pages that ask for a code never wait for this: they start it in the background and answer
//! at once with the same words whether or not the person exists, has that channel or is over a
//! limit, so neither the answer nor its timing tells an ID number's owner from a stranger.

use serde_json::json;

use super::one_time_code::{self as codes, Purpose};
use crate::audit::{self, Event};
use crate::channels::{Address, Message};
use crate::identity::Person;
use crate::state::App;
use crate::store::StoreError;
use crate::web::i18n::Locale;

/// Which of the registry's contacts a code goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Sms,
    Email,
}

impl Via {
    pub const ALL: [Via; 2] = [Via::Sms, Via::Email];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sms" => Some(Via::Sms),
            "email" => Some(Via::Email),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Via::Sms => "sms",
            Via::Email => "email",
        }
    }

    /// The channel a sign-in code goes to: the phone, or else the e-mail, the registry holds.
    pub fn preferred(p: &Person) -> Option<Via> {
        Via::ALL.into_iter().find(|v| v.address(p).is_some())
    }

    /// The person's address on this channel, mostly masked: where to look, for the person or a
    /// helpdesk, without giving it away.
    pub fn masked_address(self, p: &Person) -> Option<String> {
        self.address(p).map(|a| match a {
            Address::Email(a) | Address::Phone(a) => mask(&a),
        })
    }

    /// The person's address on this channel, if the registry has one.
    pub fn address(self, p: &Person) -> Option<Address> {
        let present = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        match self {
            Via::Sms => present(&p.phone).map(Address::Phone),
            Via::Email => present(&p.email).map(Address::Email),
        }
    }
}

/// `0901234567` → `•••••••567`; `duc.nguyen@example.vn` → `d•••@example.vn`.
fn mask(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => format!("{}•••@{domain}", local.chars().next().unwrap_or('•')),
        None => {
            let n = address.chars().count();
            address.chars().enumerate().map(|(i, c)| if i + 3 >= n { c } else { '•' }).collect()
        }
    }
}

/// Why a code was not sent (recorded in the audit log, never shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotSent {
    NoAddress,
    PersonLimit,
    ChannelFailed,
}

impl NotSent {
    fn as_str(self) -> &'static str {
        match self {
            NotSent::NoAddress => "no_address",
            NotSent::PersonLimit => "send_limit",
            NotSent::ChannelFailed => "channel_failed",
        }
    }
}

/// Who asked for the code, for the audit log.
#[derive(Debug, Clone)]
pub enum Requester {
    /// The person, on the activation or recovery page, from this client address.
    Person { client_addr: String },
    /// An operator, at the person's request, for this reason.
    Operator { name: String, reason: String },
}

/// Counts one request from a client address; false when the address is over its limit. Every
/// request counts, for existing and unknown ID numbers alike.
pub async fn address_allows(app: &App, client_addr: &str) -> Result<bool, StoreError> {
    let c = &app.settings.enrolment;
    let n = app.store.count_send(&format!("addr:{client_addr}"), c.send_window_secs, app.now()).await?;
    Ok(n <= c.sends_per_address)
}

/// Issues a new code for `purpose` and sends it to the person's `via` address.
pub async fn send_code(
    app: &App,
    person: &Person,
    purpose: Purpose,
    via: Via,
    locale: Locale,
    by: &Requester,
) -> Result<Result<(), NotSent>, StoreError> {
    let outcome = try_send(app, person, purpose, via, locale).await?;
    let mut detail = json!({"purpose": purpose.as_str(), "via": via.as_str()});
    match by {
        Requester::Person { client_addr } => detail["client_addr"] = json!(client_addr),
        Requester::Operator { name, reason } => {
            detail["operator"] = json!(name);
            detail["reason"] = json!(reason);
        }
    }
    let event = match outcome {
        Ok(()) => Event::CodeSent,
        Err(why) => {
            detail["not_sent"] = json!(why.as_str());
            Event::CodeRefused
        }
    };
    audit::record(&app.store, app.now(), event, Some(&person.id), None, detail).await?;
    Ok(outcome)
}

async fn try_send(app: &App, person: &Person, purpose: Purpose, via: Via, locale: Locale) -> Result<Result<(), NotSent>, StoreError> {
    let c = &app.settings.enrolment;
    let Some(to) = via.address(person) else { return Ok(Err(NotSent::NoAddress)) };
    let sent = app.store.count_send(&format!("person:{}", person.id), c.send_window_secs, app.now()).await?;
    if sent > c.sends_per_person {
        return Ok(Err(NotSent::PersonLimit));
    }
    let issued = codes::issue(app, &person.id, purpose, via.as_str(), c.code_minutes * 60).await?;
    if let Err(e) = app.channels.send(&message(locale, to, purpose, &issued.code, c.code_minutes)).await {
        tracing::warn!(error = %e, via = via.as_str(), "a one-time code could not be sent");
        return Ok(Err(NotSent::ChannelFailed));
    }
    Ok(Ok(()))
}

/// The words for what a code is for.
fn purpose_key(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Letter | Purpose::Activation => "message.purpose.activation",
        Purpose::Recovery => "message.purpose.recovery",
        Purpose::SignIn => "message.purpose.sign_in",
    }
}

/// A one-time code message.
pub fn message(locale: Locale, to: Address, purpose: Purpose, code: &str, minutes: i64) -> Message {
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
    fn addresses_are_masked() {
        assert_eq!(mask("0901234567"), "•••••••567");
        assert_eq!(mask("duc.nguyen@example.vn"), "d•••@example.vn");
    }

    #[test]
    fn code_messages_carry_the_code_purpose_lifetime_and_warning_in_both_languages() {
        for (locale, warning) in [(Locale::Vi, "Không chia sẻ"), (Locale::En, "Do not share")] {
            for purpose in [Purpose::Letter, Purpose::Activation, Purpose::Recovery, Purpose::SignIn] {
                let m = message(locale, Address::Phone("0901234567".into()), purpose, "482913", 10);
                assert!(m.text.contains("482913") && m.text.contains("10") && m.text.contains(warning), "{}", m.text);
                assert!(m.text.contains(&locale.t(purpose_key(purpose))) && !m.text.contains('%'), "{}", m.text);
                assert!(!m.text.to_lowercase().contains("nixa") && !m.subject.to_lowercase().contains("nixa"));
                // Short enough for two SMS parts even in UCS-2 (2 × 67 characters).
                assert!(m.text.chars().count() <= 134, "{} characters: {}", m.text.chars().count(), m.text);
            }
        }
        let vi = message(Locale::Vi, Address::Email("a@example.vn".into()), Purpose::Recovery, "1", 5);
        let en = message(Locale::En, Address::Email("a@example.vn".into()), Purpose::Recovery, "1", 5);
        assert_ne!(vi.text, en.text);
    }
}
