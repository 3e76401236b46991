//! One log line per request (`nixa::request`, level info): method, route template (never the
//! path itself, which may carry an identifier), status, latency, request id and client
//! address. No query string, header or body is logged: they carry codes, tokens and IDs.
//!
//! The request id is the W3C `traceparent` trace id when the caller sent a valid one (so the
//! line joins the caller's trace), else a fresh random one; it is answered in `X-Request-Id`
//! and stays with the request's handling ([`current`]). Outbound calls do not send it on yet
//! (issue 19: `traceparent` to upstream providers, with OpenTelemetry export).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use super::client_addr::ClientAddr;

/// The request's trace: its id and the `traceparent` an outbound call sends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    pub trace_id: String,
}

impl Trace {
    /// The trace of a request: the caller's (a valid `traceparent`, W3C Trace Context §3.2) or
    /// a new one.
    pub fn of(traceparent: Option<&str>) -> Self {
        let theirs = traceparent.and_then(|t| {
            let mut parts = t.trim().split('-');
            let (version, trace_id, parent, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
            let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            let ok = hex(version, 2)
                && version != "ff"
                && hex(trace_id, 32)
                && trace_id.bytes().any(|b| b != b'0')
                && hex(parent, 16)
                && parent.bytes().any(|b| b != b'0')
                && hex(flags, 2);
            ok.then(|| trace_id.to_string())
        });
        Self { trace_id: theirs.unwrap_or_else(|| crate::crypto::hex(&crate::crypto::random_bytes::<16>())) }
    }

    /// The `traceparent` for a call made while handling this request (a new span id).
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-01", self.trace_id, crate::crypto::hex(&crate::crypto::random_bytes::<8>()))
    }
}

tokio::task_local! {
    static CURRENT: Trace;
}

/// The trace of the request being handled, if any.
pub fn current() -> Option<Trace> {
    CURRENT.try_with(Trace::clone).ok()
}

pub async fn layer(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let trace = Trace::of(req.headers().get("traceparent").and_then(|v| v.to_str().ok()));
    let request_id = trace.trace_id.clone();
    let mut res = CURRENT.scope(trace, next.run(req)).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    // The throttling layer (inside this one) leaves the address it worked out in the response.
    let client = res.extensions().get::<ClientAddr>().map(|a| a.0.clone()).unwrap_or_else(|| "unknown".into());
    let status = res.status().as_u16();
    tracing::info!(target: "nixa::request", method = %method, route = %route, status, latency_ms = (latency_ms * 10.0).round() / 10.0, request_id = %request_id, client = %client, "request");
    crate::metrics::http_request(method.as_str(), &route, status, started.elapsed());
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::Trace;

    #[test]
    fn a_valid_traceparent_is_joined_anything_else_starts_a_new_trace() {
        let t = Trace::of(Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        assert_eq!(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        let next = t.traceparent();
        assert!(next.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && next.ends_with("-01") && next.len() == 55, "{next}");
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "garbage",
        ] {
            let fresh = Trace::of(Some(bad));
            assert_ne!(fresh.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736", "{bad}");
            assert_eq!(fresh.trace_id.len(), 32);
        }
        assert_ne!(Trace::of(None).trace_id, Trace::of(None).trace_id);
    }
}
