//! `nixa keys`: signing keys and the master key.

use clap::Subcommand;
use nixa::keys::{MasterKey, key_state};
use serde_json::json;

use super::{Cli, settings};

#[derive(Subcommand)]
pub enum KeysAction {
    /// List signing keys with their state.
    List,
    /// Add new signing keys; they are published now and sign after `key_publish_lead_secs`.
    Rotate {
        /// Sign with the new keys at once (only when no verifier caches the JWKS yet).
        #[arg(long)]
        now: bool,
    },
    /// Print a fresh master key for the configuration.
    GenerateMaster,
}

pub async fn run(cli: &Cli, action: &KeysAction) -> anyhow::Result<()> {
    if let KeysAction::GenerateMaster = action {
        println!("{}", MasterKey::generate_base64());
        return Ok(());
    }
    let s = settings(cli, None)?;
    let store = nixa::state::open_store(&s).await?;
    let now = nixa::state::Clock::system_now();
    let vault = nixa::keys::Vault::open(s.master_key.clone(), &s.keys)?;
    nixa::keys::ensure_keys(&store, &vault, now).await?;
    if let KeysAction::Rotate { now: immediately } = action {
        let lead = if *immediately { 0 } else { s.key_publish_lead };
        let added = nixa::keys::rotate(&store, &vault, now, lead, s.max_token_lifetime()).await?;
        let kids: Vec<_> = added.iter().map(|k| json!({"kid": k.kid, "alg": k.alg, "activates_at": k.activates_at})).collect();
        nixa::audit::record(&store, now, nixa::audit::Event::KeysRotated, None, None, json!({"added": kids})).await?;
    }
    let keys: Vec<_> = store
        .keys()
        .await?
        .iter()
        .map(|k| {
            json!({
                "kid": k.kid, "alg": k.alg, "state": key_state(k, now),
                "created_at": k.created_at, "activates_at": k.activates_at,
                "retired_at": k.retired_at, "published_until": k.published_until,
            })
        })
        .collect();
    println!("{}", serde_json::to_string_pretty(&keys)?);
    Ok(())
}
