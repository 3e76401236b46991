//! QR credentials over HTTP and the command line: issue with `nixa qr issue`, verify with
//! `nixa qr verify` (text, PNG image, published keys) and `POST /api/v1/credentials/verify`.

use crate::common;
use crate::vectors;

use common::{TestServer, backchannel};
use nixa::credentials::issue::{self, PersonIdentity, Request, Subject};
use serde_json::{Value, json};

#[tokio::test]
async fn verify_endpoint_and_published_keys() {
    let server = TestServer::start().await;
    let http = backchannel();
    let app = &server.app;
    let now = app.now();
    let p = PersonIdentity {
        id: "001204012345".into(),
        full_name: "Trần Văn An".into(),
        date_of_birth: Some("19850704".into()),
        ..Default::default()
    };
    let req = Request {
        issuer: &app.credentials.issuer,
        subject_id: "p",
        subject: Subject::Person(p.claim169(None)),
        iat: now,
        exp: now + 600,
        nonce: None,
        status: None,
    };
    let text = issue::issue(&app.credentials.signer, &req).unwrap();
    let verify = async |body: Value| -> (u16, Value) {
        let r = http.post(server.url("/api/v1/credentials/verify")).json(&body).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    };
    let (st, report) = verify(json!({"text": text})).await;
    assert_eq!(st, 200);
    assert_eq!(report["valid"], true, "{report:#}");
    assert_eq!(report["claims"]["claim169"]["fullName"], "Trần Văn An");
    assert!(report["checks"].as_array().unwrap().len() >= 8);
    // Later than its expiry (and the skew): invalid, with the reason.
    let later =
        time::OffsetDateTime::from_unix_timestamp(now + 3600).unwrap().format(&time::format_description::well_known::Rfc3339).unwrap();
    let (st, report) = verify(json!({"text": text, "at": later})).await;
    assert_eq!((st, report["valid"].clone(), report["reason"].clone()), (200, json!(false), json!("expired")));
    // Garbage text is still a report; a body without `text` is a problem.
    let (st, report) = verify(json!({"text": "NX1:!!!"})).await;
    assert_eq!((st, report["reason"].clone()), (200, json!("malformed_base45")));
    let r = http.post(server.url("/api/v1/credentials/verify")).json(&json!({"qr": "x"})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/problem+json"));

    // Status: a credential with a status reference, revoked by the operator (store), is reported
    // revoked, and the signed list at the stable URL says so too.
    let idx = app.credentials.allocate_status(&app.store, "p", "person", now, now + 600).await.unwrap();
    let uri = app.credentials.status_uri();
    let with_status = issue::issue(
        &app.credentials.signer,
        &Request {
            status: Some((&uri, idx)),
            ..Request {
                issuer: &app.credentials.issuer,
                subject_id: "p",
                subject: Subject::Person(p.claim169(None)),
                iat: now,
                exp: now + 600,
                nonce: None,
                status: None,
            }
        },
    )
    .unwrap();
    assert_eq!(verify(json!({"text": with_status})).await.1["valid"], true);
    // The owner may revoke only their own credential.
    assert!(!app.store.revoke_credential(1, idx as i64, Some("someone-else"), "owner", now).await.unwrap());
    assert!(app.store.revoke_credential(1, idx as i64, Some("p"), "owner", now).await.unwrap());
    let (_, report) = verify(json!({"text": with_status})).await;
    assert_eq!(report["reason"], "revoked", "{report:#}");
    let r = http.get(&uri).send().await;
    let token = match r {
        Ok(r) if r.status() == 200 => r.bytes().await.unwrap(),
        _ => http.get(server.url("/credentials/status/1")).send().await.unwrap().bytes().await.unwrap(),
    };
    let list = nixa::credentials::status_list::StatusList::verify(&token, &uri, &app.credentials.keys, now).unwrap();
    assert!(list.is_revoked(idx).unwrap());
    assert_eq!(list.ttl, 300);
    assert_eq!(http.get(server.url("/credentials/status/2")).send().await.unwrap().status(), 404);

    // Published keys: JWKS and COSE key set verify offline.
    let jwks = http.get(server.url("/.well-known/nixa-credential-keys.json")).send().await.unwrap().text().await.unwrap();
    let cose = http.get(server.url("/.well-known/nixa-credential-keys.cbor")).send().await.unwrap().bytes().await.unwrap();
    for ks in
        [nixa::credentials::keys::KeySet::from_bytes(jwks.as_bytes()).unwrap(), nixa::credentials::keys::KeySet::from_bytes(&cose).unwrap()]
    {
        let r = nixa::credentials::verify::verify(&text, &nixa::credentials::verify::Options::new(&ks, now));
        assert!(r.valid, "{:?}", r.checks);
    }
    // The credential key is not an OIDC key.
    let oidc: Value = http.get(server.url("/jwks")).send().await.unwrap().json().await.unwrap();
    let cred: Value = serde_json::from_str(&jwks).unwrap();
    let kid = cred["keys"][0]["kid"].as_str().unwrap();
    assert!(oidc["keys"].as_array().unwrap().iter().all(|k| k["kid"] != kid));
}

#[test]
fn qr_issue_and_verify_from_the_command_line() {
    let operator = crate::cli::Configured::new();
    let dir = &operator.dir;
    let run = |args: &[&str]| {
        let out = operator.run(args);
        (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    // The national key signs only what the registry holds.
    let people = r#"{"personal_id":"001192012345","family_name":"Lê","middle_name":"Thị","given_name":"Hoa","birthdate":"1992-03-11","sex":"female","account_level":1}"#;
    std::fs::write(dir.path().join("persons.jsonl"), format!("{people}\n")).unwrap();
    assert_eq!(run(&["person", "import", "persons.jsonl"]).0, 0);
    let refused = |args: &[&str], why: &str| {
        let mut all = vec!["qr", "issue"];
        all.extend_from_slice(args);
        let (code, out, err) = run(&all);
        assert_ne!(code, 0, "{args:?} was signed: {out}");
        assert!(out.trim().is_empty(), "nothing is printed for a refused issuance");
        assert!(err.contains(why), "{args:?}: {err}");
    };
    refused(&["--id", "12345", "--name", "Lê Thị Hoa"], "--id");
    refused(&["--id", "001192099999", "--name", "Lê Thị Hoa"], "no person with this identifier in the registry");
    refused(&["--id", "001192012345", "--name", "Lê Thị Hoà Bình"], "--name does not match");
    refused(&["--id", "001192012345", "--name", "Lê Thị Hoa", "--birth-date", "1992-03-11"], "YYYYMMDD");
    refused(&["--id", "001192012345", "--birth-date", "19920312"], "--birth-date does not match");
    refused(&["--id", "001192012345", "--gender", "1"], "--gender does not match");
    refused(&["--id", "0312345679", "--org-kind", "tax", "--name", "Công ty A"], "check digit");
    refused(&["--id", "0312345673", "--org-kind", "tax", "--name", "Công ty A"], "no organisation with this identifier");
    refused(&["--id", "0312345673", "--org-kind", "club", "--name", "Công ty A"], "--org-kind");
    let (code, text, err) = run(&[
        "qr",
        "issue",
        "--id",
        "001192012345",
        "--name",
        "Lê Thị Hoa",
        "--birth-date",
        "19920311",
        "--nationality",
        "VN",
        "--png",
        "q.png",
        "--svg",
        "q.svg",
        "--keys-out",
        "keys.json",
    ]);
    assert_eq!(code, 0, "{err}");
    let text = text.trim().to_string();
    assert!(text.starts_with("NX1:"));
    assert!(std::fs::read_to_string(dir.path().join("q.svg")).unwrap().contains("<svg"));
    let (code, out, err) = run(&["qr", "verify", "--image", "q.png", "--keys", "keys.json", "--no-status", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["claims"]["claim169"]["fullName"], "Lê Thị Hoa");
    let (code, out, _) = run(&["qr", "verify", "--text", &text, "--keys", "keys.json", "--no-status"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.trim_end().ends_with("valid"));
    // Far in the future it has expired: 1; without the key the kid is unknown: 1.
    let (code, out, _) = run(&["qr", "verify", "--text", &text, "--keys", "keys.json", "--no-status", "--at", "2099-01-01T00:00:00Z"]);
    assert_eq!(code, 1);
    assert!(out.contains("invalid: expired"), "{out}");
    let (code, out, _) = run(&["qr", "verify", "--text", &text]);
    assert_eq!(code, 1);
    assert!(out.contains("unknown_kid"), "{out}");
    assert!(!out.contains(" status "), "no status lookup for an unverified credential: {out}");
    // Unusable input: 2.
    assert_eq!(run(&["qr", "verify", "--image", "nope.png"]).0, 2);
    assert_eq!(run(&["qr", "verify", "--text", &text, "--keys", "nixa.toml"]).0, 2);
    assert_eq!(run(&["qr", "verify", "--text", &text, "--at", "yesterday"]).0, 2);
    // A presentation QR: ticked fields, nonce, minutes.
    let (code, p, err) = run(&[
        "qr",
        "issue",
        "--id",
        "001192012345",
        "--name",
        "Lê Thị Hoa",
        "--birth-date",
        "19920311",
        "--field",
        "fullName",
        "--nonce",
        "abc123",
        "--minutes",
        "3",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(&["qr", "verify", "--text", p.trim(), "--keys", "keys.json", "--no-status", "--json"]);
    assert_eq!(code, 0, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["nonce"], "abc123");
    assert!(report["claims"]["claim169"].get("dateOfBirth").is_none());
    // The text report says whose it is; a verifier checks the nonce it handed out.
    let (code, out, _) = run(&["qr", "verify", "--text", p.trim(), "--keys", "keys.json", "--no-status", "--nonce", "abc123"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("holder     Lê Thị Hoa") && out.contains("nonce      abc123"), "{out}");
    let (code, out, _) = run(&["qr", "verify", "--text", p.trim(), "--keys", "keys.json", "--no-status", "--nonce", "another"]);
    assert_eq!(code, 1, "another verifier's presentation: {out}");
    assert!(out.contains("invalid: wrong_nonce"), "{out}");
    let (_, out, _) = run(&["qr", "verify", "--text", &text, "--keys", "keys.json", "--no-status"]);
    assert!(out.contains("holder     Lê Thị Hoa, 001192012345, born 19920311"), "{out}");

    // Operator revocation: the published list marks it, and the list is signed.
    let report: Value =
        serde_json::from_str(&run(&["qr", "verify", "--text", &text, "--keys", "keys.json", "--no-status", "--json"]).1).unwrap();
    let idx = report["status"]["idx"].as_u64().unwrap();
    assert!(report["status"]["uri"].as_str().unwrap().ends_with("/credentials/status/1"));
    assert_ne!(run(&["qr", "revoke", "--idx", &idx.to_string()]).0, 0, "a revocation needs a reason");
    let (code, _, err) = run(&["qr", "revoke", "--idx", &idx.to_string(), "--reason", "card reported lost"]);
    assert_eq!(code, 0, "{err}");
    assert_ne!(run(&["qr", "revoke", "--idx", &idx.to_string(), "--reason", "again"]).0, 0, "revoking twice fails");
    // The holder's credentials, listed; the rest revoked at once.
    let (_, listed, _) = run(&["qr", "list", "--id", "001192012345"]);
    let listed: Vec<Value> = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed.len(), 2, "the identity and the presentation credential");
    assert_eq!(listed.iter().filter(|c| c["revoked_at"].is_number()).count(), 1);
    let (code, out, err) = run(&["qr", "revoke", "--all-of", "001192012345", "--reason", "deceased"]);
    assert_eq!((code, out.trim()), (0, "revoked 1"), "{err}");

    // An EU DCC vector with its certificate as the key file.
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{}CO3.json", vectors::dir("eu-dcc/common/2DCode/raw"))).unwrap()).unwrap();
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, v["TESTCTX"]["CERTIFICATE"].as_str().unwrap()).unwrap();
    std::fs::write(dir.path().join("dcc.der"), der).unwrap();
    let (code, out, _) =
        run(&["qr", "verify", "--text", v["PREFIX"].as_str().unwrap(), "--keys", "dcc.der", "--at", "2021-05-03T18:00:00Z"]);
    assert_eq!(code, 0, "{out}");
}

#[tokio::test]
async fn account_page_shows_identity_qr_and_builds_a_presentation_qr() {
    let server = TestServer::start().await;
    let browser = server.browser();
    let mut page = browser.sign_in("/account/signin", common::BINH).await;
    if page.body.contains("action=\"/login/totp\"") {
        let code = nixa::authn::totp::current_code(nixa::demo::DEMO_TOTP_SECRET, server.app.now()).unwrap();
        page = browser.submit_totp(&page, &code).await;
    }
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"identity-qr\" src=\"data:image/svg+xml;base64,"), "{}", page.body);
    assert!(page.body.contains("id=\"presentation-form\""));
    assert!(!page.body.contains("id=\"presentation-qr\""));
    let p = browser.get(&server.url("/account?present=1&f_fullName=1&f_nationality=1&minutes=3")).await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("id=\"presentation-qr\" src=\"data:image/svg+xml;base64,"), "{}", p.body);
}

/// Operators list a person's or an organisation's issued credentials and revoke one or all of
/// them with a reason, through the admin API and the console; each revocation is audited with
/// the operator and the reason, and the status list says so.
#[tokio::test]
async fn operators_list_and_revoke_a_holders_credentials_with_a_reason() {
    use common::{AN, BINH, events, operator_token};
    let server = TestServer::start().await;
    let app = &server.app;
    let now = app.now();
    let creds = &app.credentials;
    let an = [
        creds.allocate_status(&app.store, AN.0, "person", now, now + 3600).await.unwrap() as i64,
        creds.allocate_status(&app.store, AN.0, "presentation", now, now + 600).await.unwrap() as i64,
        creds.allocate_status(&app.store, AN.0, "person", now, now + 7200).await.unwrap() as i64,
    ];
    let binh = creds.allocate_status(&app.store, BINH.0, "person", now, now + 3600).await.unwrap() as i64;
    let org = nixa::demo::ORG_TAX_CODE;
    let org_idx = creds.allocate_status(&app.store, org, "organisation", now, now + 3600).await.unwrap() as i64;
    let reader = operator_token(&server, &["persons:read", "orgs:read"]).await;
    let writer = operator_token(&server, &["persons:write", "orgs:write"]).await;
    let http = backchannel();
    let get = |path: String, token: &str| http.get(server.url(&path)).bearer_auth(token).send();
    let post = |path: String, token: &str, body: Value| http.post(server.url(&path)).bearer_auth(token).json(&body).send();

    let res = get(format!("/admin/v1/persons/{}/credentials", AN.0), &reader).await.unwrap();
    assert_eq!(res.status(), 200);
    let listed: Vec<Value> = res.json().await.unwrap();
    let mut idxs: Vec<i64> = listed.iter().map(|c| c["idx"].as_i64().unwrap()).collect();
    idxs.sort_unstable();
    let mut expected = an.to_vec();
    expected.sort_unstable();
    assert_eq!(idxs, expected, "AN's three, not BINH's or the organisation's");
    assert!(listed.iter().all(|c| c["live"] == true));
    assert!(events(&server).await.iter().any(|(e, _, d)| e == "operator.read" && d["action"] == "person.credentials.read"));

    // Refusals: the reader may not revoke; a reason is required; BINH's credential is not AN's.
    let path = format!("/admin/v1/persons/{}/credentials/revoke", AN.0);
    assert_eq!(post(path.clone(), &reader, json!({"idx": an[0], "reason": "lost"})).await.unwrap().status(), 403);
    let res = post(path.clone(), &writer, json!({"idx": an[0], "reason": " "})).await.unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert_eq!(post(path.clone(), &writer, json!({"idx": binh, "reason": "lost"})).await.unwrap().status(), 404);
    assert_eq!(post(path.clone(), &writer, json!({"idx": an[0], "reason": "lost", "extra": 1})).await.unwrap().status(), 400);
    assert_eq!(
        post("/admin/v1/persons/001090009999/credentials/revoke".into(), &writer, json!({"reason": "x"})).await.unwrap().status(),
        404
    );

    // One, then the rest; a second revocation of the same one finds nothing live.
    let res = post(path.clone(), &writer, json!({"idx": an[0], "reason": "Điện thoại bị mất"})).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["revoked"], json!([an[0]]));
    assert_eq!(post(path.clone(), &writer, json!({"idx": an[0], "reason": "again"})).await.unwrap().status(), 404);
    let res = post(path.clone(), &writer, json!({"reason": "Chủ thẻ đề nghị"})).await.unwrap();
    let mut rest: Vec<i64> = serde_json::from_value(res.json::<Value>().await.unwrap()["revoked"].clone()).unwrap();
    rest.sort_unstable();
    let mut expected = an[1..].to_vec();
    expected.sort_unstable();
    assert_eq!(rest, expected);
    let list = app.credentials.status_list(&app.store).await.unwrap();
    for i in an {
        assert!(list.is_revoked(i as u64).unwrap(), "{i} is revoked in the status list");
    }
    assert!(!list.is_revoked(binh as u64).unwrap());
    let audit = events(&server).await;
    let revocations: Vec<&Value> = audit.iter().filter(|(e, _, _)| e == "credential.revoked").map(|(_, _, d)| d).collect();
    assert_eq!(revocations.len(), 3);
    assert!(revocations.iter().all(|d| d["by"] == "operator" && d["operator"] == "registrar"), "{revocations:?}");
    assert_eq!(revocations[0]["reason"], "Điện thoại bị mất");
    assert!(!format!("{revocations:?}").contains(AN.0), "the person is the entry's subject, never their ID in the detail");

    // An organisation's credentials, by its tax code.
    let res = get(format!("/admin/v1/organisations/{org}/credentials"), &reader).await.unwrap();
    let listed: Vec<Value> = res.json().await.unwrap();
    assert_eq!(listed.iter().map(|c| c["idx"].as_i64().unwrap()).collect::<Vec<_>>(), [org_idx]);
    let res = post(format!("/admin/v1/organisations/{org}/credentials/revoke"), &writer, json!({"reason": "giải thể"})).await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["revoked"], json!([org_idx]));
    let audit = events(&server).await;
    assert!(audit.iter().any(|(e, _, d)| e == "credential.revoked" && d["organisation"] == org));

    // The console: the helpdesk sees BINH's credential and revokes it with a reason.
    crate::console::only_role(&server, Some(nixa::console::Role::Helpdesk)).await;
    let console = crate::console::operator_browser(&server).await;
    let page = console.get(&format!("/console/people/{}?reason=Kiểm tra mã QR", BINH.0)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&format!("<tr data-idx=\"{binh}\">")), "{}", page.body);
    let csrf = page.field("csrf");
    let revoke = |reason: &'static str| {
        let csrf = csrf.clone();
        let console = &console;
        async move {
            console
                .post(
                    &format!("/console/people/{}/revoke-credentials", BINH.0),
                    &[("csrf", csrf.as_str()), ("view_reason", "Kiểm tra mã QR"), ("idx", "all"), ("reason", reason)],
                )
                .await
        }
    };
    assert_eq!(revoke("").await.status, 422, "a reason first");
    let done = revoke("Người dân báo mất điện thoại").await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("id=\"console-notice\""));
    assert!(app.credentials.status_list(&app.store).await.unwrap().is_revoked(binh as u64).unwrap());
    assert_eq!(revoke("again").await.status, 409, "nothing live is left");
    let audit = events(&server).await;
    let last = audit.iter().rev().find(|(e, _, _)| e == "credential.revoked").unwrap();
    assert!(last.2["operator"].as_str().unwrap().starts_with("person:"), "{:?}", last.2);
    assert_eq!(last.2["reason"], "Người dân báo mất điện thoại");
}
