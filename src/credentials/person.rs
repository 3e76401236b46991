//! A person's own credentials, as the account page and the app ask for them: the identity
//! credential (every field) or a presentation credential (the fields the person chose, a nonce,
//! a lifetime of minutes).

use crate::identity::person::{Person, Sex};
use crate::state::App;

use super::issue::{self, PersonIdentity, Request, Subject};
use super::keys::KeysError;

/// Claim 169 fields a person may choose to present.
pub const PRESENTABLE: [&str; 5] = ["fullName", "dateOfBirth", "gender", "nationality", "id"];
/// How long the identity QR shown to its owner lasts (it is re-issued on each view).
pub const IDENTITY_MINUTES: i64 = 24 * 60;

pub struct Issued {
    pub text: String,
    pub nonce: Option<String>,
    pub expires_at: i64,
}

/// Issues the person's identity credential (`fields: None`) or a presentation credential.
/// `status`: the status list URI and index when the credential can be revoked.
pub fn issue(app: &App, p: &Person, fields: Option<&[String]>, minutes: i64, status: Option<(&str, u64)>) -> Result<Issued, KeysError> {
    let identity = PersonIdentity {
        id: p.personal_id.as_str().to_string(),
        full_name: p.full_name(),
        date_of_birth: p.birthdate.map(|d| format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())),
        // Claim 169: 1 male, 2 female.
        gender: p.sex.map(|s| match s {
            Sex::Male => 1,
            Sex::Female => 2,
        }),
        nationality: Some(p.nationality.clone()),
        ..Default::default()
    };
    let now = app.now();
    let nonce = fields.map(|_| crate::crypto::b64url(&crate::crypto::random_bytes::<12>()));
    let expires_at = now + minutes * 60;
    let req = Request {
        issuer: &app.credentials.issuer,
        subject_id: if fields.is_some() { "" } else { &p.id },
        subject: Subject::Person(identity.claim169(fields)),
        iat: now,
        exp: expires_at,
        nonce: nonce.as_deref(),
        status,
    };
    Ok(Issued { text: issue::issue(&app.credentials.signer, &req)?, nonce, expires_at })
}
