//! Server-rendered pages (askama templates in `web/templates/`).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::i18n::Locale;

/// A sign-in method offered on the login page. Methods plug in by adding an entry and a form
/// block in `login.html`.
#[derive(Debug, Clone)]
pub struct LoginMethod {
    pub id: &'static str,
    pub title_key: &'static str,
}

pub const PASSWORD_METHOD: LoginMethod = LoginMethod { id: "password", title_key: "login.method.password" };
pub const PASSKEY_METHOD: LoginMethod = LoginMethod { id: "passkey", title_key: "login.method.passkey" };
pub const CERTIFICATE_METHOD: LoginMethod = LoginMethod { id: "certificate", title_key: "login.method.certificate" };

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub portal: &'a str,
    pub request_id: &'a str,
    pub csrf: String,
    pub methods: Vec<LoginMethod>,
    pub login_hint: String,
    pub error: Option<&'static str>,
    pub step_up: bool,
    /// Offer pasting a certificate token when the Web eID extension does not answer.
    pub certificate_paste: bool,
    /// Upstream identity providers offered for brokered sign-in.
    pub upstreams: Vec<UpstreamButton>,
    /// A proof-of-work puzzle the page's script solves before the password form is sent
    /// (`authn::proof_of_work`), when this address tried too many passwords.
    pub proof_of_work: Option<String>,
}

pub struct UpstreamButton {
    pub id: String,
    pub name: String,
    pub logo: Option<String>,
}

#[derive(Template)]
#[template(path = "totp.html")]
pub struct TotpPage<'a> {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub portal: &'a str,
    pub request_id: &'a str,
    pub csrf: String,
    /// No authenticator app: the code was sent to this (masked) address.
    pub sent_to: Option<String>,
    pub error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub portal: &'a str,
    pub request_id: &'a str,
    pub csrf: String,
    pub claim_keys: Vec<&'static str>,
    pub person_name: String,
    /// What the portal uses each scope for, who answers for it, and on what basis.
    pub purposes: Vec<crate::protocol::scopes::ScopePurpose>,
    pub responsible: Option<&'a crate::client::Responsible>,
    pub legal_basis: Option<&'a crate::client::Bilingual>,
}

/// "You are in line" (`web::admission`): `again` is the address asked for again by itself
/// after `retry_secs` (a GET); a form is not sent again.
#[derive(Template)]
#[template(path = "busy.html")]
pub struct BusyPage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub retry_secs: u64,
    pub again: Option<String>,
}

/// The platform's home page (`/`): what it is, the way to one's account, help, the privacy
/// notice.
#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub locale: Locale,
    pub switch_href: Option<String>,
}

/// `GET /`.
pub async fn home(
    axum::extract::State(app): axum::extract::State<std::sync::Arc<crate::state::App>>,
    headers: axum::http::HeaderMap,
    jar: axum_extra::extract::CookieJar,
    axum::extract::RawQuery(q): axum::extract::RawQuery,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let q = super::form::Params::from_query(&q);
    let locale = super::lang::page_locale(app.settings.default_locale, &headers, &jar, None, q.get("lang"));
    let page = HomePage { locale, switch_href: Some(format!("/?lang={}", locale.other().as_str())) };
    (super::lang::remember_lang(jar, q.get("lang")), render(StatusCode::OK, &page)).into_response()
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub message_key: &'static str,
    pub incident: Option<String>,
}

/// Renders a page; a template failure becomes a plain 500 (templates are compiled in, so this
/// only happens on a formatting bug).
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            let incident = super::incident::Incident::new(e);
            let body = format!("internal error, incident {}", incident.id());
            incident.attach((StatusCode::INTERNAL_SERVER_ERROR, body).into_response())
        }
    }
}

pub const STYLESHEET: &str = include_str!("nixa.css");

/// A script the server itself serves (the CSP allows no other), cached for an hour.
pub fn script(body: &'static str) -> impl IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("text/javascript; charset=utf-8")),
            (axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("public, max-age=3600")),
        ],
        body,
    )
}
pub const PASSKEY_SCRIPT: &str = include_str!("passkey.js");
pub const RETRY_SCRIPT: &str = include_str!("retry.js");
pub const PROOF_OF_WORK_SCRIPT: &str = include_str!("proof-of-work.js");

pub struct OrgChoice {
    pub code: String,
    pub name: String,
    pub role_key: &'static str,
}

#[derive(Template)]
#[template(path = "organisation.html")]
pub struct OrganisationPage<'a> {
    pub locale: Locale,
    pub switch_href: Option<String>,
    pub portal: &'a str,
    pub request_id: &'a str,
    pub csrf: String,
    pub orgs: Vec<OrgChoice>,
    pub error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "logout_confirm.html")]
pub struct LogoutConfirmPage {
    pub locale: Locale,
    pub switch_href: Option<String>,
    /// The portal that asked, when it named itself.
    pub portal: Option<String>,
    pub csrf: String,
    /// Carried to the confirmation (empty when absent).
    pub client_id: String,
    pub post_logout_redirect_uri: String,
    pub state: String,
}

#[derive(Template)]
#[template(path = "logged_out.html")]
pub struct LoggedOutPage {
    pub locale: Locale,
    pub switch_href: Option<String>,
}
