//! `nixa org`: enterprises and agencies, with their representatives.

use clap::Subcommand;

use super::Cli;
use super::import::{self, ImportArgs, Registry};

#[derive(Subcommand)]
pub enum OrgAction {
    /// Import organisations from JSON Lines or CSV (with a header); upserts keyed by tax or
    /// agency code and links representatives, who must be registered persons.
    /// An interrupted import resumes where it stopped when run again on the same file.
    Import(ImportArgs),
}

pub async fn run(cli: &Cli, action: &OrgAction) -> anyhow::Result<()> {
    match action {
        OrgAction::Import(args) => import::run(cli, args, Registry::Orgs).await,
    }
}
