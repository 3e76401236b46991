//! `nixa qr`: signed identity QR credentials.

use std::process::ExitCode;

use clap::Subcommand;
use nixa::credentials::cli;

use super::{Cli, settings};

#[derive(Subcommand)]
pub enum QrAction {
    /// Issue a person, organisation or presentation credential; prints the QR text.
    Issue(cli::IssueArgs),
    /// Verify a QR credential (ours, EU DCC, MOSIP Claim 169). Exit 0 valid, 1 invalid, 2 unusable input.
    Verify(cli::VerifyArgs),
    /// Revoke an issued credential (operator) by its status-list index, or all of one holder's,
    /// with a reason.
    Revoke(cli::RevokeArgs),
    /// List the credentials issued for a person (personal ID) or organisation (code).
    List(cli::ListArgs),
}

pub async fn run(cli_args: &Cli, action: &QrAction) -> anyhow::Result<()> {
    match action {
        QrAction::Revoke(args) => cli::revoke_command(&settings(cli_args, None)?, args).await,
        QrAction::Issue(args) => cli::issue_command(&settings(cli_args, None)?, args).await,
        QrAction::List(args) => cli::list_command(&settings(cli_args, None)?, args).await,
        QrAction::Verify(args) => {
            let code = cli::verify_command(args);
            anyhow::ensure!(code == ExitCode::SUCCESS, "credential not valid");
            Ok(())
        }
    }
}
