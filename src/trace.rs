//! Traces (W3C Trace Context, OpenTelemetry): every request is a span of a trace, the caller's
//! when it sent a valid `traceparent`, else a new one; every call to an upstream provider is a
//! child span whose `traceparent` goes out with the call, so an upstream's logs and traces join
//! ours. The trace id is also the request id of the log line (`web::request_log`).
//!
//! Export is optional: with `[traces] otlp_url` the spans of sampled traces go to an
//! OpenTelemetry collector over OTLP/HTTP (protobuf), batched on a thread of their own with a
//! bounded queue, so that a slow or absent collector drops spans and never holds a request.
//! Spans carry the method, the route template, the status, the upstream and the call: never a
//! path, a query, a header or anything else that may hold a token, a code or a personal ID.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use serde::{Deserialize, Serialize};

/// `[traces]` in nixa.toml.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TracesConfig {
    /// The collector's OTLP/HTTP traces URL, whole (`http://collector:4318/v1/traces`); unset:
    /// no export (the `traceparent` is still passed on to upstream providers).
    pub otlp_url: Option<String>,
    /// The share of new traces exported, 0–1 (default 1). A caller's `traceparent` decides for
    /// the traces it starts (its sampled flag), as W3C Trace Context asks.
    pub sample_ratio: Option<f64>,
}

impl TracesConfig {
    pub fn validate(&self) -> Result<(), String> {
        if let Some(u) = self.otlp_url.as_deref().filter(|u| !crate::config::is_http_url(u)) {
            return Err(format!("traces.otlp_url {u:?} is not an http(s) URL"));
        }
        match self.sample_ratio {
            Some(r) if !(0.0..=1.0).contains(&r) => Err(format!("traces.sample_ratio {r} is not between 0 and 1")),
            _ => Ok(()),
        }
    }
}

struct Export {
    tracer: SdkTracer,
    ratio: f64,
}

/// Set once by `nixa serve` when `otlp_url` is configured; the process's traces go there.
static EXPORT: OnceLock<Export> = OnceLock::new();

/// Starts the export to `cfg.otlp_url`; `None` without one. The provider returned must be shut
/// down at the end (it sends what is still queued).
pub fn start_export(cfg: &TracesConfig) -> Result<Option<SdkTracerProvider>, String> {
    cfg.validate()?;
    let Some(url) = &cfg.otlp_url else { return Ok(None) };
    // The collector is the operator's own address, not one a portal or a person named: it is
    // called directly, not through the guarded client (`outbound`).
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(url.clone())
        .with_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| format!("OTLP exporter: {e}"))?;
    let resource = opentelemetry_sdk::Resource::builder_empty()
        .with_service_name("nixa")
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build();
    let export = Export { tracer: provider.tracer("nixa"), ratio: cfg.sample_ratio.unwrap_or(1.0) };
    if EXPORT.set(export).is_err() {
        return Err("trace export is already started in this process".into());
    }
    Ok(Some(provider))
}

/// Where a span sits in its trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    pub trace_id: TraceId,
    /// This span: the request's, or inside an upstream call the call's.
    pub span_id: SpanId,
    /// The span this one continues: the caller's (remote) or, for a call, the request's.
    parent: Option<(SpanId, bool)>,
    /// Whether the trace is recorded (exported), as the `traceparent` flags say.
    pub sampled: bool,
}

impl Trace {
    /// The trace of a request: the caller's (a valid `traceparent`, W3C Trace Context §3.2) or
    /// a new one.
    pub fn of(traceparent: Option<&str>) -> Self {
        let span_id = SpanId::from_bytes(crate::crypto::random_bytes::<8>());
        match traceparent.and_then(parse) {
            Some((trace_id, parent, flags)) => Self { trace_id, span_id, parent: Some((parent, true)), sampled: flags & 1 == 1 },
            None => {
                let trace_id = TraceId::from_bytes(crate::crypto::random_bytes::<16>());
                let ratio = EXPORT.get().map(|e| e.ratio).unwrap_or(0.0);
                Self { trace_id, span_id, parent: None, sampled: ratio > 0.0 && sample(trace_id, ratio) }
            }
        }
    }

    /// A child span of this one, for an outbound call.
    pub fn child(&self) -> Self {
        Self {
            trace_id: self.trace_id,
            span_id: SpanId::from_bytes(crate::crypto::random_bytes::<8>()),
            parent: Some((self.span_id, false)),
            sampled: self.sampled,
        }
    }

    /// The request id: the trace id in hex.
    pub fn request_id(&self) -> String {
        self.trace_id.to_string()
    }

    /// The `traceparent` naming this span.
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-{:02x}", self.trace_id, self.span_id, u8::from(self.sampled))
    }

    /// Starts this span in the exporter when the trace is exported and sampled; `describe`
    /// (its name and attributes) is called only then. It ends when finished or dropped.
    pub fn start(&self, kind: SpanKind, describe: impl FnOnce() -> (String, Vec<KeyValue>)) -> Recording {
        let Some(export) = EXPORT.get().filter(|_| self.sampled) else { return Recording(None) };
        let parent = match self.parent {
            Some((span_id, remote)) => Context::new().with_remote_span_context(SpanContext::new(
                self.trace_id,
                span_id,
                TraceFlags::SAMPLED,
                remote,
                TraceState::default(),
            )),
            None => Context::new(),
        };
        let (name, attributes) = describe();
        let span = export
            .tracer
            .span_builder(name)
            .with_kind(kind)
            .with_trace_id(self.trace_id)
            .with_span_id(self.span_id)
            .with_attributes(attributes)
            .start_with_context(&export.tracer, &parent);
        Recording(Some(span))
    }
}

/// A span being recorded; nothing when the trace is not exported.
pub struct Recording(Option<opentelemetry_sdk::trace::Span>);

impl Recording {
    /// Ends the span with what is known only at the end; `failed` marks it as an error.
    pub fn finish(mut self, attributes: impl FnOnce() -> Vec<KeyValue>, failed: bool) {
        if let Some(span) = self.0.as_mut() {
            span.set_attributes(attributes());
            if failed {
                span.set_status(Status::error(""));
            }
            span.end();
        }
    }
}

/// `version-traceid-parentid-flags` (lower-case hex, none all zeros, version not `ff`).
fn parse(traceparent: &str) -> Option<(TraceId, SpanId, u8)> {
    let mut parts = traceparent.trim().split('-');
    let (version, trace_id, parent, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    // Version 00 has exactly four fields; a later version may add some (§3.2.4).
    let ok = hex(version, 2)
        && version != "ff"
        && (version != "00" || parts.next().is_none())
        && hex(trace_id, 32)
        && hex(parent, 16)
        && hex(flags, 2);
    if !ok {
        return None;
    }
    let (trace_id, parent) = (TraceId::from_hex(trace_id).ok()?, SpanId::from_hex(parent).ok()?);
    let flags = u8::from_str_radix(flags, 16).ok()?;
    (trace_id != TraceId::INVALID && parent != SpanId::INVALID).then_some((trace_id, parent, flags))
}

/// Deterministic on the trace id (as OpenTelemetry's ratio sampler): every node decides alike.
fn sample(trace_id: TraceId, ratio: f64) -> bool {
    let low = u64::from_be_bytes(trace_id.to_bytes()[8..].try_into().unwrap_or_default());
    ratio >= 1.0 || (low >> 11) as f64 / (1u64 << 53) as f64 <= ratio
}

tokio::task_local! {
    static CURRENT: Trace;
}

/// The span being handled: the request's, or inside [`call`] the call's.
pub fn current() -> Option<Trace> {
    CURRENT.try_with(Trace::clone).ok()
}

/// Runs `fut` (the handling of a request) in `trace`.
pub async fn within<T>(trace: Trace, fut: impl Future<Output = T>) -> T {
    CURRENT.scope(trace, fut).await
}

/// An outbound call as a child span of the current one (none outside a request: the janitor's
/// calls): run the call [`within`] the returned trace, so that [`outbound_headers`] names the
/// call's span, and finish the recording with its outcome.
pub fn call(describe: impl FnOnce() -> (String, Vec<KeyValue>)) -> Option<(Trace, Recording)> {
    let span = current()?.child();
    let recording = span.start(SpanKind::Client, describe);
    Some((span, recording))
}

/// The `traceparent` header for an outbound call made now (empty outside a request).
pub fn outbound_headers() -> axum::http::HeaderMap {
    let mut headers = axum::http::HeaderMap::new();
    if let Some(v) = current().and_then(|t| axum::http::HeaderValue::from_str(&t.traceparent()).ok()) {
        headers.insert("traceparent", v);
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_traceparent_is_joined_anything_else_starts_a_new_trace() {
        let t = Trace::of(Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        assert_eq!(t.request_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(t.parent, Some((SpanId::from_hex("00f067aa0ba902b7").unwrap(), true)));
        assert!(t.sampled);
        let own = t.traceparent();
        assert!(own.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && own.ends_with("-01") && own.len() == 55, "{own}");
        assert_ne!(&own[36..52], "00f067aa0ba902b7", "our span, not the caller's");
        let child = t.child();
        assert_eq!((child.trace_id, child.parent), (t.trace_id, Some((t.span_id, false))));
        assert!(!Trace::of(Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")).sampled, "the caller's flag decides");
        assert!(
            Trace::of(Some("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later")).parent.is_some(),
            "a later version's extra field"
        );
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "garbage",
        ] {
            let fresh = Trace::of(Some(bad));
            assert_ne!(fresh.request_id(), "4bf92f3577b34da6a3ce929d0e0e4736", "{bad}");
            assert_eq!((fresh.request_id().len(), fresh.parent), (32, None), "{bad}");
        }
        assert_ne!(Trace::of(None).trace_id, Trace::of(None).trace_id);
    }

    #[test]
    fn a_bad_collector_url_or_ratio_is_refused_at_start() {
        let cfg = |otlp_url: &str, sample_ratio| TracesConfig { otlp_url: Some(otlp_url.into()), sample_ratio };
        assert!(cfg("http://127.0.0.1:4318/v1/traces", Some(0.1)).validate().is_ok());
        assert!(TracesConfig::default().validate().is_ok());
        for bad in [
            cfg("collector:4318", None),
            cfg("ftp://c/v1/traces", None),
            cfg("http://c/v1/traces", Some(1.5)),
            cfg("http://c/v1/traces", Some(-0.1)),
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_ratio_samples_about_its_share_and_the_same_trace_alike() {
        let ids: Vec<TraceId> = (0..4000).map(|_| TraceId::from_bytes(crate::crypto::random_bytes::<16>())).collect();
        let share = ids.iter().filter(|t| sample(**t, 0.25)).count() as f64 / ids.len() as f64;
        assert!((0.2..0.3).contains(&share), "{share}");
        assert!(ids.iter().all(|t| sample(*t, 1.0)));
        assert!(ids.iter().all(|t| sample(*t, 0.25) == sample(*t, 0.25)));
    }

    #[tokio::test]
    async fn a_call_inside_a_request_sends_a_child_of_the_request_s_span() {
        assert!(outbound_headers().is_empty(), "no trace outside a request");
        let request = Trace::of(Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        let sent = within(request.clone(), async {
            let (span, recording) = call(|| ("upstream token".into(), vec![])).unwrap();
            let sent = within(span, async { outbound_headers() }).await;
            recording.finish(Vec::new, false);
            sent
        })
        .await;
        let sent = sent["traceparent"].to_str().unwrap().to_string();
        assert!(sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && sent.ends_with("-01"), "{sent}");
        assert_ne!(&sent[36..52], request.span_id.to_string(), "the call's own span");
    }
}
