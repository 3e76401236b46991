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
    /// Give a person a console role: helpdesk, portal_admin, auditor, statistician,
    /// security_admin (they sign in to /console at loa:2 or higher).
    Grant {
        /// The person's 12-digit personal ID.
        #[arg(long)]
        id: String,
        #[arg(long)]
        role: String,
    },
    /// Take a console role away.
    RevokeRole {
        #[arg(long)]
        id: String,
        #[arg(long)]
        role: String,
    },
}

async fn person_of(store: &nixa::store::Store, id: &str) -> anyhow::Result<nixa::identity::Person> {
    let pid = nixa::identity::PersonalId::parse(id)?;
    Ok(store.person_for_login(&pid).await?.ok_or_else(|| anyhow::anyhow!("no person has the personal ID {id}"))?.0)
}

fn role_of(role: &str) -> anyhow::Result<nixa::console::Role> {
    nixa::console::Role::parse(role).ok_or_else(|| {
        let all: Vec<&str> = nixa::console::Role::ALL.iter().map(|r| r.as_str()).collect();
        anyhow::anyhow!("unknown role {role:?}; roles: {}", all.join(" "))
    })
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
            // Who can act through the admin API is itself a security event (never the token).
            let detail =
                json!({"operator": "command line", "action": "token_issued", "name": name, "scopes": scopes, "expires_at": op.expires_at});
            nixa::audit::record(&store, now, nixa::audit::Event::AdminChange, None, None, detail).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({"name": name, "scopes": scopes, "expires_at": op.expires_at, "token": token}))?
            );
        }
        OperatorAction::Revoke { name } => {
            let n = store.revoke_operator_tokens(name, now).await?;
            let detail = json!({"operator": "command line", "action": "token_revoked", "name": name, "count": n});
            nixa::audit::record(&store, now, nixa::audit::Event::AdminChange, None, None, detail).await?;
            println!("revoked {n} token(s) of {name}");
        }
        OperatorAction::Grant { id, role } => {
            let (person, role) = (person_of(&store, id).await?, role_of(role)?);
            if store.grant_role(&person.id, role.as_str(), "command line", now).await? {
                let detail = json!({"operator": "command line", "action": "granted", "role": role.as_str()});
                nixa::audit::record(&store, now, nixa::audit::Event::OperatorRoleChanged, Some(&person.id), None, detail).await?;
            }
            println!("{id} holds {}", role.as_str());
        }
        OperatorAction::RevokeRole { id, role } => {
            let (person, role) = (person_of(&store, id).await?, role_of(role)?);
            if store.revoke_role(&person.id, role.as_str()).await? {
                let detail = json!({"operator": "command line", "action": "revoked", "role": role.as_str()});
                nixa::audit::record(&store, now, nixa::audit::Event::OperatorRoleChanged, Some(&person.id), None, detail).await?;
            }
            println!("{id} no longer holds {}", role.as_str());
        }
    }
    Ok(())
}
