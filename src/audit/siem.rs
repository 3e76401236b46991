//! The audit log streamed to a security operations centre (`[siem]`): RFC 5424 syslog over TCP
//! (octet-counted frames, RFC 6587) and/or JSON Lines over HTTP, **at least once**.
//!
//! Each sink keeps a cursor in the database (`siem_cursors`): the last sequence number it took.
//! A restart goes on from there; a resend after a failure carries the same sequence numbers, so
//! the receiver can drop duplicates. The stream reads the audit table, never a queue in memory:
//! a receiver that is down costs nothing but a growing lag (`nixa_siem_lag_entries`), and no
//! sign-in ever waits for it.
//!
//! Plain TCP has no acknowledgement, so a batch written to syslog counts as delivered only when
//! the connection is still open a moment later (a receiver that stopped closes it); otherwise
//! the batch is sent again on a new connection. With `syslog_tls` the same frames go over TLS
//! (RFC 5425), the receiver's certificate checked against `syslog_ca_file` or the public roots.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::outbound::Outbound;
use crate::store::audit::AuditEntry;
use crate::store::{Store, StoreError};

/// `[siem]` in nixa.toml.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiemConfig {
    /// `host:port` of a syslog receiver (rsyslog `imtcp`, a SIEM's TCP input).
    pub syslog_tcp: Option<String>,
    /// Syslog over TLS (RFC 5425) to `syslog_tcp`; the receiver's certificate must name its host.
    pub syslog_tls: bool,
    /// PEM file of the certificate authorities that issue the receiver's certificate (default:
    /// the public web roots).
    pub syslog_ca_file: Option<std::path::PathBuf>,
    /// An http(s) URL that receives JSON Lines (`POST`, `application/x-ndjson`); a 2xx answer
    /// acknowledges the batch. Called through the guarded client: an internal receiver must be
    /// named in `outbound_allow`.
    pub http_url: Option<String>,
    /// Entries per batch (default 500).
    pub batch: Option<i64>,
    /// The HOSTNAME field of syslog messages (default: the issuer's host).
    pub hostname: Option<String>,
}

/// Where entries go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    Syslog,
    Http,
}

impl Sink {
    pub fn as_str(self) -> &'static str {
        match self {
            Sink::Syslog => "syslog",
            Sink::Http => "http",
        }
    }
}

const DEFAULT_BATCH: i64 = 500;
const IDLE: Duration = Duration::from_millis(500);
/// The pause after a write before the connection is trusted to have carried it.
const CONFIRM: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// An IANA private enterprise number reserved for documentation (RFC 5612), naming our
/// structured data until the project registers its own.
const SD_ID: &str = "nixa@32473";

/// Syslog severity of an event: warnings for what a SOC watches, notices for the rest.
fn severity(event: &str) -> u8 {
    const WARNING: [&str; 6] = ["login.failed", "token.refresh_reused", "person.locked", "client.disabled", "credential.revoked", "audit"];
    if WARNING.iter().any(|w| event.starts_with(w)) { 4 } else { 5 }
}

/// Escapes a structured-data parameter value (RFC 5424 §6.3.3).
fn sd_escape(v: &str) -> String {
    v.chars().filter(|c| !c.is_control()).flat_map(|c| if matches!(c, '"' | '\\' | ']') { vec!['\\', c] } else { vec![c] }).collect()
}

/// A printable-ASCII header field of at most `max` characters, `-` when empty (RFC 5424 §6).
fn header_field(v: &str, max: usize) -> String {
    let f: String = v.chars().filter(|c| c.is_ascii_graphic()).take(max).collect();
    if f.is_empty() { "-".into() } else { f }
}

/// One RFC 5424 message (facility authpriv), its MSG the entry as JSON.
pub fn syslog_message(e: &AuditEntry, hostname: &str) -> String {
    let pri = 10 * 8 + u16::from(severity(&e.event));
    let time = time::OffsetDateTime::from_unix_timestamp(e.at)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| "-".into());
    let mut sd = format!("[{SD_ID} seq=\"{}\" hash=\"{}\"", e.seq, sd_escape(&e.hash));
    if let Some(c) = &e.client_id {
        sd.push_str(&format!(" client=\"{}\"", sd_escape(c)));
    }
    if let Some(a) = &e.client_addr {
        sd.push_str(&format!(" src=\"{}\"", sd_escape(a)));
    }
    sd.push(']');
    format!(
        "<{pri}>1 {time} {} nixa {} {} {sd} {}",
        header_field(hostname, 255),
        std::process::id(),
        header_field(&e.event, 32),
        super::entry_json(e)
    )
}

/// RFC 6587 §3.4.1 octet counting: `LEN SP MSG`.
pub fn frame(message: &str) -> Vec<u8> {
    let mut out = format!("{} ", message.len()).into_bytes();
    out.extend_from_slice(message.as_bytes());
    out
}

/// What the stream needs: the audit table, the guarded client, the configuration.
#[derive(Clone)]
pub struct Exporter {
    pub store: Store,
    pub outbound: Outbound,
    pub cfg: SiemConfig,
    /// The HOSTNAME of syslog messages: `hostname`, else the issuer's host.
    pub hostname: String,
    /// The server's clock (for the cursor's `updated_at`).
    pub now: Arc<dyn Fn() -> i64 + Send + Sync>,
}

impl Exporter {
    fn batch_size(&self) -> i64 {
        self.cfg.batch.unwrap_or(DEFAULT_BATCH).clamp(1, 10_000)
    }
}

/// Starts one task per configured sink.
pub fn spawn(exporter: Exporter) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let mut tasks = Vec::new();
    if let Some(addr) = exporter.cfg.syslog_tcp.clone() {
        let tls = tls_connector(&exporter.cfg)?;
        let e = exporter.clone();
        tasks.push(tokio::spawn(async move { run_syslog(e, addr, tls).await }));
    }
    if let Some(url) = exporter.cfg.http_url.clone() {
        let e = exporter.clone();
        tasks.push(tokio::spawn(async move { run_http(e, url).await }));
    }
    Ok(tasks)
}

/// The TLS client for syslog (`None`: plain TCP). Checked at start-up (`Settings`), so that a
/// missing or empty CA file stops the start rather than the stream.
pub fn tls_connector(cfg: &SiemConfig) -> Result<Option<tokio_rustls::TlsConnector>, String> {
    if !cfg.syslog_tls {
        return Ok(None);
    }
    let mut roots = rustls::RootCertStore::empty();
    match &cfg.syslog_ca_file {
        Some(path) => {
            let unreadable = |e: &dyn std::fmt::Display| format!("siem.syslog_ca_file {}: {e}", path.display());
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| unreadable(&e))? {
                roots.add(cert.map_err(|e| unreadable(&e))?).map_err(|e| unreadable(&e))?;
            }
            if roots.is_empty() {
                return Err(unreadable(&"no certificate in the file"));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Some(tokio_rustls::TlsConnector::from(Arc::new(config))))
}

/// A connection to the syslog receiver.
enum Connection {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Connection {
    async fn open(addr: &str, tls: Option<&tokio_rustls::TlsConnector>) -> Result<Self, String> {
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let Some(tls) = tls else { return Ok(Connection::Plain(tcp)) };
        let host = addr.rsplit_once(':').map(|(h, _)| h.trim_start_matches('[').trim_end_matches(']')).unwrap_or(addr);
        let name = ServerName::try_from(host.to_string()).map_err(|e| format!("{host:?}: {e}"))?;
        let stream = tls.connect(name, tcp).await.map_err(|e| format!("TLS: {e}"))?;
        Ok(Connection::Tls(Box::new(stream)))
    }

    async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Connection::Plain(c) => c.write_all(bytes).await,
            Connection::Tls(c) => {
                c.write_all(bytes).await?;
                c.flush().await
            }
        }
    }

    /// Whether the connection is still open: the receiver never writes, so a readable socket
    /// means it was closed (end of file) or reset. Over TLS the read goes through the session
    /// (which takes the receiver's handshake messages, such as session tickets, itself).
    async fn still_open(&mut self) -> bool {
        let mut buf = [0u8; 64];
        let read = match self {
            Connection::Plain(c) => match c.try_read(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                other => other,
            },
            // Polled once: nothing to read yet is an open connection.
            Connection::Tls(c) => match tokio::time::timeout(Duration::ZERO, c.read(&mut buf)).await {
                Err(_) => return true,
                Ok(read) => read,
            },
        };
        matches!(read, Ok(n) if n > 0)
    }
}

async fn lag(store: &Store, sink: Sink, cursor: i64) {
    if let Ok(head) = store.audit_head_seq().await {
        crate::metrics::siem_lag(sink.as_str(), head.saturating_sub(cursor));
    }
}

/// The next wait after a failure: doubling, at most [`MAX_BACKOFF`].
fn backoff(previous: Duration) -> Duration {
    (previous * 2).clamp(Duration::from_secs(1), MAX_BACKOFF)
}

async fn run_syslog(app: Exporter, addr: String, tls: Option<tokio_rustls::TlsConnector>) {
    let host = app.hostname.clone();
    let mut conn: Option<Connection> = None;
    let mut wait = IDLE;
    // Written on the current connection, not yet known to have arrived.
    let mut unconfirmed: Option<i64> = None;
    loop {
        tokio::time::sleep(wait).await;
        let result: Result<bool, String> = async {
            // What was written before this pause arrived if the connection is still open now.
            if let Some(up_to) = unconfirmed.take() {
                let open = match conn.as_mut() {
                    Some(c) => c.still_open().await,
                    None => false,
                };
                if !open {
                    return Err("the receiver closed the connection; sending again".into());
                }
                app.store.set_siem_cursor(Sink::Syslog.as_str(), up_to, (app.now)()).await.map_err(|e| e.to_string())?;
            }
            let cursor = app.store.siem_cursor(Sink::Syslog.as_str()).await.map_err(|e| e.to_string())?;
            let entries = app.store.audit_entries(cursor, app.batch_size()).await.map_err(|e| e.to_string())?;
            lag(&app.store, Sink::Syslog, cursor).await;
            let Some(last) = entries.last().map(|e| e.seq) else { return Ok(false) };
            if conn.is_none() {
                let c = tokio::time::timeout(Duration::from_secs(5), Connection::open(&addr, tls.as_ref()))
                    .await
                    .map_err(|_| "connecting timed out".to_string())??;
                conn = Some(c);
            }
            let c = conn.as_mut().ok_or("no connection")?;
            let mut bytes = Vec::new();
            for e in &entries {
                bytes.extend(frame(&syslog_message(e, &host)));
            }
            tokio::time::timeout(Duration::from_secs(10), c.write_all(&bytes))
                .await
                .map_err(|_| "writing timed out".to_string())?
                .map_err(|e| e.to_string())?;
            unconfirmed = Some(last);
            crate::metrics::siem_sent(Sink::Syslog.as_str(), entries.len() as u64);
            Ok(entries.len() as i64 == app.batch_size())
        }
        .await;
        wait = match result {
            // A full batch: more is waiting; the pause is the moment that confirms it.
            Ok(true) => CONFIRM,
            Ok(false) => IDLE,
            Err(e) => {
                // Whatever was not confirmed is sent again, from the cursor, on a new connection.
                conn = None;
                unconfirmed = None;
                let next = backoff(if wait <= IDLE { Duration::ZERO } else { wait });
                crate::metrics::siem_failure(Sink::Syslog.as_str());
                tracing::warn!(sink = "syslog", %addr, error = %e, retry_in_secs = next.as_secs(), "SIEM export");
                next
            }
        };
    }
}

async fn run_http(app: Exporter, url: String) {
    let mut wait = Duration::ZERO;
    loop {
        tokio::time::sleep(if wait.is_zero() { IDLE } else { wait }).await;
        match http_batch(&app, &url).await {
            Ok(()) => wait = Duration::ZERO,
            Err(e) => {
                wait = backoff(wait);
                crate::metrics::siem_failure(Sink::Http.as_str());
                tracing::warn!(sink = "http", error = %e, retry_in_secs = wait.as_secs(), "SIEM export");
            }
        }
    }
}

async fn http_batch(app: &Exporter, url: &str) -> Result<(), String> {
    let cursor = app.store.siem_cursor(Sink::Http.as_str()).await.map_err(|e: StoreError| e.to_string())?;
    let entries = app.store.audit_entries(cursor, app.batch_size()).await.map_err(|e| e.to_string())?;
    lag(&app.store, Sink::Http, cursor).await;
    let Some(last) = entries.last().map(|e| e.seq) else { return Ok(()) };
    let body: String = entries.iter().map(|e| super::entry_json(e).to_string() + "\n").collect();
    let client = app.outbound.client_for(url).map_err(|e| e.to_string())?;
    let res = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("sending failed: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("the receiver answered {}", res.status()));
    }
    app.store.set_siem_cursor(Sink::Http.as_str(), last, (app.now)()).await.map_err(|e| e.to_string())?;
    crate::metrics::siem_sent(Sink::Http.as_str(), entries.len() as u64);
    lag(&app.store, Sink::Http, last).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(event: &str) -> AuditEntry {
        AuditEntry {
            seq: 42,
            at: 1_796_600_000,
            event: event.into(),
            person_id: None,
            client_id: Some("demo-dvc".into()),
            detail: r#"{"reason":"a \"quoted\" ] reason"}"#.into(),
            prev_hash: "p".into(),
            hash: "h".into(),
            keyed: true,
            client_addr: Some("192.0.2.7".into()),
            user_agent: None,
        }
    }

    #[test]
    fn messages_are_rfc5424_with_the_sequence_number_in_structured_data() {
        let m = syslog_message(&entry("login.failed"), "id.example.vn");
        // authpriv (10) × 8 + warning (4).
        assert!(m.starts_with("<84>1 2026-12-06T"), "{m}");
        assert!(m.contains(" id.example.vn nixa "), "{m}");
        assert!(m.contains(" login.failed [nixa@32473 seq=\"42\" hash=\"h\" client=\"demo-dvc\" src=\"192.0.2.7\"] {"), "{m}");
        let json: serde_json::Value = serde_json::from_str(&m[m.find("] {").unwrap() + 2..]).unwrap();
        assert_eq!(json["seq"], 42);
        assert!(syslog_message(&entry("consent.granted"), "h").starts_with("<85>1 "));
        assert_eq!(sd_escape("a\"b]c\\d\n"), "a\\\"b\\]c\\\\d");
        assert_eq!(header_field("", 32), "-");
        assert_eq!(header_field("bad event name", 32), "badeventname");
    }

    #[test]
    fn frames_count_octets() {
        assert_eq!(frame("héllo"), b"6 h\xc3\xa9llo".to_vec());
    }

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        assert_eq!(backoff(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(backoff(Duration::from_secs(8)), Duration::from_secs(16));
        assert_eq!(backoff(Duration::from_secs(20)), MAX_BACKOFF);
    }
}
