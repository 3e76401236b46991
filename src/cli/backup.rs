//! `nixa backup --to FILE`: an online, consistent copy of the SQLite database, checked, while
//! the server runs. Keep it with the master key (or the HSM): one without the other opens nothing.

use std::path::PathBuf;

use super::{Cli, settings};

pub async fn run(cli: &Cli, to: &PathBuf) -> anyhow::Result<()> {
    let s = settings(cli, None)?;
    let store = nixa::store::Store::connect(&s.database_url).await?;
    let summary = store.backup_to(to).await?;
    println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "file": to, "summary": summary }))?);
    Ok(())
}
