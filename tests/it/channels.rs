//! The message channels against real receivers: an HTTP SMS gateway (a small server here that
//! checks the signature, fails once, then accepts) and an SMTP server (Python `aiosmtpd` from
//! PyPI, installed by tests/run into a venv named by `NIXA_AIOSMTPD_PYTHON`).

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use nixa::channels::{Address, ChannelError, Channels, ChannelsConfig, EmailConfig, Message, SmsConfig, signature};
use serde_json::{Value, json};

#[derive(Default)]
struct Gateway {
    calls: u32,
    accepted: Vec<Value>,
}

async fn receive(State(g): State<Arc<Mutex<Gateway>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let sig = headers.get("x-nixa-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if sig != signature("gateway-secret", &body) {
        return StatusCode::UNAUTHORIZED;
    }
    let mut g = g.lock().unwrap();
    g.calls += 1;
    if g.calls == 1 {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    g.accepted.push(serde_json::from_slice(&body).unwrap());
    StatusCode::OK
}

async fn gateway() -> (String, Arc<Mutex<Gateway>>) {
    let state = Arc::new(Mutex::new(Gateway::default()));
    let app = axum::Router::new().route("/send", axum::routing::post(receive)).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/send"), state)
}

fn sms(url: &str, secret: &str, retries: u32) -> ChannelsConfig {
    ChannelsConfig {
        sms: Some(SmsConfig {
            url: url.into(),
            secret: secret.into(),
            template: json!({"destination": "{to}", "content": {"text": "{text}"}, "brand": "DinhDanh"}),
            timeout_secs: 2,
            retries,
        }),
        ..Default::default()
    }
}

fn text_to(to: Address) -> Message {
    Message {
        to, subject: "Mã xác thực".into(), text: "Mã xác thực của bạn là 482913. Không chia sẻ mã này với bất kỳ ai.".into()
    }
}

#[tokio::test]
async fn sms_is_signed_templated_and_retried_after_a_5xx() {
    let (url, gw) = gateway().await;
    let channels = Channels::new(&sms(&url, "gateway-secret", 2)).unwrap();
    channels.send(&text_to(Address::Phone("+84901234567".into()))).await.unwrap();
    let g = gw.lock().unwrap();
    assert_eq!(g.calls, 2, "the first 503 was retried once");
    assert_eq!(
        g.accepted,
        vec![
            json!({"destination": "+84901234567", "content": {"text": "Mã xác thực của bạn là 482913. Không chia sẻ mã này với bất kỳ ai."}, "brand": "DinhDanh"})
        ]
    );
}

#[tokio::test]
async fn sms_refusals_and_outages_are_errors() {
    let (url, gw) = gateway().await;
    // A wrong secret: the gateway refuses (401), which is not retried.
    let wrong = Channels::new(&sms(&url, "another-secret", 3)).unwrap();
    let e = wrong.send(&text_to(Address::Phone("0901234567".into()))).await.unwrap_err();
    assert!(matches!(&e, ChannelError::Sms(m) if m.contains("401")), "{e}");
    assert_eq!(gw.lock().unwrap().calls, 0);
    // Nobody listening: every attempt fails, the error says so without the message text.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let down = Channels::new(&sms(&format!("http://{closed}/send"), "gateway-secret", 1)).unwrap();
    let e = down.send(&text_to(Address::Phone("0901234567".into()))).await.unwrap_err();
    assert_eq!(e.to_string(), "SMS gateway: unreachable after 2 attempts");
    // An e-mail address with only an SMS channel configured.
    let e = down.send(&text_to(Address::Email("an@example.vn".into()))).await.unwrap_err();
    assert!(matches!(e, ChannelError::NoChannel));
}

/// A real SMTP server: `python -m aiosmtpd` delivering every message into a Maildir.
struct SmtpServer {
    child: tokio::process::Child,
    port: u16,
    mbox: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn smtp_server() -> SmtpServer {
    let python = std::env::var("NIXA_AIOSMTPD_PYTHON").expect("NIXA_AIOSMTPD_PYTHON names a Python with aiosmtpd (tests/run installs it)");
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("mbox");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = tokio::process::Command::new(python)
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&mbox)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return SmtpServer { child, port, mbox, _dir: dir };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("aiosmtpd did not start on port {port}");
}

#[tokio::test]
async fn email_goes_through_a_real_smtp_server() {
    let server = smtp_server().await;
    let cfg = ChannelsConfig {
        email: Some(EmailConfig {
            smtp_url: format!("smtp://127.0.0.1:{}", server.port),
            from: "Định danh điện tử <no-reply@id.example.vn>".into(),
            timeout_secs: 5,
        }),
        ..Default::default()
    };
    let channels = Channels::new(&cfg).unwrap();
    channels.send(&text_to(Address::Email("nguyen.van.an@example.vn".into()))).await.unwrap();
    let mut mbox = String::new();
    for _ in 0..50 {
        mbox = delivered(&server.mbox);
        if !mbox.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(mbox.contains("To: nguyen.van.an@example.vn"), "{mbox}");
    assert!(mbox.contains("no-reply@id.example.vn"), "{mbox}");
    // Vietnamese subject and body survive the trip (MIME-encoded in transit).
    let decoded = mailparse_free_decode(&mbox);
    assert!(decoded.contains("482913"), "{mbox}");
    // An address that is not one is refused before anything is sent.
    let e = channels.send(&text_to(Address::Email("not an address".into()))).await.unwrap_err();
    assert!(matches!(e, ChannelError::BadAddress(_)), "{e}");
}

/// Every message delivered into the Maildir, concatenated.
fn delivered(maildir: &std::path::Path) -> String {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else { return String::new() };
    entries.filter_map(|e| e.ok()).filter_map(|e| std::fs::read_to_string(e.path()).ok()).collect()
}

/// The body as sent: lettre chooses quoted-printable or base64 for non-ASCII text; the code is
/// ASCII digits, found in either after decoding base64 lines.
fn mailparse_free_decode(mbox: &str) -> String {
    use base64::Engine;
    let mut out = mbox.to_string();
    for line in mbox.lines() {
        if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(line.trim()) {
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    out
}
