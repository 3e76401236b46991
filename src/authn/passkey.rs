//! Passkeys (WebAuthn through webauthn-rs): usernameless sign-in on the login page, and the
//! registration ceremony the account page drives.
//!
//! Ceremony state (the challenge) lives in `webauthn_ceremonies`, so any node can finish what
//! another started. A row is single use (taken by a DELETE), lives five minutes, and is bound to
//! the browser: to the pending sign-in and the browser cookie for a login, to the session for a
//! registration.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

use super::login;
use crate::assurance::Amr;
use crate::audit::{self, Event};
use crate::crypto::{b64url, b64url_decode, ct_eq, random_token, sha256, token_hash};
use crate::identity::{Person, PersonId, PersonStatus};
use crate::signin::journey::{self, Authentication};
use crate::signin::pending::{load_for_script, load_form};
use crate::signin::{Pending, Stage};
use crate::state::App;
use crate::store::StoreError;
use crate::store::passkeys::PasskeyRecord;
use crate::web::error::ScriptError;
use crate::web::form::Params;

/// How long a challenge may be answered.
pub const CEREMONY_TTL: i64 = 300;
const KIND_LOGIN: &str = "login";
const KIND_REGISTER: &str = "register";
/// Longest passkey name a person may give (characters).
pub const NAME_MAX: usize = 60;

#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    #[error("passkeys are not available for this issuer: {0}")]
    Config(WebauthnError),
    #[error("the passkey request has expired or was already used")]
    CeremonyGone,
    #[error("the passkey response is malformed")]
    Malformed,
    #[error("this passkey is not registered (or was removed)")]
    UnknownCredential,
    #[error("the passkey response was refused: {0}")]
    Refused(WebauthnError),
    #[error("the passkey was used concurrently; try again")]
    Conflict,
    #[error("officials may only register passkeys of approved authenticator models")]
    AaguidNotAllowed,
    #[error("this passkey is already registered")]
    Duplicate,
    #[error("the account may not sign in (inactive)")]
    Inactive,
    #[error("the account is temporarily locked")]
    Locked,
    #[error("a passkey name has 1 to {NAME_MAX} characters")]
    BadName,
    #[error("stored passkey data is unreadable: {0}")]
    State(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PasskeyError {
    /// What people see (a message key in `locales/`).
    pub fn message_key(&self) -> &'static str {
        match self {
            PasskeyError::CeremonyGone => "passkey.error.expired",
            PasskeyError::Malformed | PasskeyError::Refused(_) | PasskeyError::Conflict => "passkey.error.refused",
            PasskeyError::UnknownCredential => "passkey.error.unknown",
            PasskeyError::AaguidNotAllowed => "passkey.error.aaguid",
            PasskeyError::Duplicate => "passkey.error.duplicate",
            PasskeyError::BadName => "passkey.error.name",
            PasskeyError::Inactive => "login.error.inactive",
            PasskeyError::Locked => "login.error.locked",
            PasskeyError::Config(_) | PasskeyError::State(_) | PasskeyError::Store(_) => "error.internal",
        }
    }

    /// The machine-readable code of a JSON error answer and of the audit record.
    pub fn code(&self) -> &'static str {
        match self {
            PasskeyError::CeremonyGone => "ceremony_expired",
            PasskeyError::Malformed => "malformed",
            PasskeyError::Refused(_) => "refused",
            PasskeyError::Conflict => "conflict",
            PasskeyError::UnknownCredential => "unknown_credential",
            PasskeyError::AaguidNotAllowed => "aaguid_not_allowed",
            PasskeyError::Duplicate => "duplicate",
            PasskeyError::BadName => "bad_name",
            PasskeyError::Inactive => "inactive",
            PasskeyError::Locked => "locked",
            PasskeyError::Config(_) | PasskeyError::State(_) | PasskeyError::Store(_) => "server_error",
        }
    }

    pub fn is_internal(&self) -> bool {
        matches!(self, PasskeyError::Config(_) | PasskeyError::State(_) | PasskeyError::Store(_))
    }
}

/// The relying party: id = the issuer's host, origin = the issuer's origin (scheme, host, port).
pub fn relying_party(app: &App) -> Result<Webauthn, PasskeyError> {
    let issuer = &app.settings.issuer;
    let host = issuer.host_str().ok_or(PasskeyError::Config(WebauthnError::Configuration))?;
    let origin = Url::parse(&issuer.origin().ascii_serialization()).map_err(|_| PasskeyError::Config(WebauthnError::Configuration))?;
    // The name the phone or computer shows when it saves the passkey: the platform's public name.
    let name = app.settings.brand.platform_name.as_ref().map_or(crate::web::brand::DEFAULT_NAME, |n| n.vi.as_str());
    WebauthnBuilder::new(host, &origin).and_then(|b| b.rp_name(name).build()).map_err(PasskeyError::Config)
}

/// The WebAuthn user handle of a person: derived from the internal id (never the personal ID,
/// which authenticators may show or sync), stable, 16 bytes as webauthn-rs wants.
pub fn user_handle(person_id: &PersonId) -> Uuid {
    let h = sha256(format!("nixa-passkey-user:{person_id}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    Uuid::from_bytes(b)
}

/// RFC 8176 methods of a passkey sign-in: a credential that can be backed up (synced across
/// devices) is a software key, one bound to its device a hardware key; user verification is
/// required by every ceremony here.
pub fn methods(backup_eligible: bool) -> [Amr; 2] {
    if backup_eligible { [Amr::Swk, Amr::User] } else { [Amr::Hwk, Amr::User] }
}

pub fn check_name(name: &str) -> Result<String, PasskeyError> {
    let name = name.trim();
    let n = name.chars().count();
    if n == 0 || n > NAME_MAX || name.chars().any(char::is_control) {
        return Err(PasskeyError::BadName);
    }
    Ok(name.to_string())
}

// ------------------------------------------------------------------------------ registration

/// Starts registering a passkey for `person`, bound to the session `session_hash`. Returns the
/// ceremony id and the options for `navigator.credentials.create`.
pub async fn start_registration(
    app: &App,
    person: &Person,
    session_hash: &str,
) -> Result<(String, CreationChallengeResponse), PasskeyError> {
    let rp = relying_party(app)?;
    let existing = app.store.passkeys_of(&person.id).await?;
    let exclude =
        existing.iter().filter_map(|p| serde_json::from_str::<Passkey>(&p.passkey).ok()).map(|p| p.cred_id().clone()).collect::<Vec<_>>();
    let display = format!("{} {} {}", person.family_name, person.middle_name, person.given_name);
    let display = display.split_whitespace().collect::<Vec<_>>().join(" ");
    let (mut ccr, state) = rp
        .start_passkey_registration(user_handle(&person.id), person.personal_id.as_str(), &display, Some(exclude))
        .map_err(PasskeyError::Config)?;
    // Discoverable credentials only: sign-in is usernameless, the authenticator names the person.
    if let Some(sel) = ccr.public_key.authenticator_selection.as_mut() {
        sel.require_resident_key = true;
        sel.resident_key = Some(webauthn_rs_proto::ResidentKeyRequirement::Required);
    }
    let id = random_token();
    let state = serde_json::to_string(&state)?;
    let expires = app.now() + CEREMONY_TTL;
    app.store.insert_ceremony(&id, KIND_REGISTER, session_hash, Some(&person.id), &state, expires).await?;
    Ok((id, ccr))
}

/// Finishes a registration: verifies the authenticator's response against the ceremony and
/// stores the passkey under `name`.
pub async fn finish_registration(
    app: &App,
    person: &Person,
    session_hash: &str,
    ceremony: &str,
    credential: &str,
    name: &str,
) -> Result<PasskeyRecord, PasskeyError> {
    let now = app.now();
    let taken = app.store.take_ceremony(ceremony, KIND_REGISTER, session_hash, now).await?;
    let taken = taken.filter(|c| c.person_id.as_deref() == Some(person.id.as_str())).ok_or(PasskeyError::CeremonyGone)?;
    let name = check_name(name)?;
    let state: PasskeyRegistration = serde_json::from_str(&taken.state)?;
    let reg: RegisterPublicKeyCredential = serde_json::from_str(credential).map_err(|_| PasskeyError::Malformed)?;
    let rp = relying_party(app)?;
    let passkey = rp.finish_passkey_registration(&reg, &state).map_err(PasskeyError::Refused)?;
    let auth_data = authenticator_data(reg.response.attestation_object.as_ref()).ok_or(PasskeyError::Malformed)?;
    let (aaguid, backup_eligible) = parse_auth_data(&auth_data).ok_or(PasskeyError::Malformed)?;
    let allowed = &app.settings.passkey_official_aaguids;
    if !allowed.is_empty() && !allowed.contains(&aaguid) && app.store.official(&person.id).await?.is_some() {
        return Err(PasskeyError::AaguidNotAllowed);
    }
    let record = PasskeyRecord {
        id: random_token(),
        person_id: person.id.clone(),
        credential_id: b64url(passkey.cred_id().as_ref()),
        user_handle: b64url(user_handle(&person.id).as_bytes()),
        name,
        passkey: serde_json::to_string(&passkey)?,
        aaguid: aaguid.to_string(),
        backup_eligible,
        created_at: now,
        last_used_at: None,
    };
    if !app.store.insert_passkey(&record).await? {
        return Err(PasskeyError::Duplicate);
    }
    Ok(record)
}

/// `authData` from a CBOR attestation object.
fn authenticator_data(attestation_object: &[u8]) -> Option<Vec<u8>> {
    use serde_cbor_2::Value;
    let Value::Map(m) = serde_cbor_2::from_slice::<Value>(attestation_object).ok()? else { return None };
    match m.get(&Value::Text("authData".into()))? {
        Value::Bytes(b) => Some(b.clone()),
        _ => None,
    }
}

/// The AAGUID (attested credential data) and the backup-eligibility flag (WebAuthn §6.1:
/// rpIdHash 32 bytes, flags 1, signCount 4, then AAGUID 16; BE is flag bit 3, AT bit 6).
fn parse_auth_data(d: &[u8]) -> Option<(Uuid, bool)> {
    let flags = *d.get(32)?;
    if flags & 0x40 == 0 {
        return None;
    }
    let aaguid = Uuid::from_slice(d.get(37..53)?).ok()?;
    Some((aaguid, flags & 0x08 != 0))
}

// ---------------------------------------------------------------------------------- sign-in

fn login_binding(pending: &Pending) -> String {
    token_hash(&format!("passkey-login:{}:{}", pending.row.id, pending.browser))
}

/// `POST /login/passkey/options?r=…` (form: `csrf`): a challenge for a usernameless sign-in.
pub async fn options(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery, body: Bytes) -> Response {
    let pending = match load_for_script(&app, &headers, &jar, q.as_deref(), &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match start_login(&app, &pending).await {
        Ok((id, rcr)) => Json(json!({ "ceremony": id, "options": rcr })).into_response(),
        Err(e) => ScriptError::internal(e).into_response(),
    }
}

async fn start_login(app: &App, pending: &Pending) -> Result<(String, webauthn_rs::prelude::RequestChallengeResponse), PasskeyError> {
    let rp = relying_party(app)?;
    let (rcr, state) = rp.start_discoverable_authentication().map_err(PasskeyError::Config)?;
    let id = random_token();
    let state = serde_json::to_string(&state)?;
    app.store.insert_ceremony(&id, KIND_LOGIN, &login_binding(pending), None, &state, app.now() + CEREMONY_TTL).await?;
    Ok((id, rcr))
}

/// `POST /login/passkey` (form: `r`, `csrf`, `ceremony`, `credential` = the assertion as JSON).
pub async fn submit(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let f = Params::parse(&body).unwrap_or_default();
    let pending = match load_form(&app, &headers, &jar, &f, Stage::Login).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let ceremony = f.get("ceremony").unwrap_or_default();
    let credential = f.get("credential").unwrap_or_default();
    match verify_login(&app, &pending, ceremony, credential).await {
        Ok((person, record, backup_eligible)) => {
            let detail = json!({"passkey": record.id, "backup_eligible": backup_eligible});
            let client = Some(pending.client.id.as_str());
            if let Err(e) = audit::record(&app.store, app.now(), Event::PasskeyUsed, Some(&person.id), client, detail).await {
                return crate::web::error::PageError::internal(pending.locale, e).into_response();
            }
            let auth = Authentication::by_methods(&person, &methods(backup_eligible));
            journey::authenticated(&app, jar, pending, auth).await.unwrap_or_else(IntoResponse::into_response)
        }
        Err((e, person_id)) if !e.is_internal() => {
            let detail = json!({"factor": "passkey", "reason": e.code()});
            let client = Some(pending.client.id.as_str());
            app.stats.record(crate::stats::Observation::failed_sign_in(app.now(), pending.client.id.as_str(), "passkey"));
            if let Err(e) = audit::record(&app.store, app.now(), Event::LoginFailed, person_id.as_ref(), client, detail).await {
                return crate::web::error::PageError::internal(pending.locale, e).into_response();
            }
            login::render_login(&app, &pending, Some(e.message_key()), "")
        }
        Err((e, _)) => crate::web::error::PageError::internal(pending.locale, e).into_response(),
    }
}

/// Verifies an assertion; on failure also returns whose credential it claimed to be, if known.
async fn verify_login(
    app: &App,
    pending: &Pending,
    ceremony: &str,
    credential: &str,
) -> Result<(Person, PasskeyRecord, bool), (PasskeyError, Option<PersonId>)> {
    let anon = |e: PasskeyError| (e, None);
    let now = app.now();
    let taken = app
        .store
        .take_ceremony(ceremony, KIND_LOGIN, &login_binding(pending), now)
        .await
        .map_err(|e| anon(e.into()))?
        .ok_or(anon(PasskeyError::CeremonyGone))?;
    let state: DiscoverableAuthentication = serde_json::from_str(&taken.state).map_err(|e| anon(e.into()))?;
    let assertion: PublicKeyCredential = serde_json::from_str(credential).map_err(|_| anon(PasskeyError::Malformed))?;
    let rp = relying_party(app).map_err(anon)?;
    let (handle, cred_id) = rp.identify_discoverable_authentication(&assertion).map_err(|_| anon(PasskeyError::Malformed))?;
    let record = app
        .store
        .passkey_by_credential(&b64url(cred_id))
        .await
        .map_err(|e| anon(e.into()))?
        .ok_or(anon(PasskeyError::UnknownCredential))?;
    let whose = |e: PasskeyError| (e, Some(record.person_id.clone()));
    let stored_handle = b64url_decode(&record.user_handle).unwrap_or_default();
    if !ct_eq(&stored_handle, handle.as_bytes()) {
        return Err(whose(PasskeyError::UnknownCredential));
    }
    let mut passkey: Passkey = serde_json::from_str(&record.passkey).map_err(|e| whose(e.into()))?;
    let result = rp
        .finish_discoverable_authentication(&assertion, state, &[DiscoverableKey::from(&passkey)])
        .map_err(|e| whose(PasskeyError::Refused(e)))?;
    passkey.update_credential(&result);
    let updated = serde_json::to_string(&passkey).map_err(|e| whose(e.into()))?;
    if !app.store.record_passkey_use(&record.id, &record.passkey, &updated, now).await.map_err(|e| whose(e.into()))? {
        return Err(whose(PasskeyError::Conflict));
    }
    let (person, state) = app
        .store
        .person_for_login_by_id(&record.person_id)
        .await
        .map_err(|e| whose(e.into()))?
        .ok_or(whose(PasskeyError::UnknownCredential))?;
    // The same refusals as the password form gives these accounts.
    if state.locked_until > now {
        return Err(whose(PasskeyError::Locked));
    }
    if person.status != PersonStatus::Active {
        return Err(whose(PasskeyError::Inactive));
    }
    Ok((person, record, result.backup_eligible()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amr_by_backup_eligibility() {
        assert_eq!(methods(false), [Amr::Hwk, Amr::User]);
        assert_eq!(methods(true), [Amr::Swk, Amr::User]);
    }

    #[test]
    fn names() {
        assert_eq!(check_name("  Điện thoại  ").unwrap(), "Điện thoại");
        assert!(matches!(check_name(" "), Err(PasskeyError::BadName)));
        assert!(matches!(check_name("a\u{7}b"), Err(PasskeyError::BadName)));
        assert!(check_name(&"x".repeat(NAME_MAX)).is_ok());
        assert!(matches!(check_name(&"x".repeat(NAME_MAX + 1)), Err(PasskeyError::BadName)));
    }

    #[test]
    fn auth_data_flags_and_aaguid() {
        let mut d = vec![0u8; 53];
        d[32] = 0x45;
        d[37] = 0xAB;
        let (aaguid, be) = parse_auth_data(&d).unwrap();
        assert!(!be);
        assert_eq!(aaguid.as_bytes()[0], 0xAB);
        d[32] = 0x4D;
        assert!(parse_auth_data(&d).unwrap().1);
        d[32] = 0x05;
        assert_eq!(parse_auth_data(&d), None, "no attested credential data");
        assert_eq!(parse_auth_data(&d[..40]), None);
    }

    #[test]
    fn user_handles_are_stable_and_distinct() {
        let (a, b) = (PersonId::from_stored("a".into()), PersonId::from_stored("b".into()));
        assert_eq!(user_handle(&a), user_handle(&a));
        assert_ne!(user_handle(&a), user_handle(&b));
    }
}
