//! Internal errors as incidents: the client sees only an id; the cause is logged under that id
//! by one layer ([`log_incidents`]) that finds the incident in the response's extensions, so
//! that building an error has no side effect (axum's `error-handling` example).

use std::any::Any;
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
    unavailable: bool,
}

/// How long a client is asked to wait when the database is unavailable (a failover takes seconds).
const UNAVAILABLE_RETRY_AFTER_SECS: u32 = 2;

/// An error of any type, kept as its type so that its kind can be asked (a handler's closure
/// that takes errors of several types takes `&dyn Cause`).
pub trait Cause: Display + Any {}
impl<T: Display + Any> Cause for T {}

impl Incident {
    pub fn new(cause: impl Cause) -> Self {
        Self::of(&cause)
    }

    pub fn of(cause: &dyn Cause) -> Self {
        let id = crate::crypto::random_token()[..12].to_string();
        let unavailable = database_unavailable(cause);
        Self(Box::new(Inner { id, cause: cause.to_string(), unavailable }))
    }

    /// The cause is the database being unreachable or read-only for now (a failover, a restart):
    /// each wire mapping answers 503 for it, and the logging layer adds `Retry-After`.
    pub fn is_unavailable(&self) -> bool {
        self.0.unavailable
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
    let mut res = next.run(req).await;
    if let Some(i) = res.extensions().get::<Incident>().cloned() {
        tracing::error!(incident = %i.0.id, error = %i.0.cause, unavailable = i.0.unavailable, "internal error");
        if i.0.unavailable && res.status() == axum::http::StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, UNAVAILABLE_RETRY_AFTER_SECS.into());
        }
    }
    res
}

/// Whether an error, of whichever type a handler met it as, is the database being unavailable.
fn database_unavailable(cause: &dyn Cause) -> bool {
    use crate::store::StoreError;
    let cause: &dyn Any = cause;
    if let Some(e) = cause.downcast_ref::<StoreError>() {
        e.is_unavailable()
    } else if let Some(crate::keys::KeyError::Store(e)) = cause.downcast_ref::<crate::keys::KeyError>() {
        e.is_unavailable()
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;
    use axum::response::IntoResponse;

    #[test]
    fn a_database_out_of_reach_is_unavailable_and_other_failures_are_internal() {
        assert!(Incident::new(StoreError::Database(sqlx::Error::PoolTimedOut)).is_unavailable());
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(Incident::new(StoreError::Database(sqlx::Error::Io(refused))).is_unavailable());
        assert!(Incident::of(&crate::keys::KeyError::Store(StoreError::Database(sqlx::Error::PoolClosed))).is_unavailable());
        let closed_by_a_proxy = sqlx::Error::Protocol("unexpected response from SSLRequest: 0x00".into());
        assert!(Incident::new(StoreError::Database(closed_by_a_proxy)).is_unavailable());
        assert!(!Incident::new(StoreError::Database(sqlx::Error::Protocol("unexpected message".into()))).is_unavailable());
        assert!(!Incident::new(StoreError::Database(sqlx::Error::RowNotFound)).is_unavailable());
        assert!(!Incident::new(StoreError::Corrupt("x".into())).is_unavailable());
        assert!(!Incident::new("some other failure").is_unavailable());
    }

    #[tokio::test]
    async fn each_wire_mapping_answers_503_with_retry_after_for_an_unavailable_database() {
        use crate::web::error::{PageError, ScriptError};
        let down = || StoreError::Database(sqlx::Error::PoolTimedOut);
        let app = axum::Router::new()
            .route("/oauth", axum::routing::get(move || async move { crate::protocol::error::OAuthError::from(down()).into_response() }))
            .route(
                "/page",
                axum::routing::get(move || async move { PageError::internal(crate::web::i18n::Locale::Vi, down()).into_response() }),
            )
            .route("/script", axum::routing::get(move || async move { ScriptError::internal(down()).into_response() }))
            .route("/broken", axum::routing::get(|| async { ScriptError::internal("a bug").into_response() }))
            .layer(axum::middleware::from_fn(log_incidents));
        for (path, status) in [("/oauth", 503), ("/page", 503), ("/script", 503), ("/broken", 500)] {
            let req = axum::http::Request::get(path).body(axum::body::Body::empty()).unwrap();
            let res = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
            assert_eq!(res.status().as_u16(), status, "{path}");
            assert_eq!(res.headers().get("retry-after").is_some(), status == 503, "{path}");
            let body = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
            let body = String::from_utf8_lossy(&body);
            match path {
                "/oauth" => assert!(body.contains("\"temporarily_unavailable\""), "{body}"),
                "/page" => assert!(body.contains("tạm gián đoạn"), "{body}"),
                _ => {}
            }
        }
    }
}
