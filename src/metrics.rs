//! Prometheus metrics (`metrics` facade, `metrics-exporter-prometheus`), served on their own
//! address (`metrics_listen`, loopback by default) so that they are never public
//! (`routes::metrics_router`).
//!
//! Every name and label is here, in one place, and every label value comes from a small fixed
//! set (a route template, a status, an acr, a method, a grant, an outcome): never a person, a
//! token, a portal's free text or anything unbounded.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Latency buckets (seconds): a password check takes tens of milliseconds, a token call a few.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// The process's recorder, installed once (several servers in one test process share it);
/// `None` when another recorder was installed first.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().set_buckets(&BUCKETS).ok()?.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
}

/// One HTTP request, by method, route template and status.
pub fn http_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let (method, route) = (method.to_string(), route.to_string());
    counter!("nixa_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string()).increment(1);
    histogram!("nixa_http_request_duration_seconds", "method" => method, "route" => route).record(elapsed.as_secs_f64());
}

/// A sign-in that completed (`success`, with its acr and method) or failed (the factor).
pub fn sign_in(method: &str, acr: &str, outcome: &str) {
    counter!("nixa_sign_ins_total", "method" => method.to_string(), "acr" => acr.to_string(), "outcome" => outcome.to_string())
        .increment(1);
}

/// A token request, by grant and whether tokens were issued.
pub fn token(grant: &str, issued: bool) {
    let grant: &'static str = match grant {
        crate::client::GRANT_AUTHORIZATION_CODE => crate::client::GRANT_AUTHORIZATION_CODE,
        crate::client::GRANT_REFRESH_TOKEN => crate::client::GRANT_REFRESH_TOKEN,
        crate::client::GRANT_DEVICE_CODE => crate::client::GRANT_DEVICE_CODE,
        _ => "other",
    };
    counter!("nixa_token_requests_total", "grant" => grant, "outcome" => if issued { "issued" } else { "refused" }).increment(1);
}

/// A request refused by a rate limit (`limit`: which one) or shed by admission control.
pub fn throttled(limit: &'static str) {
    counter!("nixa_throttled_requests_total", "limit" => limit).increment(1);
}

pub fn shed(what: &'static str) {
    counter!("nixa_shed_requests_total", "what" => what).increment(1);
}

/// One run of the upkeep, and what it purged.
pub fn janitor_run(ok: bool) {
    counter!("nixa_janitor_runs_total", "outcome" => if ok { "ok" } else { "error" }).increment(1);
}

pub fn rows_purged(what: &'static str, n: u64) {
    counter!("nixa_rows_purged_total", "what" => what).increment(n);
}

/// A call to an upstream provider (`upstream`: its configured id, a small operator-set list;
/// `op`: discovery, token, userinfo), its outcome and latency. Discovery served from the cache
/// counts too (a few microseconds).
pub fn upstream_call(upstream: &str, op: &'static str, outcome: &'static str, elapsed: Duration) {
    let upstream = upstream.to_string();
    counter!("nixa_upstream_calls_total", "upstream" => upstream.clone(), "op" => op, "outcome" => outcome).increment(1);
    histogram!("nixa_upstream_call_duration_seconds", "upstream" => upstream, "op" => op).record(elapsed.as_secs_f64());
}

/// A back-channel logout delivery attempt's outcome.
pub fn backchannel_delivery(outcome: &'static str) {
    counter!("nixa_backchannel_deliveries_total", "outcome" => outcome).increment(1);
}

/// Audit entries a SIEM sink has yet to take (its cursor behind the log's head).
pub fn siem_lag(sink: &'static str, entries: i64) {
    gauge!("nixa_siem_lag_entries", "sink" => sink).set(entries as f64);
}

pub fn siem_sent(sink: &'static str, entries: u64) {
    counter!("nixa_siem_entries_sent_total", "sink" => sink).increment(entries);
}

pub fn siem_failure(sink: &'static str) {
    counter!("nixa_siem_failures_total", "sink" => sink).increment(1);
}

/// Database statement latency, as the driver measures it: sqlx reports every statement it ran
/// as a `sqlx::query` event with `elapsed_secs` and a `summary` (the statement's first words).
/// This layer, installed beside the log's (`cli::init_logging`) with a filter of its own, reads
/// those events, so the log's level does not decide what is counted; only the statement's verb
/// (`select`, `insert`, `update`, `delete`, `other`) is a label, never the SQL or its values.
pub struct DbStatements;

impl DbStatements {
    pub const TARGET: &'static str = "sqlx::query";
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for DbStatements {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != Self::TARGET {
            return;
        }
        let mut fields = StatementFields::default();
        event.record(&mut fields);
        if let Some(secs) = fields.elapsed_secs {
            histogram!("nixa_db_statement_duration_seconds", "statement" => fields.verb).record(secs);
        }
    }
}

#[derive(Default)]
struct StatementFields {
    elapsed_secs: Option<f64>,
    verb: &'static str,
}

impl tracing::field::Visit for StatementFields {
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.elapsed_secs = Some(value);
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "summary" {
            self.verb = statement_verb(value);
        }
    }

    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

fn statement_verb(summary: &str) -> &'static str {
    let first = summary.split_whitespace().next().unwrap_or_default();
    ["select", "insert", "update", "delete"].into_iter().find(|v| first.eq_ignore_ascii_case(v)).unwrap_or("other")
}

/// The figures read when Prometheus scrapes: the database pool, the signing keys' ages, the
/// statistics buffer.
pub fn scraped(pool: (u32, u32), key_ages: &[(&'static str, i64)], stats_dropped: u64) {
    let (size, idle) = pool;
    gauge!("nixa_db_pool_connections", "state" => "idle").set(f64::from(idle));
    gauge!("nixa_db_pool_connections", "state" => "in_use").set(f64::from(size.saturating_sub(idle)));
    for (alg, age) in key_ages {
        gauge!("nixa_signing_key_age_seconds", "alg" => *alg).set(*age as f64);
    }
    gauge!("nixa_stats_events_dropped").set(stats_dropped as f64);
}

/// The exposition text (empty without a recorder).
pub fn render() -> String {
    handle().map(PrometheusHandle::render).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_verb_of_a_statement_is_a_label() {
        assert_eq!(super::statement_verb("SELECT client_id, secret_hash, …"), "select");
        assert_eq!(super::statement_verb("insert INTO audit …"), "insert");
        assert_eq!(super::statement_verb("WITH x AS …"), "other");
        assert_eq!(super::statement_verb(""), "other");
    }
}
