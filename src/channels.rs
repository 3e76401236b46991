//! The channels that carry a message to a person: e-mail over SMTP, an HTTP SMS gateway, and a
//! file for `--demo` (so the demo needs no infrastructure). One-time codes, activation and
//! recovery messages and notifications all leave through here.
//!
//! The SMS gateway receives a JSON POST built from a configured template, signed with
//! HMAC-SHA256 over the exact body (`X-Nixa-Signature: sha256=<hex>`), within a timeout, retried
//! on a transport error or a 5xx answer. A message's text is never logged: it may carry a code.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message as Email, Tokio1Executor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Email(String),
    /// E.164 or national form, as the registry holds it.
    Phone(String),
}

/// A short message: the subject is used by e-mail only.
#[derive(Debug, Clone)]
pub struct Message {
    pub to: Address,
    pub subject: String,
    pub text: String,
}

/// `[channels]` in nixa.toml.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelsConfig {
    /// Appends every message to this file instead of sending it (`--demo` writes
    /// `nixa-demo-messages.txt` unless another channel is configured).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsConfig>,
}

impl ChannelsConfig {
    /// Whether any channel is configured.
    pub fn is_empty(&self) -> bool {
        self.file.is_none() && self.email.is_none() && self.sms.is_none()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// `smtp://host:port` (plain, for a relay on the same host), `smtp://host?tls=required`
    /// (STARTTLS) or `smtps://host` (TLS), with `user:password@` when the relay asks.
    pub smtp_url: String,
    /// The sender, e.g. `Định danh điện tử <no-reply@id.gov.vn>`.
    pub from: String,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    /// The gateway's https endpoint.
    pub url: String,
    /// The shared secret for the HMAC signature.
    pub secret: String,
    /// The JSON body; every string value may hold `{to}` and `{text}`.
    #[serde(default = "default_template")]
    pub template: Value,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Further attempts after a transport error or a 5xx answer.
    #[serde(default = "default_retries")]
    pub retries: u32,
}

fn default_timeout() -> u64 {
    10
}

fn default_retries() -> u32 {
    2
}

fn default_template() -> Value {
    serde_json::json!({"to": "{to}", "text": "{text}"})
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("no channel is configured for this kind of address")]
    NoChannel,
    #[error("channel configuration: {0}")]
    Config(String),
    #[error("the address is not usable: {0}")]
    BadAddress(String),
    #[error("writing the message file: {0}")]
    File(#[from] std::io::Error),
    #[error("SMTP: {0}")]
    Smtp(String),
    #[error("SMS gateway: {0}")]
    Sms(String),
}

/// The configured channels, ready to send.
pub struct Channels {
    file: Option<PathBuf>,
    email: Option<(AsyncSmtpTransport<Tokio1Executor>, Mailbox)>,
    sms: Option<(SmsConfig, reqwest::Client)>,
}

impl Channels {
    /// Checks the configuration and prepares the transports. Call it on the Tokio runtime: the
    /// SMTP connection pool lives there.
    pub fn new(cfg: &ChannelsConfig) -> Result<Self, ChannelError> {
        let email = match &cfg.email {
            None => None,
            Some(e) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&e.smtp_url)
                    .map_err(|err| ChannelError::Config(format!("smtp_url: {err}")))?
                    .timeout(Some(Duration::from_secs(e.timeout_secs)))
                    .build();
                let from: Mailbox = e.from.parse().map_err(|err| ChannelError::Config(format!("from: {err}")))?;
                Some((transport, from))
            }
        };
        let sms = match &cfg.sms {
            None => None,
            Some(s) => {
                url::Url::parse(&s.url).map_err(|err| ChannelError::Config(format!("sms url: {err}")))?;
                if !s.template.is_object() {
                    return Err(ChannelError::Config("sms template must be a JSON object".into()));
                }
                let http = reqwest::Client::builder()
                    .timeout(Duration::from_secs(s.timeout_secs))
                    // A gateway that redirects is misconfigured; the signed body is not resent elsewhere.
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|err| ChannelError::Config(err.to_string()))?;
                Some((s.clone(), http))
            }
        };
        Ok(Self { file: cfg.file.clone(), email, sms })
    }

    /// Sends through the file channel when one is configured (demo), otherwise through the
    /// channel for the address's kind.
    pub async fn send(&self, m: &Message) -> Result<(), ChannelError> {
        if let Some(path) = &self.file {
            return append(path, m);
        }
        match &m.to {
            Address::Email(to) => {
                let (transport, from) = self.email.as_ref().ok_or(ChannelError::NoChannel)?;
                let to: Mailbox = to.parse().map_err(|_| ChannelError::BadAddress("e-mail".into()))?;
                let email = Email::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(m.subject.clone())
                    .header(lettre::message::header::ContentType::TEXT_PLAIN)
                    .body(m.text.clone())
                    .map_err(|e| ChannelError::Smtp(e.to_string()))?;
                transport.send(email).await.map_err(|e| ChannelError::Smtp(e.to_string()))?;
                Ok(())
            }
            Address::Phone(to) => {
                let (cfg, http) = self.sms.as_ref().ok_or(ChannelError::NoChannel)?;
                send_sms(cfg, http, to, &m.text).await
            }
        }
    }
}

/// One message per line block, so a person trying the demo can read their code.
fn append(path: &PathBuf, m: &Message) -> Result<(), ChannelError> {
    let to = match &m.to {
        Address::Email(a) | Address::Phone(a) => a,
    };
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    writeln!(f, "To: {to}\nSubject: {}\n{}\n", m.subject, m.text)?;
    Ok(())
}

/// The template with `{to}` and `{text}` filled in, in every string value (keys untouched).
pub fn render(template: &Value, to: &str, text: &str) -> Value {
    match template {
        Value::String(s) => Value::String(s.replace("{to}", to).replace("{text}", text)),
        Value::Array(items) => Value::Array(items.iter().map(|v| render(v, to, text)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), render(v, to, text))).collect()),
        other => other.clone(),
    }
}

/// `sha256=<hex>` of HMAC-SHA256(secret, body): what the gateway checks before sending.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let tag = aws_lc_rs::hmac::sign(&aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes()), body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

async fn send_sms(cfg: &SmsConfig, http: &reqwest::Client, to: &str, text: &str) -> Result<(), ChannelError> {
    let body = serde_json::to_vec(&render(&cfg.template, to, text)).map_err(|e| ChannelError::Sms(e.to_string()))?;
    let sig = signature(&cfg.secret, &body);
    let mut last = String::new();
    for attempt in 0..=cfg.retries {
        if attempt > 0 {
            // A short, growing pause: the gateway is busy or restarting.
            tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
        }
        let sent = http
            .post(&cfg.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("x-nixa-signature", &sig)
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return Ok(()),
            // The gateway refused this message: sending it again changes nothing.
            Ok(r) if r.status().is_client_error() => return Err(ChannelError::Sms(format!("refused: {}", r.status()))),
            Ok(r) => last = format!("answered {}", r.status()),
            Err(e) => last = if e.is_timeout() { "timed out".into() } else { "unreachable".into() },
        }
    }
    Err(ChannelError::Sms(format!("{last} after {} attempts", cfg.retries + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_fill_every_string_and_keep_keys() {
        let t = json!({"to": "{to}", "msg": {"text": "{text}", "parts": ["{to}: {text}"]}, "n": 1});
        assert_eq!(
            render(&t, "+84901234567", "Mã 123456"),
            json!({"to": "+84901234567", "msg": {"text": "Mã 123456", "parts": ["+84901234567: Mã 123456"]}, "n": 1})
        );
    }

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    // The SMTP transport's connection pool lives on the Tokio runtime.
    #[tokio::test]
    async fn bad_configuration_is_refused() {
        let sms = |template: Value| ChannelsConfig {
            sms: Some(SmsConfig { url: "https://sms.example/send".into(), secret: "s".into(), template, timeout_secs: 1, retries: 0 }),
            ..Default::default()
        };
        assert!(Channels::new(&sms(json!(["not", "an", "object"]))).is_err());
        assert!(Channels::new(&sms(default_template())).is_ok());
        let email = ChannelsConfig {
            email: Some(EmailConfig { smtp_url: "smtp://127.0.0.1:2525".into(), from: "not an address".into(), timeout_secs: 1 }),
            ..Default::default()
        };
        assert!(Channels::new(&email).is_err());
    }

    #[tokio::test]
    async fn the_file_channel_appends_and_no_channel_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.txt");
        let file = Channels::new(&ChannelsConfig { file: Some(path.clone()), ..Default::default() }).unwrap();
        for n in ["1", "2"] {
            let m = Message { to: Address::Phone("0901234567".into()), subject: "Mã".into(), text: format!("code {n}") };
            file.send(&m).await.unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("To: 0901234567") && text.contains("code 1") && text.contains("code 2"), "{text}");
        let none = Channels::new(&ChannelsConfig::default()).unwrap();
        let m = Message { to: Address::Email("a@example.vn".into()), subject: "s".into(), text: "t".into() };
        assert!(matches!(none.send(&m).await, Err(ChannelError::NoChannel)));
    }
}
