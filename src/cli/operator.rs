//! `nixa operator`: admin API tokens.

use clap::Subcommand;
use nixa::crypto::{random_token, token_hash};
use serde_json::json;

use super::{Cli, settings};

#[derive(Subcommand)]
pub enum OperatorAction {
    /// Issue an admin API token (printed once, stored hashed).
    Token {
        /// Who or what uses the token (shown in the audit log).
        #[arg(long)]
        name: String,
        /// persons:read persons:write orgs:read orgs:write clients:read clients:write
        /// clients:register clients:first_party; repeat.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Lifetime in days.
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
    },
    /// Revoke every token issued under a name.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

pub async fn run(cli: &Cli, action: &OperatorAction) -> anyhow::Result<()> {
    let s = settings(cli, None)?;
    let store = nixa::state::open_store(&s).await?;
    let now = nixa::state::Clock::system_now();
    match action {
        OperatorAction::Token { name, scopes, days } => {
            if let Some(bad) = scopes.iter().find(|s| !nixa::admin::auth::SCOPES.contains(&s.as_str())) {
                anyhow::bail!("unknown scope {bad:?}; scopes: {}", nixa::admin::auth::SCOPES.join(" "));
            }
            let token = random_token();
            let op = nixa::store::operators::OperatorToken {
                name: name.clone(),
                scopes: scopes.clone(),
                expires_at: now + i64::from(*days) * 86_400,
            };
            store.insert_operator_token(&token_hash(&token), &op, now).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({"name": name, "scopes": scopes, "expires_at": op.expires_at, "token": token}))?
            );
        }
        OperatorAction::Revoke { name } => {
            let n = store.revoke_operator_tokens(name, now).await?;
            println!("revoked {n} token(s) of {name}");
        }
    }
    Ok(())
}
