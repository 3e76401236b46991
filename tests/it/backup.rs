//! Backup and restore: an online copy of a serving nixa's SQLite database, taken while people
//! sign in, restored into a fresh server that goes on where the copy stopped.

use std::process::Command;

use crate::common::*;
use crate::observe::{sign_in_run, spawn_nixa_in};

fn nixa(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nixa")).arg("--demo").args(args).current_dir(dir).output().unwrap()
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_into_a_fresh_server_that_signs_in() {
    let live = tempfile::tempdir().unwrap();
    let mut server = spawn_nixa_in(live.path(), &[]).await;
    // Before the copy: a sign-in, its consent, its refresh token, its audit entries.
    let secrets = sign_in_run(&server.issuer).await;
    let refresh = secrets[6].clone();

    // The copy is taken while other people sign in.
    let issuer = server.issuer.clone();
    let traffic = tokio::spawn(async move {
        for _ in 0..4 {
            sign_in_run(&issuer).await;
        }
    });
    let copies = tempfile::tempdir().unwrap();
    let target = copies.path().join("nixa-backup.db");
    let (dir, to) = (live.path().to_path_buf(), target.display().to_string());
    let out = tokio::task::spawn_blocking(move || nixa(&dir, &["backup", "--to", &to])).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    traffic.await.unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let summary = &report["summary"];
    assert!(
        summary["bytes"].as_u64() > Some(0) && summary["schema_version"].as_i64() > Some(0) && summary["audit_head"].as_i64() > Some(0),
        "{report}"
    );

    // A backup never overwrites.
    let again = nixa(live.path(), &["backup", "--to", &target.display().to_string()]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("never overwrites"));

    // The machine is lost; the copy goes into a fresh one (with the same master key).
    let _ = server.child.kill();
    let _ = server.child.wait();
    let fresh = tempfile::tempdir().unwrap();
    std::fs::copy(&target, fresh.path().join("nixa-demo.db")).unwrap();
    let verified = nixa(fresh.path(), &["audit", "verify"]);
    assert!(verified.status.success(), "the copy's audit chain verifies: {}", String::from_utf8_lossy(&verified.stderr));
    server = spawn_nixa_in(fresh.path(), &[]).await;

    // What was given before the copy still works: the portal refreshes its tokens ...
    let refreshed = backchannel()
        .post(format!("{}/token", server.issuer))
        .basic_auth(DVC, Some(DVC_SECRET))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200, "{}", refreshed.text().await.unwrap());
    // ... and people sign in.
    sign_in_run(&server.issuer).await;
    let _ = server.child.kill();
}
