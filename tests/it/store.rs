//! Storage behaviour that must hold on both backends: schema parity, atomic single use,
//! the audit chain, and key rotation.

use crate::common;

use common::*;
use sqlx::Connection;

/// (table, column) pairs declared by one backend's migration files.
fn declared_columns(backend: &str) -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend);
    let mut files: Vec<_> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "sql")).collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let sql = std::fs::read_to_string(f).unwrap();
        let mut table: Option<String> = None;
        for line in sql.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("ALTER TABLE ") {
                let words: Vec<&str> = rest.split_whitespace().collect();
                if let [t, "ADD", "COLUMN", c, ..] = words.as_slice() {
                    out.push((t.to_string(), c.to_string()));
                }
            } else if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
                table = Some(rest.split_whitespace().next().unwrap().to_string());
            } else if line.starts_with(')') {
                table = None;
            } else if let Some(t) = &table {
                let first = line.split_whitespace().next().unwrap_or_default();
                let is_column = !first.is_empty()
                    && !line.starts_with("--")
                    && !["PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "CONSTRAINT"].contains(&first);
                if is_column {
                    out.push((t.clone(), first.to_string()));
                }
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn migrations_of_both_backends_declare_the_same_schema() {
    let sqlite = declared_columns("sqlite");
    let postgres = declared_columns("postgres");
    assert!(sqlite.len() > 50, "parser found the tables");
    assert_eq!(sqlite, postgres, "migrations/sqlite and migrations/postgres diverge");
    // And the live database of this run matches what the files declare.
    let server = TestServer::start().await;
    assert_eq!(server.app.store.schema().await.unwrap(), sqlite);
}

#[tokio::test]
async fn concurrent_redemptions_of_one_code_yield_exactly_one_token() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let (code, verifier) = code_for(&server, &browser, AN).await;
    let token_url = server.url("/token");
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (url, code, verifier) = (token_url.clone(), code.clone(), verifier.clone());
            tokio::spawn(async move {
                let res = backchannel()
                    .post(url)
                    .basic_auth(DVC, Some(DVC_SECRET))
                    .form(&[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("redirect_uri", DVC_REDIRECT),
                        ("code_verifier", &verifier),
                    ])
                    .send()
                    .await
                    .unwrap();
                (res.status().as_u16(), res.json::<serde_json::Value>().await.unwrap())
            })
        })
        .collect();
    let mut results = Vec::new();
    for h in handles {
        results.push(h.await.unwrap());
    }
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(ok, 1, "exactly one redemption wins: {results:?}");
    assert!(results.iter().filter(|(s, _)| *s != 200).all(|(s, b)| *s == 400 && b["error"] == "invalid_grant"));
}

#[tokio::test]
async fn audit_chain_detects_altered_and_removed_entries() {
    let server = TestServer::start().await;
    let store = &server.app.store;
    for i in 0..5 {
        nixa::audit::record(store, 1000 + i, nixa::audit::Event::LoginFailed, None, Some("c"), serde_json::json!({"i": i})).await.unwrap();
    }
    assert_eq!(nixa::audit::verify_chain(store).await.unwrap(), Ok(5));
    let mut conn = sqlx::AnyConnection::connect(&server.app.settings.database_url).await.unwrap();
    sqlx::query("UPDATE audit_log SET detail = '{\"i\":9}' WHERE seq = 3").execute(&mut conn).await.unwrap();
    assert_eq!(nixa::audit::verify_chain(store).await.unwrap(), Err(nixa::audit::ChainError::Altered(3)));
    sqlx::query("DELETE FROM audit_log WHERE seq = 3").execute(&mut conn).await.unwrap();
    assert_eq!(nixa::audit::verify_chain(store).await.unwrap(), Err(nixa::audit::ChainError::Broken(4)));
}

#[tokio::test]
async fn concurrent_audit_appends_keep_one_chain() {
    let server = TestServer::start().await;
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let app = server.app.clone();
            tokio::spawn(async move {
                nixa::audit::record(&app.store, i, nixa::audit::Event::LoginFailed, None, None, serde_json::json!({})).await
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap().unwrap();
    }
    assert_eq!(nixa::audit::verify_chain(&server.app.store).await.unwrap(), Ok(16));
}

#[tokio::test]
async fn rotated_keys_are_published_before_they_sign_and_kept_until_tokens_expire() {
    let server = TestServer::start().await;
    let app = &server.app;
    let http = backchannel();
    let jwks = || async { http.get(server.url("/jwks")).send().await.unwrap().json::<serde_json::Value>().await.unwrap() };
    let kids =
        |v: &serde_json::Value| v["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    let before = kids(&jwks().await);
    assert_eq!(before.len(), 2, "one ES256 and one RS256 key");
    let old_signer = app.keys.signer(nixa::keys::Alg::ES256).unwrap().kid.clone();

    let now = app.now();
    let added = nixa::keys::rotate(&app.store, app.keys.vault(), now, 3600, 600).await.unwrap();
    app.keys.reload(now).await.unwrap();
    let during = kids(&jwks().await);
    assert_eq!(during.len(), 4, "new keys are published at once");
    assert_eq!(app.keys.signer(nixa::keys::Alg::ES256).unwrap().kid, old_signer, "…but do not sign yet");

    app.clock.advance(3600);
    app.keys.reload(app.now()).await.unwrap();
    let new_es = added.iter().find(|k| k.alg == "ES256").unwrap();
    assert_eq!(app.keys.signer(nixa::keys::Alg::ES256).unwrap().kid, new_es.kid, "the new key signs after the lead time");
    assert!(kids(&jwks().await).contains(&old_signer), "the old key stays published while its tokens live");
    // A token signed now verifies against the published keys.
    let browser = server.browser();
    let (code, verifier) = code_for(&server, &browser, AN).await;
    let (_, body) = redeem(&server, &code, &verifier).await;
    let header: serde_json::Value =
        serde_json::from_slice(&nixa::crypto::b64url_decode(body["id_token"].as_str().unwrap().split('.').next().unwrap()).unwrap())
            .unwrap();
    assert_eq!(header["kid"], new_es.kid.as_str());

    app.clock.advance(601);
    app.keys.reload(app.now()).await.unwrap();
    let after = kids(&jwks().await);
    assert_eq!(after.len(), 2);
    assert!(!after.contains(&old_signer), "retired once every token it signed has expired");
}

#[tokio::test]
async fn private_keys_are_sealed_at_rest() {
    let server = TestServer::start().await;
    let rows = server.app.store.keys().await.unwrap();
    for k in rows {
        let b64url = k.sealed_private.replace('+', "-").replace('/', "_");
        let raw = nixa::crypto::b64url_decode(b64url.trim_end_matches('=')).expect("base64");
        // A PKCS#8 document starts with a DER SEQUENCE of long form length (30 81 / 30 82).
        let looks_like_der = raw[0] == 0x30 && (raw[1] == 0x81 || raw[1] == 0x82);
        assert!(raw.len() > 28 && !looks_like_der, "private key stored in the clear");
        let other = nixa::keys::MasterKey::from_base64(&nixa::keys::MasterKey::generate_base64()).unwrap();
        assert!(other.open(&k.kid, &k.sealed_private).is_err(), "another master key cannot open it");
        assert!(server.app.settings.master_key.open(&k.kid, &k.sealed_private).is_ok());
    }
}

/// What someone with the database but not the key does: edit an entry and re-hash the tail with
/// the formula the code shows (plain SHA-256), or cut the tail off.
#[tokio::test]
async fn the_keyed_chain_finds_a_rehashed_tail_a_downgrade_and_a_cut_off_tail() {
    use nixa::audit::ChainError;
    let server = TestServer::start().await;
    let store = &server.app.store;
    for i in 0..6 {
        nixa::audit::record(store, 1000 + i, nixa::audit::Event::LoginFailed, None, Some("c"), serde_json::json!({"i": i})).await.unwrap();
    }
    assert_eq!(store.checkpoint_audit(2000).await.unwrap().map(|c| c.seq), Some(6));
    assert_eq!(nixa::audit::verify_chain(store).await.unwrap(), Ok(6));
    let mut conn = sqlx::AnyConnection::connect(&server.app.settings.database_url).await.unwrap();
    let entries = store.audit_entries(0, 100).await.unwrap();
    assert!(entries.iter().all(|e| e.keyed), "a server appends keyed entries");

    // Edit entry 3 and re-hash 3..6 without the key (plain hashes, still marked keyed).
    let rehash = |keyed: bool| {
        let mut prev = entries[1].hash.clone();
        let mut out = Vec::new();
        for e in &entries[2..] {
            let detail = if e.seq == 3 { "{\"i\":99}".to_string() } else { e.detail.clone() };
            let fields = nixa::store::audit::Hashed {
                seq: e.seq,
                at: e.at,
                event: &e.event,
                person: e.person_id.as_deref(),
                client: e.client_id.as_deref(),
                detail: &detail,
                prev: &prev,
                client_addr: e.client_addr.as_deref(),
                user_agent: e.user_agent.as_deref(),
            };
            let h = nixa::store::audit::entry_hash(None, fields);
            out.push((e.seq, detail, prev.clone(), h.clone(), keyed));
            prev = h;
        }
        out
    };
    for (keyed, expected) in [(true, ChainError::Altered(3)), (false, ChainError::Downgraded(3))] {
        for (seq, detail, prev, hash, k) in rehash(keyed) {
            sqlx::query("UPDATE audit_log SET detail=$1, prev_hash=$2, hash=$3, keyed=$4 WHERE seq=$5")
                .bind(detail)
                .bind(prev)
                .bind(hash)
                .bind(i64::from(k))
                .bind(seq)
                .execute(&mut conn)
                .await
                .unwrap();
        }
        assert_eq!(nixa::audit::verify_chain(store).await.unwrap(), Err(expected));
    }
    // Put the true entries back: intact again.
    for e in &entries[2..] {
        sqlx::query("UPDATE audit_log SET detail=$1, prev_hash=$2, hash=$3, keyed=1 WHERE seq=$4")
            .bind(&e.detail)
            .bind(&e.prev_hash)
            .bind(&e.hash)
            .bind(e.seq)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    assert_eq!(nixa::audit::verify_chain(store).await.unwrap(), Ok(6));
    // Cut off the last two entries: the chain alone still verifies, the checkpoint does not.
    sqlx::query("DELETE FROM audit_log WHERE seq > 4").execute(&mut conn).await.unwrap();
    assert_eq!(nixa::audit::verify_chain(store).await.unwrap(), Err(ChainError::Truncated(6)));
    // A checkpoint forged without the key is found too.
    sqlx::query("UPDATE audit_checkpoints SET seq = 4, hash = $1").bind(&entries[3].hash).execute(&mut conn).await.unwrap();
    assert_eq!(nixa::audit::verify_chain(store).await.unwrap(), Err(ChainError::ForgedCheckpoint(4)));
    // Whoever cut the tail can delete the database's checkpoints too: the chain "verifies"; a
    // checkpoint kept outside (the logged one) still finds the cut.
    sqlx::query("DELETE FROM audit_checkpoints").execute(&mut conn).await.unwrap();
    assert_eq!(nixa::audit::verify_chain(store).await.unwrap(), Ok(4));
    let logged: nixa::audit::Anchor = format!("6:{}", entries[5].hash).parse().unwrap();
    assert_eq!(nixa::audit::verify_anchors(store, &[logged]).await.unwrap(), Err(ChainError::NotAsAnchored(6)));
    let kept: nixa::audit::Anchor = format!("4:{}", entries[3].hash).parse().unwrap();
    assert_eq!(nixa::audit::verify_anchors(store, &[kept]).await.unwrap(), Ok(()));
    assert!("6".parse::<nixa::audit::Anchor>().is_err() && "x:abc".parse::<nixa::audit::Anchor>().is_err());
}

/// A rolling upgrade: a newer release has migrated the database further while this release's
/// nodes still run; one of them restarts and must start, not refuse the unknown migration.
#[tokio::test]
async fn a_database_migrated_further_by_a_newer_release_still_opens_and_counts_as_current() {
    let server = TestServer::start().await;
    let url = server.app.settings.database_url.clone();
    let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
    let checksum: &[u8] = &[0u8; 48];
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990001, 'from a newer release', TRUE, $1, 1)",
    )
    .bind(checksum)
    .execute(&mut conn)
    .await
    .unwrap();
    let store = nixa::store::Store::connect(&url).await.unwrap();
    store.migrate().await.expect("the older release starts on the newer schema");
    assert!(store.migrations_current().await.unwrap());
}
