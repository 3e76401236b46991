//! Lock-out that protects the owner, and says nothing about who has an account.
//!
//! Every sign-in attempt with a guessable secret (password, app code, sent code) is claimed on a
//! counter before the secret is checked: the counter goes up by one in a single statement, and
//! the attempt that reaches `login_max_failures` locks it (`login_lock_secs`, doubling with each
//! attempt beyond) before its own secret is checked, so parallel guesses beyond the threshold are
//! refused unchecked. A success resets the counter.
//!
//! Which counter:
//! - a browser where the person signed in before (OWASP "device cookies"; the browser binding
//!   cookie, known from `known_browsers`) has its own counter for that ID number, so failures
//!   from elsewhere never lock the owner out of it;
//! - any other browser counts against the account;
//! - an ID number without an account counts against a keyed counter and locks exactly like a real
//!   one, after the same Argon2 work: a lock reveals nothing.

use crate::crypto::{b64url, hmac_sha256, token_hash};
use crate::identity::{PersonId, PersonalId};
use crate::state::App;
use crate::store::StoreError;
use crate::store::lockout::{Counted, LockPolicy};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counter {
    /// The account's own counter (`persons`).
    Account(PersonId),
    /// A keyed counter: a known browser's, or an ID number without an account.
    Keyed(String),
}

/// The counter an attempt for `pid` from `browser` (the binding cookie's value) counts on.
pub async fn counter_for(app: &App, pid: &PersonalId, person: Option<&PersonId>, browser: &str) -> Result<Counter, StoreError> {
    let key = &app.secrets.lockout;
    Ok(match person {
        Some(id) if !browser.is_empty() && app.store.is_known_browser(id, &token_hash(browser)).await? => {
            Counter::Keyed(b64url(&hmac_sha256(key, &[b"browser", token_hash(browser).as_bytes(), pid.as_str().as_bytes()])))
        }
        Some(id) => Counter::Account(id.clone()),
        None => Counter::Keyed(b64url(&hmac_sha256(key, &[b"id-number", pid.as_str().as_bytes()]))),
    })
}

fn policy(app: &App) -> LockPolicy {
    LockPolicy { max: app.settings.login_max_failures, lock: app.settings.login_lock }
}

/// Claims an attempt: `None` while the counter is locked (the secret must not be checked).
pub async fn claim(app: &App, counter: &Counter) -> Result<Option<Counted>, StoreError> {
    let now = app.now();
    match counter {
        Counter::Account(id) => app.store.claim_person_attempt(id, now, policy(app)).await,
        Counter::Keyed(key) => app.store.claim_keyed_attempt(key, now, policy(app)).await,
    }
}

/// After a success: the counter starts again.
pub async fn reset(app: &App, counter: &Counter) -> Result<(), StoreError> {
    match counter {
        Counter::Account(id) => app.store.reset_login_failures(id).await,
        Counter::Keyed(key) => app.store.reset_key(key).await,
    }
}

/// Whether the claimed attempt, having failed, left the counter locked.
pub fn locked_after(app: &App, c: &Counted) -> bool {
    c.locked_until > app.now()
}
