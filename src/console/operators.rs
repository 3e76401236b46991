//! Roles, for security administrators: who operates the platform, and granting and revoking
//! roles (each change audited; an administrator cannot remove their own last administrator role).

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde_json::json;

use super::{ConsoleError, Operator, Role, with_operator};
use crate::audit::{self, Event};
use crate::identity::PersonalId;
use crate::state::App;
use crate::web::form::Params;
use crate::web::i18n::Locale;
use crate::web::pages::render;

pub struct OperatorRow {
    pub personal_id: String,
    pub name: String,
    pub role: &'static str,
    pub granted_by: String,
    pub granted_at: String,
}

#[derive(Template)]
#[template(path = "console_operators.html")]
pub struct OperatorsPage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub csrf: String,
    pub rows: Vec<OperatorRow>,
    pub roles: Vec<Role>,
    pub error: Option<String>,
}

async fn list(app: &App, op: &Operator, error: Option<String>) -> Result<OperatorsPage, ConsoleError> {
    let mut rows = Vec::new();
    for (person_id, role, by, at) in app.store.operators().await? {
        let (Some(person), Some(role)) = (app.store.person(&person_id).await?, Role::parse(&role)) else { continue };
        rows.push(OperatorRow {
            personal_id: person.personal_id.as_str().into(),
            name: person.full_name(),
            role: role.as_str(),
            granted_by: by,
            granted_at: crate::account::format_time(at),
        });
    }
    Ok(OperatorsPage {
        locale: op.locale,
        switch_href: Some(format!("/console/operators?lang={}", op.locale.other().as_str())),
        csrf: op.csrf(app),
        rows,
        roles: Role::ALL.to_vec(),
        error,
    })
}

async fn refuse(app: &App, op: &Operator, key: &str) -> Result<Response, ConsoleError> {
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &list(app, op, Some(op.locale.t(key))).await?))
}

/// `GET /console/operators`.
pub async fn page(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(raw): RawQuery) -> Response {
    let q = Params::from_query(&raw);
    with_operator(app, &headers, jar, q.get("lang").map(str::to_owned), |app, op| async move {
        op.require(Role::SecurityAdmin)?;
        Ok(render(StatusCode::OK, &list(&app, &op, None).await?))
    })
    .await
}

/// `POST /console/operators`: `action` grant or revoke, `personal_id`, `role`.
pub async fn change(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, body: Bytes) -> Response {
    let f = Params::parse(&body).unwrap_or_default();
    with_operator(app, &headers, jar, None, |app, op| async move {
        op.require(Role::SecurityAdmin)?;
        op.check_csrf(&app, &f)?;
        let Some(role) = f.get("role").and_then(Role::parse) else { return refuse(&app, &op, "console.operators.error.role").await };
        let person = match PersonalId::parse(f.get("personal_id").unwrap_or_default()) {
            Ok(pid) => app.store.person_for_login(&pid).await?.map(|(p, _)| p),
            Err(_) => None,
        };
        let Some(person) = person else { return refuse(&app, &op, "console.operators.error.person").await };
        let grant = match f.get("action") {
            Some("grant") => true,
            Some("revoke") => false,
            _ => return Err(ConsoleError::NotFound),
        };
        // Whoever administers roles cannot lock everyone out by removing their own.
        if !grant && role == Role::SecurityAdmin && person.id == op.person.id {
            return refuse(&app, &op, "console.operators.error.self").await;
        }
        let now = app.now();
        let changed = if grant {
            app.store.grant_role(&person.id, role.as_str(), &op.actor().label(), now).await?
        } else {
            app.store.revoke_role(&person.id, role.as_str()).await?
        };
        if changed {
            let detail =
                json!({"operator": op.actor().label(), "action": if grant { "granted" } else { "revoked" }, "role": role.as_str()});
            audit::record(&app.store, now, Event::OperatorRoleChanged, Some(&person.id), None, detail).await?;
        }
        Ok(Redirect::to("/console/operators").into_response())
    })
    .await
}
