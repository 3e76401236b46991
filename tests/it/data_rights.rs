//! Issue 17: the disclosure record (every release path writes one, names never values, no extra
//! write on a sign-in), the purposes a portal registers, sessions and the sign-in history,
//! correction requests answered through the admin API, the export, and retention.

use crate::common;

use common::*;
use nixa::client::{Bilingual, Responsible};
use nixa::store::disclosures::Disclosure;
use serde_json::{Value, json};

fn purpose(vi: &str, en: &str) -> Bilingual {
    Bilingual { vi: vi.into(), en: en.into() }
}

/// The demo portal with purposes for two scopes, a responsible agency, and the rest as demo.
async fn dvc_with_purposes(server: &TestServer) {
    let mut dvc = nixa::demo::demo_client(&nixa::demo::CLIENTS[0]);
    dvc.options.purposes.insert("vn_identity".into(), purpose("Xác minh người nộp hồ sơ", "Verify who files the application"));
    dvc.options.purposes.insert("profile".into(), purpose("Điền sẵn biểu mẫu", "Fill in the form"));
    dvc.options.responsible_organisation =
        Some(Responsible { name: "Văn phòng Chính phủ".into(), contact: "hotro@dichvucong.gov.vn".into() });
    server.app.store.put_client(&dvc, 0).await.unwrap();
}

async fn records(server: &TestServer, person: &nixa::identity::PersonId) -> Vec<Disclosure> {
    server.app.store.disclosures_of(person, None, 0, 1000).await.unwrap()
}

async fn count_rows(server: &TestServer, table: &str) -> i64 {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::AnyConnection::connect(&server.app.settings.database_url).await.unwrap();
    let n: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}")).fetch_one(&mut conn).await.unwrap().try_get("n").unwrap();
    n
}

async fn an_id(server: &TestServer) -> nixa::identity::PersonId {
    let pid = nixa::identity::PersonalId::parse(AN.0).unwrap();
    server.app.store.person_for_login(&pid).await.unwrap().unwrap().0.id
}

#[tokio::test]
async fn the_consent_page_shows_the_registered_purposes_and_who_answers_for_them() {
    let server = TestServer::start().await;
    dvc_with_purposes(&server).await;
    let b = server.browser();
    let (_, challenge) = pkce_pair();
    let url = authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("scope", "openid profile vn_identity")]);
    let consent = b.sign_in(&url, AN).await;
    assert!(consent.url.contains("/consent?r="), "{}", consent.url);
    assert!(consent.body.contains("Xác minh người nộp hồ sơ") && consent.body.contains("Điền sẵn biểu mẫu"), "{}", consent.body);
    assert!(consent.body.contains("Văn phòng Chính phủ") && consent.body.contains("hotro@dichvucong.gov.vn"));
    let en = b.get(&format!("{}&lang=en", consent.url)).await;
    assert!(en.body.contains("Verify who files the application") && !en.body.contains("Xác minh người nộp hồ sơ"));

    // Purposes are validated where they are registered: both languages, a supported scope.
    let mut bad = nixa::demo::demo_client(&nixa::demo::CLIENTS[0]);
    bad.options.purposes.insert("vn_identity".into(), purpose("", "only English"));
    let spec = nixa::oidc::registration::ClientSpec {
        id: Some("p-bad".into()),
        name: "Bad".into(),
        redirect_uris: vec!["https://bad.gov.vn/cb".into()],
        options: bad.options.clone(),
        ..Default::default()
    };
    assert_eq!(nixa::oidc::registration::build(&spec).unwrap_err(), nixa::oidc::registration::RegistrationError::Purpose);
    let mut unknown = bad.options.clone();
    unknown.purposes.clear();
    unknown.purposes.insert("telepathy".into(), purpose("a", "b"));
    let spec = nixa::oidc::registration::ClientSpec { options: unknown, ..spec };
    assert!(matches!(nixa::oidc::registration::build(&spec), Err(nixa::oidc::registration::RegistrationError::Scope(_))));
}

#[tokio::test]
async fn every_release_path_leaves_a_record_of_names_never_values() {
    let server = TestServer::start().await;
    dvc_with_purposes(&server).await;
    let an = an_id(&server).await;
    let person = server.app.store.person(&an).await.unwrap().unwrap();
    let b = server.browser();

    // A sign-in at the portal: no row in `disclosures` yet (no extra write on the hot path)…
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[("scope", "openid profile vn_identity offline_access")]);
    let consent = b.sign_in(&url, AN).await;
    let code = b.consent(&consent, "approve").await.query("code").unwrap();
    let (status, tokens) = redeem(&server, &code, &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(count_rows(&server, "disclosures").await, 0, "the sign-in wrote no disclosure row");
    let userinfo = backchannel().get(server.url("/userinfo")).bearer_auth(tokens["access_token"].as_str().unwrap()).send().await.unwrap();
    let userinfo: Value = userinfo.json().await.unwrap();
    assert_eq!(count_rows(&server, "disclosures").await, 0, "nor did UserInfo");

    // …but it is on record as soon as anyone looks, with names only.
    server.app.store.keep_released_of(&an).await.unwrap();
    let r = records(&server, &an).await;
    assert_eq!(r.len(), 1, "{r:?}");
    let d = &r[0];
    assert_eq!((d.recipient_kind.as_str(), d.recipient.as_str(), d.channel.as_str()), ("portal", DVC, "token"));
    let released: Value = serde_json::from_str(&d.detail).unwrap();
    let claims: Vec<&str> = released["claims"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    for (name, _) in userinfo.as_object().unwrap() {
        assert!(claims.contains(&name.as_str()), "{name} released by UserInfo is named: {claims:?}");
    }
    assert_eq!(released["grant"], "authorization_code");
    assert_eq!(released["basis"]["kind"], "consent");
    assert_eq!(released["acr"], "urn:vn:eid:loa:1");
    assert_eq!(released["purposes"]["vn_identity"]["en"], "Verify who files the application");
    for value in [person.personal_id.as_str(), person.given_name.as_str(), person.family_name.as_str(), "1990"] {
        assert!(!d.detail.contains(value), "no value ({value}) in {}", d.detail);
    }
    // Copying again (the janitor, a second look) does not duplicate it.
    server.app.store.keep_released_of(&an).await.unwrap();
    assert_eq!(records(&server, &an).await.len(), 1);

    // A refresh is a release of its own; revoking the family keeps both on record.
    let refreshed = backchannel()
        .post(server.url("/token"))
        .basic_auth(DVC, Some(DVC_SECRET))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    let rt: Value = refreshed.json().await.unwrap();
    let revoked = backchannel()
        .post(server.url("/revoke"))
        .basic_auth(DVC, Some(DVC_SECRET))
        .form(&[("token", rt["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(count_rows(&server, "disclosures").await, 2, "the revoked token's release was kept before the row went");
    server.app.store.keep_released_of(&an).await.unwrap();
    let grants: Vec<String> = records(&server, &an)
        .await
        .iter()
        .map(|d| serde_json::from_str::<Value>(&d.detail).unwrap()["grant"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(grants.iter().filter(|g| *g == "refresh_token").count(), 1, "{grants:?}");

    // QR codes: the identity QR on the account page once a day, each presentation QR.
    let page = b.get("/account").await;
    assert_eq!(page.status, 200, "{}", page.body);
    b.get("/account").await;
    let qr = b.get("/account?present=1&f_fullName=1&f_dateOfBirth=1&minutes=5").await;
    assert_eq!(qr.status, 200);
    let r = records(&server, &an).await;
    let identity: Vec<_> = r.iter().filter(|d| d.channel == "qr_identity").collect();
    assert_eq!(identity.len(), 1, "the identity QR is one release a day: {r:?}");
    let presented: Vec<_> = r.iter().filter(|d| d.channel == "qr_presentation").collect();
    assert_eq!(presented.len(), 1);
    let fields: Value = serde_json::from_str(&presented[0].detail).unwrap();
    assert_eq!(fields["claims"], json!(["fullName", "dateOfBirth"]));

    // An operator's read of the person.
    let token = operator_token(&server, &["persons:read"]).await;
    let read = backchannel().get(server.url(&format!("/admin/v1/persons/{}", AN.0))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(read.status(), 200);
    let r = records(&server, &an).await;
    let op = r.iter().find(|d| d.recipient_kind == "operator").expect("the operator's read is on record");
    assert_eq!(op.channel, "admin_api");
    assert_eq!(serde_json::from_str::<Value>(&op.detail).unwrap()["basis"]["kind"], "duty");
    assert!(!op.detail.contains(AN.0));

    // The person sees all of it, filterable by recipient, in both languages.
    let timeline = b.get("/account/disclosures").await;
    assert_eq!(timeline.status, 200, "{}", timeline.body);
    assert!(timeline.body.contains(&format!("data-recipient=\"{DVC}\"")) && timeline.body.contains("Xác minh người nộp hồ sơ"));
    let only = b.get(&format!("/account/disclosures?recipient={DVC}")).await;
    assert_eq!(only.body.matches("data-recipient=").count(), 2, "{}", only.body);
    let en = b.get("/account/disclosures?lang=en").await;
    assert!(en.body.contains("Who received your information") && en.body.contains("when you signed in"));

    // Expiry: the janitor purges the token rows and the record stays.
    let before = records(&server, &an).await.len();
    server.app.clock.advance(3600);
    server.app.store.purge_expired(server.app.now()).await.unwrap();
    assert_eq!(count_rows(&server, "access_tokens").await, 0);
    assert_eq!(records(&server, &an).await.len(), before);
}

#[tokio::test]
async fn the_timeline_is_paged_newest_first() {
    let server = TestServer::start().await;
    let an = an_id(&server).await;
    for i in 0..45 {
        let d = Disclosure {
            source: format!("test:{i}"),
            person_id: an.clone(),
            at: 1_000 + i,
            recipient_kind: "portal".into(),
            recipient: if i % 2 == 0 { "even".into() } else { "odd".into() },
            recipient_name: format!("Portal {}", i % 2),
            channel: "token".into(),
            detail: json!({"claims": ["sub"], "basis": {"kind": "consent"}}).to_string(),
        };
        assert!(server.app.store.record_disclosure(&d).await.unwrap());
        assert!(!server.app.store.record_disclosure(&d).await.unwrap(), "the same source is one record");
    }
    let b = server.browser();
    b.sign_in("/account", AN).await;
    let first = b.get("/account/disclosures").await;
    assert_eq!(first.body.matches("<li data-recipient=").count(), 20);
    assert!(first.body.contains("id=\"disclosures-next\"") && !first.body.contains("id=\"disclosures-prev\""));
    // 45 and the identity QR the account page showed when the sign-in landed there.
    let third = b.get("/account/disclosures?page=3").await;
    assert_eq!(third.body.matches("<li data-recipient=").count(), 6);
    assert!(!third.body.contains("id=\"disclosures-next\""));
    let odd = b.get("/account/disclosures?recipient=odd&page=2").await;
    assert_eq!(odd.body.matches("data-recipient=\"odd\"").count(), 2, "22 odd ones: 20 + 2");
    let newest = server.app.store.disclosures_of(&an, Some("even"), 0, 1).await.unwrap();
    assert_eq!(newest[0].at, 1_044);
    // Nonsense page numbers fall back to the first page.
    assert_eq!(b.get("/account/disclosures?page=-4").await.body.matches("<li data-recipient=").count(), 20);
}

#[tokio::test]
async fn sessions_are_listed_and_signed_out_one_or_all_and_sign_ins_are_history() {
    let server = TestServer::start().await;
    let first = server.browser();
    code_for(&server, &first, AN).await;
    let second = server.browser();
    code_for(&server, &second, AN).await;
    let page = first.get("/account").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body.matches("data-sid-current=").count(), 2, "two sessions listed");
    assert_eq!(page.body.matches("data-sid-current=\"true\"").count(), 1);
    // The sign-in history names the portal, the method and the new browser.
    assert!(page.body.contains("id=\"sign-in-list\""));
    assert!(page.body.contains("data-new-browser=\"true\""), "the second browser was new");
    let an = an_id(&server).await;
    let history = server.app.store.sign_ins_of(&an, 10).await.unwrap();
    assert_eq!(history.len(), 2);
    assert!(history.iter().all(|h| h.client_id == DVC && h.methods == ["pwd"] && h.acr == "urn:vn:eid:loa:1"));

    // Signing the other session out: it ends there, this one lives.
    let sessions = server.app.store.sessions_of(&an, server.app.now(), 0).await.unwrap();
    let csrf = page.field("csrf");
    let this_hash = sessions.iter().find(|s| page.body.contains(&s.sid) && s.sid.len() > 10).map(|s| s.id_hash.clone());
    assert!(this_hash.is_some());
    let other = sessions.iter().find(|s| {
        let marker = format!("value=\"{}\"", s.sid);
        let at = page.body.find(&marker).unwrap();
        !page.body[..at].rsplit("data-sid-current=").next().unwrap().starts_with("\"true\"")
    });
    let other = other.unwrap().sid.clone();
    assert_eq!(first.post("/account/sessions/end", &[("csrf", "forged"), ("sid", &other)]).await.status, 403);
    let ended = first.post("/account/sessions/end", &[("csrf", &csrf), ("sid", &other)]).await;
    assert_eq!((ended.status, ended.location.as_deref()), (303, Some("/account#sessions")));
    assert!(second.get("/account").await.status != 200, "the other browser is signed out");
    assert_eq!(first.get("/account").await.status, 200, "this one is not");
    // Someone else's or an unknown session: not found, nothing ends.
    let unknown = first.post("/account/sessions/end", &[("csrf", &csrf), ("sid", "not-a-session")]).await;
    assert_eq!((unknown.status, unknown.error_key().as_deref()), (404, Some("account.sessions.none_such")));

    // Everywhere: this browser too.
    let third = server.browser();
    code_for(&server, &third, AN).await;
    let all = first.post("/account/sessions/end", &[("csrf", &csrf), ("sid", "all")]).await;
    assert_eq!(all.status, 200, "this browser is told it is signed out");
    assert!(all.body.contains("href=\"/?lang=en\""), "{}", all.body);
    assert!(first.get("/account").await.status != 200, "and it is");
    assert_eq!(server.app.store.sessions_of(&an, server.app.now(), 0).await.unwrap().len(), 0);
    let reasons: Vec<String> = events(&server)
        .await
        .into_iter()
        .filter(|(e, ..)| e == "session.logged_out")
        .map(|(.., d)| d["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reasons, ["account_page", "account_page", "account_page"]);
}

#[tokio::test]
async fn correction_requests_reach_the_operators_and_their_answer_reaches_the_person() {
    let server = TestServer::start().await;
    let b = server.browser();
    let page = b.sign_in("/account", AN).await;
    let page = b.follow(page).await;
    let page = if page.status == 200 { page } else { b.get("/account").await };
    let csrf = page.field("csrf");
    assert_eq!(b.post("/account/corrections", &[("csrf", "x"), ("field", "address"), ("message", "m")]).await.status, 403);
    let bad = b.post("/account/corrections", &[("csrf", &csrf), ("field", "shoe_size"), ("message", "m")]).await;
    assert_eq!((bad.status, bad.error_key().as_deref()), (400, Some("account.corrections.invalid")));
    let empty = b.post("/account/corrections", &[("csrf", &csrf), ("field", "address"), ("message", "   ")]).await;
    assert_eq!(empty.status, 400);
    let sent = b.post("/account/corrections", &[("csrf", &csrf), ("field", "address"), ("message", "Tôi đã chuyển đến Huế\u{7}")]).await;
    assert_eq!((sent.status, sent.location.as_deref()), (303, Some("/account#corrections")));

    let reader = operator_token(&server, &["persons:read"]).await;
    let writer = operator_token(&server, &["persons:write"]).await;
    let list = |token: String, q: &'static str| {
        let url = server.url(&format!("/admin/v1/corrections{q}"));
        async move { backchannel().get(url).bearer_auth(token).send().await.unwrap() }
    };
    assert_eq!(list(writer.clone(), "").await.status(), 403);
    let open: Value = list(reader.clone(), "").await.json().await.unwrap();
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    let req = &open[0];
    assert_eq!(
        (req["personal_id"].as_str(), req["fields"].clone(), req["status"].as_str()),
        (Some(AN.0), json!(["address"]), Some("open"))
    );
    assert_eq!(req["message"], "Tôi đã chuyển đến Huế", "control characters dropped");
    let bad_status = list(reader.clone(), "?status=lost").await;
    assert_eq!(bad_status.status(), 422);
    assert_eq!(bad_status.headers()["content-type"], "application/problem+json");

    let id = req["id"].as_str().unwrap();
    let answer = |token: &str, body: Value, id: &str| {
        backchannel().post(server.url(&format!("/admin/v1/corrections/{id}/answer"))).bearer_auth(token.to_string()).json(&body).send()
    };
    assert_eq!(answer(&reader, json!({"status": "done", "answer": "x"}), id).await.unwrap().status(), 403);
    assert_eq!(answer(&writer, json!({"status": "maybe", "answer": "x"}), id).await.unwrap().status(), 422);
    assert_eq!(answer(&writer, json!({"status": "done", "answer": ""}), id).await.unwrap().status(), 422);
    assert_eq!(answer(&writer, json!({"status": "done", "answer": "x"}), "nope").await.unwrap().status(), 404);
    let done = answer(&writer, json!({"status": "done", "answer": "Đã cập nhật địa chỉ"}), id).await.unwrap();
    assert_eq!(done.status(), 200);
    let done: Value = done.json().await.unwrap();
    assert_eq!((done["status"].as_str(), done["answered_by"].is_string()), (Some("done"), true));
    assert_eq!(answer(&writer, json!({"status": "rejected", "answer": "y"}), id).await.unwrap().status(), 409, "answered once");
    let queue: Value = list(reader.clone(), "").await.json().await.unwrap();
    assert!(queue.as_array().unwrap().is_empty());
    let answered: Value = list(reader, "?status=done").await.json().await.unwrap();
    assert_eq!(answered.as_array().unwrap().len(), 1);

    let page = b.get("/account").await;
    assert!(page.body.contains("Đã cập nhật địa chỉ") && page.body.contains("data-status=\"account.corrections.done\""));
    // A person cannot flood the queue.
    for i in 0..5 {
        let r = b.post("/account/corrections", &[("csrf", &csrf), ("field", "other"), ("message", &format!("n{i}"))]).await;
        assert_eq!(r.status, 303);
    }
    let sixth = b.post("/account/corrections", &[("csrf", &csrf), ("field", "other"), ("message", "n6")]).await;
    assert_eq!((sixth.status, sixth.error_key().as_deref()), (429, Some("account.corrections.too_many")));
}

#[tokio::test]
async fn the_export_holds_everything_and_retention_purges_old_history() {
    let server = TestServer::start().await;
    let an = an_id(&server).await;
    let b = server.browser();
    let (code, verifier) = code_for(&server, &b, AN).await;
    assert_eq!(redeem(&server, &code, &verifier).await.0, 200);
    let res = b.get("/account/export").await;
    assert_eq!(res.status, 200, "{}", res.body);
    let doc: Value = serde_json::from_str(&res.body).unwrap();
    assert_eq!(doc["person"]["personal_id"], AN.0);
    assert!(doc["disclosures"].as_array().unwrap().iter().any(|d| d["recipient"] == DVC));
    assert!(doc["consents"].as_array().unwrap().iter().any(|c| c["client_id"] == DVC));
    assert_eq!(doc["sign_ins"].as_array().unwrap().len(), 1);
    assert!(doc["audit_events"].as_array().unwrap().iter().any(|e| e["event"] == "login.succeeded"));
    assert!(!res.body.contains("password_hash") && !res.body.contains("$argon2"), "never a secret");
    let anonymous = server.browser().get("/account/export").await;
    assert_ne!(anonymous.status, 200, "only the person's own session");

    // Retention: older than the configured periods goes, the rest stays.
    let now = server.app.now();
    let kept = server.app.settings.disclosure_retention;
    server
        .app
        .store
        .record_disclosure(&Disclosure {
            source: "old".into(),
            person_id: an.clone(),
            at: now - kept - 10,
            recipient_kind: "portal".into(),
            recipient: DVC.into(),
            recipient_name: "x".into(),
            channel: "token".into(),
            detail: "{}".into(),
        })
        .await
        .unwrap();
    let before = records(&server, &an).await.len();
    let (gone, sign_ins_gone) = nixa::janitor::purge_personal_history(&server.app, now).await.unwrap();
    assert_eq!((gone, sign_ins_gone), (1, 0));
    assert_eq!(records(&server, &an).await.len(), before - 1);
    let (_, sign_ins_gone) =
        nixa::janitor::purge_personal_history(&server.app, now + server.app.settings.sign_in_retention + 1).await.unwrap();
    assert_eq!(sign_ins_gone, 1);
}

#[tokio::test]
async fn the_home_page_says_what_the_platform_is_with_help_and_the_privacy_notice() {
    let server = TestServer::start_with(|c| {
        c.operator_name = Some("Trung tâm Dữ liệu quốc gia".into());
        c.help_contact = Some("1900 0368".into());
    })
    .await;
    let b = server.browser();
    let home = b.get("/").await;
    assert_eq!(home.status, 200, "{}", home.body);
    for text in [
        "Định danh điện tử quốc gia",
        "href=\"/account\"",
        "id=\"privacy\"",
        "id=\"help\"",
        "1900 0368",
        "Trung tâm Dữ liệu quốc gia",
        "Nghị định 13/2023",
    ] {
        assert!(home.body.contains(text), "{text} on the home page");
    }
    assert!(!home.body.replace("/static/nixa.css", "").contains("nixa"), "no code name shown to people");
    let en = b.get("/?lang=en").await;
    assert!(en.body.contains("National electronic identification") && en.body.contains("Decree 13/2023"));
    // Every page has the footer.
    let login = b.follow(b.get("/account").await).await;
    assert!(login.body.contains("<footer") && login.body.contains("Trung tâm Dữ liệu quốc gia"), "{}", login.body);
}

#[tokio::test]
async fn error_pages_speak_the_browsers_language_and_offer_the_other() {
    let server = TestServer::start().await;
    let get = |path: &str, lang: &str| backchannel().get(server.url(path)).header("accept-language", lang).send();
    let en = get("/nowhere?x=1", "en-GB,en;q=0.9").await.unwrap();
    assert_eq!(en.status(), 404);
    let body = en.text().await.unwrap();
    assert!(body.contains("<html lang=\"en\""), "{body}");
    assert!(body.contains("href=\"/nowhere?x=1&#38;lang=vi\""), "the switch keeps the page: {body}");
    let vi = get("/nowhere", "vi-VN").await.unwrap().text().await.unwrap();
    assert!(vi.contains("<html lang=\"vi\"") && vi.contains("href=\"/nowhere?lang=en\""));
    // An authorization error for an unknown portal follows ui_locales.
    let page = get("/authorize?client_id=nobody&ui_locales=en", "vi").await.unwrap().text().await.unwrap();
    assert!(page.contains("<html lang=\"en\""), "{page}");
}
