//! One log line per request (`nixa::request`, level info): method, route template (never the
//! path itself, which may carry an identifier), status, latency, request id and client
//! address. No query string, header or body is logged: they carry codes, tokens and IDs.
//!
//! The request id is the trace id (`crate::trace`): the caller's when it sent a valid W3C
//! `traceparent` (so the line joins the caller's trace), else a new one. It is answered in
//! `X-Request-Id`, and the request is a span of that trace while it is handled.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use opentelemetry::KeyValue;
use opentelemetry::trace::SpanKind;

use super::client_addr::ClientAddr;
use crate::trace::{self, Trace};

pub async fn layer(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let trace = Trace::of(req.headers().get("traceparent").and_then(|v| v.to_str().ok()));
    let request_id = trace.request_id();
    let span = trace.start(SpanKind::Server, || {
        let attributes = vec![KeyValue::new("http.request.method", method.to_string()), KeyValue::new("http.route", route.clone())];
        (format!("{method} {route}"), attributes)
    });
    let mut res = trace::within(trace, next.run(req)).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    // The throttling layer (inside this one) leaves the address it worked out in the response.
    let client = res.extensions().get::<ClientAddr>().map(|a| a.0.clone()).unwrap_or_else(|| "unknown".into());
    let status = res.status().as_u16();
    tracing::info!(target: "nixa::request", method = %method, route = %route, status, latency_ms = (latency_ms * 10.0).round() / 10.0, request_id = %request_id, client = %client, "request");
    crate::metrics::http_request(method.as_str(), &route, status, started.elapsed());
    span.finish(|| vec![KeyValue::new("http.response.status_code", i64::from(status))], status >= 500);
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}
