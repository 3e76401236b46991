//! The account page's consents (Decree 13/2023: the right to withdraw): each portal the person
//! allowed to receive their data, what it receives and since when, and withdrawing.
//!
//! Withdrawing ends the portal's access at once: its access tokens go, its refresh tokens are
//! revoked (offline access too), it is taken out of the person's sessions (single sign-on there
//! asks again), it is sent a back-channel logout for each of those sessions, and its next
//! sign-in asks for consent again.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use super::{format_time, render_page};
use crate::audit::{self, Event};
use crate::client::ClientId;
use crate::identity::PersonId;
use crate::oidc::logout;
use crate::protocol::scopes;
use crate::state::App;
use crate::store::StoreError;
use crate::web::error::PageError;

/// A consent as the page lists it.
pub struct ConsentRow {
    pub client_id: String,
    pub portal: String,
    /// What the portal receives (i18n keys of the consent page's labels).
    pub claim_keys: Vec<&'static str>,
    pub since: String,
    /// What the portal said it uses each scope for, and who answers for it.
    pub purposes: Vec<scopes::ScopePurpose>,
    pub responsible: Option<crate::client::Responsible>,
}

pub async fn rows(app: &App, person_id: &PersonId) -> Result<Vec<ConsentRow>, StoreError> {
    let mut rows = Vec::new();
    for c in app.store.consents_of(person_id).await? {
        let client = match ClientId::parse(&c.client_id) {
            Some(id) => app.store.client(&id).await?,
            None => None,
        };
        rows.push(ConsentRow {
            claim_keys: scopes::claim_labels(&c.scopes),
            purposes: client.as_ref().map(|k| scopes::purposes(k, &c.scopes)).unwrap_or_default(),
            responsible: client.and_then(|k| k.options.responsible_organisation),
            client_id: c.client_id,
            portal: c.client_name,
            since: format_time(c.granted_at),
        });
    }
    Ok(rows)
}

/// What a withdrawal did, for the audit log and the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawn {
    pub access_tokens: u64,
    pub refresh_tokens: u64,
    pub sessions: usize,
    pub backchannel_deliveries: Vec<String>,
}

/// Withdraws the person's consent to `client_id` and ends what the portal holds (module doc).
/// `None` when there was no such consent.
pub async fn withdraw(app: &Arc<App>, person_id: &PersonId, client_id: &str) -> Result<Option<Withdrawn>, StoreError> {
    let now = app.now();
    let Some(w) = app.store.withdraw_consent(person_id, client_id, now).await? else { return Ok(None) };
    let client = match ClientId::parse(client_id) {
        Some(id) => app.store.client(&id).await?,
        None => None,
    };
    let mut deliveries = Vec::new();
    if let Some(client) = &client {
        for sid in &w.sessions {
            deliveries.extend(logout::owe_logout(app, client, sid, person_id, now).await?);
        }
    }
    let done = Withdrawn {
        access_tokens: w.access_tokens,
        refresh_tokens: w.refresh_tokens,
        sessions: w.sessions.len(),
        backchannel_deliveries: deliveries.iter().map(|d| d.id.clone()).collect(),
    };
    let detail = json!({
        "revoked_access_tokens": done.access_tokens,
        "revoked_refresh_tokens": done.refresh_tokens,
        "sessions": done.sessions,
        "backchannel_deliveries": deliveries.len(),
    });
    app.stats.record(crate::stats::Observation::consent(now, crate::stats::Metric::ConsentWithdrawn, client_id, person_id));
    audit::record(&app.store, now, Event::ConsentWithdrawn, Some(person_id), Some(client_id), detail).await?;
    logout::deliver_in_background(app, deliveries);
    Ok(Some(done))
}

/// `POST /account/consents/withdraw` (form: `csrf`, `client_id`).
pub async fn withdraw_submit(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let (ctx, f) = match super::posted_form(&app, &headers, &jar, &body).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    match withdraw(&app, &ctx.person.id, f.get("client_id").unwrap_or_default()).await {
        Ok(Some(_)) => Redirect::to("/account#consents").into_response(),
        Ok(None) => render_page(&app, &ctx, StatusCode::NOT_FOUND, Some("account.consents.none_such")).await,
        Err(e) => PageError::internal(ctx.locale, e).into_response(),
    }
}
