//! `nixa qr issue` and `nixa qr verify`.

use std::path::PathBuf;
use std::process::ExitCode;

use super::issue::{self, OrgIdentity, PersonIdentity, Request, Subject};
use super::keys::KeySet;
use super::revocation::Target;
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
    /// The nonce the verifier handed out for a presentation: the credential must carry it.
    #[arg(long)]
    pub nonce: Option<String>,
    /// Print the JSON report.
    #[arg(long)]
    pub json: bool,
}

/// Whose credential it is, in a line: name, ID, birth date (person) or name and code
/// (organisation).
fn holder(claims: &serde_json::Value) -> Option<String> {
    if let Some(p) = claims.get("claim169") {
        let text = |k: &str| p.get(k).and_then(serde_json::Value::as_str);
        let mut out = text("fullName")?.to_string();
        if let Some(id) = text("id") {
            out.push_str(&format!(", {id}"));
        }
        if let Some(b) = text("dateOfBirth") {
            out.push_str(&format!(", born {b}"));
        }
        return Some(out);
    }
    let o = claims.get("organisation")?;
    let text = |k: &str| o.get(k).and_then(serde_json::Value::as_str);
    Some(format!("{}, {}", text("name")?, text("code").unwrap_or_default()))
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
    let mut report = verify::verify(&text, &opts);
    // A presentation answers one verifier's challenge: the nonce it handed out must be there.
    if let Some(expected) = &args.nonce {
        let ok = report.nonce.as_deref().is_some_and(|n| crate::crypto::ct_eq(n.as_bytes(), expected.as_bytes()));
        let detail = if ok { "the expected nonce" } else { "not the nonce given with --nonce" };
        report.checks.push(verify::Check {
            check: "nonce",
            ok,
            reason: (!ok).then_some(verify::Reason::WrongNonce),
            detail: detail.into(),
        });
        if !ok && report.valid {
            report.valid = false;
            report.reason = Some(verify::Reason::WrongNonce);
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        for c in &report.checks {
            println!("{} {:<10} {}", if c.ok { "ok  " } else { "FAIL" }, c.check, c.detail);
        }
        if let Some(h) = holder(&report.claims) {
            println!("holder     {h}");
        }
        if let Some(n) = &report.nonce {
            println!("nonce      {n}");
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
    /// Full name (person) or organisation name; checked against the registry (which supplies it
    /// when it is left out).
    #[arg(long)]
    pub name: Option<String>,
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

/// Why an issuance is refused: the national key signs only what the registry holds.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IssueRefused {
    #[error("--id: {0}")]
    Id(String),
    #[error("no {0} with this identifier in the registry: a credential states only what the registry holds")]
    NotRegistered(&'static str),
    #[error("--{0} does not match the registry")]
    Mismatch(&'static str),
    #[error("--birth-date must be YYYYMMDD")]
    BirthDate,
    #[error("--org-kind must be tax (enterprise tax code) or agency (state agency code)")]
    OrgKind,
}

fn same_text(a: &str, b: &str) -> bool {
    use unicode_normalization::UnicodeNormalization;
    let norm = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ").nfc().collect::<String>();
    norm(a) == norm(b)
}

/// The subject of a person credential, from the registry: what the operator typed must be what
/// the registry holds (a name, a birth date, a gender, a nationality).
pub async fn registered_person(
    store: &crate::store::Store,
    args: &IssueArgs,
) -> Result<(crate::identity::Person, PersonIdentity), anyhow::Error> {
    let pid = crate::identity::PersonalId::parse(&args.id).map_err(|e| IssueRefused::Id(e.to_string()))?;
    let person = store.person_for_login(&pid).await?.map(|(p, _)| p).ok_or(IssueRefused::NotRegistered("person"))?;
    if args.name.as_ref().is_some_and(|n| !same_text(n, &person.full_name())) {
        return Err(IssueRefused::Mismatch("name").into());
    }
    let registered_birth = person.birthdate.map(|d| format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day()));
    if let Some(b) = &args.birth_date {
        if b.len() != 8 || !b.bytes().all(|c| c.is_ascii_digit()) {
            return Err(IssueRefused::BirthDate.into());
        }
        if Some(b) != registered_birth.as_ref() {
            return Err(IssueRefused::Mismatch("birth-date").into());
        }
    }
    let registered_gender = person.sex.map(|s| match s {
        crate::identity::Sex::Male => 1,
        crate::identity::Sex::Female => 2,
    });
    if args.gender.is_some() && args.gender != registered_gender {
        return Err(IssueRefused::Mismatch("gender").into());
    }
    if args.nationality.as_ref().is_some_and(|n| !n.eq_ignore_ascii_case(&person.nationality)) {
        return Err(IssueRefused::Mismatch("nationality").into());
    }
    let identity = PersonIdentity {
        id: person.personal_id.as_str().to_string(),
        full_name: person.full_name(),
        date_of_birth: registered_birth,
        gender: registered_gender,
        nationality: Some(person.nationality.clone()),
        ..Default::default()
    };
    Ok((person, identity))
}

/// The subject of an organisation credential, from the registry, its code validated (a tax code's
/// check digit, an agency code's form).
pub async fn registered_org(store: &crate::store::Store, args: &IssueArgs, kind: &str) -> Result<OrgIdentity, anyhow::Error> {
    let code = match kind {
        "tax" => crate::identity::TaxCode::parse(&args.id).map_err(|e| IssueRefused::Id(e.to_string()))?.as_str().to_string(),
        "agency" => crate::identity::AgencyCode::parse(&args.id).map_err(|e| IssueRefused::Id(e.to_string()))?.as_str().to_string(),
        _ => return Err(IssueRefused::OrgKind.into()),
    };
    let org = store.organisation_by_code(&code).await?.ok_or(IssueRefused::NotRegistered("organisation"))?;
    if args.name.as_ref().is_some_and(|n| !same_text(n, &org.name)) {
        return Err(IssueRefused::Mismatch("name").into());
    }
    if args.address.as_ref().is_some_and(|a| org.address.as_deref().is_none_or(|r| !same_text(a, r))) {
        return Err(IssueRefused::Mismatch("address").into());
    }
    Ok(OrgIdentity { code: org.code, kind: kind.to_string(), name: org.name, address: org.address })
}

/// Signs with the deployment's credential key and prints the QR text on stdout. Only what the
/// registry holds is signed; the issuance is audited.
pub async fn issue_command(settings: &crate::config::Settings, args: &IssueArgs) -> anyhow::Result<()> {
    let store = crate::state::open_store(settings).await?;
    let now = crate::state::Clock::system_now();
    let vault = crate::keys::Vault::open(settings.master_key.clone(), &settings.keys)?;
    let creds = service::Credentials::load(&store, &vault, &settings.issuer_str, now).await?;
    let presentation = !args.fields.is_empty();
    let minutes = args.minutes.unwrap_or(if presentation { 5 } else { 5 * 365 * 24 * 60 });
    anyhow::ensure!(minutes > 0, "--minutes must be positive");
    let (subject, subject_id, person_id) = match &args.org_kind {
        Some(kind) => {
            let org = registered_org(&store, args, kind).await?;
            let code = org.code.clone();
            (Subject::Organisation(org.claim()), code, None)
        }
        None => {
            let (person, p) = registered_person(&store, args).await?;
            (
                Subject::Person(p.claim169(presentation.then_some(args.fields.as_slice()))),
                person.personal_id.as_str().to_string(),
                Some(person.id),
            )
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
    let idx = creds.allocate_status(&store, &subject_id, kind, now, exp).await?;
    let uri = creds.status_uri();
    eprintln!("status index {idx} in {uri}");
    let req = Request {
        issuer: &creds.issuer,
        subject_id: if presentation { "" } else { &subject_id },
        subject,
        iat: now,
        exp,
        nonce: args.nonce.as_deref(),
        status: Some((&uri, idx)),
    };
    let text = issue::issue(&creds.signer, &req)?;
    let detail = serde_json::json!({"operator": "command line", "kind": kind, "idx": idx, "expires_at": exp});
    crate::audit::record(&store, now, crate::audit::Event::CredentialIssued, person_id.as_ref(), None, detail).await?;
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
pub struct ListArgs {
    /// The person's personal ID or the organisation's code.
    #[arg(long)]
    pub id: String,
}

/// The credentials issued for one person or organisation, as JSON.
pub async fn list_command(settings: &crate::config::Settings, args: &ListArgs) -> anyhow::Result<()> {
    let store = crate::state::open_store(settings).await?;
    let rows = store.credentials_of(service::LIST_ID, args.id.trim()).await?;
    let out: Vec<serde_json::Value> = rows
        .iter()
        .map(|c| serde_json::json!({"idx": c.idx, "kind": c.kind, "issued_at": c.issued_at, "expires_at": c.expires_at, "revoked_at": c.revoked_at, "revoked_by": c.revoked_by}))
        .collect();
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct RevokeArgs {
    /// The credential's index in the status list (printed by `nixa qr issue`, or in a verify report).
    #[arg(long, required_unless_present = "all_of", conflicts_with = "all_of")]
    pub idx: Option<u64>,
    /// Revoke every live credential of this person (personal ID) or organisation (code).
    #[arg(long, value_name = "ID")]
    pub all_of: Option<String>,
    /// Why (kept in the audit log).
    #[arg(long)]
    pub reason: String,
}

/// Operator revocation: marks the credential (or all of one holder's) revoked in the status
/// list, audited with the reason.
pub async fn revoke_command(settings: &crate::config::Settings, args: &RevokeArgs) -> anyhow::Result<()> {
    let reason = crate::admin::portals::reason(&args.reason).map_err(|e| anyhow::anyhow!("--reason: {e}"))?;
    let store = crate::state::open_store(settings).await?;
    let now = crate::state::Clock::system_now();
    let target = match (&args.idx, &args.all_of) {
        (Some(idx), _) => Target::One { idx: i64::try_from(*idx)?, holder: None },
        (None, Some(holder)) => Target::AllOf(holder.trim()),
        (None, None) => anyhow::bail!("give --idx or --all-of"),
    };
    let revoked = super::revocation::revoke(&store, now, target, &reason, &crate::admin::actor::Actor::CommandLine).await?.len();
    anyhow::ensure!(args.all_of.is_some() || revoked == 1, "no unrevoked credential at index {}", args.idx.unwrap_or_default());
    println!("revoked {revoked}");
    Ok(())
}
