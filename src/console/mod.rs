//! The operator's console (`/console`): server-rendered pages for the people who run the
//! platform, in Vietnamese and English like the citizen's pages.
//!
//! Operators are people. They sign in through nixa itself, like the account page does (the
//! built-in client `nixa-console`, `signin::Purpose::Console`), at `urn:vn:eid:loa:2` or higher,
//! and hold roles (`operator_roles`) granted by `nixa operator grant` or by a security
//! administrator. Every page checks its role; every action and every look at a person's data is
//! audited under the operator's internal id (never their personal ID). Machines keep the admin
//! API's bearer tokens.

pub mod audit_log;
pub mod operators;
pub mod people;
pub mod portals;
pub mod roles;
pub mod stats;

use std::sync::Arc;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use crate::admin::actor::Actor;
use crate::assurance::Acr;
use crate::client::Client;
use crate::identity::{Person, PersonStatus};
use crate::signin::session::{self, BrowserSession};
use crate::signin::{Purpose, journey};
use crate::state::App;
use crate::store::StoreError;
use crate::web::error::PageError;
use crate::web::form::Params;
use crate::web::i18n::Locale;
use crate::web::lang::{page_locale, remember_lang};
use crate::web::pages::render;
pub use roles::Role;

/// The built-in client the console signs in through.
pub use crate::client::CONSOLE_CLIENT;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("no live session at loa:2 or higher")]
    SignIn,
    #[error("this person holds no operator role")]
    NotOperator,
    #[error("the role {0:?} is required")]
    Forbidden(Role),
    #[error("the form was not sent from the console")]
    Csrf,
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ConsoleError {
    async fn page(&self, app: &App, jar: CookieJar, locale: Locale) -> Response {
        let (status, key) = match self {
            ConsoleError::SignIn => return start_sign_in(app, jar, locale).await,
            ConsoleError::NotOperator => (StatusCode::FORBIDDEN, "console.error.not_operator"),
            ConsoleError::Forbidden(_) => (StatusCode::FORBIDDEN, "console.error.forbidden"),
            ConsoleError::Csrf => (StatusCode::FORBIDDEN, "error.csrf"),
            ConsoleError::NotFound => (StatusCode::NOT_FOUND, "console.error.not_found"),
            ConsoleError::Store(e) => return PageError::internal_of(locale, e).into_response(),
        };
        PageError::new(status, locale, key).into_response()
    }
}

/// The operator behind a console request.
pub struct Operator {
    pub session: BrowserSession,
    pub person: Person,
    pub roles: Vec<Role>,
    pub locale: Locale,
}

impl Operator {
    pub fn actor(&self) -> Actor {
        Actor::Person(self.person.id.clone())
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn require(&self, role: Role) -> Result<(), ConsoleError> {
        if self.has(role) { Ok(()) } else { Err(ConsoleError::Forbidden(role)) }
    }

    pub fn csrf(&self, app: &App) -> String {
        crate::web::csrf::token(&app.secrets.csrf, &self.session.id_hash, "console")
    }

    pub fn check_csrf(&self, app: &App, form: &Params) -> Result<(), ConsoleError> {
        let presented = form.get("csrf").unwrap_or_default();
        if crate::web::csrf::verify(&app.secrets.csrf, &self.session.id_hash, "console", presented) {
            Ok(())
        } else {
            Err(ConsoleError::Csrf)
        }
    }
}

/// The live operator of this browser: a session at loa:2 or higher, an active person, a role.
async fn operator(app: &App, jar: &CookieJar) -> Result<Operator, ConsoleError> {
    let s = session::current(app, jar, app.now()).await?.ok_or(ConsoleError::SignIn)?;
    if s.acr < Acr::Loa2 {
        return Err(ConsoleError::SignIn);
    }
    let person = app.store.person(&s.record.person_id).await?.ok_or(ConsoleError::SignIn)?;
    if person.status != PersonStatus::Active {
        return Err(ConsoleError::SignIn);
    }
    let roles: Vec<Role> = app.store.roles_of(&person.id).await?.iter().filter_map(|r| Role::parse(r)).collect();
    if roles.is_empty() {
        return Err(ConsoleError::NotOperator);
    }
    Ok(Operator { session: s, person, roles, locale: Locale::Vi })
}

/// Runs a console handler with its operator, or answers with the right page (the sign-in, a
/// refusal, an error).
pub async fn with_operator<F, Fut>(app: Arc<App>, headers: &HeaderMap, jar: CookieJar, lang: Option<String>, f: F) -> Response
where
    F: FnOnce(Arc<App>, Operator) -> Fut,
    Fut: std::future::Future<Output = Result<Response, ConsoleError>>,
{
    let locale = page_locale(app.settings.default_locale, headers, &jar, None, lang.as_deref());
    let op = match operator(&app, &jar).await {
        Ok(mut op) => {
            op.locale = locale;
            op
        }
        Err(e) => return e.page(&app, jar, locale).await,
    };
    let jar = remember_lang(jar, lang.as_deref());
    match f(app.clone(), op).await {
        Ok(r) => (jar, r).into_response(),
        Err(e) => e.page(&app, jar, locale).await,
    }
}

async fn console_client(app: &App) -> Result<Client, StoreError> {
    journey::built_in_client(app, CONSOLE_CLIENT, "nixa console", "/console").await
}

/// Starts a sign-in that ends on the console: the browser goes to the login page.
async fn start_sign_in(app: &App, jar: CookieJar, locale: Locale) -> Response {
    let client = match console_client(app).await {
        Ok(c) => c,
        Err(e) => return PageError::internal(locale, e).into_response(),
    };
    let purpose = Purpose::Console { ui_locales: Some(locale.as_str().into()) };
    journey::start(app, jar, &client, purpose, locale).await.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /console/signin`: sign in (again).
pub async fn sign_in(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let q = Params::from_query(&q);
    let locale = page_locale(app.settings.default_locale, &headers, &jar, None, q.get("lang"));
    start_sign_in(&app, jar, locale).await
}

#[derive(Template)]
#[template(path = "console_home.html")]
pub struct HomePage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub name: String,
    pub roles: Vec<Role>,
}

/// `GET /console`: what the operator's roles let them do.
pub async fn home(State(app): State<Arc<App>>, headers: HeaderMap, jar: CookieJar, RawQuery(q): RawQuery) -> Response {
    let q = Params::from_query(&q);
    with_operator(app, &headers, jar, q.get("lang").map(str::to_owned), |_app, op| async move {
        let page = HomePage {
            locale: op.locale,
            switch_href: Some(format!("/console?lang={}", op.locale.other().as_str())),
            name: op.person.full_name(),
            roles: op.roles.clone(),
        };
        Ok(render(StatusCode::OK, &page))
    })
    .await
}
