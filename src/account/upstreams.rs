//! The account page's sign-in providers: which upstreams reach this account, linking one (a
//! sign-in there whose verified personal ID is this account's) and unlinking.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use super::{context, format_time, render_page};
use crate::audit::{self, Event};
use crate::identity::PersonId;
use crate::state::App;
use crate::store::StoreError;
use crate::web::error::PageError;

pub struct UpstreamRow {
    pub id: String,
    pub name: String,
    /// When it was linked, if it is.
    pub linked: Option<String>,
}

pub async fn rows(app: &App, person_id: &PersonId) -> Result<Vec<UpstreamRow>, StoreError> {
    let links = app.store.upstream_links_of(person_id).await?;
    Ok(app
        .federation
        .buttons()
        .into_iter()
        .map(|b| {
            let linked = links.iter().find(|l| l.upstream_id == b.id).map(|l| format_time(l.created_at));
            UpstreamRow { id: b.id, name: b.name, linked }
        })
        .collect())
}

/// `GET /account/upstreams/link/{id}`: signs in at that upstream; coming back, the link is made
/// only if its verified personal ID is this account's (see `authn::upstream`).
pub async fn link(State(app): State<Arc<App>>, Path(id): Path<String>, headers: HeaderMap, jar: CookieJar) -> Response {
    let ctx = match context(&app, &headers, &jar, None).await {
        Ok(c) => c,
        Err((e, locale)) => return e.page(locale),
    };
    if !app.federation.knows(&id) {
        return PageError::new(StatusCode::NOT_FOUND, ctx.locale, "upstream.error.unknown").into_response();
    }
    super::start_sign_in_with(&app, jar, ctx.locale, Some(id)).await
}

/// `POST /account/upstreams/unlink` (form: `csrf`, `upstream`).
pub async fn unlink(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let (ctx, f) = match super::posted_form(&app, &headers, &jar, &body).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let upstream = f.get("upstream").unwrap_or_default();
    let removed = match app.store.unlink_upstream(&ctx.person.id, upstream).await {
        Ok(r) => r,
        Err(e) => return PageError::internal(ctx.locale, e).into_response(),
    };
    if !removed {
        return render_page(&app, &ctx, StatusCode::NOT_FOUND, Some("account.upstreams.not_linked")).await;
    }
    if let Err(e) =
        audit::record(&app.store, app.now(), Event::UpstreamUnlinked, Some(&ctx.person.id), None, json!({"upstream": upstream})).await
    {
        return PageError::internal(ctx.locale, e).into_response();
    }
    Redirect::to("/account").into_response()
}
