//! The optional question after a sign-in (`/satisfaction`): "how was signing in?", 1 to 5 and a
//! comment, or skip. Asked only when `satisfaction_every_days` is on, after a portal sign-in in
//! which the person authenticated, at most once per person per period (`policy::next`).
//!
//! The answer is never stored with the person: the rating is counted (in memory, then in
//! `stats_daily`) under the person's gender and age band like every statistic, and published
//! only through the same suppression; a comment is kept apart, with its day and rating only.
//! The person's row records when they were asked, nothing more.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use super::journey::advance;
use super::pending::{Pending, load_with_session};
use super::session::BrowserSession;
use super::stage::Stage;
use crate::state::App;
use crate::stats::{Comment, Observation, Rating, method_of};
use crate::web::error::PageError;
use crate::web::form::Params;
use crate::web::i18n::Locale;
use crate::web::lang::remember_lang;
use crate::web::pages::render;

#[derive(Template)]
#[template(path = "satisfaction.html")]
pub struct SatisfactionPage<'a> {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub portal: &'a str,
    pub request_id: &'a str,
    pub csrf: String,
    /// (value, label key), 1 = very hard … 5 = very easy.
    pub scores: [(&'static str, &'static str); 5],
    pub error: Option<&'static str>,
}

const SCORES: [(&str, &str); 5] = [
    ("1", "satisfaction.score.1"),
    ("2", "satisfaction.score.2"),
    ("3", "satisfaction.score.3"),
    ("4", "satisfaction.score.4"),
    ("5", "satisfaction.score.5"),
];

fn page_for(app: &App, p: &Pending, error: Option<&'static str>) -> Response {
    let page = SatisfactionPage {
        locale: p.locale,
        switch_href: p.switch_href("/satisfaction"),
        portal: &p.client.name,
        request_id: &p.row.id,
        csrf: p.csrf(app),
        scores: SCORES,
        error,
    };
    render(if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK }, &page)
}

/// `GET /satisfaction?r=…`: showing the question is what counts as asking.
pub async fn page(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Result<Response, PageError> {
    let q = Params::from_query(&q);
    let (pending, s) = load_with_session(&app, &headers, &jar, q.get("r"), Stage::Satisfaction, q.get("lang")).await?;
    app.store.mark_satisfaction_asked(&s.record.person_id, app.now()).await.map_err(|e| PageError::internal(pending.locale, e))?;
    Ok((remember_lang(jar, q.get("lang")), page_for(&app, &pending, None)).into_response())
}

/// `POST /satisfaction`: `decision=send` with `rating` 1–5 (and an optional `comment`), or
/// `decision=skip`; then on to the portal.
pub async fn submit(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Result<Response, PageError> {
    let f = Params::parse(&body).unwrap_or_default();
    let (mut pending, s) = load_with_session(&app, &headers, &jar, f.get("r"), Stage::Satisfaction, None).await?;
    pending.check_csrf(&app, f.get("csrf").unwrap_or_default())?;
    let rating = match f.get("decision") {
        Some("send") => match f.get("rating").and_then(Rating::parse_score) {
            Some(r) => r,
            None => return Ok(page_for(&app, &pending, Some("satisfaction.error.choose"))),
        },
        Some("skip") => Rating::Skipped,
        _ => return Err(PageError::new(StatusCode::BAD_REQUEST, pending.locale, "error.malformed")),
    };
    count(&app, &pending, &s, rating, f.get("comment"));
    pending.sign_in.rated = true;
    advance(&app, jar, pending, &s).await
}

/// Counts the answer (in memory, like every statistic) and keeps a comment apart.
fn count(app: &App, pending: &Pending, s: &BrowserSession, rating: Rating, comment: Option<&str>) {
    let now = app.now();
    let method = method_of(&s.record.amr);
    let portal = pending.client.id.as_str();
    app.stats.record(Observation::satisfaction(now, portal, s.acr.as_uri(), method, rating, &s.record.person_id));
    // A skip carries no comment.
    if let (Rating::Score(_), Some(text)) = (rating, comment)
        && let Some(c) = Comment::new(now, rating, pending.locale.as_str(), text)
    {
        app.stats.record_comment(c);
    }
}
