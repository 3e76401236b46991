//! `nixa person`: the population registry.

use clap::Subcommand;

use super::Cli;
use super::import::{self, ImportArgs, Registry};

#[derive(Subcommand)]
pub enum PersonAction {
    /// Import persons from JSON Lines or CSV (with a header); upserts keyed by personal ID.
    /// An interrupted import resumes where it stopped when run again on the same file.
    Import(ImportArgs),
}

pub async fn run(cli: &Cli, action: &PersonAction) -> anyhow::Result<()> {
    match action {
        PersonAction::Import(args) => import::run(cli, args, Registry::Persons).await,
    }
}
