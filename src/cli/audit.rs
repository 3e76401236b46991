//! `nixa audit`: the audit log.

use clap::Subcommand;

use super::{Cli, settings};

#[derive(Subcommand)]
pub enum AuditAction {
    /// Checks the whole chain (every hash, keyed from the first keyed entry on) against the
    /// checkpoints: an edited, reordered or removed entry, or a cut-off tail, is found.
    Verify {
        /// A checkpoint kept outside the database, as the server logged it (`audit checkpoint
        /// seq=… hash=…`): finds a tail cut off together with the database's own checkpoints.
        #[arg(long = "against", value_name = "SEQ:HASH")]
        against: Vec<nixa::audit::Anchor>,
    },
}

pub async fn run(cli: &Cli, action: &AuditAction) -> anyhow::Result<()> {
    match action {
        AuditAction::Verify { against } => {
            let store = nixa::state::open_store(&settings(cli, None)?).await?;
            let checkpoints = store.audit_checkpoints().await?.len();
            let checked = match nixa::audit::verify_chain(&store).await? {
                Ok(n) => nixa::audit::verify_anchors(&store, against).await?.map(|()| n),
                Err(e) => Err(e),
            };
            match checked {
                Ok(n) => {
                    println!("audit log intact: {n} entries, {checkpoints} checkpoints, {} kept outside", against.len());
                    Ok(())
                }
                Err(e) => anyhow::bail!("audit log NOT intact: {e}"),
            }
        }
    }
}
