//! The tamper-evident audit log of security events.

pub mod siem;

use serde_json::{Value, json};

use crate::identity::PersonId;
use crate::store::audit::{GENESIS, Hashed, entry_hash};
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    LoginSucceeded,
    LoginFailed,
    AccountLocked,
    ConsentGranted,
    ConsentDenied,
    ConsentWithdrawn,
    CodeReplayed,
    RefreshReused,
    TokenRevoked,
    ClientRegistered,
    ClientUpdated,
    ClientDeleted,
    KeysRotated,
    AdminChange,
    LoggedOut,
    BackchannelLogoutDelivered,
    BackchannelLogoutFailed,
    DeviceApproved,
    DeviceDenied,
    AppDeviceBound,
    AppDeviceRevoked,
    AppLoginApproved,
    AppLoginDenied,
    PasskeyRegistered,
    PasskeyRemoved,
    PasskeyUsed,
    CertificateUsed,
    UpstreamFailed,
    UpstreamLinked,
    UpstreamUnlinked,
    CredentialRevoked,
    ActivationCodeIssued,
    CodeSent,
    CodeRefused,
    Activated,
    Recovered,
    PasswordChanged,
    TotpEnrolled,
    TotpRemoved,
    RecoveryCodesIssued,
    RecoveryCodeUsed,
    CorrectionRequested,
    /// An operator read personal data (a search, a person's page, an admin API read).
    OperatorRead,
    OperatorRoleChanged,
    AuditExported,
    CredentialIssued,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::LoginSucceeded => "login.succeeded",
            Event::LoginFailed => "login.failed",
            Event::AccountLocked => "login.locked",
            Event::ConsentGranted => "consent.granted",
            Event::ConsentDenied => "consent.denied",
            Event::ConsentWithdrawn => "consent.withdrawn",
            Event::CodeReplayed => "token.code_replayed",
            Event::RefreshReused => "token.refresh_reused",
            Event::TokenRevoked => "token.revoked",
            Event::ClientRegistered => "client.registered",
            Event::ClientUpdated => "client.updated",
            Event::ClientDeleted => "client.deleted",
            Event::KeysRotated => "keys.rotated",
            Event::AdminChange => "admin.change",
            Event::LoggedOut => "session.logged_out",
            Event::BackchannelLogoutDelivered => "backchannel_logout.delivered",
            Event::BackchannelLogoutFailed => "backchannel_logout.failed",
            Event::DeviceApproved => "device.approved",
            Event::DeviceDenied => "device.denied",
            Event::AppDeviceBound => "app_device.bound",
            Event::AppDeviceRevoked => "app_device.revoked",
            Event::AppLoginApproved => "app_login.approved",
            Event::CredentialRevoked => "credential.revoked",
            Event::ActivationCodeIssued => "enrol.activation_code_issued",
            Event::CodeSent => "enrol.code_sent",
            Event::CodeRefused => "enrol.code_refused",
            Event::Activated => "enrol.activated",
            Event::Recovered => "enrol.recovered",
            Event::PasswordChanged => "password.changed",
            Event::TotpEnrolled => "totp.enrolled",
            Event::TotpRemoved => "totp.removed",
            Event::RecoveryCodesIssued => "recovery_codes.issued",
            Event::RecoveryCodeUsed => "recovery_codes.used",
            Event::CorrectionRequested => "correction.requested",
            Event::OperatorRead => "operator.read",
            Event::OperatorRoleChanged => "operator.role_changed",
            Event::AuditExported => "audit.exported",
            Event::CredentialIssued => "credential.issued",
            Event::AppLoginDenied => "app_login.denied",
            Event::PasskeyRegistered => "passkey.registered",
            Event::PasskeyRemoved => "passkey.removed",
            Event::PasskeyUsed => "passkey.used",
            Event::CertificateUsed => "certificate.used",
            Event::UpstreamFailed => "upstream.failed",
            Event::UpstreamLinked => "upstream.linked",
            Event::UpstreamUnlinked => "upstream.unlinked",
        }
    }
}

/// Where the actions of a request come from: its client address (`web::throttle`) and
/// User-Agent. Set once per request by the throttling layer, so the call sites of [`record`]
/// need not pass it; actions outside a request (the janitor, deliveries, the command line)
/// have none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub client_addr: String,
    pub user_agent: Option<String>,
}

impl Source {
    /// The longest User-Agent kept: enough to tell browsers and libraries apart.
    const MAX_USER_AGENT: usize = 256;

    pub fn new(client_addr: String, user_agent: Option<&str>) -> Self {
        // Printable characters only: the value ends up in exports and terminals.
        let user_agent = user_agent
            .map(|ua| ua.chars().filter(|c| !c.is_control()).take(Self::MAX_USER_AGENT).collect::<String>())
            .filter(|ua| !ua.is_empty());
        Self { client_addr, user_agent }
    }
}

tokio::task_local! {
    static SOURCE: Source;
}

/// Runs `f` (a request's handling) with `source` as the origin of what it records.
pub async fn from_source<F: std::future::Future>(source: Source, f: F) -> F::Output {
    SOURCE.scope(source, f).await
}

/// Where the request being handled comes from, if it is one.
pub fn current_source() -> Option<Source> {
    SOURCE.try_with(Source::clone).ok()
}

/// The network of a client address as a person may be shown it: an IPv4 /24 or an IPv6 /48,
/// never the address itself.
pub fn approximate_network(addr: &str) -> Option<String> {
    match addr.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            Some(format!("{a}.{b}.{c}.0/24"))
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            Some(format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]))
        }
    }
}

pub async fn record(
    store: &Store,
    now: i64,
    event: Event,
    person_id: Option<&PersonId>,
    client_id: Option<&str>,
    detail: Value,
) -> Result<(), StoreError> {
    let source = SOURCE.try_with(Source::clone).ok();
    store.append_audit(now, event.as_str(), person_id, client_id, &detail.to_string(), source.as_ref()).await?;
    Ok(())
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChainError {
    #[error("audit entry {0} does not follow its predecessor (missing or reordered entry)")]
    Broken(i64),
    #[error("audit entry {0} was altered (hash mismatch)")]
    Altered(i64),
    #[error("audit entry {0} is not keyed although an earlier one is (rewritten without the key)")]
    Downgraded(i64),
    #[error("the checkpoint at entry {0} was not made with this server's key")]
    ForgedCheckpoint(i64),
    #[error("entries up to {0} were checkpointed and are missing or different (truncated or rewritten tail)")]
    Truncated(i64),
    #[error("keyed entries cannot be checked without the audit key")]
    NoKey,
    #[error("entry {0} is missing or is not the one the checkpoint kept outside the database names")]
    NotAsAnchored(i64),
}

/// A checkpoint kept outside the database (the log line `audit checkpoint` that the server
/// writes, forwarded to a SIEM or copied by an auditor): `SEQ:HASH`. Whoever can rewrite the
/// database can also remove its checkpoints, but not these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
}

impl std::str::FromStr for Anchor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (seq, hash) = s.split_once(':').ok_or_else(|| format!("{s:?} is not SEQ:HASH"))?;
        let seq = seq.parse().map_err(|_| format!("{seq:?} is not an entry number"))?;
        Ok(Self { seq, hash: hash.to_string() })
    }
}

/// Checks the chain's entries against checkpoints kept elsewhere (after [`verify_chain`] has
/// checked the chain itself).
pub async fn verify_anchors(store: &Store, anchors: &[Anchor]) -> Result<Result<(), ChainError>, StoreError> {
    for a in anchors {
        let found = store.audit_hash_at(a.seq).await?;
        if !found.is_some_and(|h| crate::crypto::ct_eq(h.as_bytes(), a.hash.as_bytes())) {
            return Ok(Err(ChainError::NotAsAnchored(a.seq)));
        }
    }
    Ok(Ok(()))
}

/// Walks the whole chain, then checks it against every checkpoint; returns the number of
/// entries verified. Entries from before the keyed chain are checked as plain hashes; once one
/// is keyed, every later one must be.
pub async fn verify_chain(store: &Store) -> Result<Result<u64, ChainError>, StoreError> {
    let key = store.audit_key();
    let (mut prev_seq, mut prev_hash, mut count, mut keyed_seen) = (0i64, GENESIS.to_string(), 0u64, false);
    loop {
        let batch = store.audit_entries(prev_seq, 1000).await?;
        if batch.is_empty() {
            break;
        }
        for e in batch {
            if e.seq != prev_seq + 1 || e.prev_hash != prev_hash {
                return Ok(Err(ChainError::Broken(e.seq)));
            }
            if keyed_seen && !e.keyed {
                return Ok(Err(ChainError::Downgraded(e.seq)));
            }
            let scheme = match (e.keyed, key) {
                (true, Some(k)) => Some(k),
                (true, None) => return Ok(Err(ChainError::NoKey)),
                (false, _) => None,
            };
            let fields = Hashed {
                seq: e.seq,
                at: e.at,
                event: &e.event,
                person: e.person_id.as_deref(),
                client: e.client_id.as_deref(),
                detail: &e.detail,
                prev: &e.prev_hash,
                client_addr: e.client_addr.as_deref(),
                user_agent: e.user_agent.as_deref(),
            };
            let expect = entry_hash(scheme, fields);
            if !crate::crypto::ct_eq(expect.as_bytes(), e.hash.as_bytes()) {
                return Ok(Err(ChainError::Altered(e.seq)));
            }
            keyed_seen |= e.keyed;
            prev_seq = e.seq;
            prev_hash = e.hash;
            count += 1;
        }
    }
    if let Some(k) = key {
        for c in store.audit_checkpoints().await? {
            if !crate::crypto::ct_eq(crate::store::audit::checkpoint_mac(k, c.seq, &c.hash).as_bytes(), c.mac.as_bytes()) {
                return Ok(Err(ChainError::ForgedCheckpoint(c.seq)));
            }
            if store.audit_hash_at(c.seq).await?.as_deref() != Some(c.hash.as_str()) {
                return Ok(Err(ChainError::Truncated(c.seq)));
            }
        }
    }
    Ok(Ok(count))
}

/// An entry as exports and the SIEM stream write it (one JSON object).
pub fn entry_json(e: &crate::store::audit::AuditEntry) -> Value {
    json!({
        "seq": e.seq, "at": e.at, "event": e.event, "person_id": e.person_id.as_ref().map(|p| p.as_str()),
        "client_id": e.client_id, "detail": serde_json::from_str::<Value>(&e.detail).unwrap_or(Value::String(e.detail.clone())),
        "client_addr": e.client_addr, "user_agent": e.user_agent, "hash": e.hash, "prev_hash": e.prev_hash,
    })
}
