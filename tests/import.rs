//! Population registry import: good rows in, bad rows reported with line and reason,
//! idempotent, and resumable after a crash — on both backends.

mod common;

use std::io::Write;

use common::*;
use nixa::identity::import::{Format, ImportReport, Importer};

fn rows(count: usize, bad_every: usize) -> Vec<serde_json::Value> {
    (0..count)
        .map(|i| {
            let female = i % 2;
            let mut p = serde_json::json!({
                "personal_id": format!("001{}{:02}{:06}", female, 80 + i % 10, i),
                "family_name": "Phạm", "middle_name": "Minh", "given_name": format!("Người {i}"),
                "birthdate": format!("19{:02}-03-04", 80 + i % 10),
                "sex": if female == 1 { "female" } else { "male" },
                "nationality": "VN", "address": "Huế", "phone": "+84912345678", "email": "",
                "account_level": 1 + i % 2,
            });
            if bad_every > 0 && i % bad_every == bad_every - 1 {
                p["birthdate"] = serde_json::json!("1980-02-30");
            }
            p
        })
        .collect()
}

fn write_jsonl(dir: &std::path::Path, rows: &[serde_json::Value]) -> std::path::PathBuf {
    let path = dir.join("people.jsonl");
    let mut f = std::fs::File::create(&path).unwrap();
    for r in rows {
        writeln!(f, "{r}").unwrap();
    }
    path
}

fn importer(server: &TestServer, batch: usize) -> Importer<'_> {
    Importer { store: &server.app.store, batch_size: batch, restart: false, progress: indicatif::ProgressBar::hidden(), now: 1 }
}

#[tokio::test]
async fn good_rows_import_and_bad_rows_are_reported_by_line() {
    let server = TestServer::start().await;
    let before = server.app.store.count_persons().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_jsonl(dir.path(), &rows(100, 10));
    std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{not json\n\n").unwrap();
    let mut report = Vec::new();
    let r = importer(&server, 7).run(&path, Format::JsonLines, &mut report).await.unwrap();
    assert_eq!(r, ImportReport { imported: 90, rejected: 11, resumed_at_line: 0 });
    let report = String::from_utf8(report).unwrap();
    assert!(report.contains("line 10: birthdate: \"1980-02-30\" is not a date"), "{report}");
    assert!(report.contains("line 101: not a JSON object"), "{report}");
    assert_eq!(report.lines().count(), 11);
    assert_eq!(server.app.store.count_persons().await.unwrap(), before + 90);

    // Idempotent: importing again (from the start) changes nothing and keeps internal ids.
    let pid = nixa::identity::PersonalId::parse("001080000000").unwrap();
    let id_before = server.app.store.person_for_login(&pid).await.unwrap().unwrap().0.id;
    let again = Importer { restart: true, ..importer(&server, 50) }.run(&path, Format::JsonLines, &mut std::io::sink()).await.unwrap();
    assert_eq!((again.imported, again.rejected), (90, 11));
    assert_eq!(server.app.store.count_persons().await.unwrap(), before + 90);
    assert_eq!(server.app.store.person_for_login(&pid).await.unwrap().unwrap().0.id, id_before);
}

/// A report sink that fails after `n` lines: the crash in the middle of an import.
struct FailAfter(usize);
impl Write for FailAfter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.contains(&b'\n') {
            if self.0 == 0 {
                return Err(std::io::Error::other("disk full"));
            }
            self.0 -= 1;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn an_interrupted_import_resumes_without_loss_or_duplicates() {
    let server = TestServer::start().await;
    let before = server.app.store.count_persons().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_jsonl(dir.path(), &rows(200, 40));
    // Bad rows at lines 40, 80, 120, 160, 200; the sink dies at the third (line 120).
    let err = importer(&server, 25).run(&path, Format::JsonLines, &mut FailAfter(2)).await;
    assert!(err.is_err());
    let committed = server.app.store.count_persons().await.unwrap() - before;
    assert_eq!(committed, 100, "whole batches only: 4 batches of 25 before line 120");
    let mut report = Vec::new();
    let r = importer(&server, 25).run(&path, Format::JsonLines, &mut report).await.unwrap();
    assert!(r.resumed_at_line > 0 && r.resumed_at_line < 120, "{r:?}");
    assert_eq!((r.imported, r.rejected), (195, 5), "totals cover the whole file");
    assert_eq!(server.app.store.count_persons().await.unwrap() - before, 195);
}

#[tokio::test]
async fn csv_with_header_quoting_and_bad_rows() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.csv");
    std::fs::write(
        &path,
        "personal_id,family_name,middle_name,given_name,birthdate,sex,nationality,address,phone,email,account_level\n\
         001190001111,Đỗ,Thị,Lan,1990-01-01,female,VN,\"Số 5, phố Huế, Hà Nội\",+84901234567,lan@example.vn,2\n\
         001090001112,Đỗ,,Nam,1990-01-01,male,VN,,,,1\n\
         001090001113,Đỗ,Văn,Tâm,1990-01-01,female,VN,,,,1\n\
         001090001114,Đỗ\n\
         001290001115,Đỗ,Văn,Long,2090-01-01,male,US,,,,2\n",
    )
    .unwrap();
    let mut report = Vec::new();
    let r = importer(&server, 100).run(&path, Format::Csv, &mut report).await.unwrap();
    let report = String::from_utf8(report).unwrap();
    assert_eq!((r.imported, r.rejected), (3, 2), "{report}");
    assert!(report.contains("line 4: personal_id:"), "sex mismatch is reported: {report}");
    assert!(report.contains("line 5: 2 fields where the header has 11"), "{report}");
    let lan = server.app.store.person_for_login(&nixa::identity::PersonalId::parse("001190001111").unwrap()).await.unwrap().unwrap().0;
    assert_eq!(lan.address.as_deref(), Some("Số 5, phố Huế, Hà Nội"));
    assert_eq!(lan.full_name(), "Đỗ Thị Lan");

    // Windows line endings (Python's csv module writes them) keep the line numbers right.
    let crlf = dir.path().join("crlf.csv");
    std::fs::write(&crlf, "personal_id,family_name,given_name,account_level\r\n001090001116,Đỗ,An,1\r\n12345,Đỗ,Bé,1\r\n").unwrap();
    let mut report = Vec::new();
    importer(&server, 100).run(&crlf, Format::Csv, &mut report).await.unwrap();
    let report = String::from_utf8(report).unwrap();
    assert!(report.starts_with("line 3: personal_id:"), "{report}");

    std::fs::write(dir.path().join("bad.csv"), "id,name\n1,x\n").unwrap();
    let err = importer(&server, 100).run(&dir.path().join("bad.csv"), Format::Csv, &mut std::io::sink()).await.unwrap_err();
    assert!(err.to_string().contains("personal_id"));
}

#[tokio::test]
async fn an_interrupted_csv_import_resumes_with_correct_line_numbers() {
    let server = TestServer::start().await;
    let before = server.app.store.count_persons().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("people.csv");
    let mut text = String::from("personal_id,family_name,middle_name,given_name,birthdate,sex,nationality,address,phone,email,account_level\n");
    for r in rows(200, 40) {
        let f = |k: &str| r[k].as_str().map(str::to_owned).unwrap_or_else(|| r[k].to_string());
        text.push_str(&format!(
            "{},{},{},{},{},{},{},\"{}, Việt Nam\",{},{},{}\n",
            f("personal_id"), f("family_name"), f("middle_name"), f("given_name"), f("birthdate"), f("sex"),
            f("nationality"), f("address"), f("phone"), f("email"), f("account_level")
        ));
    }
    std::fs::write(&path, text).unwrap();
    assert!(importer(&server, 25).run(&path, Format::Csv, &mut FailAfter(2)).await.is_err());
    let mut report = Vec::new();
    let r = importer(&server, 25).run(&path, Format::Csv, &mut report).await.unwrap();
    let report = String::from_utf8(report).unwrap();
    assert_eq!((r.imported, r.rejected), (195, 5));
    // Data row 120 is file line 121 (after the header); the resumed part reports 121, 161, 201.
    assert!(report.contains("line 121: birthdate") && report.contains("line 201: birthdate"), "{report}");
    assert_eq!(server.app.store.count_persons().await.unwrap() - before, 195);
}
