//! Errors shown to people: a page in their language. Each kind of error keeps its wire mapping
//! beside it, as this one does: protocol errors in `protocol::error` (JSON body, redirect or
//! `WWW-Authenticate`), the admin API's RFC 9457 problems in `admin::problem`, the app API's in
//! `authn::app_device`. Internal details go to the log under an incident id (`web::incident`),
//! never to the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::i18n::Locale;
use super::incident::Incident;
use super::pages::{ErrorPage, render};

/// An error shown to a person as a page.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub locale: Locale,
    pub message_key: &'static str,
    pub incident: Option<Incident>,
}

impl PageError {
    pub fn new(status: StatusCode, locale: Locale, message_key: &'static str) -> Self {
        Self { status, locale, message_key, incident: None }
    }

    /// An internal error, or the database briefly unavailable: "try again in a moment" (503).
    pub fn internal(locale: Locale, err: impl super::incident::Cause) -> Self {
        Self::of_incident(locale, Incident::new(err))
    }

    /// The same for an error met as `&dyn Cause` (a handler's closure for several error types).
    pub fn internal_of(locale: Locale, err: &dyn super::incident::Cause) -> Self {
        Self::of_incident(locale, Incident::of(err))
    }

    pub fn of_incident(locale: Locale, incident: Incident) -> Self {
        let (status, message_key) = if incident.is_unavailable() {
            (StatusCode::SERVICE_UNAVAILABLE, "error.unavailable")
        } else {
            (StatusCode::INTERNAL_SERVER_ERROR, "error.internal")
        };
        Self { status, locale, message_key, incident: Some(incident) }
    }

    pub fn expired(locale: Locale) -> Self {
        Self::new(StatusCode::BAD_REQUEST, locale, "error.request_expired")
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            locale: self.locale,
            switch_href: super::lang::switch_for_error(self.locale),
            message_key: self.message_key,
            incident: self.incident.as_ref().map(|i| i.id().to_string()),
        };
        Incident::attach_if_any(self.incident, render(self.status, &page))
    }
}

/// An error for a page's own script (the login and account pages `fetch` JSON): `{"error":
/// code}`, with the incident id for an internal one.
#[derive(Debug)]
pub struct ScriptError {
    pub status: StatusCode,
    pub code: &'static str,
    pub incident: Option<Incident>,
}

impl ScriptError {
    pub fn new(status: StatusCode, code: &'static str) -> Self {
        Self { status, code, incident: None }
    }

    pub fn internal(err: impl super::incident::Cause) -> Self {
        let incident = Incident::new(err);
        let (status, code) = if incident.is_unavailable() {
            (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable")
        } else {
            (StatusCode::INTERNAL_SERVER_ERROR, "server_error")
        };
        Self { status, code, incident: Some(incident) }
    }
}

impl IntoResponse for ScriptError {
    fn into_response(self) -> Response {
        match self.incident {
            Some(i) => {
                let body = serde_json::json!({ "error": self.code, "incident": i.id() });
                i.attach((self.status, axum::Json(body)).into_response())
            }
            None => (self.status, axum::Json(serde_json::json!({ "error": self.code }))).into_response(),
        }
    }
}
