//! The `nixa` command line: serve, migrate, keys, client, person, org.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use nixa::app::{App, router};
use nixa::config::{Config, Settings};
use nixa::keys::secret::{random_token, token_hash};
use nixa::keys::{MasterKey, key_state};
use nixa::oidc::registration::{self, ClientSpec};
use nixa::store::Store;

#[derive(Parser)]
#[command(name = "nixa", version, about = "National electronic identification and authentication server")]
struct Cli {
    /// Configuration file (TOML); NIXA_* environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Development mode: example keys, a local SQLite file and demo data. Never in production.
    #[arg(long, global = true)]
    demo: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the provider.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Registered portals (OIDC clients).
    Client {
        #[command(subcommand)]
        action: ClientAction,
    },
    /// People: the population registry.
    Person {
        #[command(subcommand)]
        action: PersonAction,
    },
    /// Operators of the admin API.
    Operator {
        #[command(subcommand)]
        action: OperatorAction,
    },
    /// Organisations: enterprises and agencies, with their representatives.
    Org {
        #[command(subcommand)]
        action: OrgAction,
    },
    /// A reference client of the mobile app API: enroll a device key, approve QR sign-ins.
    App {
        #[command(subcommand)]
        action: AppAction,
    },
    /// Digital-signature certificates.
    Cert {
        #[command(subcommand)]
        action: CertAction,
    },
    /// Signed identity QR credentials.
    Qr {
        #[command(subcommand)]
        action: QrAction,
    },
}

#[derive(Subcommand)]
enum QrAction {
    /// Issue a person, organisation or presentation credential; prints the QR text.
    Issue(nixa::credentials::cli::IssueArgs),
    /// Verify a QR credential (ours, EU DCC, MOSIP Claim 169). Exit 0 valid, 1 invalid, 2 unusable input.
    Verify(nixa::credentials::cli::VerifyArgs),
    /// Revoke an issued credential (operator) by its status-list index.
    Revoke(nixa::credentials::cli::RevokeArgs),
}

#[derive(Subcommand)]
enum AppAction {
    /// Sign in through the device grant and bind a new P-256 device key.
    Enroll {
        #[arg(long)]
        issuer: String,
        /// Where the device id and private key are kept (written with mode 0600).
        #[arg(long, value_name = "FILE")]
        state: PathBuf,
        #[arg(long, default_value = "nixa app (CLI)")]
        name: String,
    },
    /// Approve a QR sign-in: the QR text or the short code shown on the computer.
    Approve {
        #[arg(long, value_name = "FILE")]
        state: PathBuf,
        #[arg(long, value_name = "TEXT")]
        request: String,
        /// Refuse instead.
        #[arg(long)]
        deny: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Approve an RFC 8628 device code (a TV, a kiosk).
    ApproveDevice {
        #[arg(long, value_name = "FILE")]
        state: PathBuf,
        #[arg(long, value_name = "CODE")]
        user_code: String,
        #[arg(long)]
        deny: bool,
        #[arg(long)]
        yes: bool,
    },
    /// List the person's devices, or revoke one.
    Devices {
        #[arg(long, value_name = "FILE")]
        state: PathBuf,
        #[arg(long, value_name = "DEVICE_ID")]
        revoke: Option<String>,
    },
}

#[derive(Subcommand)]
enum CertAction {
    /// Validate a signature certificate (PEM or DER): path to a trust anchor, revocation,
    /// identity. Exit 0 valid, 1 invalid, 2 unusable input.
    Verify(CertVerifyArgs),
    /// Sign a Web eID challenge with a certificate's private key, as a card would, and print
    /// the `web-eid:1.0` token (JSON) for the login page. Exit 0 signed, 2 unusable input.
    SignChallenge(SignChallengeArgs),
}

#[derive(clap::Args)]
struct SignChallengeArgs {
    /// The private key: PKCS#8 (PEM or DER), or PKCS#12 (.p12/.pfx) with --password.
    #[arg(long)]
    key: PathBuf,
    /// The authentication certificate (PEM or DER); optional when the PKCS#12 file holds it.
    #[arg(long)]
    cert: Option<PathBuf>,
    /// The login page's origin, e.g. https://id.gov.vn (shown next to the challenge).
    #[arg(long)]
    origin: String,
    /// The challenge nonce shown on the login page.
    #[arg(long)]
    nonce: String,
    /// The PKCS#12 password (prefer the environment variable: arguments are visible to others).
    #[arg(long, env = "NIXA_P12_PASSWORD", hide_env_values = true)]
    password: Option<String>,
}

#[derive(clap::Args)]
struct CertVerifyArgs {
    cert: PathBuf,
    /// Untrusted intermediate certificates (repeat).
    #[arg(long = "intermediate", value_name = "CERT")]
    intermediates: Vec<PathBuf>,
    /// Trust anchors; replaces the default national store (repeat).
    #[arg(long = "trust", value_name = "CERT")]
    trust: Vec<PathBuf>,
    /// CRL files (PEM or DER, repeat).
    #[arg(long = "crl", value_name = "FILE")]
    crls: Vec<PathBuf>,
    /// OCSP response files (DER, repeat).
    #[arg(long = "ocsp", value_name = "FILE")]
    ocsp: Vec<PathBuf>,
    /// Validation instant (RFC 3339); now by default.
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
    /// Accept an unknown revocation status (revoked or forged answers still fail).
    #[arg(long, conflicts_with = "no_revocation")]
    soft_fail: bool,
    /// Do not check revocation.
    #[arg(long)]
    no_revocation: bool,
    /// Do not ask OCSP responders or download CRLs named by the certificates.
    #[arg(long)]
    offline: bool,
    /// The certificate is a CA certificate (e.g. a licensed CA under the national root).
    #[arg(long)]
    ca: bool,
    /// Print the JSON report instead of the summary.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum OperatorAction {
    /// Issue an admin API token (printed once, stored hashed).
    Token {
        /// Who or what uses the token (shown in the audit log).
        #[arg(long)]
        name: String,
        /// persons:read persons:write orgs:read orgs:write clients:read clients:write
        /// clients:register clients:first_party; repeat.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Lifetime in days.
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
    },
    /// Revoke every token issued under a name.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum PersonAction {
    /// Import persons from JSON Lines or CSV (with a header); upserts keyed by personal ID.
    /// An interrupted import resumes where it stopped when run again on the same file.
    Import(ImportArgs),
}

#[derive(Subcommand)]
enum OrgAction {
    /// Import organisations from JSON Lines or CSV (with a header); upserts keyed by tax or
    /// agency code and links representatives, who must be registered persons.
    /// An interrupted import resumes where it stopped when run again on the same file.
    Import(ImportArgs),
}

#[derive(clap::Args)]
struct ImportArgs {
    file: PathBuf,
    /// Input format; by default from the file extension (.jsonl/.ndjson, .csv).
    #[arg(long, value_enum)]
    format: Option<ImportFormat>,
    /// Rows committed per transaction.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    batch_size: u32,
    /// Ignore the saved position and import the whole file again.
    #[arg(long)]
    restart: bool,
    /// Write the rejected rows report here instead of standard error.
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,
}

/// What `import` loads.
#[derive(Clone, Copy)]
enum Registry {
    Persons,
    Orgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportFormat {
    Jsonl,
    Csv,
}

#[derive(Subcommand)]
enum KeysAction {
    /// List signing keys with their state.
    List,
    /// Add new signing keys; they are published now and sign after `key_publish_lead_secs`.
    Rotate {
        /// Sign with the new keys at once (only when no verifier caches the JWKS yet).
        #[arg(long)]
        now: bool,
    },
    /// Print a fresh master key for the configuration.
    GenerateMaster,
}

#[derive(Clone, Copy, ValueEnum)]
enum CliAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
}

#[derive(Clone, Copy, ValueEnum)]
enum CliClaimsProfile {
    Standard,
    VnHub,
}

#[derive(Subcommand)]
enum ClientAction {
    /// Register a portal; prints it as JSON, with its secret (shown once, stored hashed).
    Add {
        #[arg(long)]
        name: String,
        /// Exact redirect URI; repeat for several.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// A public client (no secret; PKCE only), e.g. a mobile or single-page app.
        #[arg(long)]
        public: bool,
        #[arg(long, value_enum, default_value = "client-secret-basic", conflicts_with = "public")]
        auth_method: CliAuthMethod,
        /// ID token signing algorithm.
        #[arg(long, default_value = "ES256", value_parser = ["ES256", "RS256"])]
        alg: String,
        /// Scopes the portal may ask for (default: all supported).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// First-party portal: receives the public subject instead of a pairwise one.
        #[arg(long)]
        first_party: bool,
        /// UserInfo claim names: `vn-hub` adds the national hub's names (SoDinhDanh, HoVaTen, …).
        #[arg(long, value_enum, default_value = "standard")]
        claims_profile: CliClaimsProfile,
        /// Client id (default: random).
        #[arg(long)]
        id: Option<String>,
        /// Further registration metadata as a JSON object with RFC 7591 names: jwks, jwks_uri,
        /// require_pushed_authorization_requests, dpop_bound_access_tokens,
        /// access_token_format (opaque|jwt), post_logout_redirect_uris, backchannel_logout_uri,
        /// sector_identifier_uri, grant_types, profile (default|fapi2).
        #[arg(long, value_name = "JSON")]
        options: Option<String>,
    },
    /// List registered portals as JSON.
    List,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Command::Cert { action: CertAction::Verify(args) } = &cli.command {
        return cert_verify(args);
    }
    if let Command::Cert { action: CertAction::SignChallenge(args) } = &cli.command {
        return cert_sign_challenge(args);
    }
    if let Command::Qr { action: QrAction::Verify(args) } = &cli.command {
        return nixa::credentials::cli::verify_command(args);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nixa: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nixa: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn settings(cli: &Cli, listen: Option<SocketAddr>) -> anyhow::Result<Settings> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(l) = listen {
        config.listen = l;
    }
    Ok(Settings::from_config(&config, cli.demo)?)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Serve { listen } => serve(settings(&cli, *listen)?).await,
        Command::App { action } => {
            use nixa::app_client::cli;
            match action {
                AppAction::Enroll { issuer, state, name } => cli::enroll(issuer, state, name).await?,
                AppAction::Approve { state, request, deny, yes } => cli::approve(state, request, *deny, *yes).await?,
                AppAction::ApproveDevice { state, user_code, deny, yes } => cli::approve_device(state, user_code, *deny, *yes).await?,
                AppAction::Devices { state, revoke } => cli::devices(state, revoke.as_deref()).await?,
            }
            Ok(())
        }
        Command::Migrate => {
            let s = settings(&cli, None)?;
            let store = Store::connect(&s.database_url).await?;
            store.migrate().await?;
            println!("migrations applied to {}", nixa::store::redact_url(&s.database_url));
            Ok(())
        }
        Command::Keys { action: KeysAction::GenerateMaster } => {
            println!("{}", MasterKey::generate_base64());
            Ok(())
        }
        Command::Keys { action } => {
            let s = settings(&cli, None)?;
            let store = Store::connect(&s.database_url).await?;
            store.migrate().await?;
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            nixa::keys::ensure_keys(&store, &s.master_key, now).await?;
            if let KeysAction::Rotate { now: immediately } = action {
                let lead = if *immediately { 0 } else { s.key_publish_lead };
                let added = nixa::keys::rotate(&store, &s.master_key, now, lead, s.max_token_lifetime()).await?;
                let kids: Vec<_> = added.iter().map(|k| json!({"kid": k.kid, "alg": k.alg, "activates_at": k.activates_at})).collect();
                nixa::audit::record(&store, now, nixa::audit::Event::KeysRotated, None, None, json!({"added": kids})).await?;
            }
            let keys: Vec<_> = store
                .keys()
                .await?
                .iter()
                .map(|k| {
                    json!({
                        "kid": k.kid, "alg": k.alg, "state": key_state(k, now),
                        "created_at": k.created_at, "activates_at": k.activates_at,
                        "retired_at": k.retired_at, "published_until": k.published_until,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&keys)?);
            Ok(())
        }
        Command::Client { action } => client_command(&cli, action).await,
        Command::Operator { action } => {
            let s = settings(&cli, None)?;
            let store = Store::connect(&s.database_url).await?;
            store.migrate().await?;
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            match action {
                OperatorAction::Token { name, scopes, days } => {
                    if let Some(bad) = scopes.iter().find(|s| !nixa::admin::auth::SCOPES.contains(&s.as_str())) {
                        anyhow::bail!("unknown scope {bad:?}; scopes: {}", nixa::admin::auth::SCOPES.join(" "));
                    }
                    let token = random_token();
                    let op = nixa::store::operators::OperatorToken {
                        name: name.clone(),
                        scopes: scopes.clone(),
                        expires_at: now + i64::from(*days) * 86_400,
                    };
                    store.insert_operator_token(&token_hash(&token), &op, now).await?;
                    println!("{}", serde_json::to_string_pretty(&json!({"name": name, "scopes": scopes, "expires_at": op.expires_at, "token": token}))?);
                }
                OperatorAction::Revoke { name } => {
                    let n = store.revoke_operator_tokens(name, now).await?;
                    println!("revoked {n} token(s) of {name}");
                }
            }
            Ok(())
        }
        Command::Person { action: PersonAction::Import(args) } => import_command(&cli, args, Registry::Persons).await,
        Command::Org { action: OrgAction::Import(args) } => import_command(&cli, args, Registry::Orgs).await,
        Command::Cert { action: CertAction::Verify(args) } => {
            let code = cert_verify(args);
            anyhow::ensure!(code == ExitCode::SUCCESS, "certificate not valid");
            Ok(())
        }
        Command::Cert { action: CertAction::SignChallenge(args) } => {
            let code = cert_sign_challenge(args);
            anyhow::ensure!(code == ExitCode::SUCCESS, "challenge not signed");
            Ok(())
        }
        Command::Qr { action: QrAction::Revoke(args) } => nixa::credentials::cli::revoke_command(&settings(&cli, None)?, args).await,
        Command::Qr { action: QrAction::Issue(args) } => nixa::credentials::cli::issue_command(&settings(&cli, None)?, args).await,
        Command::Qr { action: QrAction::Verify(args) } => {
            let code = nixa::credentials::cli::verify_command(args);
            anyhow::ensure!(code == ExitCode::SUCCESS, "credential not valid");
            Ok(())
        }
    }
}

/// `nixa person import` and `nixa org import`: a progress bar with rate and ETA on standard error
/// (hidden when it is not a terminal), the rejected rows report, and the summary line.
async fn import_command(cli: &Cli, args: &ImportArgs, registry: Registry) -> anyhow::Result<()> {
    use nixa::identity::import::{Format, Importer};
    let ImportArgs { file, format, batch_size, restart, rejects } = args;
    let format = match format {
        Some(ImportFormat::Jsonl) => Format::JsonLines,
        Some(ImportFormat::Csv) => Format::Csv,
        None => Format::from_path(file)
            .ok_or_else(|| anyhow::anyhow!("cannot tell the format of {} from its extension; use --format", file.display()))?,
    };
    let s = settings(cli, None)?;
    let store = Store::connect(&s.database_url).await?;
    store.migrate().await?;
    let progress = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr()).with_style(
        indicatif::ProgressStyle::with_template("{bar:30} {percent:>3}% {binary_bytes_per_sec} ETA {eta}  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut sink: Box<dyn std::io::Write> = match rejects {
        Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => Box::new(std::io::stderr()),
    };
    let importer = Importer {
        store: &store,
        batch_size: *batch_size as usize,
        restart: *restart,
        progress,
        now: time::OffsetDateTime::now_utc().unix_timestamp(),
    };
    let report = match registry {
        Registry::Persons => importer.run(file, format, sink.as_mut()).await?,
        Registry::Orgs => importer.run_orgs(file, format, sink.as_mut()).await?,
    };
    sink.flush()?;
    if report.resumed_at_line > 0 {
        println!("resumed after line {}", report.resumed_at_line);
    }
    println!("imported {}, rejected {}", report.imported, report.rejected);
    Ok(())
}

async fn client_command(cli: &Cli, action: &ClientAction) -> anyhow::Result<()> {
    let s = settings(cli, None)?;
    let store = Store::connect(&s.database_url).await?;
    store.migrate().await?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match action {
        ClientAction::List => {
            let list: Vec<_> = store.clients().await?.iter().map(registration::metadata).collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        ClientAction::Add { name, redirect_uris, public, auth_method, alg, scopes: wanted, first_party, claims_profile, id, options } => {
            let options: nixa::oidc::client::ClientOptions = match options {
                Some(o) => serde_json::from_str(o).map_err(|e| anyhow::anyhow!("--options: {e}"))?,
                None => Default::default(),
            };
            let spec = ClientSpec {
                id: id.clone(),
                name: name.clone(),
                redirect_uris: redirect_uris.clone(),
                auth_method: Some(
                    match (public, auth_method) {
                        (true, _) => "none",
                        (false, CliAuthMethod::ClientSecretBasic) => "client_secret_basic",
                        (false, CliAuthMethod::ClientSecretPost) => "client_secret_post",
                        (false, CliAuthMethod::PrivateKeyJwt) => "private_key_jwt",
                    }
                    .into(),
                ),
                alg: Some(alg.clone()),
                scopes: wanted.clone(),
                first_party: *first_party,
                claims_profile: Some(
                    match claims_profile {
                        CliClaimsProfile::Standard => "standard",
                        CliClaimsProfile::VnHub => "vn_hub",
                    }
                    .into(),
                ),
                options,
            };
            let (client, secret) = registration::build(&spec)?;
            nixa::privacy::sector::verify_client(&client).await?;
            if store.client(&client.id).await?.is_some() {
                anyhow::bail!("a client with id {} exists already", client.id);
            }
            store.put_client(&client, now).await?;
            nixa::audit::record(&store, now, nixa::audit::Event::ClientRegistered, None, Some(client.id.as_str()), json!({"name": name})).await?;
            let mut out = registration::metadata(&client);
            out["client_secret"] = json!(secret);
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(())
}


async fn serve(settings: Settings) -> anyhow::Result<()> {
    let listen = settings.listen;
    let demo = settings.demo;
    let app = App::start(settings).await?;
    if demo {
        tracing::warn!("DEMO MODE: example master key and demo accounts; never use in production");
        let summary = nixa::demo::seed(&app.store, &app.settings.master_key, app.now()).await?;
        println!("nixa demo data (development only):\n{}", serde_json::to_string_pretty(&summary)?);
    }
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("discovery: {}", app.settings.url("/.well-known/openid-configuration"));
    tracing::info!(%listen, issuer = %app.settings.issuer_str, "nixa listening");
    let janitor = app.spawn_janitor();
    axum::serve(listener, router(app)).with_graceful_shutdown(shutdown_signal()).await?;
    janitor.abort();
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// `nixa cert sign-challenge`: the token on stdout; 2 for unusable input.
fn cert_sign_challenge(args: &SignChallengeArgs) -> ExitCode {
    use nixa::pki::token_signer;
    let unusable = |e: String| {
        eprintln!("nixa cert sign-challenge: {e}");
        ExitCode::from(2)
    };
    let read = |p: &PathBuf| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let key = match read(&args.key).and_then(|b| token_signer::load_key(&b, args.password.as_deref()).map_err(|e| e.to_string())) {
        Ok(k) => k,
        Err(e) => return unusable(e),
    };
    let cert_der = match &args.cert {
        Some(p) => match read(p).and_then(|b| nixa::pki::Cert::parse(&b).map_err(|e| format!("{}: {e}", p.display()))) {
            Ok(c) => c.der,
            Err(e) => return unusable(e),
        },
        None => match key.certs.first() {
            Some(c) => c.clone(),
            None => return unusable("--cert is required unless the PKCS#12 file holds the certificate".into()),
        },
    };
    match token_signer::sign_challenge(&key.pkcs8, &cert_der, &args.origin, &args.nonce).map(|t| serde_json::to_string(&t)) {
        Ok(Ok(json)) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => unusable(e.to_string()),
        Err(e) => unusable(e.to_string()),
    }
}

/// `nixa cert verify`: 0 valid, 1 invalid, 2 unusable input.
fn cert_verify(args: &CertVerifyArgs) -> ExitCode {
    use nixa::pki::{self, Cert, Crl, Mode, Policy, Revocation, TrustStore};
    let unusable = |m: String| {
        eprintln!("nixa: {m}");
        ExitCode::from(2)
    };
    let read = |p: &PathBuf| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let load = |p: &PathBuf| read(p).and_then(|b| Cert::parse_all(&b).map_err(|e| format!("{}: {e}", p.display())));
    let leaf = match load(&args.cert).map(|mut v| v.remove(0)) {
        Ok(c) => c,
        Err(e) => return unusable(e),
    };
    let mut intermediates = Vec::new();
    for p in &args.intermediates {
        match load(p) {
            Ok(v) => intermediates.extend(v),
            Err(e) => return unusable(e),
        }
    }
    let trust = if args.trust.is_empty() {
        match TrustStore::national() {
            Ok(t) => t,
            Err(e) => return unusable(e.to_string()),
        }
    } else {
        let mut anchors = Vec::new();
        for p in &args.trust {
            match load(p) {
                Ok(v) => anchors.extend(v),
                Err(e) => return unusable(e),
            }
        }
        TrustStore::from_certs(anchors)
    };
    let at = match &args.at {
        None => time::OffsetDateTime::now_utc().unix_timestamp(),
        Some(t) => match time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339) {
            Ok(t) => t.unix_timestamp(),
            Err(e) => return unusable(format!("--at {t}: {e}")),
        },
    };
    let mode = if args.no_revocation { Mode::Off } else if args.soft_fail { Mode::SoftFail } else { Mode::FailClosed };
    let mut rev = Revocation::new(mode);
    for p in &args.crls {
        match read(p).and_then(|b| Crl::parse(&b, &p.display().to_string()).map_err(|e| format!("{}: {e}", p.display()))) {
            Ok(c) => rev.crls.push(c),
            Err(e) => return unusable(e),
        }
    }
    for p in &args.ocsp {
        match read(p) {
            Ok(b) => rev.ocsp.push(pki::online::OcspEvidence::from_file(p.display().to_string(), b)),
            Err(e) => return unusable(e),
        }
    }
    let policy = if args.ca { Policy::ca(at) } else { Policy::signature(at) };
    if mode != Mode::Off && !args.offline && args.crls.is_empty() && args.ocsp.is_empty() {
        // Ask the OCSP responders, then the CRLs, the chain names; failures leave the status unknown.
        let path = pki::path::validate(&leaf, &intermediates, &trust, &policy);
        let settings = pki::config::PkiSettings::load(&pki::config::PkiConfig::default()).map(|mut s| {
            s.trust = trust.clone();
            s
        });
        if let (Ok(rt), Ok(settings)) = (tokio::runtime::Builder::new_current_thread().enable_all().build(), settings) {
            let http = nixa::oidc::client_keys::http_client();
            let cache = pki::fetch::CrlCache::default();
            rev = rt.block_on(pki::online::revocation_for(&http, &cache, &settings, &path.chain, at, mode));
        }
    }
    let report = pki::verify(&leaf, &intermediates, &trust, &policy, &rev);
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(j) => println!("{j}"),
            Err(e) => return unusable(e.to_string()),
        }
    } else {
        println!("{}\n{}", report.summary.vi, report.summary.en);
        for c in report.checks.iter().filter(|c| !c.ok) {
            println!("  ✗ {}{}: {}", c.check, c.cert.map(|i| format!(" #{i}")).unwrap_or_default(), c.detail);
        }
    }
    if report.valid { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
