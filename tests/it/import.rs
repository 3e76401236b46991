//! Population registry import: good rows in, bad rows reported with line and reason,
//! idempotent, and resumable after a crash — on both backends.

use crate::common;

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
    let mut text =
        String::from("personal_id,family_name,middle_name,given_name,birthdate,sex,nationality,address,phone,email,account_level\n");
    for r in rows(200, 40) {
        let f = |k: &str| r[k].as_str().map(str::to_owned).unwrap_or_else(|| r[k].to_string());
        text.push_str(&format!(
            "{},{},{},{},{},{},{},\"{}, Việt Nam\",{},{},{}\n",
            f("personal_id"),
            f("family_name"),
            f("middle_name"),
            f("given_name"),
            f("birthdate"),
            f("sex"),
            f("nationality"),
            f("address"),
            f("phone"),
            f("email"),
            f("account_level")
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

#[tokio::test]
async fn duplicate_personal_ids_far_apart_in_one_batch_keep_the_last_row() {
    let server = TestServer::start().await;
    let before = server.app.store.count_persons().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut all = rows(150, 0);
    let mut again = all[0].clone();
    again["given_name"] = serde_json::json!("Sau cùng");
    all.push(again);
    let path = write_jsonl(dir.path(), &all);
    // One batch, one statement: PostgreSQL refuses to update a row twice in a statement.
    let r = importer(&server, 1000).run(&path, Format::JsonLines, &mut std::io::sink()).await.unwrap();
    assert_eq!((r.imported, r.rejected), (151, 0));
    assert_eq!(server.app.store.count_persons().await.unwrap(), before + 150);
    let pid = nixa::identity::PersonalId::parse(all[0]["personal_id"].as_str().unwrap()).unwrap();
    assert_eq!(server.app.store.person_for_login(&pid).await.unwrap().unwrap().0.given_name, "Sau cùng");
}

// Organisations (`nixa org import`).

/// The `n`-th valid enterprise tax code 0310NNNNNC (prefixes whose check digit would be 10 are
/// skipped).
fn tax_code(n: usize) -> String {
    const WEIGHTS: [u32; 9] = [31, 29, 23, 19, 17, 13, 7, 5, 3];
    (1..)
        .filter_map(|i: u32| {
            let prefix = format!("0310{i:05}");
            let sum: u32 = WEIGHTS.iter().zip(prefix.bytes()).map(|(w, b)| w * u32::from(b - b'0')).sum();
            let check = 10 - sum % 11;
            (check < 10).then(|| format!("{prefix}{check}"))
        })
        .nth(n)
        .unwrap()
}

async fn person_id(server: &TestServer, pid: &str) -> nixa::identity::PersonId {
    let pid = nixa::identity::PersonalId::parse(pid).unwrap();
    server.app.store.person_for_login(&pid).await.unwrap().unwrap().0.id
}

/// (code, name, role) of every organisation a person may act for, sorted by code.
async fn acts_for(server: &TestServer, person_id: &nixa::identity::PersonId) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = server
        .app
        .store
        .representations(person_id)
        .await
        .unwrap()
        .into_iter()
        .map(|(o, role)| (o.code, o.name, role.as_str().to_string()))
        .collect();
    v.sort();
    v
}

/// A valid personal identification number that no demo person has.
const NOBODY: &str = "001190012345";

#[tokio::test]
async fn org_import_links_representatives_reports_bad_rows_by_line_and_is_idempotent() {
    let server = TestServer::start().await;
    let store = &server.app.store;
    let orgs_before = store.count_organisations().await.unwrap();
    let (an, binh) = (person_id(&server, AN.0).await, person_id(&server, BINH.0).await);
    let binh_before = acts_for(&server, &binh).await;
    let (a, b) = (tax_code(0), tax_code(1));
    let bad_check = format!("{}{}", &a[..9], (a.as_bytes()[9] - b'0' + 1) % 10);
    let lines = [
        serde_json::json!({"code": a, "name": "Công ty A", "address": "Huế", "representative_personal_id": AN.0, "representative_role": "legal_representative"}),
        serde_json::json!({"code": format!("{a}001"), "name": "Công ty A — chi nhánh 1", "representative_personal_id": BINH.0, "representative_role": "authorised_staff"}),
        serde_json::json!({"code": "000.00.01.G99", "name": "Phòng Demo"}),
        serde_json::json!({"code": bad_check, "name": "Sai số kiểm tra"}),
        serde_json::json!({"code": "MST-123", "name": "Mã lạ"}),
        serde_json::json!({"code": b, "name": " "}),
        serde_json::json!({"code": b, "name": "Công ty B", "representative_role": "legal_representative"}),
        serde_json::json!({"code": b, "name": "Công ty B", "representative_personal_id": AN.0, "representative_role": "ceo"}),
        serde_json::json!({"code": b, "name": "Công ty B", "representative_personal_id": NOBODY, "representative_role": "legal_representative"}),
        serde_json::json!({"code": a, "name": "Công ty A (đổi tên)", "address": "Huế", "representative_personal_id": BINH.0, "representative_role": "legal_representative"}),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orgs.jsonl");
    let mut text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    text.push_str("{not json\n");
    std::fs::write(&path, text).unwrap();

    let mut report = Vec::new();
    let r = importer(&server, 4).run_orgs(&path, Format::JsonLines, &mut report).await.unwrap();
    let report = String::from_utf8(report).unwrap();
    assert_eq!(r, ImportReport { imported: 4, rejected: 7, resumed_at_line: 0 }, "{report}");
    for expected in [
        format!("line 4: code: the check digit of tax code {bad_check} is wrong"),
        "line 5: code: \"MST-123\" is neither a tax code".into(),
        "line 6: name: required".into(),
        "line 7: representative_role: given without representative_personal_id".into(),
        "line 8: representative_role: \"ceo\" must be legal_representative or authorised_staff".into(),
        "line 9: representative_personal_id: no person with this identification number".into(),
        "line 11: not a JSON object with the organisation fields".into(),
    ] {
        assert!(report.contains(&expected), "{expected:?} not in:\n{report}");
    }
    assert_eq!(report.lines().count(), 7, "{report}");

    // Four organisations: B is imported although its representative is unknown.
    assert_eq!(store.count_organisations().await.unwrap(), orgs_before + 4);
    let org_b = store.organisation_by_code(&b).await.unwrap().unwrap();
    assert_eq!((org_b.name.as_str(), org_b.kind.as_str()), ("Công ty B", "enterprise"));
    let agency = store.organisation_by_code("000.00.01.G99").await.unwrap().unwrap();
    assert_eq!(agency.kind, "agency");
    assert_eq!(acts_for(&server, &an).await, vec![(a.clone(), "Công ty A (đổi tên)".into(), "legal_representative".into())]);
    let mut binh_now = binh_before.clone();
    binh_now.push((a.clone(), "Công ty A (đổi tên)".into(), "legal_representative".into()));
    binh_now.push((format!("{a}-001"), "Công ty A — chi nhánh 1".into(), "authorised_staff".into()));
    binh_now.sort();
    assert_eq!(acts_for(&server, &binh).await, binh_now, "the branch code is stored canonically, with its dash");
    let id_a = store.organisation_by_code(&a).await.unwrap().unwrap().id;

    // Idempotent: the whole file again, in one batch (A's two rows in one statement), changes
    // nothing, keeps the ids and reports the same rows.
    let mut report = Vec::new();
    let again = Importer { restart: true, ..importer(&server, 100) }.run_orgs(&path, Format::JsonLines, &mut report).await.unwrap();
    assert_eq!((again.imported, again.rejected), (4, 7));
    assert_eq!(String::from_utf8(report).unwrap().lines().count(), 7);
    assert_eq!(store.count_organisations().await.unwrap(), orgs_before + 4);
    assert_eq!(store.organisation_by_code(&a).await.unwrap().unwrap().id, id_a);
    assert_eq!(acts_for(&server, &an).await.len(), 1);
    assert_eq!(acts_for(&server, &binh).await, binh_now);

    // Without --restart a finished file is not read again.
    let done = importer(&server, 100).run_orgs(&path, Format::JsonLines, &mut std::io::sink()).await.unwrap();
    assert_eq!((done.imported, done.rejected, done.resumed_at_line), (4, 7, 11));
}

#[tokio::test]
async fn org_import_from_csv_with_quoting_optional_columns_and_crlf() {
    let server = TestServer::start().await;
    let store = &server.app.store;
    let binh = person_id(&server, BINH.0).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orgs.csv");
    let (a, b, c) = (tax_code(2), tax_code(3), tax_code(4));
    std::fs::write(
        &path,
        format!(
            "code,name,address,representative_personal_id,representative_role\n\
             {a},\"Công ty C, chi nhánh Huế\",\"Số 5, phố Huế, Hà Nội\",{},authorised_staff\n\
             {b},Công ty D,,,\n\
             {c},Công ty E\n\
             000.05.00.G12,Đơn vị lạc,,,\n\
             {c},Công ty E,,{},legal_representative\n",
            BINH.0, NOBODY
        ),
    )
    .unwrap();
    let mut report = Vec::new();
    let r = importer(&server, 100).run_orgs(&path, Format::Csv, &mut report).await.unwrap();
    let report = String::from_utf8(report).unwrap();
    assert_eq!((r.imported, r.rejected), (2, 3), "{report}");
    assert!(report.contains("line 4: 2 fields where the header has 5"), "{report}");
    assert!(report.contains("line 5: code: the level-3 group"), "{report}");
    assert!(report.contains("line 6: representative_personal_id: no person"), "{report}");
    let org_c = store.organisation_by_code(&a).await.unwrap().unwrap();
    assert_eq!((org_c.name.as_str(), org_c.address.as_deref()), ("Công ty C, chi nhánh Huế", Some("Số 5, phố Huế, Hà Nội")));
    assert!(acts_for(&server, &binh).await.contains(&(a.clone(), org_c.name.clone(), "authorised_staff".into())));
    assert!(
        store.organisation_by_code(&c).await.unwrap().is_some(),
        "the organisation of a row with an unknown representative is imported"
    );

    // Only code and name are required; CRLF line ends keep the line numbers right.
    let crlf = dir.path().join("crlf.csv");
    std::fs::write(&crlf, format!("name,code\r\nCông ty F,{}\r\nCông ty G,0310000018\r\n", tax_code(5))).unwrap();
    let mut report = Vec::new();
    let r = importer(&server, 100).run_orgs(&crlf, Format::Csv, &mut report).await.unwrap();
    let report = String::from_utf8(report).unwrap();
    assert_eq!((r.imported, r.rejected), (1, 1), "{report}");
    assert!(report.starts_with("line 3: code: the check digit"), "{report}");

    std::fs::write(dir.path().join("bad.csv"), "code,title\n0310000017,x\n").unwrap();
    let err = importer(&server, 100).run_orgs(&dir.path().join("bad.csv"), Format::Csv, &mut std::io::sink()).await.unwrap_err();
    assert!(err.to_string().contains("\"name\""), "{err}");
}

#[tokio::test]
async fn an_interrupted_org_import_resumes_and_reports_unknown_representatives_once_committed() {
    let server = TestServer::start().await;
    let store = &server.app.store;
    let orgs_before = store.count_organisations().await.unwrap();
    let an = person_id(&server, AN.0).await;
    let an_before = acts_for(&server, &an).await.len();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orgs.jsonl");
    // Lines 20, 40, 60: a wrong check digit (rejected when read); lines 15, 35, 55: an unknown
    // representative (rejected when their batch is written).
    let mut text = String::new();
    for line in 1..=60 {
        let code = tax_code(100 + line);
        let code = if line % 20 == 0 { format!("{}{}", &code[..9], (code.as_bytes()[9] - b'0' + 1) % 10) } else { code };
        let rep = if line % 20 == 15 { NOBODY } else { AN.0 };
        let row = serde_json::json!({"code": code, "name": format!("Công ty {line}"), "representative_personal_id": rep, "representative_role": "authorised_staff"});
        text.push_str(&format!("{row}\n"));
    }
    std::fs::write(&path, text).unwrap();

    // Batches of 10 valid rows end at lines 10, 21, 31, …; the report takes line 20, then fails
    // on line 15's unknown representative while the second batch is written: that batch is
    // rolled back, only the first stays.
    let err = importer(&server, 10).run_orgs(&path, Format::JsonLines, &mut FailAfter(1)).await;
    assert!(err.is_err());
    assert_eq!(store.count_organisations().await.unwrap() - orgs_before, 10);

    let mut report = Vec::new();
    let r = importer(&server, 10).run_orgs(&path, Format::JsonLines, &mut report).await.unwrap();
    let report = String::from_utf8(report).unwrap();
    assert_eq!(r.resumed_at_line, 10, "{report}");
    assert_eq!((r.imported, r.rejected), (54, 6), "totals cover the whole file: {report}");
    for line in [15, 35, 55] {
        assert!(report.contains(&format!("line {line}: representative_personal_id: no person")), "{report}");
    }
    for line in [20, 40, 60] {
        assert!(report.contains(&format!("line {line}: code: the check digit")), "{report}");
    }
    assert_eq!(report.lines().count(), 6, "{report}");
    assert_eq!(store.count_organisations().await.unwrap() - orgs_before, 57);
    assert_eq!(acts_for(&server, &an).await.len() - an_before, 54);
}
