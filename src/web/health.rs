//! Health for orchestrators and load balancers. `/healthz`: the process answers (restart it if
//! not). `/readyz`: it can serve — the database answers within [`DB_TIMEOUT`], holds every
//! migration this release knows, and the signing keys are loaded — else 503 (take it out of
//! the pool); it is checked on every call, so it turns 200 again by itself once the cause is gone.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::keys::Alg;
use crate::state::App;

/// The longest the database may take to answer a readiness check.
pub const DB_TIMEOUT: Duration = Duration::from_secs(1);

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(app): State<Arc<App>>) -> Response {
    let (database, migrations) = match tokio::time::timeout(DB_TIMEOUT, app.store.migrations_current()).await {
        Ok(Ok(true)) => ("ok", "current"),
        Ok(Ok(false)) => ("ok", "behind"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database refused the check");
            ("error", "unknown")
        }
        Err(_) => ("timeout", "unknown"),
    };
    let keys = if app.keys.signer(Alg::ES256).is_ok() { "loaded" } else { "missing" };
    let ready = database == "ok" && migrations == "current" && keys == "loaded";
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "checks": {"database": database, "migrations": migrations, "signing_keys": keys},
    });
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}
