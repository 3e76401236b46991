//! `nixa cert`: validate a digital-signature certificate; sign a Web eID challenge as a card would.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

#[derive(Subcommand)]
pub enum CertAction {
    /// Validate a signature certificate (PEM or DER): path to a trust anchor, revocation,
    /// identity. Exit 0 valid, 1 invalid, 2 unusable input.
    Verify(CertVerifyArgs),
    /// Sign a Web eID challenge with a certificate's private key, as a card would, and print
    /// the `web-eid:1.0` token (JSON) for the login page. Exit 0 signed, 2 unusable input.
    SignChallenge(SignChallengeArgs),
}

#[derive(clap::Args)]
pub struct SignChallengeArgs {
    /// The private key: PKCS#8 (PEM or DER), or PKCS#12 (.p12/.pfx) with --password.
    #[arg(long)]
    pub key: PathBuf,
    /// The authentication certificate (PEM or DER); optional when the PKCS#12 file holds it.
    #[arg(long)]
    pub cert: Option<PathBuf>,
    /// The login page's origin, e.g. https://id.gov.vn (shown next to the challenge).
    #[arg(long)]
    pub origin: String,
    /// The challenge nonce shown on the login page.
    #[arg(long)]
    pub nonce: String,
    /// The PKCS#12 password (prefer the environment variable: arguments are visible to others).
    #[arg(long, env = "NIXA_P12_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
}

#[derive(clap::Args)]
pub struct CertVerifyArgs {
    pub cert: PathBuf,
    /// Untrusted intermediate certificates (repeat).
    #[arg(long = "intermediate", value_name = "CERT")]
    pub intermediates: Vec<PathBuf>,
    /// Trust anchors; replaces the default national store (repeat).
    #[arg(long = "trust", value_name = "CERT")]
    pub trust: Vec<PathBuf>,
    /// CRL files (PEM or DER, repeat).
    #[arg(long = "crl", value_name = "FILE")]
    pub crls: Vec<PathBuf>,
    /// OCSP response files (DER, repeat).
    #[arg(long = "ocsp", value_name = "FILE")]
    pub ocsp: Vec<PathBuf>,
    /// Validation instant (RFC 3339); now by default.
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,
    /// Accept an unknown revocation status (revoked or forged answers still fail).
    #[arg(long, conflicts_with = "no_revocation")]
    pub soft_fail: bool,
    /// Do not check revocation.
    #[arg(long)]
    pub no_revocation: bool,
    /// Do not ask OCSP responders or download CRLs named by the certificates.
    #[arg(long)]
    pub offline: bool,
    /// The certificate is a CA certificate (e.g. a licensed CA under the national root).
    #[arg(long)]
    pub ca: bool,
    /// Print the JSON report instead of the summary.
    #[arg(long)]
    pub json: bool,
}

/// Run inside the async runtime (the same exit codes become errors).
pub fn run(action: &CertAction) -> anyhow::Result<()> {
    match action {
        CertAction::Verify(args) => anyhow::ensure!(verify(args) == ExitCode::SUCCESS, "certificate not valid"),
        CertAction::SignChallenge(args) => anyhow::ensure!(sign_challenge(args) == ExitCode::SUCCESS, "challenge not signed"),
    }
    Ok(())
}

/// `nixa cert sign-challenge`: the token on stdout; 2 for unusable input.
pub fn sign_challenge(args: &SignChallengeArgs) -> ExitCode {
    use nixa::pki::token_signer;
    let unusable = |e: String| {
        eprintln!("nixa cert sign-challenge: {e}");
        ExitCode::from(2)
    };
    let read = |p: &PathBuf| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let key = match read(&args.key).and_then(|b| token_signer::load_key(&b, args.password.as_deref()).map_err(|e| e.to_string())) {
        Ok(k) => k,
        Err(e) => return unusable(e),
    };
    let cert_der = match &args.cert {
        Some(p) => match read(p).and_then(|b| nixa::pki::Cert::parse(&b).map_err(|e| format!("{}: {e}", p.display()))) {
            Ok(c) => c.der,
            Err(e) => return unusable(e),
        },
        None => match key.certs.first() {
            Some(c) => c.clone(),
            None => return unusable("--cert is required unless the PKCS#12 file holds the certificate".into()),
        },
    };
    match token_signer::sign_challenge(&key.pkcs8, &cert_der, &args.origin, &args.nonce).map(|t| serde_json::to_string(&t)) {
        Ok(Ok(json)) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => unusable(e.to_string()),
        Err(e) => unusable(e.to_string()),
    }
}

/// `nixa cert verify`: 0 valid, 1 invalid, 2 unusable input.
pub fn verify(args: &CertVerifyArgs) -> ExitCode {
    use nixa::pki::{self, Cert, Crl, Mode, Policy, Revocation, TrustStore};
    let unusable = |m: String| {
        eprintln!("nixa: {m}");
        ExitCode::from(2)
    };
    let read = |p: &PathBuf| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let load = |p: &PathBuf| read(p).and_then(|b| Cert::parse_all(&b).map_err(|e| format!("{}: {e}", p.display())));
    let leaf = match load(&args.cert).map(|mut v| v.remove(0)) {
        Ok(c) => c,
        Err(e) => return unusable(e),
    };
    let mut intermediates = Vec::new();
    for p in &args.intermediates {
        match load(p) {
            Ok(v) => intermediates.extend(v),
            Err(e) => return unusable(e),
        }
    }
    let trust = if args.trust.is_empty() {
        match TrustStore::national() {
            Ok(t) => t,
            Err(e) => return unusable(e.to_string()),
        }
    } else {
        let mut anchors = Vec::new();
        for p in &args.trust {
            match load(p) {
                Ok(v) => anchors.extend(v),
                Err(e) => return unusable(e),
            }
        }
        TrustStore::from_certs(anchors)
    };
    let at = match &args.at {
        None => nixa::state::Clock::system_now(),
        Some(t) => match time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339) {
            Ok(t) => t.unix_timestamp(),
            Err(e) => return unusable(format!("--at {t}: {e}")),
        },
    };
    let mode = if args.no_revocation {
        Mode::Off
    } else if args.soft_fail {
        Mode::SoftFail
    } else {
        Mode::FailClosed
    };
    let mut rev = Revocation::new(mode);
    for p in &args.crls {
        match read(p).and_then(|b| Crl::parse(&b, &p.display().to_string()).map_err(|e| format!("{}: {e}", p.display()))) {
            Ok(c) => rev.crls.push(c),
            Err(e) => return unusable(e),
        }
    }
    for p in &args.ocsp {
        match read(p) {
            Ok(b) => rev.ocsp.push(pki::online::OcspEvidence::from_file(p.display().to_string(), b)),
            Err(e) => return unusable(e),
        }
    }
    let policy = if args.ca { Policy::ca(at) } else { Policy::signature(at) };
    if mode != Mode::Off && !args.offline && args.crls.is_empty() && args.ocsp.is_empty() {
        // Ask the OCSP responders, then the CRLs, the chain names; failures leave the status unknown.
        let path = pki::path::validate(&leaf, &intermediates, &trust, &policy);
        let settings = pki::config::PkiSettings::load(&pki::config::PkiConfig::default()).map(|mut s| {
            s.trust = trust.clone();
            s
        });
        if let (Ok(rt), Ok(settings)) = (tokio::runtime::Builder::new_current_thread().enable_all().build(), settings) {
            // A check on the operator's own command: addresses in the certificate are theirs to call.
            let http = nixa::outbound::Outbound::new(["0.0.0.0/0", "::/0"].iter().filter_map(|n| n.parse().ok()).collect());
            let cache = pki::fetch::CrlCache::default();
            rev = rt.block_on(pki::online::revocation_for(&http, &cache, &settings, &path.chain, at, mode));
        }
    }
    let report = pki::verify(&leaf, &intermediates, &trust, &policy, &rev);
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(j) => println!("{j}"),
            Err(e) => return unusable(e.to_string()),
        }
    } else {
        println!("{}\n{}", report.summary.vi, report.summary.en);
        for c in report.checks.iter().filter(|c| !c.ok) {
            println!("  ✗ {}{}: {}", c.check, c.cert.map(|i| format!(" #{i}")).unwrap_or_default(), c.detail);
        }
    }
    if report.valid { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
