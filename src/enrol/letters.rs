//! Activation letters: an operator gives a person an activation code, printed in a letter or
//! handed over at the one-stop-shop counter. The code is one-time, stored as a keyed hash, valid
//! for `letter_code_days`, and works only with the person's ID number and birth date on
//! `/activate`. The letter carries the code as text and a QR of the activation page's address
//! (never of the code: a photographed envelope must not be enough).

use serde::Serialize;
use serde_json::json;

use crate::audit::{self, Event};
use crate::authn::one_time_code::{self as codes, Purpose};
use crate::identity::{Person, PersonStatus};
use crate::state::App;
use crate::store::StoreError;
use crate::web::i18n::Locale;

#[derive(Debug, thiserror::Error)]
pub enum LetterError {
    #[error("the account is {0}: an activation code cannot open it (unlock it first)")]
    NotActive(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What goes into the letter (and into the print shop's mail merge, one JSON line each).
#[derive(Debug, Clone, Serialize)]
pub struct Letter {
    pub personal_id: String,
    pub name: String,
    pub code: String,
    /// Unix seconds.
    pub expires_at: i64,
    pub link: String,
}

/// Issues a new activation code for the person (an earlier letter stops working) and audits who
/// asked and why.
pub async fn issue(app: &App, person: &Person, operator: &str, reason: &str) -> Result<Letter, LetterError> {
    if person.status != PersonStatus::Active {
        return Err(LetterError::NotActive(person.status.as_str()));
    }
    let lifetime = app.settings.enrolment.letter_code_days * 86_400;
    let issued = codes::issue(app, &person.id, Purpose::Letter, "letter", lifetime).await?;
    let detail = json!({"operator": operator, "reason": reason, "expires_at": issued.expires_at});
    audit::record(&app.store, app.now(), Event::ActivationCodeIssued, Some(&person.id), None, detail).await?;
    Ok(Letter {
        personal_id: person.personal_id.to_string(),
        name: person.full_name(),
        code: issued.code,
        expires_at: issued.expires_at,
        link: activation_link(app),
    })
}

pub fn activation_link(app: &App) -> String {
    app.settings.url("/activate")
}

/// The letter as text, in the person's language.
pub fn text(letter: &Letter, locale: Locale) -> String {
    let until = time::OffsetDateTime::from_unix_timestamp(letter.expires_at)
        .ok()
        .and_then(|d| d.format(time::macros::format_description!("[day]/[month]/[year]")).ok())
        .unwrap_or_default();
    locale.t_with(
        "letter.text",
        &[("name", &letter.name), ("personal_id", &letter.personal_id), ("code", &letter.code), ("until", &until), ("link", &letter.link)],
    )
}

/// The activation page's address as a QR code drawn with text blocks, for a terminal or a
/// plain-text letter template.
pub fn link_qr_text(link: &str) -> String {
    match qrcode::QrCode::new(link.as_bytes()) {
        Ok(code) => code.render::<qrcode::render::unicode::Dense1x2>().quiet_zone(true).build(),
        Err(_) => String::new(),
    }
}
