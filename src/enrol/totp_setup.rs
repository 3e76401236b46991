//! Setting up an authenticator app: a new secret shown as a QR code and as text, confirmed by a
//! code from the app before it counts; then ten recovery codes. Used by activation and by the
//! account page.

use crate::authn::totp;
use crate::identity::Person;
use crate::keys::master::MasterKeyError;
use crate::state::App;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Seal(#[from] MasterKeyError),
}

/// What the page shows for a secret: the QR of the `otpauth://` URI and the key in groups of four.
pub struct Shown {
    pub qr: String,
    pub key: String,
}

pub fn show(app: &App, person: &Person, secret: &[u8]) -> Shown {
    // The account name is the masked ID: the app lists it, and anyone may look at a phone.
    let account = crate::account::mask_personal_id(person.personal_id.as_str());
    let issuer = app.settings.issuer.host_str().unwrap_or("eid");
    let uri = totp::provisioning_uri(secret, &account, issuer);
    let qr = crate::credentials::render::svg(&uri)
        .map(|svg| format!("data:image/svg+xml;base64,{}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, svg)))
        .unwrap_or_default();
    let b32 = totp::base32(secret);
    let key = b32.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ");
    Shown { qr, key }
}

/// The secret being confirmed, sealed to its holder (`context`: the ticket or the session).
pub fn seal_pending(app: &App, context: &str, secret: &[u8]) -> Result<String, MasterKeyError> {
    app.settings.master_key.seal(&format!("totp-pending:{context}"), secret)
}

pub fn open_pending(app: &App, context: &str, sealed: &str) -> Result<Vec<u8>, MasterKeyError> {
    app.settings.master_key.open(&format!("totp-pending:{context}"), sealed)
}

/// Checks `code` against the new secret; when right, makes it the person's authenticator (the
/// code's time step is used up) and returns fresh recovery codes. `None`: wrong code.
pub async fn confirm(app: &App, person: &Person, secret: &[u8], code: &str) -> Result<Option<Vec<String>>, SetupError> {
    let Some(step) = totp::verify(secret, code.trim(), app.now()) else { return Ok(None) };
    let sealed = app.settings.master_key.seal(&format!("totp:{}", person.id), secret)?;
    app.store.set_totp_secret(&person.id, Some(&sealed), app.now()).await?;
    app.store.claim_totp_step(&person.id, step).await?;
    Ok(Some(crate::authn::recovery_codes::issue(app, &person.id).await?))
}
