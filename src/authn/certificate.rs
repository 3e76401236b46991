//! Sign-in with a digital-signature certificate (USB token, smart card) through the Web eID
//! token format (DESIGN §5): the login page asks for a challenge, the Web eID browser extension
//! (or `nixa cert sign-challenge`) signs `H(origin) ‖ H(nonce)` with the card's key, and the
//! token is checked in the Web eID order before the holder is found by the `CCCD:` UID.
//!
//! The nonce lives in `webauthn_ceremonies` like a passkey challenge: single use (taken by a
//! DELETE), five minutes, bound to the pending sign-in and the browser cookie.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use base64::Engine;
use serde_json::json;

use super::login;
use crate::assurance::Amr;
use crate::audit::{self, Event};
use crate::crypto::{random_token, token_hash};
use crate::identity::{Person, PersonId, PersonStatus, PersonalId};
use crate::pki::webeid::{self, AuthToken, Rules, WebEidError};
use crate::pki::{Policy, online};
use crate::signin::journey::{self, Authentication};
use crate::signin::pending::{load_for_script, load_form};
use crate::signin::{Pending, Stage};
use crate::state::App;
use crate::store::StoreError;
use crate::web::error::PageError;
use crate::web::error::ScriptError;
use crate::web::form::Params;

/// How long a challenge may be answered (the Web eID default).
pub const CHALLENGE_TTL: i64 = 300;
const KIND: &str = "webeid-login";
/// A token carries one certificate and a signature: a few kilobytes.
const MAX_TOKEN: usize = 16 * 1024;

/// Methods a certificate issued under a configured hardware policy proves: its key sits on a
/// token or card that releases it only after the PIN (the CA's issuance rules), so the PIN
/// counts as the knowledge factor.
pub const HARDWARE_METHODS: [Amr; 3] = [Amr::Hwk, Amr::Sc, Amr::Pin];
/// Any other certificate: only that some key was used.
pub const SOFTWARE_METHODS: [Amr; 1] = [Amr::Swk];

#[derive(Debug, thiserror::Error)]
pub enum CertLoginError {
    #[error("the challenge expired or was already used")]
    ChallengeGone,
    #[error("the token is not a Web eID token: {0}")]
    Malformed(String),
    #[error("the token was refused: {0}")]
    Refused(#[from] WebEidError),
    #[error("the certificate names no personal identification number (CCCD)")]
    NoPersonalId,
    #[error("the certificate's identity attributes are ambiguous or malformed")]
    AmbiguousIdentity,
    #[error("no account for the certificate's personal identification number")]
    UnknownPerson,
    #[error("the account is not active")]
    Inactive,
    #[error("the account is temporarily locked")]
    Locked,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CertLoginError {
    pub fn message_key(&self) -> &'static str {
        match self {
            CertLoginError::ChallengeGone => "certificate.error.expired",
            CertLoginError::Malformed(_) => "certificate.error.malformed",
            CertLoginError::Refused(WebEidError::Revocation(_)) => "certificate.error.revoked",
            CertLoginError::Refused(WebEidError::Chain(_)) => "certificate.error.untrusted",
            CertLoginError::Refused(WebEidError::Format(_) | WebEidError::Certificate(_)) => "certificate.error.malformed",
            CertLoginError::Refused(_) => "certificate.error.refused",
            CertLoginError::NoPersonalId => "certificate.error.no_personal_id",
            CertLoginError::AmbiguousIdentity => "certificate.error.identity",
            CertLoginError::UnknownPerson => "certificate.error.unknown_person",
            CertLoginError::Inactive => "login.error.inactive",
            CertLoginError::Locked => "login.error.locked",
            CertLoginError::Store(_) => "error.internal",
        }
    }

    /// The code in the audit record.
    pub fn code(&self) -> &'static str {
        match self {
            CertLoginError::ChallengeGone => "challenge_expired",
            CertLoginError::Malformed(_) => "malformed",
            CertLoginError::Refused(WebEidError::Format(_) | WebEidError::Certificate(_)) => "malformed",
            CertLoginError::Refused(WebEidError::Purpose(_)) => "purpose",
            CertLoginError::Refused(WebEidError::Policy(_)) => "policy",
            CertLoginError::Refused(WebEidError::Chain(_)) => "chain",
            CertLoginError::Refused(WebEidError::Revocation(_)) => "revocation",
            CertLoginError::Refused(WebEidError::Algorithm(_)) => "algorithm",
            CertLoginError::Refused(WebEidError::Signature) => "signature",
            CertLoginError::NoPersonalId => "no_personal_id",
            CertLoginError::AmbiguousIdentity => "ambiguous_identity",
            CertLoginError::UnknownPerson => "unknown_person",
            CertLoginError::Inactive => "inactive",
            CertLoginError::Locked => "locked",
            CertLoginError::Store(_) => "server_error",
        }
    }
}

/// The origin the token must be signed for: this provider's (scheme, host, port).
pub fn origin(app: &App) -> String {
    app.settings.issuer.origin().ascii_serialization()
}

fn binding(pending: &Pending) -> String {
    token_hash(&format!("webeid-login:{}:{}", pending.row.id, pending.browser))
}

/// `POST /login/certificate/challenge` (form: `r`, `csrf`): a fresh nonce for this sign-in.
pub async fn challenge(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery, body: Bytes) -> Response {
    let pending = match load_for_script(&app, &headers, &jar, q.as_deref(), &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    // 32 random bytes in standard base64: 44 characters, as Web eID requires.
    let mut raw = [0u8; 32];
    if aws_lc_rs::rand::fill(&mut raw).is_err() {
        return ScriptError::internal("the random number generator failed").into_response();
    }
    let nonce = base64::engine::general_purpose::STANDARD.encode(raw);
    let id = random_token();
    let expires = app.now() + CHALLENGE_TTL;
    // One live challenge per sign-in: asking again replaces it, so rows stay bounded.
    if let Err(e) = app.store.replace_ceremony(&id, KIND, &binding(&pending), &nonce, expires).await {
        return ScriptError::internal(e).into_response();
    }
    Json(json!({ "ceremony": id, "nonce": nonce, "origin": origin(&app), "expires_in": CHALLENGE_TTL })).into_response()
}

/// `POST /login/certificate` (form: `r`, `csrf`, `ceremony`, `token` = the Web eID token JSON).
pub async fn submit(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let f = Params::parse(&body).unwrap_or_default();
    let pending = match load_form(&app, &headers, &jar, &f, Stage::Login).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let client = Some(pending.client.id.as_str());
    match verify(&app, &pending, f.get("ceremony").unwrap_or_default(), f.get("token").unwrap_or_default()).await {
        Ok((person, detail, methods)) => {
            if let Err(e) = audit::record(&app.store, app.now(), Event::CertificateUsed, Some(&person.id), client, detail).await {
                return PageError::internal(pending.locale, e).into_response();
            }
            journey::authenticated(&app, jar, pending, Authentication::by_methods(&person, methods))
                .await
                .unwrap_or_else(IntoResponse::into_response)
        }
        Err((CertLoginError::Store(e), _)) => PageError::internal(pending.locale, e).into_response(),
        Err((e, person_id)) => {
            // The code only: the error text may carry names from the submitted certificate.
            let detail = json!({"factor": "certificate", "reason": e.code()});
            app.stats.record(crate::stats::Observation::failed_sign_in(app.now(), pending.client.id.as_str(), "certificate"));
            if let Err(e) = audit::record(&app.store, app.now(), Event::LoginFailed, person_id.as_ref(), client, detail).await {
                return PageError::internal(pending.locale, e).into_response();
            }
            login::render_login(&app, &pending, Some(e.message_key()), "")
        }
    }
}

/// Checks the token against the challenge of this sign-in and finds its holder; on failure
/// also says whose account it named, when known.
async fn verify(
    app: &App,
    pending: &Pending,
    ceremony: &str,
    token: &str,
) -> Result<(Person, serde_json::Value, &'static [Amr]), (CertLoginError, Option<PersonId>)> {
    let anon = |e: CertLoginError| (e, None);
    let now = app.now();
    // The challenge is spent whatever follows.
    let taken = app
        .store
        .take_ceremony(ceremony, KIND, &binding(pending), now)
        .await
        .map_err(|e| anon(e.into()))?
        .ok_or(anon(CertLoginError::ChallengeGone))?;
    if token.len() > MAX_TOKEN {
        return Err(anon(CertLoginError::Malformed("too large".into())));
    }
    let token: AuthToken = webeid::parse(token.as_bytes()).map_err(|e| anon(CertLoginError::Malformed(e.to_string())))?;
    let pki = &app.settings.pki;
    let origin = origin(app);
    // Revocation evidence needs the chain first; a chain that does not validate is refused
    // by `validate` below with the chain check's own reason.
    let leaf = webeid::certificate(&token).map_err(|e| anon(e.into()))?;
    let policy = Policy::signature(now);
    let path = crate::pki::path::validate(&leaf, &[], &app.pki, &policy);
    // No network calls for a token whose signature is bad anyway: revocation is skipped, so
    // `validate` reports the signature (the Web eID order is kept for every other failure).
    let signed = webeid::verify_signature(&leaf, &token.algorithm, &token.signature, &origin, &taken.state).is_ok();
    let revocation = if path.valid() && signed {
        online::revocation_for(&app.outbound, &app.crls, pki, &path.chain, now, pki.revocation).await
    } else {
        crate::pki::Revocation::new(if signed { pki.revocation } else { crate::pki::Mode::Off })
    };
    let rules = Rules {
        origin: &origin,
        nonce: &taken.state,
        trust: &app.pki,
        policy,
        revocation,
        disallowed_policies: pki.disallowed_policies.clone(),
    };
    let verified = webeid::validate(&token, &rules).map_err(|e| anon(e.into()))?;
    let identity = &verified.report.identity;
    if !identity.problems.is_empty() {
        return Err(anon(CertLoginError::AmbiguousIdentity));
    }
    let pid = identity.personal_id.as_deref().and_then(|p| PersonalId::parse(p).ok()).ok_or(anon(CertLoginError::NoPersonalId))?;
    let (person, state) = app.store.person_for_login(&pid).await.map_err(|e| anon(e.into()))?.ok_or(anon(CertLoginError::UnknownPerson))?;
    let whose = |e: CertLoginError| (e, Some(person.id.clone()));
    if state.locked_until > now {
        return Err(whose(CertLoginError::Locked));
    }
    if person.status != PersonStatus::Active {
        return Err(whose(CertLoginError::Inactive));
    }
    let leaf = &verified.cert;
    let hardware = leaf.ext.policies.iter().flatten().any(|p| pki.hardware_policies.contains(p));
    let methods: &'static [Amr] = if hardware { &HARDWARE_METHODS } else { &SOFTWARE_METHODS };
    // No subject: it carries the personal ID, which the log does not need to repeat.
    let revocation: Vec<_> = verified.report.revocation.iter().map(|e| json!({"cert": e.cert, "status": e.status})).collect();
    let detail = json!({
        "issuer": leaf.issuer(),
        "serial": leaf.serial_hex(),
        "fingerprint": crate::pki::cert::hex(&leaf.fingerprint),
        "hardware": hardware,
        "revocation": revocation,
    });
    Ok((person, detail, methods))
}

/// The login page's script: asks the Web eID extension, or shows the manual form.
pub async fn script() -> Response {
    ([(axum::http::header::CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("../web/webeid.js")).into_response()
}
