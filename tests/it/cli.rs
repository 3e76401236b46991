//! The `nixa` binary as an operator uses it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// The binary run in `dir`, with nothing of the caller's environment configuring it.
pub(crate) fn nixa(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_nixa"));
    c.current_dir(dir).env_remove("DATABASE_URL").env("RUST_LOG", "warn");
    for (k, _) in std::env::vars() {
        if k.starts_with("NIXA_") {
            c.env_remove(k);
        }
    }
    c
}

/// A directory with a production `nixa.toml` (a fresh master key, SQLite in the directory), as an
/// operator's machine has; `run` runs the binary there with it.
pub(crate) struct Configured {
    pub dir: tempfile::TempDir,
}

impl Configured {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let master = String::from_utf8(nixa(dir.path()).args(["keys", "generate-master"]).output().unwrap().stdout).unwrap();
        let config = format!(
            "issuer = \"https://id.example.gov.vn\"\ndatabase_url = \"sqlite://{}/n.db\"\nmaster_key = \"{}\"\n",
            dir.path().display(),
            master.trim()
        );
        std::fs::write(dir.path().join("nixa.toml"), config).unwrap();
        Self { dir }
    }

    pub fn run(&self, args: &[&str]) -> std::process::Output {
        nixa(self.dir.path()).arg("--config").arg("nixa.toml").args(args).output().unwrap()
    }

    /// Ran well?, standard output, standard error.
    pub fn outcome(&self, args: &[&str]) -> (bool, String, String) {
        let out = self.run(args);
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
    }
}

#[test]
fn production_start_refuses_missing_or_example_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let out = nixa(dir.path()).args(["serve"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`issuer` is required"));

    let demo_key = include_str!("../../keys-example/demo-master-key.txt").trim();
    let out = nixa(dir.path())
        .args(["serve"])
        .env("NIXA_ISSUER", "https://id.example.gov.vn")
        .env("NIXA_MASTER_KEY", demo_key)
        .env("DATABASE_URL", "sqlite://x.db")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("example master key"), "{}", String::from_utf8_lossy(&out.stderr));

    let out = nixa(dir.path()).args(["serve"]).env("NIXA_ISSUER", "http://id.example.gov.vn").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be an https URL"));

    std::fs::write(dir.path().join("bad.toml"), "isuer = \"https://x\"\n").unwrap();
    let out = nixa(dir.path()).args(["serve", "--config", "bad.toml"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("isuer"), "unknown keys are named");
}

#[test]
fn clients_and_keys_from_the_command_line() {
    let operator = Configured::new();
    let run = |args: &[&str]| operator.outcome(args);
    let (ok, _, err) = run(&["migrate"]);
    assert!(ok, "{err}");
    let (ok, out, err) = run(&["client", "add", "--name", "Cổng A", "--redirect-uri", "https://a.gov.vn/cb", "--id", "cong-a"]);
    assert!(ok, "{err}");
    let client: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(client["client_id"], "cong-a");
    assert_eq!(client["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(client["client_secret"].as_str().unwrap().len(), 43);
    let (ok, out, _) = run(&["client", "add", "--name", "App", "--redirect-uri", "vn.gov.app:/cb", "--public", "--alg", "RS256"]);
    assert!(ok);
    let public: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(public["token_endpoint_auth_method"], "none");
    assert!(public["client_secret"].is_null());
    let (ok, _, err) = run(&["client", "add", "--name", "Bad", "--redirect-uri", "http://a.gov.vn/cb"]);
    assert!(!ok && err.contains("must use https"), "{err}");
    let (ok, _, err) = run(&["client", "add", "--name", "Dup", "--redirect-uri", "https://a.gov.vn/cb", "--id", "cong-a"]);
    assert!(!ok && err.contains("exists already"), "{err}");
    let (_, out, _) = run(&["client", "list"]);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(!out.contains("secret_hash") && !out.contains(client["client_secret"].as_str().unwrap()), "secrets are never listed");

    let (_, out, _) = run(&["keys", "list"]);
    let keys: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 2);
    assert!(keys.as_array().unwrap().iter().all(|k| k["state"] == "active"));
    let (_, out, _) = run(&["keys", "rotate"]);
    let keys: serde_json::Value = serde_json::from_str(&out).unwrap();
    let states: Vec<_> = keys.as_array().unwrap().iter().map(|k| k["state"].as_str().unwrap().to_string()).collect();
    assert_eq!(states.iter().filter(|s| *s == "pending").count(), 2, "{states:?}");
    assert_eq!(states.iter().filter(|s| *s == "active").count(), 2, "{states:?}");
    assert!(!out.contains("sealed_private"));
}

#[test]
fn demo_server_prints_credentials_and_serves_discovery() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child =
        nixa(dir.path()).args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")]).stdout(Stdio::piped()).spawn().unwrap();
    let mut printed = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.starts_with("discovery: ") {
            break;
        }
    }
    let discovery_url = format!("http://localhost:{port}/.well-known/openid-configuration");
    assert!(printed.contains(&format!("discovery: {discovery_url}")), "{printed}");
    for expected in ["demo-dvc-secret-not-for-production", "001090001234", "079185005678", "232080001234", "0312345673", "demo-tinh"] {
        assert!(printed.contains(expected), "demo output lacks {expected}:\n{printed}");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let doc: serde_json::Value = rt.block_on(async {
        reqwest::get(format!("http://127.0.0.1:{port}/.well-known/openid-configuration")).await.unwrap().json().await.unwrap()
    });
    assert_eq!(doc["issuer"], format!("http://localhost:{port}"));
    assert_eq!(doc["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert!(dir.path().join("nixa-demo.db").exists(), "embedded SQLite file in the working directory");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn activation_letters_for_one_person_or_a_whole_import_file() {
    let operator = Configured::new();
    let dir = &operator.dir;
    let run = |args: &[&str]| operator.outcome(args);
    let people = [
        r#"{"personal_id":"001095012345","family_name":"Nguyễn","middle_name":"Văn","given_name":"Ba","birthdate":"1995-03-14","sex":"male","account_level":2}"#,
        r#"{"personal_id":"079198054321","family_name":"Trần","given_name":"Chi","birthdate":"1998-07-01","sex":"female","account_level":1}"#,
    ];
    std::fs::write(dir.path().join("persons.jsonl"), people.join("\n") + "\n").unwrap();
    let (ok, _, err) = run(&["person", "import", "persons.jsonl"]);
    assert!(ok, "{err}");

    // One person: the letter in Vietnamese with the code, the page and a QR drawn in text.
    let (ok, out, err) = run(&["person", "activation-code", "--id", "001095012345", "--reason", "counter"]);
    assert!(ok, "{err}");
    assert!(out.contains("Nguyễn Văn Ba") && out.contains("https://id.example.gov.vn/activate") && out.contains("Không chia sẻ"), "{out}");
    assert!(out.contains('█') || out.contains('▀'), "a QR of the activation page: {out}");
    let code_line = out.lines().find(|l| l.trim().len() == 14 && l.trim().matches('-').count() == 2).expect("the code on its own line");
    assert!(!code_line.trim().is_empty());

    // A whole file, plus an ID that is not registered: JSON Lines, owner-only.
    std::fs::write(dir.path().join("ids.txt"), "001095012345\n079198054321\n001099999999\n").unwrap();
    let (ok, _, err) = run(&["person", "activation-code", "--file", "ids.txt", "--out", "letters.jsonl"]);
    assert!(ok, "{err}");
    assert!(err.contains("entry 3: no person") && err.contains("2 activation codes issued, 1 skipped"), "{err}");
    let letters = std::fs::read_to_string(dir.path().join("letters.jsonl")).unwrap();
    let rows: Vec<serde_json::Value> = letters.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["personal_id"], "079198054321");
    assert_eq!(rows[1]["code"].as_str().unwrap().len(), 14);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(dir.path().join("letters.jsonl")).unwrap().permissions().mode() & 0o777, 0o600);
    // The import file itself works as the list, and the codes issued before stop working.
    let (ok, out, _) = run(&["person", "activation-code", "--file", "persons.jsonl"]);
    assert!(ok && out.lines().count() == 2, "{out}");
    assert!(!out.contains(rows[1]["code"].as_str().unwrap()), "new codes replace the old");
    // Every command above appended to the keyed audit chain, which verifies.
    let (ok, out, err) = run(&["audit", "verify"]);
    assert!(ok && out.contains("audit log intact"), "{out}{err}");
    // Against a checkpoint kept outside the database: a wrong one is reported, not ignored.
    let (ok, out, err) = run(&["audit", "verify", "--against", "1:not-the-hash"]);
    assert!(!ok && err.contains("NOT intact") && err.contains("entry 1"), "{out}{err}");
    // Neither, or both, of --id and --file is a usage error.
    assert!(!run(&["person", "activation-code"]).0);
    assert!(!run(&["person", "activation-code", "--id", "001095012345", "--file", "ids.txt"]).0);
}
