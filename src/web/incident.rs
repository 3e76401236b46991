//! Internal errors as incidents: the client sees only an id; the cause is logged under that id
//! by one layer ([`log_incidents`]) that finds the incident in the response's extensions, so
//! that building an error has no side effect (axum's `error-handling` example).

use std::fmt::Display;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// Boxed, so that the error types that carry one stay small.
#[derive(Debug, Clone)]
pub struct Incident(Box<Inner>);

#[derive(Debug, Clone)]
struct Inner {
    id: String,
    cause: String,
}

impl Incident {
    pub fn new(cause: impl Display) -> Self {
        let id = crate::crypto::random_token()[..12].to_string();
        Self(Box::new(Inner { id, cause: cause.to_string() }))
    }

    /// What the client is shown and the log is searched for.
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// Hands the incident to the logging layer with the response that reports it.
    pub fn attach(self, mut res: Response) -> Response {
        res.extensions_mut().insert(self);
        res
    }

    /// The same for an error that may or may not carry an incident.
    pub fn attach_if_any(incident: Option<Self>, res: Response) -> Response {
        match incident {
            Some(i) => i.attach(res),
            None => res,
        }
    }
}

/// The one place internal errors are logged: `internal error` with the incident id and cause.
pub async fn log_incidents(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if let Some(i) = res.extensions().get::<Incident>() {
        tracing::error!(incident = %i.0.id, error = %i.0.cause, "internal error");
    }
    res
}
