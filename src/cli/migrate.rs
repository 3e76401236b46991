//! `nixa migrate`: apply the database migrations and exit.

use nixa::store::Store;

use super::{Cli, settings};

pub async fn run(cli: &Cli) -> anyhow::Result<()> {
    let s = settings(cli, None)?;
    let store = Store::connect(&s.database_url).await?;
    store.migrate().await?;
    println!("migrations applied to {}", nixa::store::redact_url(&s.database_url));
    Ok(())
}
