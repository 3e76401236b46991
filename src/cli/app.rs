//! `nixa app`: a reference client of the mobile app API (enroll a device key, approve sign-ins).

use std::path::PathBuf;

use clap::Subcommand;
use nixa::app_client::cli;

#[derive(Subcommand)]
pub enum AppAction {
    /// Sign in through the device grant and bind a new P-256 device key.
    Enroll {
        #[arg(long)]
        issuer: String,
        /// Where the device id and private key are kept (written with mode 0600).
        #[arg(long, value_name = "FILE")]
        state: PathBuf,
        #[arg(long, default_value = "nixa app (CLI)")]
        name: String,
    },
    /// Approve a QR sign-in: the QR text or the short code shown on the computer.
    Approve {
        #[arg(long, value_name = "FILE")]
        state: PathBuf,
        #[arg(long, value_name = "TEXT")]
        request: String,
        /// Refuse instead.
        #[arg(long)]
        deny: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Approve an RFC 8628 device code (a TV, a kiosk).
    ApproveDevice {
        #[arg(long, value_name = "FILE")]
        state: PathBuf,
        #[arg(long, value_name = "CODE")]
        user_code: String,
        #[arg(long)]
        deny: bool,
        #[arg(long)]
        yes: bool,
    },
    /// List the person's devices, or revoke one.
    Devices {
        #[arg(long, value_name = "FILE")]
        state: PathBuf,
        #[arg(long, value_name = "DEVICE_ID")]
        revoke: Option<String>,
    },
}

pub async fn run(action: &AppAction) -> anyhow::Result<()> {
    match action {
        AppAction::Enroll { issuer, state, name } => cli::enroll(issuer, state, name).await?,
        AppAction::Approve { state, request, deny, yes } => cli::approve(state, request, *deny, *yes).await?,
        AppAction::ApproveDevice { state, user_code, deny, yes } => cli::approve_device(state, user_code, *deny, *yes).await?,
        AppAction::Devices { state, revoke } => cli::devices(state, revoke.as_deref()).await?,
    }
    Ok(())
}
