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
    /// Wrap a master key (the text of a master key file) with the PKCS#11 token of `[keys]`,
    /// for `master_key_wrapped_file`: the key then exists in the clear only inside nixa's memory.
    WrapMaster {
        /// The master key file to wrap.
        #[arg(long)]
        from: std::path::PathBuf,
        /// Where the wrapped key is written (never overwritten; mode 0600).
        #[arg(long)]
        to: std::path::PathBuf,
    },
}

pub async fn run(cli: &Cli, action: &KeysAction) -> anyhow::Result<()> {
    if let KeysAction::GenerateMaster = action {
        println!("{}", MasterKey::generate_base64());
        return Ok(());
    }
    let s = settings(cli, None)?;
    if let KeysAction::WrapMaster { from, to } = action {
        return wrap_master(&s, from, to);
    }
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

fn wrap_master(s: &nixa::config::Settings, from: &std::path::Path, to: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    anyhow::ensure!(s.keys.uses_token(), "wrap-master needs [keys] backend = \"pkcs11\": the token that will hold the wrapping key");
    let text = std::fs::read_to_string(from).map_err(|e| anyhow::anyhow!("{}: {e}", from.display()))?;
    // Only a valid master key is wrapped: a typo found now, not at the next start.
    MasterKey::from_base64(text.trim())?;
    let wrapped = nixa::keys::pkcs11::Hsm::open(&s.keys)?.wrap_master(text.trim().as_bytes())?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .map_err(|e| anyhow::anyhow!("{}: {e} (an existing file is never overwritten)", to.display()))?;
    file.write_all(wrapped.as_bytes())?;
    file.sync_all()?;
    eprintln!("wrapped by the token into {}: set master_key_wrapped_file to it, then remove the plain key file", to.display());
    Ok(())
}
