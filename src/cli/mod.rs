//! The `nixa` command line: one module per subcommand; this one parses and dispatches.

mod app;
mod audit;
mod backup;
mod cert;
mod client;
mod import;
mod keys;
mod migrate;
mod operator;
mod org;
mod person;
mod qr;
mod serve;
mod stats;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use nixa::config::{Config, Settings};

#[derive(Parser)]
#[command(name = "nixa", version, about = "National electronic identification and authentication server")]
pub struct Cli {
    /// Configuration file (TOML); NIXA_* environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Development mode: example keys, a local SQLite file and demo data. Never in production.
    #[arg(long, global = true)]
    pub demo: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the provider.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Copy the SQLite database, online and consistent, to a new file (checked before it is
    /// reported). PostgreSQL: pg_dump or a base backup (README).
    Backup {
        #[arg(long, value_name = "FILE")]
        to: std::path::PathBuf,
    },
    /// Signing keys.
    Keys {
        #[command(subcommand)]
        action: keys::KeysAction,
    },
    /// Registered portals (OIDC clients).
    Client {
        #[command(subcommand)]
        action: client::ClientAction,
    },
    /// People: the population registry.
    Person {
        #[command(subcommand)]
        action: person::PersonAction,
    },
    /// Operators of the admin API.
    Operator {
        #[command(subcommand)]
        action: operator::OperatorAction,
    },
    /// Organisations: enterprises and agencies, with their representatives.
    Org {
        #[command(subcommand)]
        action: org::OrgAction,
    },
    /// A reference client of the mobile app API: enroll a device key, approve QR sign-ins.
    App {
        #[command(subcommand)]
        action: app::AppAction,
    },
    /// Digital-signature certificates.
    Cert {
        #[command(subcommand)]
        action: cert::CertAction,
    },
    /// Signed identity QR credentials.
    Qr {
        #[command(subcommand)]
        action: qr::QrAction,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        action: audit::AuditAction,
    },
    /// Usage statistics for the monitoring centre, anonymised.
    Stats {
        #[command(subcommand)]
        action: stats::StatsAction,
    },
}

/// Parses the command line and runs it. The offline checks (`cert verify`, `cert
/// sign-challenge`, `qr verify`) keep their own exit codes (0 valid, 1 invalid, 2 unusable).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    match &cli.command {
        Command::Cert { action: cert::CertAction::Verify(args) } => return cert::verify(args),
        Command::Cert { action: cert::CertAction::SignChallenge(args) } => return cert::sign_challenge(args),
        Command::Qr { action: qr::QrAction::Verify(args) } => return nixa::credentials::cli::verify_command(args),
        _ => {}
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

/// Logs to standard error, as `log_format` says (a configuration that does not load is
/// reported by the command itself; its log lines are text meanwhile). `RUST_LOG` sets the
/// level; colours only on a terminal, never in a file or a collector.
fn init_logging(cli: &Cli) {
    use std::io::IsTerminal;
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let format = Config::load(cli.config.as_deref()).ok().and_then(|c| nixa::config::LogFormat::parse(&c.log_format)).unwrap_or_default();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into());
    let text = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal());
    let log = match format {
        nixa::config::LogFormat::Text => text.boxed(),
        // One JSON object per line, the event's fields flattened beside time, level and target.
        nixa::config::LogFormat::Json => text.json().flatten_event(true).with_current_span(false).with_span_list(false).boxed(),
    };
    // sqlx reports every statement at debug level; the statement metric reads them whatever the
    // log's level.
    let statements = tracing_subscriber::filter::Targets::new().with_target(nixa::metrics::DbStatements::TARGET, tracing::Level::DEBUG);
    tracing_subscriber::registry().with(log.with_filter(filter)).with(nixa::metrics::DbStatements.with_filter(statements)).init();
}

/// The settings from `--config`, the environment and `--demo`.
fn settings(cli: &Cli, listen: Option<SocketAddr>) -> anyhow::Result<Settings> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(l) = listen {
        config.listen = l;
    }
    Ok(Settings::from_config(&config, cli.demo)?)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Serve { listen } => serve::run(settings(&cli, *listen)?).await,
        Command::Migrate => migrate::run(&cli).await,
        Command::Backup { to } => backup::run(&cli, to).await,
        Command::Keys { action } => keys::run(&cli, action).await,
        Command::Client { action } => client::run(&cli, action).await,
        Command::Person { action } => person::run(&cli, action).await,
        Command::Operator { action } => operator::run(&cli, action).await,
        Command::Org { action } => org::run(&cli, action).await,
        Command::App { action } => app::run(action).await,
        Command::Cert { action } => cert::run(action),
        Command::Qr { action } => qr::run(&cli, action).await,
        Command::Audit { action } => audit::run(&cli, action).await,
        Command::Stats { action } => stats::run(&cli, action).await,
    }
}
