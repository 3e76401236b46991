//! The browser session (SSO) and the browser binding of sign-ins in progress.

use axum_extra::extract::CookieJar;

use crate::assurance::{Acr, Amr};
use crate::crypto::{random_token, token_hash};
use crate::identity::PersonId;
use crate::state::App;
use crate::store::StoreError;
use crate::store::sessions::{SessionOrigin, SessionRecord};
use crate::web::cookies;

#[derive(Debug, Clone)]
pub struct BrowserSession {
    pub id_hash: String,
    pub record: SessionRecord,
    pub acr: Acr,
}

/// The live session of this browser, if any.
pub async fn current(app: &App, jar: &CookieJar, now: i64) -> Result<Option<BrowserSession>, StoreError> {
    let Some(cookie) = jar.get(cookies::SESSION) else { return Ok(None) };
    let id_hash = token_hash(cookie.value());
    let Some(record) = app.store.session(&id_hash, now, app.settings.session_idle).await? else { return Ok(None) };
    // A session whose acr we no longer understand is not reused.
    let Some(acr) = Acr::parse(&record.acr) else { return Ok(None) };
    Ok(Some(BrowserSession { id_hash, record, acr }))
}

/// Starts a new session after a successful sign-in. A new secret every time (no fixation); an
/// earlier session of this browser ends.
pub async fn start(
    app: &App,
    jar: CookieJar,
    person_id: &PersonId,
    acr: Acr,
    amr: &[Amr],
    now: i64,
) -> Result<(CookieJar, BrowserSession), StoreError> {
    if let Some(old) = jar.get(cookies::SESSION) {
        app.store.delete_session(&token_hash(old.value())).await?;
    }
    let secret = random_token();
    let id_hash = token_hash(&secret);
    let record = SessionRecord {
        sid: random_token(),
        person_id: person_id.clone(),
        auth_time: now,
        acr: acr.as_uri().to_string(),
        amr: amr.iter().map(|a| a.as_str().to_string()).collect(),
        expires_at: now + app.settings.session_ttl,
    };
    let origin = crate::audit::current_source()
        .map(|s| SessionOrigin { network: crate::audit::approximate_network(&s.client_addr), user_agent: s.user_agent })
        .unwrap_or_default();
    app.store.insert_session(&id_hash, &record, &origin, now).await?;
    let jar = jar.add(cookies::build(cookies::SESSION, secret, Some(app.settings.session_ttl)));
    Ok((jar, BrowserSession { id_hash, record, acr }))
}

/// The browser binding value, created on first use.
pub fn browser_id(jar: CookieJar) -> (CookieJar, String) {
    match jar.get(cookies::BROWSER) {
        Some(c) if c.value().len() == 43 => {
            let v = c.value().to_string();
            (jar, v)
        }
        _ => {
            let v = random_token();
            (jar.add(cookies::build(cookies::BROWSER, v.clone(), None)), v)
        }
    }
}
