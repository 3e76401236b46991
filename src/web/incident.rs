//! Internal errors as incidents: the client sees only an id; the cause is logged under that id
//! by one layer ([`log_incidents`]) that finds the incident in the response's extensions, so
//! that building an error has no side effect (axum's `error-handling` example).

use std::fmt::Display;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

#[derive(Debug, Clone)]
pub struct Incident {
    pub id: String,
    cause: String,
}

impl Incident {
    pub fn new(cause: impl Display) -> Self {
        let id = crate::keys::secret::random_token()[..12].to_string();
        Self { id, cause: cause.to_string() }
    }

    /// Hands the incident to the logging layer with the response that reports it.
    pub fn attach(self, mut res: Response) -> Response {
        res.extensions_mut().insert(self);
        res
    }
}

/// The one place internal errors are logged: `internal error` with the incident id and cause.
pub async fn log_incidents(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if let Some(i) = res.extensions().get::<Incident>() {
        tracing::error!(incident = %i.id, error = %i.cause, "internal error");
    }
    res
}
