//! The enrolment ticket: a person has proved who they are (a code, with their birth date) and
//! has a few minutes to choose a password and set up a second factor. The browser holds a random
//! secret in a cookie; the table holds its hash, what was proved and the step reached.

use axum_extra::extract::CookieJar;

use crate::authn::code_delivery::Via;
use crate::crypto::{random_token, token_hash};
use crate::identity::{Person, PersonId};
use crate::state::App;
use crate::store::StoreError;
use crate::store::enrolment::EnrolmentRecord;
use crate::web::cookies;

/// What the person proved to get here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// An operator's activation code (letter or counter) and the birth date.
    Letter,
    /// A code sent to the registry's phone or e-mail, and the birth date, to activate.
    Activation(Via),
    /// The same, to recover a forgotten password.
    Recovery(Via),
}

impl Proof {
    pub fn as_str(self) -> &'static str {
        match self {
            Proof::Letter => "letter",
            Proof::Activation(Via::Sms) => "activation_sms",
            Proof::Activation(Via::Email) => "activation_email",
            Proof::Recovery(Via::Sms) => "recovery_sms",
            Proof::Recovery(Via::Email) => "recovery_email",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Proof::Letter, Proof::Activation(Via::Sms), Proof::Activation(Via::Email), Proof::Recovery(Via::Sms), Proof::Recovery(Via::Email)]
            .into_iter()
            .find(|p| p.as_str() == s)
    }

    pub fn is_recovery(self) -> bool {
        matches!(self, Proof::Recovery(_))
    }

    /// The channel the proof came through (an attacker may hold it: notify the other one).
    pub fn via(self) -> Option<Via> {
        match self {
            Proof::Letter => None,
            Proof::Activation(v) | Proof::Recovery(v) => Some(v),
        }
    }
}

/// Where the person is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Password,
    /// Setting up an authenticator app; `required` when the account level or a password shorter
    /// than [`super::password_rules::MIN_ALONE`] needs a second factor.
    Totp {
        required: bool,
    },
    Done,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Password => "password",
            Step::Totp { required: true } => "totp_required",
            Step::Totp { required: false } => "totp_optional",
            Step::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Step::Password, Step::Totp { required: true }, Step::Totp { required: false }, Step::Done].into_iter().find(|p| p.as_str() == s)
    }

    /// The page of this step.
    pub fn path(self) -> &'static str {
        match self {
            Step::Password => "/enrol/password",
            Step::Totp { .. } => "/enrol/totp",
            Step::Done => "/enrol/done",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Ticket {
    pub id_hash: String,
    pub person: Person,
    pub has_second_factor: bool,
    /// The account had a password before this ticket (a re-activation or a recovery): changes
    /// are then notified.
    pub had_password: bool,
    pub proof: Proof,
    pub step: Step,
    pub totp_sealed: Option<String>,
}

impl Ticket {
    pub fn csrf(&self, app: &App) -> String {
        crate::web::csrf::token(&app.secrets.csrf, &self.id_hash, "enrol-ticket")
    }

    pub fn csrf_ok(&self, app: &App, presented: &str) -> bool {
        crate::web::csrf::verify(&app.secrets.csrf, &self.id_hash, "enrol-ticket", presented)
    }

    /// Moves on from the step it is at; false if another tab moved it first.
    pub async fn advance(&self, app: &App, to: Step, totp_sealed: Option<&str>) -> Result<bool, StoreError> {
        app.store.advance_enrolment(&self.id_hash, self.step.as_str(), to.as_str(), totp_sealed).await
    }
}

/// Starts a ticket for the person (the cookie replaces any earlier one of this browser).
pub async fn begin(app: &App, jar: CookieJar, person: &PersonId, proof: Proof) -> Result<CookieJar, StoreError> {
    if let Some(old) = jar.get(cookies::ENROL) {
        app.store.delete_enrolment(&token_hash(old.value())).await?;
    }
    let secret = random_token();
    let now = app.now();
    let lifetime = app.settings.enrolment.enrolment_minutes * 60;
    let record = EnrolmentRecord {
        person_id: person.clone(),
        proof: proof.as_str().into(),
        step: Step::Password.as_str().into(),
        totp_sealed: None,
        expires_at: now + lifetime,
    };
    app.store.insert_enrolment(&token_hash(&secret), &record, now).await?;
    Ok(jar.add(cookies::build(cookies::ENROL, secret, Some(lifetime))))
}

/// This browser's live ticket, if any.
pub async fn current(app: &App, jar: &CookieJar) -> Result<Option<Ticket>, StoreError> {
    let Some(cookie) = jar.get(cookies::ENROL) else { return Ok(None) };
    let id_hash = token_hash(cookie.value());
    let Some(record) = app.store.enrolment(&id_hash, app.now()).await? else { return Ok(None) };
    let corrupt = |what: &str| StoreError::Corrupt(format!("enrolments.{what}"));
    let proof = Proof::parse(&record.proof).ok_or_else(|| corrupt("proof"))?;
    let step = Step::parse(&record.step).ok_or_else(|| corrupt("step"))?;
    let Some((person, state)) = app.store.person_for_login_by_id(&record.person_id).await? else { return Ok(None) };
    let has_second_factor = state.totp_secret_sealed.is_some() || !app.store.passkeys_of(&person.id).await?.is_empty();
    let had_password = state.password_hash.is_some();
    Ok(Some(Ticket { id_hash, person, has_second_factor, had_password, proof, step, totp_sealed: record.totp_sealed }))
}

/// Ends the ticket and clears its cookie.
pub async fn end(app: &App, jar: CookieJar, ticket: &Ticket) -> Result<CookieJar, StoreError> {
    app.store.delete_enrolment(&ticket.id_hash).await?;
    Ok(jar.remove(cookies::build(cookies::ENROL, String::new(), None)))
}
