//! `nixa client`: registered portals (OIDC clients).

use clap::{Subcommand, ValueEnum};
use nixa::oidc::registration::{self, ClientSpec};
use serde_json::json;

use super::{Cli, settings};

#[derive(Clone, Copy, ValueEnum)]
pub enum CliAuthMethod {
    ClientSecretBasic,
    ClientSecretPost,
    PrivateKeyJwt,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum CliClaimsProfile {
    Standard,
    VnHub,
}

#[derive(Subcommand)]
pub enum ClientAction {
    /// Register a portal; prints it as JSON, with its secret (shown once, stored hashed).
    Add {
        #[arg(long)]
        name: String,
        /// Exact redirect URI; repeat for several.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// A public client (no secret; PKCE only), e.g. a mobile or single-page app.
        #[arg(long)]
        public: bool,
        #[arg(long, value_enum, default_value = "client-secret-basic", conflicts_with = "public")]
        auth_method: CliAuthMethod,
        /// ID token signing algorithm.
        #[arg(long, default_value = "ES256", value_parser = ["ES256", "RS256"])]
        alg: String,
        /// Scopes the portal may ask for (default: all supported).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// First-party portal: receives the public subject instead of a pairwise one.
        #[arg(long)]
        first_party: bool,
        /// UserInfo claim names: `vn-hub` adds the national hub's names (SoDinhDanh, HoVaTen, …).
        #[arg(long, value_enum, default_value = "standard")]
        claims_profile: CliClaimsProfile,
        /// Client id (default: random).
        #[arg(long)]
        id: Option<String>,
        /// Further registration metadata as a JSON object with RFC 7591 names: jwks, jwks_uri,
        /// require_pushed_authorization_requests, dpop_bound_access_tokens,
        /// access_token_format (opaque|jwt), post_logout_redirect_uris, backchannel_logout_uri,
        /// sector_identifier_uri, grant_types, profile (default|fapi2), purposes (per scope,
        /// `{"vn_identity": {"vi": "…", "en": "…"}}`), responsible_organisation
        /// (`{"name": "…", "contact": "…"}`), legal_basis (`{"vi": "…", "en": "…"}`).
        #[arg(long, value_name = "JSON")]
        options: Option<String>,
    },
    /// List registered portals as JSON.
    List,
}

pub async fn run(cli: &Cli, action: &ClientAction) -> anyhow::Result<()> {
    let s = settings(cli, None)?;
    let store = nixa::state::open_store(&s).await?;
    let now = nixa::state::Clock::system_now();
    match action {
        ClientAction::List => {
            let list: Vec<_> = store.clients().await?.iter().map(registration::metadata).collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        ClientAction::Add { name, redirect_uris, public, auth_method, alg, scopes: wanted, first_party, claims_profile, id, options } => {
            let options: nixa::client::ClientOptions = match options {
                Some(o) => serde_json::from_str(o).map_err(|e| anyhow::anyhow!("--options: {e}"))?,
                None => Default::default(),
            };
            let spec = ClientSpec {
                id: id.clone(),
                name: name.clone(),
                redirect_uris: redirect_uris.clone(),
                auth_method: Some(
                    match (public, auth_method) {
                        (true, _) => "none",
                        (false, CliAuthMethod::ClientSecretBasic) => "client_secret_basic",
                        (false, CliAuthMethod::ClientSecretPost) => "client_secret_post",
                        (false, CliAuthMethod::PrivateKeyJwt) => "private_key_jwt",
                    }
                    .into(),
                ),
                alg: Some(alg.clone()),
                scopes: wanted.clone(),
                first_party: *first_party,
                claims_profile: Some(
                    match claims_profile {
                        CliClaimsProfile::Standard => "standard",
                        CliClaimsProfile::VnHub => "vn_hub",
                    }
                    .into(),
                ),
                options,
            };
            let (client, secret) = registration::build(&spec)?;
            nixa::privacy::sector::verify_client(&nixa::outbound::Outbound::new(s.outbound_allow.clone()), &client).await?;
            if store.client(&client.id).await?.is_some() {
                anyhow::bail!("a client with id {} exists already", client.id);
            }
            store.put_client(&client, now).await?;
            nixa::audit::record(&store, now, nixa::audit::Event::ClientRegistered, None, Some(client.id.as_str()), json!({"name": name}))
                .await?;
            let mut out = registration::metadata(&client);
            out["client_secret"] = json!(secret);
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(())
}
