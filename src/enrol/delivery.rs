//! Sending codes to the phone or e-mail the registry holds for a person, within the send limits.
//!
//! The pages that ask for a code never wait for this: they start it in the background and answer
//! at once with the same words whether or not the person exists, has that channel or is over a
//! limit, so neither the answer nor its timing tells an ID number's owner from a stranger.

use serde_json::json;

use super::channels::Address;
use super::messages;
use crate::audit::{self, Event};
use crate::authn::one_time_code::{self as codes, Purpose};
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

    /// The person's address on this channel, if the registry has one.
    pub fn address(self, p: &Person) -> Option<Address> {
        let present = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        match self {
            Via::Sms => present(&p.phone).map(Address::Phone),
            Via::Email => present(&p.email).map(Address::Email),
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
    let message = messages::one_time_code(locale, to, purpose, &issued.code, c.code_minutes);
    if let Err(e) = app.channels.send(&message).await {
        tracing::warn!(error = %e, via = via.as_str(), "a one-time code could not be sent");
        return Ok(Err(NotSent::ChannelFailed));
    }
    Ok(Ok(()))
}
