//! `nixa stats`: the monitoring centre's anonymised usage statistics.

use clap::{Subcommand, ValueEnum};
use nixa::stats::export::{self, Request};

use super::{Cli, settings};

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

#[derive(Subcommand)]
pub enum StatsAction {
    /// Export the daily counts of a period, summed, anonymised (cells under k suppressed, with
    /// whatever would let them be recomputed).
    Export {
        /// First day, YYYY-MM-DD (Viet Nam time).
        #[arg(long)]
        from: String,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        to: String,
        /// Up to three of day, portal, acr, method, outcome, subject_type, gender, age_band,
        /// province, comma-separated (none: the totals only).
        #[arg(long, default_value = "")]
        by: String,
        /// Metrics, comma-separated: sign_in, consent_given, consent_withdrawn, qr_verified, satisfaction
        /// (default: all).
        #[arg(long)]
        metric: Option<String>,
        /// A threshold above the server's `stats_k` (never below it).
        #[arg(long)]
        k: Option<u64>,
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
    },
    /// Portals integrated, by administrative level and profile, and the share of sign-ins at
    /// each assurance level over a period (JSON).
    Integration {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
}

pub async fn run(cli: &Cli, action: &StatsAction) -> anyhow::Result<()> {
    let s = settings(cli, None)?;
    let store = nixa::state::open_store(&s).await?;
    match action {
        StatsAction::Export { from, to, by, metric, k, format } => {
            let request = Request {
                from: from.clone(),
                to: to.clone(),
                by: export::parse_by(by)?,
                metrics: export::parse_metrics(metric.as_deref())?,
                k: k.unwrap_or(s.stats_k),
            };
            let out = export::export(&store, request, s.stats_k).await??;
            match format {
                Format::Csv => print!("{}", out.to_csv()),
                Format::Json => println!("{}", serde_json::to_string_pretty(&out.to_json())?),
            }
        }
        StatsAction::Integration { from, to } => {
            let out = nixa::stats::integration::report(&store, from, to, s.stats_k).await??;
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(())
}
