//! Signing keys in a PKCS#11 token: Debian's SoftHSM2 (tests/run installs it). In this process
//! the library reads SoftHSM's system configuration once, so each test here makes a token of its
//! own (by label) in the system token directory and deletes it afterwards; the spawned server
//! gets a token directory of its own through `SOFTHSM2_CONF`.

use std::process::Command;
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use nixa::keys::Alg;
use nixa::keys::pkcs11::KeysConfig;
use serde_json::{Value, json};

use crate::common::*;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "246810";
const SO_PIN: &str = "13579246";

/// Token creation takes "the" free slot: one at a time.
static CREATING: Mutex<()> = Mutex::new(());

fn library() -> Pkcs11 {
    assert!(std::path::Path::new(MODULE).exists(), "SoftHSM2 is installed (tests/run: apt-get install softhsm2)");
    let ctx = Pkcs11::new(MODULE).unwrap();
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => panic!("{e}"),
    }
    ctx
}

/// A token of the test's own, initialised in this process (so that its library knows it).
struct Token {
    label: String,
    pin_file: tempfile::NamedTempFile,
}

impl Token {
    fn create() -> Self {
        let _one = CREATING.lock().unwrap_or_else(|e| e.into_inner());
        let ctx = library();
        let label = format!("nixa-test-{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let free = ctx
            .get_slots_with_token()
            .unwrap()
            .into_iter()
            .find(|s| ctx.get_token_info(*s).is_ok_and(|t| !t.token_initialized()))
            .expect("a free slot");
        ctx.init_token(free, &AuthPin::from(SO_PIN.to_string()), &label).unwrap();
        let slot =
            ctx.get_slots_with_token().unwrap().into_iter().find(|s| ctx.get_token_info(*s).is_ok_and(|t| t.label() == label)).unwrap();
        let session = ctx.open_rw_session(slot).unwrap();
        session.login(UserType::So, Some(&AuthPin::from(SO_PIN.to_string()))).unwrap();
        session.init_pin(&AuthPin::from(PIN.to_string())).unwrap();
        session.logout().unwrap();
        let pin_file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(pin_file.path(), format!("{PIN}\n")).unwrap();
        Self { label, pin_file }
    }

    fn config(&self) -> KeysConfig {
        KeysConfig {
            backend: "pkcs11".into(),
            module: Some(MODULE.into()),
            token_label: Some(self.label.clone()),
            slot: None,
            pin_file: Some(self.pin_file.path().to_path_buf()),
        }
    }

    /// A read-only session as the token's user (a separate one from the server's).
    fn session(&self) -> cryptoki::session::Session {
        let ctx = library();
        let slot = ctx
            .get_slots_with_token()
            .unwrap()
            .into_iter()
            .find(|s| ctx.get_token_info(*s).is_ok_and(|t| t.label() == self.label))
            .unwrap();
        let session = ctx.open_ro_session(slot).unwrap();
        let _ = session.login(UserType::User, Some(&AuthPin::from(PIN.to_string())));
        session
    }

    /// Every private key in the token: (label, sensitive, extractable, never extractable,
    /// generated inside the token).
    fn private_keys(&self) -> Vec<(String, bool, bool, bool, bool)> {
        let session = self.session();
        let wanted = [
            AttributeType::Label,
            AttributeType::Sensitive,
            AttributeType::Extractable,
            AttributeType::NeverExtractable,
            AttributeType::Local,
        ];
        session
            .find_objects(&[Attribute::Class(ObjectClass::PRIVATE_KEY)])
            .unwrap()
            .into_iter()
            .map(|key| {
                let mut k = (String::new(), false, true, false, false);
                for a in session.get_attributes(key, &wanted).unwrap() {
                    match a {
                        Attribute::Label(l) => k.0 = String::from_utf8(l).unwrap(),
                        Attribute::Sensitive(v) => k.1 = v,
                        Attribute::Extractable(v) => k.2 = v,
                        Attribute::NeverExtractable(v) => k.3 = v,
                        Attribute::Local(v) => k.4 = v,
                        _ => {}
                    }
                }
                k
            })
            .collect()
    }

    /// The master-key wrapping key's (sensitive, extractable).
    fn wrapping_key(&self) -> (bool, bool) {
        let session = self.session();
        let keys = session.find_objects(&[Attribute::Class(ObjectClass::SECRET_KEY)]).unwrap();
        assert_eq!(keys.len(), 1, "one wrapping key");
        let (mut sensitive, mut extractable) = (false, true);
        for a in session.get_attributes(keys[0], &[AttributeType::Sensitive, AttributeType::Extractable]).unwrap() {
            match a {
                Attribute::Sensitive(v) => sensitive = v,
                Attribute::Extractable(v) => extractable = v,
                _ => {}
            }
        }
        (sensitive, extractable)
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        let _ = Command::new("softhsm2-util").args(["--delete-token", "--token", &self.label]).output();
    }
}

async fn jwks(server_url: &str) -> Value {
    backchannel().get(format!("{server_url}/jwks")).send().await.unwrap().json().await.unwrap()
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect()
}

/// Whether `jwt`'s signature verifies with the key its `kid` names in `jwks`.
fn verifies(jwt: &str, jwks: &Value) -> bool {
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let Some(jwk) = header.kid.as_deref().and_then(|k| set.find(k)) else { return false };
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(jwt, &DecodingKey::from_jwk(jwk).unwrap(), &validation).is_ok()
}

fn kid_of(jwt: &str) -> String {
    jsonwebtoken::decode_header(jwt).unwrap().kid.unwrap()
}

#[tokio::test]
async fn signing_keys_are_made_in_the_token_sign_verifiable_tokens_and_never_leave_it() {
    let token = Token::create();
    let server = TestServer::start_with(|c| c.keys = token.config()).await;
    let published = jwks(&server.issuer).await;
    assert_eq!(kids(&published).len(), 2, "an ES256 and an RS256 key: {published}");
    let keys = token.private_keys();
    let mut labels: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
    labels.sort_unstable();
    assert_eq!(labels, ["nixa credentials ES256", "nixa tokens ES256", "nixa tokens RS256"], "the QR-credential key too");
    for (label, sensitive, extractable, never_extractable, local) in &keys {
        assert!(*sensitive && !*extractable && *never_extractable && *local, "{label}: generated inside, sensitive, never extractable");
    }

    // A whole sign-in: the ID token the portal gets verifies with the published key.
    let browser = server.browser();
    let (code, verifier) = code_for(&server, &browser, AN).await;
    let (status, tokens) = redeem(&server, &code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = tokens["id_token"].as_str().unwrap();
    assert!(verifies(id_token, &published), "the ID token verifies");
    // Both algorithms sign through the token.
    for alg in [Alg::ES256, Alg::RS256] {
        let jwt = server.app.keys.signer(alg).unwrap().sign_jwt("JWT", &json!({"sub": "x"})).unwrap();
        assert!(verifies(&jwt, &published), "{alg}");
        let at = jwt.rfind('.').unwrap() + 2;
        let flipped = if &jwt[at..at + 1] == "A" { "B" } else { "A" };
        let forged = format!("{}{flipped}{}", &jwt[..at], &jwt[at + 1..]);
        assert!(!verifies(&forged, &published), "a changed signature fails ({alg})");
    }

    // The database holds no private key: a server with the same database and master key but
    // without the token cannot sign with these keys.
    let rows = server.app.store.keys().await.unwrap();
    let vault = nixa::keys::Vault::open(server.app.settings.master_key.clone(), &KeysConfig::default()).unwrap();
    let Err(refused) = nixa::keys::KeyRing::load(server.app.store.clone(), vault, server.app.now()).await else {
        panic!("loaded without the token")
    };
    assert!(refused.to_string().contains("PKCS#11 token"), "{refused}");
    assert_eq!(rows.len(), 2);
}

/// A verifier that fetches the JWKS at any moment of a rotation finds the `kid` of every token
/// it may hold: the successor is published before it signs, and the old key stays published
/// until every token it signed has expired.
#[tokio::test]
async fn a_jwks_fetched_during_a_token_key_rotation_never_lacks_the_kid_of_a_token_in_flight() {
    let token = Token::create();
    let server = std::sync::Arc::new(TestServer::start_with(|c| c.keys = token.config()).await);
    let lifetime = server.app.settings.max_token_lifetime();
    let sign = move |server: &TestServer| {
        let now = server.app.now();
        server.app.keys.signer(Alg::ES256).unwrap().sign_jwt("JWT", &json!({"iat": now, "exp": now + lifetime})).unwrap()
    };
    let before = sign(&server);
    let old_kid = kid_of(&before);

    // Meanwhile a portal keeps receiving tokens and fetching the JWKS to verify them.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let verifier = tokio::spawn({
        let (server, stop) = (server.clone(), stop.clone());
        async move {
            let mut checked = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let jwt = sign(&server);
                let published = jwks(&server.issuer).await;
                assert!(verifies(&jwt, &published), "token signed by {} not verifiable with {:?}", kid_of(&jwt), kids(&published));
                checked += 1;
            }
            checked
        }
    });

    let lead = 120;
    let now = server.app.now();
    nixa::keys::rotate(&server.app.store, server.app.keys.vault(), now, lead, lifetime).await.unwrap();
    server.app.keys.reload(now).await.unwrap();
    let published = jwks(&server.issuer).await;
    assert_eq!(kids(&published).len(), 4, "the successors are published at once: {published}");
    assert_eq!(kid_of(&sign(&server)), old_kid, "but do not sign before the lead time");

    server.app.clock.advance(lead + 1);
    server.app.keys.reload(server.app.now()).await.unwrap();
    let after = sign(&server);
    assert_ne!(kid_of(&after), old_kid, "the successor signs after the lead time");
    let published = jwks(&server.issuer).await;
    assert!(verifies(&before, &published) && verifies(&after, &published), "old and new tokens both verify");

    server.app.clock.advance(lifetime + 1);
    server.app.keys.reload(server.app.now()).await.unwrap();
    let published = jwks(&server.issuer).await;
    assert!(!kids(&published).contains(&old_kid), "the old key is withdrawn once its tokens have expired");
    assert!(verifies(&after, &published));

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let checked = verifier.await.unwrap();
    assert!(checked > 0, "the portal verified tokens during the rotation");
    let token_keys = token.private_keys().into_iter().filter(|k| k.0.starts_with("nixa tokens")).count();
    assert_eq!(token_keys, 4, "the successors were made in the token too");
}

/// The real binary: the token named in the configuration (with a PIN file), a restart that finds
/// the keys again, the CLI's rotation, and the refusals: a wrong PIN, a token-less configuration.
#[tokio::test]
async fn nixa_serve_signs_with_the_configured_token_and_refuses_a_wrong_pin() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(&conf, format!("directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n", tokens.display())).unwrap();
    let conf = conf.display().to_string();
    let init = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", "nixa", "--pin", PIN, "--so-pin", SO_PIN])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let pin = dir.path().join("pin");
    std::fs::write(&pin, PIN).unwrap();
    let keys = format!("{{backend=\"pkcs11\", module=\"{MODULE}\", token_label=\"nixa\", pin_file=\"{}\"}}", pin.display());
    let env = [("SOFTHSM2_CONF", conf.as_str()), ("NIXA_KEYS", keys.as_str())];
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();

    let mut nixa = crate::observe::spawn_nixa_in(&state, &env).await;
    let secrets = crate::observe::sign_in_run(&nixa.issuer).await;
    let published = jwks(&nixa.issuer).await;
    assert!(verifies(&secrets[4], &published), "the ID token verifies");

    let cli = |args: &[&str], env: &[(&str, &str)]| {
        Command::new(env!("CARGO_BIN_EXE_nixa")).arg("--demo").args(args).current_dir(&state).envs(env.iter().copied()).output().unwrap()
    };
    let rotated = cli(&["keys", "rotate"], &env);
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    let listed: Value = serde_json::from_slice(&rotated.stdout).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(4), "{listed}");

    let _ = nixa.child.kill();
    let _ = nixa.child.wait();
    nixa = crate::observe::spawn_nixa_in(&state, &env).await;
    let again = jwks(&nixa.issuer).await;
    assert_eq!(kids(&again).len(), 4, "the keys found again in the token after a restart: {again}");
    let secrets = crate::observe::sign_in_run(&nixa.issuer).await;
    assert!(verifies(&secrets[4], &again));
    let _ = nixa.child.kill();
    let _ = nixa.child.wait();

    let wrong = dir.path().join("wrong-pin");
    std::fs::write(&wrong, "000000").unwrap();
    let wrong_keys = keys.replace(&pin.display().to_string(), &wrong.display().to_string());
    let refused = cli(&["serve", "--listen", "127.0.0.1:0"], &[("SOFTHSM2_CONF", conf.as_str()), ("NIXA_KEYS", wrong_keys.as_str())]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("PKCS#11: Function::Login") && stderr.contains("PIN is incorrect"), "{stderr}");

    let without = cli(&["serve", "--listen", "127.0.0.1:0"], &[]);
    let stderr = String::from_utf8_lossy(&without.stderr);
    assert!(!without.status.success() && stderr.contains("lives in a PKCS#11 token"), "{stderr}");
}

/// A QR credential signed by `app`'s key for the issuer `of`.
fn credential(app: &nixa::state::App, of: &nixa::state::App, name: &str) -> String {
    use nixa::credentials::issue::{self, PersonIdentity, Request, Subject};
    let person = PersonIdentity { id: "001204012345".into(), full_name: name.into(), ..Default::default() };
    let now = app.now();
    let req = Request {
        issuer: &of.credentials.issuer,
        subject_id: "p",
        subject: Subject::Person(person.claim169(None)),
        iat: now,
        exp: now + 600,
        nonce: None,
        status: None,
    };
    issue::issue(&app.credentials.signer, &req).unwrap()
}

async fn verified(server: &TestServer, text: &str) -> Value {
    let url = server.url("/api/v1/credentials/verify");
    backchannel().post(url).json(&json!({ "text": text })).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn qr_credentials_are_signed_in_the_token_and_those_signed_before_the_switch_still_verify() {
    let token = Token::create();
    let master = nixa::keys::MasterKey::generate_base64();
    let key = master.clone();
    let software = TestServer::start_with(|c| c.master_key = Some(key)).await;
    let database = software.app.settings.database_url.clone();

    // The same database switched to the token: a credential key is made inside it.
    let on_the_token = async || {
        let (url, key) = (database.clone(), master.clone());
        TestServer::start_with(|c| {
            c.database_url = Some(url);
            c.master_key = Some(key);
            c.keys = token.config();
        })
        .await
    };
    let switched = on_the_token().await;
    assert_ne!(switched.app.credentials.signer.kid, software.app.credentials.signer.kid);
    let in_token: Vec<_> = token.private_keys().into_iter().filter(|k| k.0 == "nixa credentials ES256").collect();
    assert_eq!(in_token.len(), 1, "{in_token:?}");
    let (_, sensitive, extractable, never_extractable, local) = in_token[0].clone();
    assert!(sensitive && !extractable && never_extractable && local);
    // Issued by the software key before the switch (the issuer is the deployment's, the same).
    let before = credential(&software.app, &switched.app, "Trần Văn Trước");
    let after = credential(&switched.app, &switched.app, "Trần Văn Sau");
    for (text, name) in [(&before, "Trần Văn Trước"), (&after, "Trần Văn Sau")] {
        let report = verified(&switched, text).await;
        assert_eq!(report["valid"], true, "{report:#}");
        assert_eq!(report["claims"]["claim169"]["fullName"], name);
    }
    // A credential changed in one character is refused.
    let at = after.len() - 3;
    let flipped = if &after[at..at + 1] == "0" { "1" } else { "0" };
    let report = verified(&switched, &format!("{}{flipped}{}", &after[..at], &after[at + 1..])).await;
    assert_eq!(report["valid"], false, "{report:#}");

    // A restart finds the same key in the token and makes no other.
    let restarted = on_the_token().await;
    assert_eq!(restarted.app.credentials.signer.kid, switched.app.credentials.signer.kid);
    // (The ID-token keys stay software keys until a rotation: only the credential key is there.)
    assert_eq!(token.private_keys().len(), 1);

    // Without the token, the database's credential key cannot be used: refused, not replaced.
    let vault = nixa::keys::Vault::open(software.app.settings.master_key.clone(), &KeysConfig::default()).unwrap();
    let refused = nixa::credentials::service::Credentials::load(&software.app.store, &vault, "https://x", software.app.now()).await;
    assert!(refused.is_err_and(|e| e.to_string().contains("PKCS#11 token")));
}

#[tokio::test]
async fn a_master_key_wrapped_by_the_token_opens_what_the_plain_key_sealed_and_nothing_else_unwraps_it() {
    use nixa::config::{Config, Settings};
    use nixa::keys::MasterKey;
    use std::os::unix::fs::PermissionsExt;
    let token = Token::create();
    let dir = tempfile::tempdir().unwrap();
    let text = MasterKey::generate_base64();
    let plain = dir.path().join("master.key");
    std::fs::write(&plain, format!("{text}\n")).unwrap();
    let toml = format!(
        "issuer = \"https://id.example.gov.vn\"\ndatabase_url = \"sqlite://{}/nixa.db\"\nmaster_key_file = \"{}\"\n\n[keys]\n\
         backend = \"pkcs11\"\nmodule = \"{MODULE}\"\ntoken_label = \"{}\"\npin_file = \"{}\"\n",
        dir.path().display(),
        plain.display(),
        token.label,
        token.pin_file.path().display()
    );
    std::fs::write(dir.path().join("nixa.toml"), toml).unwrap();
    let wrapped = dir.path().join("master.key.wrapped");
    let wrap = || {
        Command::new(env!("CARGO_BIN_EXE_nixa"))
            .args(["--config", "nixa.toml", "keys", "wrap-master", "--from", "master.key", "--to", "master.key.wrapped"])
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let out = wrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let contents = std::fs::read_to_string(&wrapped).unwrap();
    assert!(contents.starts_with("nixa-wrapped-master-v1.") && !contents.contains(&text), "{contents}");
    assert_eq!(std::fs::metadata(&wrapped).unwrap().permissions().mode() & 0o777, 0o600);
    let again = wrap();
    assert!(!again.status.success(), "an existing file is never overwritten");
    assert_eq!(std::fs::read_to_string(&wrapped).unwrap(), contents);

    let config = |file: &std::path::Path, keys: KeysConfig| Config {
        issuer: Some("https://id.example.gov.vn".into()),
        database_url: Some(format!("sqlite://{}/nixa.db", dir.path().display())),
        master_key_wrapped_file: Some(file.to_path_buf()),
        keys,
        ..Config::default()
    };
    // Unwrapped inside the token at start: the same key (what the plain key sealed opens).
    let settings = Settings::from_config(&config(&wrapped, token.config()), false).unwrap();
    let sealed = MasterKey::from_base64(&text).unwrap().seal("test", b"a server secret").unwrap();
    assert_eq!(settings.master_key.open("test", &sealed).unwrap(), b"a server secret");
    // The wrapping key never leaves the token.
    let (sensitive, extractable) = token.wrapping_key();
    assert!(sensitive && !extractable);

    // A changed file, another token, or no token: refused with the reason.
    let tampered = dir.path().join("tampered");
    let at = contents.trim_end().len() - 5;
    let flipped = if &contents[at..at + 1] == "A" { "B" } else { "A" };
    std::fs::write(&tampered, format!("{}{flipped}{}", &contents[..at], &contents[at + 1..])).unwrap();
    assert!(Settings::from_config(&config(&tampered, token.config()), false).is_err());
    let other = Token::create();
    let refused = Settings::from_config(&config(&wrapped, other.config()), false).unwrap_err().to_string();
    assert!(refused.contains("master_key_wrapped_file"), "{refused}");
    let refused = Settings::from_config(&config(&wrapped, KeysConfig::default()), false).unwrap_err().to_string();
    assert!(refused.contains("pkcs11"), "{refused}");
}
