//! `nixa qr issue` and `nixa qr verify`.

use std::path::PathBuf;
use std::process::ExitCode;

use super::issue::{self, OrgIdentity, PersonIdentity, Request, Subject};
use super::keys::KeySet;
use super::verify::{self, Options};
use super::{render, service};

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The QR text.
    #[arg(long, conflicts_with = "image", required_unless_present = "image")]
    pub text: Option<String>,
    /// A PNG image holding the QR code.
    #[arg(long, value_name = "PNG")]
    pub image: Option<PathBuf>,
    /// Verification keys: a JWKS, a COSE key set, or a PEM/DER certificate or public key (repeat).
    #[arg(long = "keys", value_name = "FILE")]
    pub keys: Vec<PathBuf>,
    /// Verification instant (RFC 3339); now by default.
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,
    /// Signed status list tokens fetched earlier from their URLs (repeat); a credential whose
    /// list is not given fails its status check unless --no-status.
    #[arg(long = "status-list", value_name = "FILE")]
    pub status_lists: Vec<PathBuf>,
    /// Do not check revocation status (the report says so).
    #[arg(long)]
    pub no_status: bool,
    /// Fetch a status list not given with --status-list from the URL the credential names,
    /// and keep it in --status-cache for the list's `ttl` (an offline verifier reuses it).
    #[arg(long, conflicts_with = "no_status")]
    pub fetch_status: bool,
    /// Where fetched status lists are kept.
    #[arg(long, value_name = "DIR", default_value = ".nixa-status-cache")]
    pub status_cache: PathBuf,
    /// Print the JSON report.
    #[arg(long)]
    pub json: bool,
}

/// Longest a fetched status list is reused when its token names no `ttl` (seconds).
const DEFAULT_STATUS_TTL: i64 = 3600;
const MAX_STATUS_LIST: usize = 4 * 1024 * 1024;

/// A status list from the cache while younger than its `ttl`, else fetched from `uri`; either
/// way its signature is checked under `keys` and it must be the list for `uri`.
fn cached_or_fetched(dir: &std::path::Path, uri: &str, keys: &KeySet, now: i64) -> Result<super::status_list::StatusList, String> {
    use super::status_list::StatusList;
    let file = dir.join(format!("{}.cwt", crate::crypto::b64url(&crate::crypto::sha256(uri.as_bytes()))));
    if let (Ok(token), Ok(meta)) = (std::fs::read(&file), std::fs::metadata(&file)) {
        let age =
            meta.modified().ok().and_then(|m| m.elapsed().ok()).map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)).unwrap_or(i64::MAX);
        if let Ok(l) = StatusList::verify(&token, uri, keys, now) {
            let ttl = if l.ttl > 0 { l.ttl } else { DEFAULT_STATUS_TTL };
            if age < ttl {
                return Ok(l);
            }
        }
    }
    let url = url::Url::parse(uri)
        .ok()
        .filter(|u| matches!(u.scheme(), "https" | "http"))
        .ok_or_else(|| format!("status list URI {uri} is not an http(s) URL"))?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let token = rt.block_on(async {
        // The operator's own command names the URI: any address may be called.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        let r = http.get(url).send().await.and_then(|r| r.error_for_status()).map_err(|e| format!("fetching {uri}: {e}"))?;
        let body = r.bytes().await.map_err(|e| format!("fetching {uri}: {e}"))?;
        if body.len() > MAX_STATUS_LIST {
            return Err(format!("status list at {uri} is too large"));
        }
        Ok::<_, String>(body.to_vec())
    })?;
    let list = StatusList::verify(&token, uri, keys, now).map_err(|e| format!("status list at {uri}: {e}"))?;
    // A cache that cannot be written only costs the next verification a fetch.
    if std::fs::create_dir_all(dir).is_ok() {
        let _ = std::fs::write(&file, &token);
    }
    Ok(list)
}

/// Exit 0 valid, 1 invalid, 2 unusable input.
pub fn verify_command(args: &VerifyArgs) -> ExitCode {
    let unusable = |msg: String| {
        eprintln!("nixa qr verify: {msg}");
        ExitCode::from(2)
    };
    let mut keys = KeySet::default();
    for p in &args.keys {
        match std::fs::read(p).map_err(|e| e.to_string()).and_then(|b| KeySet::from_bytes(&b).map_err(|e| e.to_string())) {
            Ok(k) => keys.extend(k),
            Err(e) => return unusable(format!("{}: {e}", p.display())),
        }
    }
    let text = match (&args.text, &args.image) {
        (Some(t), _) => t.clone(),
        (None, Some(p)) => {
            match std::fs::read(p).map_err(|e| e.to_string()).and_then(|b| render::decode_png(&b).map_err(|e| e.to_string())) {
                Ok(t) => t,
                Err(e) => return unusable(format!("{}: {e}", p.display())),
            }
        }
        (None, None) => return unusable("give --text or --image".into()),
    };
    let now = match &args.at {
        None => crate::state::Clock::system_now(),
        Some(t) => match time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339) {
            Ok(t) => t.unix_timestamp(),
            Err(e) => return unusable(format!("--at: {e}")),
        },
    };
    // A list is only trusted when its signature verifies under the given keys.
    let mut lists = Vec::new();
    for p in &args.status_lists {
        let Ok(token) = std::fs::read(p) else { return unusable(format!("{}: unreadable", p.display())) };
        match super::status_list::StatusList::verify_any_subject(&token, &keys, now) {
            Ok(l) => lists.push(l),
            Err(e) => return unusable(format!("{}: {e}", p.display())),
        }
    }
    let status = |uri: &str, idx: u64, kid: &[u8]| {
        let given = lists.iter().find(|l| l.uri == uri).cloned();
        let list = match given {
            Some(l) => l,
            None if args.fetch_status => match cached_or_fetched(&args.status_cache, uri, &keys, now) {
                Ok(l) => l,
                Err(e) => return verify::StatusOutcome::Unavailable(e),
            },
            None => return verify::StatusOutcome::Unavailable(format!("no status list for {uri}")),
        };
        // Another issuer's key could sign a clean list under this URI.
        if list.kid != kid {
            return verify::StatusOutcome::Unavailable(format!("the status list for {uri} is not signed by the credential's key"));
        }
        match list.is_revoked(idx) {
            Ok(true) => verify::StatusOutcome::Revoked,
            Ok(false) => verify::StatusOutcome::Valid,
            Err(e) => verify::StatusOutcome::Unavailable(e.to_string()),
        }
    };
    let mut opts = Options::new(&keys, now);
    opts.status = if lists.is_empty() && !args.fetch_status { None } else { Some(&status) };
    opts.skip_status = args.no_status;
    let report = verify::verify(&text, &opts);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        for c in &report.checks {
            println!("{} {:<10} {}", if c.ok { "ok  " } else { "FAIL" }, c.check, c.detail);
        }
        match report.reason {
            None => println!("valid"),
            Some(r) => {
                println!("invalid: {}", serde_json::to_value(r).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default())
            }
        }
    }
    if report.valid { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

#[derive(clap::Args, Debug)]
pub struct IssueArgs {
    /// Personal identification number (person credential) or tax/agency code (with --org-kind).
    #[arg(long)]
    pub id: String,
    /// Full name (person) or organisation name.
    #[arg(long)]
    pub name: String,
    /// YYYYMMDD.
    #[arg(long)]
    pub birth_date: Option<String>,
    /// 1 male, 2 female, 3 other (claim 169).
    #[arg(long)]
    pub gender: Option<u8>,
    #[arg(long)]
    pub nationality: Option<String>,
    /// Issue an organisation credential of this kind (e.g. `tax`, `agency`).
    #[arg(long)]
    pub org_kind: Option<String>,
    #[arg(long)]
    pub address: Option<String>,
    /// Presentation credential: only these claim 169 fields (repeat), with --nonce and --minutes.
    #[arg(long = "field")]
    pub fields: Vec<String>,
    #[arg(long)]
    pub nonce: Option<String>,
    /// Lifetime in minutes (default: 5 for a presentation, 5 years otherwise).
    #[arg(long)]
    pub minutes: Option<i64>,
    /// Also write the QR as PNG.
    #[arg(long, value_name = "FILE")]
    pub png: Option<PathBuf>,
    /// Also write the QR as SVG.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Also write the verification keys (JWKS) for offline verification.
    #[arg(long, value_name = "FILE")]
    pub keys_out: Option<PathBuf>,
}

/// Signs with the deployment's credential key and prints the QR text on stdout.
pub async fn issue_command(settings: &crate::config::Settings, args: &IssueArgs) -> anyhow::Result<()> {
    let store = crate::state::open_store(settings).await?;
    let now = crate::state::Clock::system_now();
    let creds = service::Credentials::load(&store, &settings.master_key, &settings.issuer_str, now).await?;
    let presentation = !args.fields.is_empty();
    let minutes = args.minutes.unwrap_or(if presentation { 5 } else { 5 * 365 * 24 * 60 });
    anyhow::ensure!(minutes > 0, "--minutes must be positive");
    let subject = match &args.org_kind {
        Some(kind) => Subject::Organisation(
            OrgIdentity { code: args.id.clone(), kind: kind.clone(), name: args.name.clone(), address: args.address.clone() }.claim(),
        ),
        None => {
            let p = PersonIdentity {
                id: args.id.clone(),
                full_name: args.name.clone(),
                date_of_birth: args.birth_date.clone(),
                gender: args.gender,
                nationality: args.nationality.clone(),
                ..Default::default()
            };
            Subject::Person(p.claim169(presentation.then_some(args.fields.as_slice())))
        }
    };
    let exp = now + minutes * 60;
    let kind = if args.org_kind.is_some() {
        "organisation"
    } else if presentation {
        "presentation"
    } else {
        "person"
    };
    let idx = creds.allocate_status(&store, &args.id, kind, now, exp).await?;
    let uri = creds.status_uri();
    eprintln!("status index {idx} in {uri}");
    let req = Request {
        issuer: &creds.issuer,
        subject_id: if presentation { "" } else { &args.id },
        subject,
        iat: now,
        exp,
        nonce: args.nonce.as_deref(),
        status: Some((&uri, idx)),
    };
    let text = issue::issue(&creds.signer, &req)?;
    if let Some(p) = &args.png {
        std::fs::write(p, render::png(&text, 4)?)?;
    }
    if let Some(p) = &args.svg {
        std::fs::write(p, render::svg(&text)?)?;
    }
    if let Some(p) = &args.keys_out {
        std::fs::write(p, creds.keys.to_jwks().to_string())?;
    }
    println!("{text}");
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct RevokeArgs {
    /// The credential's index in the status list (printed by `nixa qr issue`, or in a verify report).
    #[arg(long)]
    pub idx: u64,
}

/// Operator revocation: marks the credential revoked in the status list.
pub async fn revoke_command(settings: &crate::config::Settings, args: &RevokeArgs) -> anyhow::Result<()> {
    let store = crate::state::open_store(settings).await?;
    let now = crate::state::Clock::system_now();
    let idx = i64::try_from(args.idx)?;
    let done = store.revoke_credential(service::LIST_ID, idx, None, "operator", now).await?;
    anyhow::ensure!(done, "no unrevoked credential at index {}", args.idx);
    crate::audit::record(
        &store,
        now,
        crate::audit::Event::CredentialRevoked,
        None,
        None,
        serde_json::json!({"idx": args.idx, "by": "operator"}),
    )
    .await?;
    println!("revoked {}", args.idx);
    Ok(())
}
