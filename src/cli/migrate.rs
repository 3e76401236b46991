//! `nixa migrate`: apply the database migrations and exit.

use super::{Cli, settings};

pub async fn run(cli: &Cli) -> anyhow::Result<()> {
    let s = settings(cli, None)?;
    nixa::state::open_store(&s).await?;
    println!("migrations applied to {}", nixa::store::redact_url(&s.database_url));
    Ok(())
}
