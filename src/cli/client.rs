//! `nixa client`: registered portals (OIDC clients).

use clap::{Subcommand, ValueEnum};
use nixa::admin::actor::Actor;
use nixa::admin::portals::{self, Change};
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
        /// Scopes the portal may ask for; repeat (default: `openid` only, sign-in without personal data).
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
        /// (`{"name": "…", "contact": "…"}`), legal_basis (`{"vi": "…", "en": "…"}`),
        /// agency_code (the state agency code of the organisation running the portal).
        #[arg(long, value_name = "JSON")]
        options: Option<String>,
    },
    /// List registered portals as JSON.
    List,
    /// Change a portal; only the options given change (the pairwise sector may not move).
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        /// The full new list of redirect URIs; repeat.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// The full new list of scopes; repeat.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// The whole set of further metadata as JSON (see `add --options`); replaces the current one.
        #[arg(long, value_name = "JSON")]
        options: Option<String>,
    },
    /// Disable a portal at once: every protocol request of it is refused and its tokens are revoked.
    Disable {
        id: String,
        /// Why (kept in the audit log).
        #[arg(long)]
        reason: String,
    },
    /// Re-enable a disabled portal.
    Enable {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Give a portal a new secret (printed once); the old one keeps working during the overlap.
    RotateSecret {
        id: String,
        /// Hours the previous secret stays valid (0 after a leak; at most 720).
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(0..=720))]
        overlap_hours: u32,
    },
    /// Delete a portal and everything issued to it.
    Delete { id: String },
}

fn client_id(raw: &str) -> anyhow::Result<nixa::client::ClientId> {
    nixa::client::ClientId::parse(raw).ok_or_else(|| anyhow::anyhow!("{raw:?} is not a client id"))
}

fn parse_options(raw: Option<&String>) -> anyhow::Result<Option<nixa::client::ClientOptions>> {
    raw.map(|o| serde_json::from_str(o).map_err(|e| anyhow::anyhow!("--options: {e}"))).transpose()
}

pub async fn run(cli: &Cli, action: &ClientAction) -> anyhow::Result<()> {
    let s = settings(cli, None)?;
    let store = nixa::state::open_store(&s).await?;
    let now = nixa::state::Clock::system_now();
    let actor = Actor::CommandLine;
    match action {
        ClientAction::List => {
            let list: Vec<_> = store
                .clients()
                .await?
                .iter()
                .map(|c| {
                    let mut m = registration::metadata(c);
                    if let Some(d) = &c.disabled {
                        m["disabled"] = json!(d);
                    }
                    m
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        ClientAction::Update { id, name, redirect_uris, scopes, options } => {
            let change = Change {
                name: name.clone(),
                redirect_uris: (!redirect_uris.is_empty()).then(|| redirect_uris.clone()),
                scopes: (!scopes.is_empty()).then(|| scopes.clone()),
                options: parse_options(options.as_ref())?,
            };
            let outbound = nixa::outbound::Outbound::new(s.outbound_allow.clone());
            let client = portals::update(&store, &outbound, now, &client_id(id)?, change, &actor).await?;
            println!("{}", serde_json::to_string_pretty(&registration::metadata(&client))?);
        }
        ClientAction::Disable { id, reason } => {
            let cut = portals::disable(&store, now, &client_id(id)?, reason, &actor).await?;
            println!(
                "disabled {id}: {} access token(s) and {} refresh token(s) revoked, {} unused code(s) deleted",
                cut.access_tokens, cut.refresh_tokens, cut.codes
            );
        }
        ClientAction::Enable { id, reason } => {
            portals::enable(&store, now, &client_id(id)?, reason, &actor).await?;
            println!("enabled {id}");
        }
        ClientAction::RotateSecret { id, overlap_hours } => {
            let overlap = i64::from(*overlap_hours) * 3600;
            let secret = portals::rotate_secret(&store, now, &client_id(id)?, overlap, &actor).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &json!({"client_id": id, "client_secret": secret, "previous_secret_expires_at": now + overlap})
                )?
            );
        }
        ClientAction::Delete { id } => {
            portals::delete(&store, now, &client_id(id)?, &actor).await?;
            println!("deleted {id}");
        }
        ClientAction::Add { name, redirect_uris, public, auth_method, alg, scopes: wanted, first_party, claims_profile, id, options } => {
            let options = parse_options(options.as_ref())?.unwrap_or_default();
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
            if store.client_record(&client.id).await?.is_some() {
                anyhow::bail!("a client with id {} exists already", client.id);
            }
            store.put_client(&client, now).await?;
            let detail = json!({"operator": actor.label(), "name": name});
            nixa::audit::record(&store, now, nixa::audit::Event::ClientRegistered, None, Some(client.id.as_str()), detail).await?;
            let mut out = registration::metadata(&client);
            out["client_secret"] = json!(secret);
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(())
}
