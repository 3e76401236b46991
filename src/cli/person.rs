//! `nixa person`: the population registry and activation letters.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use nixa::enrol::letters::{self, Letter};
use nixa::identity::PersonalId;
use nixa::state::App;
use nixa::web::i18n::Locale;

use super::import::{self, ImportArgs, Registry};
use super::{Cli, settings};

#[derive(Subcommand)]
pub enum PersonAction {
    /// Import persons from JSON Lines or CSV (with a header); upserts keyed by personal ID.
    /// An interrupted import resumes where it stopped when run again on the same file.
    Import(ImportArgs),
    /// Give a person an activation code for a letter or the counter (one-time, stored hashed,
    /// valid for `[enrolment] letter_code_days`); with --file, one for every person of an import
    /// file, written as JSON Lines for the print shop. An earlier code of the person stops working.
    ActivationCode(ActivationCodeArgs),
}

#[derive(Args)]
pub struct ActivationCodeArgs {
    /// The person's 12-digit personal identification number.
    #[arg(long, value_name = "PERSONAL_ID", conflicts_with = "file", required_unless_present = "file")]
    pub id: Option<String>,
    /// An import file (JSON Lines or CSV with a `personal_id` column) or one ID per line.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Where --file writes the letters (JSON Lines, readable by the owner only).
    #[arg(long, value_name = "FILE", requires = "file")]
    pub out: Option<PathBuf>,
    /// Why the code is issued (kept in the audit log).
    #[arg(long, default_value = "activation letter")]
    pub reason: String,
    /// Language of the letter text: vi or en.
    #[arg(long, default_value = "vi")]
    pub lang: String,
    /// Print JSON instead of the letter text (one person).
    #[arg(long)]
    pub json: bool,
}

pub async fn run(cli: &Cli, action: &PersonAction) -> anyhow::Result<()> {
    match action {
        PersonAction::Import(args) => import::run(cli, args, Registry::Persons).await,
        PersonAction::ActivationCode(args) => activation_code(cli, args).await,
    }
}

fn operator() -> String {
    format!("command line ({})", std::env::var("USER").unwrap_or_else(|_| "unknown user".into()))
}

async fn activation_code(cli: &Cli, args: &ActivationCodeArgs) -> anyhow::Result<()> {
    let locale = Locale::parse(&args.lang).context("--lang must be vi or en")?;
    let app = App::start(settings(cli, None)?).await?;
    if let Some(file) = &args.file {
        return bulk(&app, file, args.out.as_deref(), &args.reason).await;
    }
    let pid = PersonalId::parse(args.id.as_deref().unwrap_or_default()).map_err(|e| anyhow::anyhow!("--id: {e}"))?;
    let (person, _) = app.store.person_for_login(&pid).await?.context("no person with this personal ID")?;
    let letter = letters::issue(&app, &person, &operator(), &args.reason).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&letter)?);
    } else {
        println!("{}\n\n{}", letters::text(&letter, locale), letters::link_qr_text(&letter.link));
    }
    Ok(())
}

/// The personal IDs of an import file: JSON Lines objects, CSV with a header, or bare IDs.
fn ids_in(file: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().trim();
    if first.starts_with('{') {
        return text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| {
                let v: serde_json::Value = serde_json::from_str(l).with_context(|| format!("line {}", i + 1))?;
                v["personal_id"].as_str().map(str::to_string).with_context(|| format!("line {}: no personal_id", i + 1))
            })
            .collect();
    }
    if first.contains(',') {
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let col = r.headers()?.iter().position(|h| h.trim() == "personal_id").context("the CSV header has no personal_id column")?;
        return r.records().map(|rec| Ok(rec?.get(col).unwrap_or_default().trim().to_string())).collect();
    }
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect())
}

async fn bulk(app: &App, file: &std::path::Path, out: Option<&std::path::Path>, reason: &str) -> anyhow::Result<()> {
    let ids = ids_in(file)?;
    let mut sink: Box<dyn Write> = match out {
        Some(path) => {
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            Box::new(std::io::BufWriter::new(o.open(path).with_context(|| format!("creating {}", path.display()))?))
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let (mut issued, mut skipped) = (0usize, 0usize);
    let op = operator();
    for (i, id) in ids.iter().enumerate() {
        let found = match PersonalId::parse(id) {
            Ok(pid) => app.store.person_for_login(&pid).await?,
            Err(_) => None,
        };
        let Some((person, _)) = found else {
            eprintln!("entry {}: no person with this personal ID; skipped", i + 1);
            skipped += 1;
            continue;
        };
        match letters::issue(app, &person, &op, reason).await {
            Ok(letter) => {
                writeln!(sink, "{}", serde_json::to_string::<Letter>(&letter)?)?;
                issued += 1;
            }
            Err(letters::LetterError::NotActive(status)) => {
                eprintln!("entry {}: the account is {status}; skipped", i + 1);
                skipped += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
    sink.flush()?;
    eprintln!("{issued} activation codes issued, {skipped} skipped");
    Ok(())
}
