//! The registry imports behind `nixa person import` and `nixa org import`.

use std::path::PathBuf;

use clap::ValueEnum;

use super::{Cli, settings};

#[derive(clap::Args)]
pub struct ImportArgs {
    pub file: PathBuf,
    /// Input format; by default from the file extension (.jsonl/.ndjson, .csv).
    #[arg(long, value_enum)]
    pub format: Option<ImportFormat>,
    /// Rows committed per transaction.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub batch_size: u32,
    /// Ignore the saved position and import the whole file again.
    #[arg(long)]
    pub restart: bool,
    /// Write the rejected rows report here instead of standard error.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
}

/// What `import` loads.
#[derive(Clone, Copy)]
pub enum Registry {
    Persons,
    Orgs,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ImportFormat {
    Jsonl,
    Csv,
}

/// `nixa person import` and `nixa org import`: a progress bar with rate and ETA on standard error
/// (hidden when it is not a terminal), the rejected rows report, and the summary line.
pub async fn run(cli: &Cli, args: &ImportArgs, registry: Registry) -> anyhow::Result<()> {
    use nixa::identity::import::{Format, Importer};
    let ImportArgs { file, format, batch_size, restart, rejects } = args;
    let format = match format {
        Some(ImportFormat::Jsonl) => Format::JsonLines,
        Some(ImportFormat::Csv) => Format::Csv,
        None => Format::from_path(file)
            .ok_or_else(|| anyhow::anyhow!("cannot tell the format of {} from its extension; use --format", file.display()))?,
    };
    let s = settings(cli, None)?;
    let store = nixa::state::open_store(&s).await?;
    let progress = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr()).with_style(
        indicatif::ProgressStyle::with_template("{bar:30} {percent:>3}% {binary_bytes_per_sec} ETA {eta}  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut sink: Box<dyn std::io::Write> = match rejects {
        Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => Box::new(std::io::stderr()),
    };
    let importer =
        Importer { store: &store, batch_size: *batch_size as usize, restart: *restart, progress, now: nixa::state::Clock::system_now() };
    let report = match registry {
        Registry::Persons => importer.run(file, format, sink.as_mut()).await?,
        Registry::Orgs => importer.run_orgs(file, format, sink.as_mut()).await?,
    };
    sink.flush()?;
    if report.resumed_at_line > 0 {
        println!("resumed after line {}", report.resumed_at_line);
    }
    // Who loaded what into the registry: the file, the counts, the command line as operator.
    let detail = serde_json::json!({
        "operator": "command line", "action": "import",
        "registry": match registry { Registry::Persons => "persons", Registry::Orgs => "organisations" },
        "file": file.file_name().map(|n| n.to_string_lossy().into_owned()), "imported": report.imported,
        "rejected": report.rejected, "resumed_at_line": report.resumed_at_line,
    });
    let now = nixa::state::Clock::system_now();
    nixa::audit::record(&store, now, nixa::audit::Event::AdminChange, None, None, detail).await?;
    println!("imported {}, rejected {}", report.imported, report.rejected);
    Ok(())
}
