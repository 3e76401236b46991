//! `nixa audit`: the audit log.

use clap::Subcommand;

use super::{Cli, settings};

#[derive(Subcommand)]
pub enum AuditAction {
    /// Checks the whole chain (every hash, keyed from the first keyed entry on) against the
    /// checkpoints: an edited, reordered or removed entry, or a cut-off tail, is found.
    Verify,
}

pub async fn run(cli: &Cli, action: &AuditAction) -> anyhow::Result<()> {
    match action {
        AuditAction::Verify => {
            let store = nixa::state::open_store(&settings(cli, None)?).await?;
            let checkpoints = store.audit_checkpoints().await?.len();
            match nixa::audit::verify_chain(&store).await? {
                Ok(n) => {
                    println!("audit log intact: {n} entries, {checkpoints} checkpoints");
                    Ok(())
                }
                Err(e) => anyhow::bail!("audit log NOT intact: {e}"),
            }
        }
    }
}
