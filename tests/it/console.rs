//! The operator's console: sign-in at loa:2 through nixa itself, roles checked on every page
//! and action (a matrix: each role is refused the others' pages and actions), the helpdesk's
//! search and lock, the portal administrator's disable, the auditor's filters and exports.

use crate::common;

use common::*;
use nixa::console::Role;
use serde_json::Value;

/// BINH (level 2, authenticator app) signed in to the console.
pub(crate) async fn operator_browser(server: &TestServer) -> Browser {
    let b = server.browser();
    let mut page = b.sign_in("/console/signin", BINH).await;
    assert!(page.body.contains("action=\"/login/totp\""), "the console asks for a second factor: {}", page.url);
    server.app.clock.advance(31);
    page = b.submit_totp(&page, &totp_now(server)).await;
    assert!(
        page.url.ends_with("/console") || page.location.as_deref().is_some_and(|l| l.ends_with("/console")),
        "{} {:?}",
        page.url,
        page.location
    );
    b
}

async fn binh(server: &TestServer) -> nixa::identity::Person {
    let pid = nixa::identity::PersonalId::parse(BINH.0).unwrap();
    server.app.store.person_for_login(&pid).await.unwrap().unwrap().0
}

pub(crate) async fn only_role(server: &TestServer, role: Option<Role>) {
    let p = binh(server).await;
    for r in Role::ALL {
        server.app.store.revoke_role(&p.id, r.as_str()).await.unwrap();
    }
    if let Some(r) = role {
        server.app.store.grant_role(&p.id, r.as_str(), "test", server.app.now()).await.unwrap();
    }
}

/// The console's CSRF token, read from a page that has forms.
fn csrf(page: &Page) -> String {
    page.field("csrf")
}

#[tokio::test]
async fn every_role_reaches_its_pages_and_is_refused_the_others() {
    let server = TestServer::start().await;
    only_role(&server, None).await;
    let b = operator_browser(&server).await;
    let home = b.get("/console").await;
    assert_eq!(home.status, 403, "signed in, but no role");

    let pages = [
        (Role::Helpdesk, "/console/people?q=nguyen"),
        (Role::PortalAdmin, "/console/portals"),
        (Role::Auditor, "/console/audit"),
        (Role::Statistician, "/console/stats"),
        (Role::SecurityAdmin, "/console/operators"),
    ];
    // Actions, each with the form it sends (a wrong CSRF token: the role is checked first).
    type Form<'a> = Vec<(&'a str, &'a str)>;
    let actions: [(Role, &str, Form); 4] = [
        (Role::Helpdesk, "/console/people/001090001234/lock", vec![("reason", "x"), ("csrf", "x")]),
        (Role::PortalAdmin, "/console/portals/demo-dvc/disable", vec![("reason", "x"), ("csrf", "x")]),
        (Role::PortalAdmin, "/console/portals", vec![("name", "x"), ("redirect_uris", "https://x.gov.vn/cb"), ("csrf", "x")]),
        (Role::SecurityAdmin, "/console/operators", vec![("action", "grant"), ("personal_id", AN.0), ("role", "auditor"), ("csrf", "x")]),
    ];
    for role in Role::ALL {
        only_role(&server, Some(role)).await;
        let home = b.get("/console").await;
        assert_eq!(home.status, 200);
        assert!(home.body.contains(&format!("data-role=\"{}\"", role.as_str())));
        for (needs, path) in &pages {
            let page = b.get(path).await;
            let expected = if *needs == role { 200 } else { 403 };
            assert_eq!(page.status, expected, "{} at {path}", role.as_str());
        }
        for (needs, path, form) in &actions {
            let page = b.post(path, form).await;
            // Its own action with a forged token: refused too, as a CSRF failure.
            assert_eq!(page.status, 403, "{} posting to {path}", role.as_str());
            if *needs != role {
                assert!(!page.body.contains("csrf"), "refused for the role, before the token is looked at");
            }
        }
    }
    // Nothing was changed by the refused actions.
    let an = server.app.store.person_for_login(&nixa::identity::PersonalId::parse(AN.0).unwrap()).await.unwrap().unwrap().0;
    assert_eq!(an.status, nixa::identity::PersonStatus::Active);
    assert!(server.app.store.client(&nixa::client::ClientId::parse(DVC).unwrap()).await.unwrap().is_some());
    assert!(server.app.store.roles_of(&an.id).await.unwrap().is_empty());

    // A password alone (level 1, no second factor) never opens the console.
    let weak = server.browser();
    let page = weak.sign_in("/console/signin", AN).await;
    assert!(!page.url.ends_with("/console"), "AN cannot reach loa:2: {}", page.url);
}

#[tokio::test]
async fn the_helpdesk_finds_people_without_accents_looks_with_a_reason_and_locks_with_one() {
    let server = TestServer::start().await;
    only_role(&server, Some(Role::Helpdesk)).await;
    let b = operator_browser(&server).await;
    let found = b.get("/console/people?q=nguyen+van+an").await;
    assert_eq!(found.status, 200);
    assert!(found.body.contains(&format!("data-person=\"{}\"", AN.0)), "{}", found.body);
    assert!(!found.body.contains(&format!("data-person=\"{}\"", BINH.0)));
    let by_birth = b.get("/console/people?q=nguyen&birthdate=2000-01-01").await;
    assert!(!by_birth.body.contains("data-person="), "another birth date narrows it to nobody");

    // The person's page asks why first; the look is audited with the reason.
    let ask = b.get(&format!("/console/people/{}", AN.0)).await;
    assert!(ask.body.contains("id=\"view-reason\"") && !ask.body.contains("id=\"person-facts\""));
    let page = b.get(&format!("/console/people/{}?reason=call+about+a+lost+phone", AN.0)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"person-facts\"") && page.body.contains("Nguyễn Văn An"));
    let looks: Vec<Value> = events(&server).await.into_iter().filter(|(e, _, _)| e == "operator.read").map(|(_, _, d)| d).collect();
    assert!(looks.iter().any(|d| d["action"] == "person.searched" && d["criteria"] == serde_json::json!(["name"])), "{looks:?}");
    assert!(looks.iter().any(|d| d["action"] == "person.viewed" && d["reason"] == "call about a lost phone"));
    assert!(!looks.iter().any(|d| d.to_string().contains("nguyen")), "a search is audited without its values");

    // Sending a code needs a reason too; this server has no message channel, which the page says.
    assert!(page.body.contains("id=\"person-send-code\""));
    let path = format!("/console/people/{}/send-code", AN.0);
    let no_reason = b.post(&path, &[("csrf", &csrf(&page)), ("purpose", "recovery"), ("via", "sms"), ("reason", "")]).await;
    assert_eq!(no_reason.status, 422);
    let unsent = b.post(&path, &[("csrf", &csrf(&page)), ("purpose", "recovery"), ("via", "sms"), ("reason", "lost phone")]).await;
    assert!(matches!(unsent.status, 409 | 502), "{}", unsent.status);
    assert!(unsent.body.contains("id=\"console-error\""));
    // Lock: a reason is required; with one, the account locks and its sessions end.
    let token = csrf(&page);
    let refused = b.post(&format!("/console/people/{}/lock", AN.0), &[("csrf", &token), ("reason", " ")]).await;
    assert_eq!(refused.status, 422);
    let an_browser = server.browser();
    let (_code, _) = code_for(&server, &an_browser, AN).await;
    let done = b
        .post(&format!("/console/people/{}/lock", AN.0), &[("csrf", &token), ("reason", "reported stolen"), ("view_reason", "call")])
        .await;
    assert_eq!(done.status, 303);
    let an = server.app.store.person_for_login(&nixa::identity::PersonalId::parse(AN.0).unwrap()).await.unwrap().unwrap().0;
    assert_eq!(an.status, nixa::identity::PersonStatus::LockedByOperator);
    assert!(server.app.store.session_sids_of(&an.id).await.unwrap().is_empty(), "the lock ends the person's sessions");
    let locked = events(&server).await.into_iter().find(|(e, _, d)| e == "admin.change" && d["action"] == "person.locked").unwrap();
    assert_eq!(locked.2["reason"], "reported stolen");
    assert!(locked.2["operator"].as_str().unwrap().starts_with("person:"), "the operator by internal id");
    // The person sees the operator's look in their own record.
    server.app.store.keep_released_of(&an.id).await.unwrap();
    let seen = server.app.store.disclosures_of(&an.id, None, 0, 50).await.unwrap();
    assert!(seen.iter().any(|d| d.recipient_kind == "operator"), "{seen:?}");
}

#[tokio::test]
async fn a_portal_administrator_disables_a_portal_and_an_auditor_filters_and_exports_it() {
    let server = TestServer::start().await;
    only_role(&server, Some(Role::PortalAdmin)).await;
    let b = operator_browser(&server).await;
    let (code, verifier) = code_for(&server, &server.browser(), AN).await;
    let (_, tokens) = redeem(&server, &code, &verifier).await;
    let page = b.get(&format!("/console/portals/{DVC}")).await;
    assert_eq!(page.status, 200);
    let done = b.post(&format!("/console/portals/{DVC}/disable"), &[("csrf", &csrf(&page)), ("reason", "compromised")]).await;
    assert_eq!(done.status, 303);
    let res = backchannel()
        .post(server.url("/introspect"))
        .basic_auth(DVC, Some(DVC_SECRET))
        .form(&[("token", tokens["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401, "the disabled portal is refused");

    only_role(&server, Some(Role::Auditor)).await;
    let view = b.get("/console/audit?event=client.updated").await;
    assert_eq!(view.status, 200);
    assert!(view.body.contains("data-event=\"client.updated\"") && !view.body.contains("data-event=\"login.succeeded\""));
    assert!(view.body.contains("compromised"));
    let csv = b.get("/console/audit?event=client.updated&format=csv").await;
    assert_eq!(csv.status, 200);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "seq,at,event,person_id,client_id,detail,client_addr,user_agent,hash");
    assert_eq!(lines.len(), 2, "{}", csv.body);
    assert!(lines[1].contains(",client.updated,") && lines[1].contains(DVC));
    let jsonl = b.get(&format!("/console/audit?client={DVC}&format=jsonl")).await;
    let entries: Vec<Value> = jsonl.body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(entries.iter().all(|e| e["client_id"] == DVC) && entries.len() >= 2, "{entries:?}");
    assert!(entries.windows(2).all(|w| w[0]["seq"].as_i64() < w[1]["seq"].as_i64()), "oldest first");
    let exported = events(&server).await.into_iter().filter(|(e, _, _)| e == "audit.exported").count();
    assert_eq!(exported, 2, "each export is itself audited");
    let verified = b.get("/console/audit?verify=1").await;
    assert!(verified.body.contains("data-ok=\"true\""), "{}", verified.body);
    let bad = b.get("/console/audit?from=yesterday").await;
    assert_eq!(bad.status, 422);
}

#[tokio::test]
async fn a_portal_administrator_edits_the_further_options_through_the_registration_checks() {
    let server = TestServer::start().await;
    only_role(&server, Some(Role::PortalAdmin)).await;
    let b = operator_browser(&server).await;
    let page = b.get(&format!("/console/portals/{DVC}")).await;
    assert!(page.body.contains("id=\"edit-options\""), "{}", page.body);
    let stored = || async {
        let id = nixa::client::ClientId::parse(DVC).unwrap();
        server.app.store.client_record(&id).await.unwrap().unwrap()
    };
    let before = stored().await;
    let redirects = before.redirect_uris.join("\n");
    let edit = |options: String| {
        let (csrf, redirects) = (csrf(&page), redirects.clone());
        let b = &b;
        async move {
            b.post(
                &format!("/console/portals/{DVC}/edit"),
                &[
                    ("csrf", csrf.as_str()),
                    ("name", "Cổng Dịch vụ công (demo)"),
                    ("redirect_uris", redirects.as_str()),
                    ("post_logout_uris", "http://localhost:9000/bye"),
                    ("scope_openid", "on"),
                    ("scope_profile", "on"),
                    ("options", options.as_str()),
                ],
            )
            .await
        }
    };
    // Not JSON, an unknown option, an option the registration checks refuse: nothing changes.
    for bad in ["{agency_code:", r#"{"colour": "red"}"#, r#"{"backchannel_logout_uri": "not a url"}"#] {
        let refused = edit(bad.to_string()).await;
        assert_eq!(refused.status, 422, "{bad}: {}", refused.body);
        assert!(refused.body.contains("id=\"console-error\""));
        assert_eq!(stored().await.options, before.options, "{bad}");
    }
    // The operator edits the JSON the page shows: every current option, plus the new ones.
    let mut options = serde_json::to_value(&before.options).unwrap();
    options["agency_code"] = "000.00.00.G22".into();
    options["backchannel_logout_uri"] = "http://localhost:9000/bc".into();
    options["purposes"] = serde_json::json!({"profile": {"vi": "Điền sẵn hồ sơ", "en": "Prefill the form"}});
    let saved = edit(options.to_string()).await;
    assert!(saved.status == 303 || saved.status == 200, "{}", saved.body);
    let after = stored().await;
    assert_eq!(after.options.agency_code.as_deref(), Some("000.00.00.G22"));
    assert_eq!(after.options.backchannel_logout_uri.as_deref(), Some("http://localhost:9000/bc"));
    assert_eq!(after.options.post_logout_redirect_uris, ["http://localhost:9000/bye"]);
    assert!(after.options.purposes.contains_key("profile"));
    // Left empty, the further options stay as they are.
    let kept = edit(String::new()).await;
    assert!(kept.status == 303 || kept.status == 200);
    assert_eq!(stored().await.options, after.options);
}

#[tokio::test]
async fn machines_read_the_audit_log_with_audit_read() {
    let server = TestServer::start().await;
    code_for(&server, &server.browser(), AN).await;
    let reader = operator_token(&server, &["audit:read"]).await;
    let get = |token: String, q: &'static str| {
        let url = server.url(&format!("/admin/v1/audit?{q}"));
        async move {
            let res = backchannel().get(url).bearer_auth(token).send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    let (s, body) = get(reader.clone(), "event=login.succeeded").await;
    assert_eq!(s, 200, "{body}");
    let lines: Vec<Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["event"], "login.succeeded");
    assert_eq!(lines[0]["client_id"], DVC);
    let (s, csv) = get(reader.clone(), "personal_id=001090001234&format=csv").await;
    assert_eq!(s, 200);
    assert!(csv.lines().count() >= 2 && csv.lines().skip(1).all(|l| l.contains(",login.") || l.contains(",consent.")), "{csv}");
    assert_eq!(get(reader.clone(), "from=12/07/2026").await.0, 422);
    assert_eq!(get(reader, "format=xml").await.0, 422);
    let other = operator_token(&server, &["persons:read"]).await;
    assert_eq!(get(other, "").await.0, 403);
    assert!(events(&server).await.iter().any(|(e, _, d)| e == "audit.exported" && d["operator"] == "registrar"));
}
