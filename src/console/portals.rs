//! Console pages for portal administrators: list and search, register, edit, disable and
//! re-enable, rotate the secret, delete (the work is `admin::portals`, as for the API and CLI).

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use super::{ConsoleError, Operator, Role, with_operator};
use crate::admin::portals::{self, Change, PortalError};
use crate::audit::{self, Event};
use crate::client::{Client, ClientId};
use crate::oidc::registration::{self, ClientSpec};
use crate::protocol::scopes;
use crate::state::App;
use crate::web::form::Params;
use crate::web::i18n::Locale;
use crate::web::pages::render;

pub struct PortalRow {
    pub id: String,
    pub name: String,
    pub disabled: bool,
    pub scopes: String,
}

#[derive(Template)]
#[template(path = "console_portals.html")]
pub struct ListPage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub csrf: String,
    pub q: String,
    pub rows: Vec<PortalRow>,
    pub scopes: Vec<&'static str>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "console_portal.html")]
pub struct DetailPage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub csrf: String,
    pub id: String,
    pub name: String,
    pub auth_method: String,
    pub redirect_uris: String,
    pub post_logout_uris: String,
    /// Every further option (back-channel logout, purposes, responsible organisation, legal
    /// basis, agency code, keys, profile…) as the admin API's `options` JSON, without the
    /// post-logout URIs (edited above it).
    pub options_json: String,
    /// (scope, allowed)
    pub scopes: Vec<(&'static str, bool)>,
    pub disabled: Option<(String, String)>,
    pub has_secret: bool,
    pub previous_secret_until: Option<String>,
    /// Shown once, after a registration or a rotation.
    pub new_secret: Option<String>,
    pub notice: Option<String>,
    pub error: Option<String>,
}

fn when(_locale: Locale, at: i64) -> String {
    crate::account::format_time(at)
}

fn detail(app: &App, op: &Operator, c: &Client) -> DetailPage {
    DetailPage {
        locale: op.locale,
        switch_href: Some(format!("/console/portals/{}?lang={}", urlencoding(&c.id), op.locale.other().as_str())),
        csrf: op.csrf(app),
        id: c.id.to_string(),
        name: c.name.clone(),
        auth_method: c.auth_method.as_str().into(),
        redirect_uris: c.redirect_uris.join("\n"),
        post_logout_uris: c.options.post_logout_redirect_uris.join("\n"),
        options_json: further_options(c),
        scopes: scopes::SUPPORTED.iter().map(|s| (*s, c.allowed_scopes.iter().any(|a| a == s))).collect(),
        disabled: c.disabled.as_ref().map(|d| (when(op.locale, d.at), d.reason.clone())),
        has_secret: c.secret_hash.is_some(),
        previous_secret_until: c.previous_secret.as_ref().filter(|p| p.expires_at > app.now()).map(|p| when(op.locale, p.expires_at)),
        new_secret: None,
        notice: None,
        error: None,
    }
}

fn further_options(c: &Client) -> String {
    let mut o = c.options.clone();
    o.post_logout_redirect_uris.clear();
    serde_json::to_string_pretty(&o).unwrap_or_default()
}

pub(super) fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The message an operator reads for a refused change.
fn message(locale: Locale, e: &PortalError) -> String {
    let key = match e {
        PortalError::NotFound => "console.error.not_found",
        PortalError::NoSecret(_) => "console.portal.error.no_secret",
        PortalError::Overlap => "console.portal.error.overlap",
        PortalError::Reason => "console.error.reason",
        PortalError::SectorChange(_) => "console.portal.error.sector",
        PortalError::Invalid(inner) => return format!("{} ({inner})", locale.t("console.portal.error.invalid")),
        PortalError::Sector(_) => "console.portal.error.sector_document",
        PortalError::Store(_) => "error.internal",
    };
    locale.t(key)
}

fn lines(raw: Option<&str>) -> Vec<String> {
    raw.unwrap_or_default().lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

fn chosen_scopes(f: &Params) -> Vec<String> {
    scopes::SUPPORTED.iter().filter(|s| f.get(&format!("scope_{s}")) == Some("on")).map(|s| s.to_string()).collect()
}

async fn list_page(app: &App, op: &Operator, q: &str, error: Option<String>) -> Result<ListPage, ConsoleError> {
    let needle = crate::identity::search::fold(q);
    let rows = app
        .store
        .clients()
        .await?
        .iter()
        // The console's own clients are not portals.
        .filter(|c| !crate::client::is_built_in(&c.id))
        .filter(|c| needle.is_empty() || crate::identity::search::fold(&c.name).contains(&needle) || c.id.as_str().contains(q.trim()))
        .map(|c| PortalRow {
            id: c.id.to_string(),
            name: c.name.clone(),
            disabled: c.disabled.is_some(),
            scopes: c.allowed_scopes.join(" "),
        })
        .collect();
    Ok(ListPage {
        locale: op.locale,
        switch_href: Some(format!("/console/portals?lang={}", op.locale.other().as_str())),
        csrf: op.csrf(app),
        q: q.to_string(),
        rows,
        scopes: scopes::SUPPORTED.to_vec(),
        error,
    })
}

/// `GET /console/portals[?q=…]`.
pub async fn list(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let q = Params::from_query(&q);
    let search = q.get("q").unwrap_or_default().to_string();
    with_operator(app, &headers, jar, q.get("lang").map(str::to_owned), |app, op| async move {
        op.require(Role::PortalAdmin)?;
        Ok(render(StatusCode::OK, &list_page(&app, &op, &search, None).await?))
    })
    .await
}

/// `POST /console/portals`: registers a portal (openid only unless scopes are ticked); its
/// secret is shown once.
pub async fn create(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let f = Params::parse(&body).unwrap_or_default();
    with_operator(app, &headers, jar, None, |app, op| async move {
        op.require(Role::PortalAdmin)?;
        op.check_csrf(&app, &f)?;
        let spec = ClientSpec {
            name: f.get("name").unwrap_or_default().to_string(),
            redirect_uris: lines(f.get("redirect_uris")),
            auth_method: Some("client_secret_basic".into()),
            scopes: chosen_scopes(&f),
            ..Default::default()
        };
        let built = registration::build(&spec);
        let (client, secret) = match built {
            Ok(b) => b,
            Err(e) => {
                let msg = message(op.locale, &PortalError::Invalid(e));
                return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &list_page(&app, &op, "", Some(msg)).await?));
            }
        };
        app.store.put_client(&client, app.now()).await?;
        let detail = json!({"operator": op.actor().label(), "name": client.name});
        audit::record(&app.store, app.now(), Event::ClientRegistered, None, Some(client.id.as_str()), detail).await?;
        let mut page = detail_of(&app, &op, &client);
        page.new_secret = secret;
        page.notice = Some(op.locale.t("console.portal.created"));
        Ok(render(StatusCode::CREATED, &page))
    })
    .await
}

fn detail_of(app: &App, op: &Operator, c: &Client) -> DetailPage {
    detail(app, op, c)
}

async fn load(app: &App, id: &str) -> Result<Client, ConsoleError> {
    let id = ClientId::parse(id).ok_or(ConsoleError::NotFound)?;
    app.store.client_record(&id).await?.ok_or(ConsoleError::NotFound)
}

/// `GET /console/portals/{id}`.
pub async fn show(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    jar: CookieJar,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = Params::from_query(&q);
    let done = q.get("done").map(str::to_owned);
    with_operator(app, &headers, jar, q.get("lang").map(str::to_owned), |app, op| async move {
        op.require(Role::PortalAdmin)?;
        let c = load(&app, &id).await?;
        let mut page = detail(&app, &op, &c);
        page.notice = done
            .filter(|d| ["saved", "disabled", "enabled"].contains(&d.as_str()))
            .map(|d| op.locale.t(&format!("console.portal.done.{d}")));
        Ok(render(StatusCode::OK, &page))
    })
    .await
}

/// The result of an action: back to the portal's page, or the page again with the reason.
async fn after(app: &App, op: &Operator, id: &str, result: Result<&'static str, PortalError>) -> Result<Response, ConsoleError> {
    match result {
        Ok(done) => Ok(Redirect::to(&format!("/console/portals/{}?done={done}", urlencoding(id))).into_response()),
        Err(PortalError::NotFound) => Err(ConsoleError::NotFound),
        Err(PortalError::Store(e)) => Err(e.into()),
        Err(e) => {
            let c = load(app, id).await?;
            let mut page = detail(app, op, &c);
            page.error = Some(message(op.locale, &e));
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// `POST /console/portals/{id}/{action}`: edit, disable, enable, rotate, delete.
pub async fn act(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    jar: CookieJar,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let f = Params::parse(&body).unwrap_or_default();
    with_operator(app, &headers, jar, None, |app, op| async move {
        op.require(Role::PortalAdmin)?;
        op.check_csrf(&app, &f)?;
        let client_id = ClientId::parse(&id).ok_or(ConsoleError::NotFound)?;
        let (now, actor) = (app.now(), op.actor());
        let reason = f.get("reason").unwrap_or_default();
        let result = match action.as_str() {
            "edit" => {
                let current = load(&app, &id).await?;
                // The further options as JSON, through the same validation as the API; left
                // empty, they stay as they are.
                let mut options = match f.get("options").map(str::trim).filter(|t| !t.is_empty()) {
                    None => current.options.clone(),
                    Some(text) => match serde_json::from_str::<crate::client::ClientOptions>(text) {
                        Ok(o) => o,
                        Err(e) => {
                            let mut page = detail(&app, &op, &current);
                            page.options_json = text.to_string();
                            page.error = Some(format!("{} ({e})", op.locale.t("console.portal.error.options")));
                            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
                        }
                    },
                };
                options.post_logout_redirect_uris = lines(f.get("post_logout_uris"));
                let change = Change {
                    name: f.get("name").map(str::to_owned),
                    redirect_uris: Some(lines(f.get("redirect_uris"))),
                    scopes: Some(chosen_scopes(&f)),
                    options: Some(options),
                };
                portals::update(&app.store, &app.outbound, now, &client_id, change, &actor).await.map(|_| "saved")
            }
            "disable" => portals::disable(&app.store, now, &client_id, reason, &actor).await.map(|_| "disabled"),
            "enable" => portals::enable(&app.store, now, &client_id, reason, &actor).await.map(|_| "enabled"),
            "rotate" => {
                let hours: i64 = f.get("overlap_hours").and_then(|h| h.trim().parse().ok()).unwrap_or(-1);
                match portals::rotate_secret(&app.store, now, &client_id, hours.saturating_mul(3600), &actor).await {
                    Ok(secret) => {
                        let c = load(&app, &id).await?;
                        let mut page = detail(&app, &op, &c);
                        page.new_secret = Some(secret);
                        page.notice = Some(op.locale.t("console.portal.rotated"));
                        return Ok(render(StatusCode::OK, &page));
                    }
                    Err(e) => Err(e),
                }
            }
            "delete" => {
                if f.get("confirm") != Some(&*id) {
                    return after(&app, &op, &id, Err(PortalError::Reason)).await;
                }
                portals::delete(&app.store, now, &client_id, &actor).await?;
                return Ok(Redirect::to("/console/portals").into_response());
            }
            _ => return Err(ConsoleError::NotFound),
        };
        after(&app, &op, &id, result).await
    })
    .await
}

impl From<PortalError> for ConsoleError {
    fn from(e: PortalError) -> Self {
        match e {
            PortalError::Store(s) => ConsoleError::Store(s),
            _ => ConsoleError::NotFound,
        }
    }
}
