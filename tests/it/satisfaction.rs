//! The optional question after a sign-in: off by default; when on, asked after a portal sign-in
//! in which the person authenticated, at most once per period, never for single sign-on; the
//! answer counted only in the anonymised statistics, a comment kept apart from the person.

use crate::common;

use common::*;
use serde_json::Value;

const EVERY_DAYS: i64 = 30;

async fn asked_at(server: &TestServer, who: (&str, &str)) -> Option<i64> {
    let pid = nixa::identity::PersonalId::parse(who.0).unwrap();
    let person = server.app.store.person_for_login(&pid).await.unwrap().unwrap().0;
    server.app.store.satisfaction_asked_at(&person.id).await.unwrap()
}

/// A fresh sign-in at the service portal (`prompt=login`), through the TOTP step and the
/// consent page when they come; returns where it ends (the question, or the portal) and the
/// PKCE verifier.
async fn fresh_sign_in_with(server: &TestServer, browser: &Browser, who: (&str, &str)) -> (Page, String) {
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(server, DVC, DVC_REDIRECT, &challenge, &[("prompt", "login")]);
    let mut page = browser.sign_in(&url, who).await;
    if page.body.contains("action=\"/login/totp\"") {
        server.app.clock.advance(31);
        page = browser.submit_totp(&page, &totp_now(server)).await;
    }
    if page.url.contains("/consent?r=") {
        page = browser.follow(browser.consent(&page, "approve").await).await;
    }
    (page, verifier)
}

async fn fresh_sign_in(server: &TestServer, browser: &Browser, who: (&str, &str)) -> Page {
    fresh_sign_in_with(server, browser, who).await.0
}

fn at_portal(page: &Page) -> bool {
    page.location.as_deref().is_some_and(|l| l.starts_with(DVC_REDIRECT) && l.contains("code="))
}

async fn answer(browser: &Browser, question: &Page, form: &[(&str, &str)]) -> Page {
    let (r, csrf) = (question.field("r"), question.field("csrf"));
    let mut fields = vec![("r", r.as_str()), ("csrf", csrf.as_str())];
    fields.extend_from_slice(form);
    browser.post("/satisfaction", &fields).await
}

#[tokio::test]
async fn off_by_default_a_sign_in_goes_straight_to_the_portal() {
    let server = TestServer::start().await;
    let b = server.browser();
    let page = fresh_sign_in(&server, &b, AN).await;
    assert!(at_portal(&page), "{} {:?}", page.url, page.location);
    assert_eq!(asked_at(&server, AN).await, None);
    assert_eq!(b.get("/satisfaction?r=anything").await.status, 400, "no question to answer");
}

#[tokio::test]
async fn asked_once_per_period_after_a_fresh_sign_in_and_counted_only_anonymised() {
    let server = TestServer::start_with(|c| {
        c.satisfaction_every_days = EVERY_DAYS;
        c.stats_k = 2;
    })
    .await;

    // AN signs in with a password: the question comes after the consent, before the code.
    let b = server.browser();
    let (question, verifier) = fresh_sign_in_with(&server, &b, AN).await;
    assert!(question.url.contains("/satisfaction?r="), "{} {:?}", question.url, question.location);
    assert_eq!(question.status, 200);
    for score in 1..=5 {
        assert!(question.body.contains(&format!("name=\"rating\" value=\"{score}\"")), "{}", question.body);
    }
    assert!(question.body.contains("Bạn thấy việc đăng nhập thế nào?"), "Vietnamese first");
    assert_eq!(asked_at(&server, AN).await, Some(server.app.now()), "showing the question is asking");

    // Refusals: a foreign CSRF token, an unknown decision, "send" without a rating. None of
    // them counts or moves the sign-in on.
    let r = question.field("r");
    let forged = b.post("/satisfaction", &[("r", &r), ("csrf", "forged"), ("decision", "skip")]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(answer(&b, &question, &[("decision", "maybe")]).await.status, 400);
    let unanswered = answer(&b, &question, &[("decision", "send"), ("rating", "6")]).await;
    assert_eq!((unanswered.status, unanswered.error_key().as_deref()), (400, Some("satisfaction.error.choose")));
    let other_browser = server.browser().post("/satisfaction", &[("r", &r), ("decision", "skip")]).await;
    assert_eq!(other_browser.status, 400, "the question belongs to the browser that signed in");

    // A rating and a comment that names the writer: on to the portal, whose code works.
    let comment = "Nhanh. Số 001090001234, gọi 0912 345 678";
    let sent = answer(&b, &question, &[("decision", "send"), ("rating", "4"), ("comment", comment)]).await;
    assert!(at_portal(&sent), "{:?} {}", sent.location, sent.body);
    let (status, tokens) = redeem(&server, &sent.query("code").unwrap(), &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    // The same browser at the provincial portal: single sign-on, never asked.
    let (_, challenge) = pkce_pair();
    let sso = b.follow(b.get(&authorize_url(&server, TINH, TINH_REDIRECT, &challenge, &[])).await).await;
    let sso = if sso.url.contains("/consent?r=") { b.consent(&sso, "approve").await } else { sso };
    assert!(sso.location.as_deref().is_some_and(|l| l.starts_with(TINH_REDIRECT)), "{} {:?}", sso.url, sso.location);

    // Within the period AN is not asked again, even after a fresh sign-in elsewhere.
    server.app.clock.advance(86_400);
    let again = fresh_sign_in(&server, &server.browser(), AN).await;
    assert!(at_portal(&again), "{} {:?}", again.url, again.location);

    // After it, asked again; a skip counts as "skipped" and ignores a comment.
    server.app.clock.advance(EVERY_DAYS * 86_400);
    let b2 = server.browser();
    let question = fresh_sign_in(&server, &b2, AN).await;
    assert!(question.url.contains("/satisfaction?r="), "{}", question.url);
    let skipped = answer(&b2, &question, &[("decision", "skip"), ("comment", "not kept")]).await;
    assert!(at_portal(&skipped), "{:?}", skipped.location);

    // BINH (password + authenticator app) rates 4 as well, in English.
    let b3 = server.browser();
    let question = fresh_sign_in(&server, &b3, BINH).await;
    let question = b3.get(&format!("{}&lang=en", question.url.trim_start_matches(&server.url("")))).await;
    assert!(question.body.contains("How was signing in?"), "{}", question.body);
    let sent = answer(&b3, &question, &[("decision", "send"), ("rating", "4")]).await;
    assert!(at_portal(&sent), "{:?}", sent.location);

    // Nothing about the answers reached the database before the flush, and nothing links them
    // to a person after it: counts by rating, gender and age band; the comment on its own.
    use sqlx::Connection;
    let mut db = sqlx::AnyConnection::connect(&server.app.settings.database_url).await.unwrap();
    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
    assert_eq!(count("SELECT COUNT(*) FROM satisfaction_comments").fetch_one(&mut db).await.unwrap(), 0);
    server.app.stats.flush(&server.app.store).await.unwrap();
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT outcome, gender, count FROM stats_daily WHERE metric = 'satisfaction' ORDER BY outcome, gender")
            .fetch_all(&mut db)
            .await
            .unwrap();
    let mut summed: std::collections::BTreeMap<(String, String), i64> = Default::default();
    for (outcome, gender, n) in rows {
        *summed.entry((outcome, gender)).or_default() += n;
    }
    let expected: std::collections::BTreeMap<(String, String), i64> =
        [(("4".into(), "female".into()), 1), (("4".into(), "male".into()), 1), (("skipped".into(), "male".into()), 1)].into();
    assert_eq!(summed, expected);
    let columns: Vec<String> = sqlx::query("SELECT * FROM satisfaction_comments")
        .fetch_all(&mut db)
        .await
        .unwrap()
        .first()
        .map(|r| sqlx::Row::columns(r).iter().map(|c| sqlx::Column::name(c).to_string()).collect())
        .unwrap();
    assert_eq!(columns, ["id", "day", "rating", "locale", "comment"], "no person, no portal, no time");
    let first_day = nixa::stats::dims::day_of(server.app.now() - 40 * 86_400);
    let today = nixa::stats::dims::day_of(server.app.now());
    let comments = server.app.store.satisfaction_comments(&first_day, &today, 10).await.unwrap();
    assert_eq!(comments.len(), 1, "one comment; the skip's was not kept");
    assert_eq!((comments[0].rating.as_str(), comments[0].locale.as_str()), ("4", "vi"));
    assert_eq!(comments[0].text, "Nhanh. Số …, gọi …");
    let audit = events(&server).await;
    assert!(audit.iter().all(|(e, _, d)| !e.contains("satisfaction") && !d.to_string().contains("rating")), "{audit:?}");

    // Published only anonymised: the single skip is below k = 2 and suppressed, and so is the
    // two ratings' cell, which with the total would give the skip away.
    let op = operator_token(&server, &["stats:read"]).await;
    let res = backchannel()
        .get(server.url(&format!("/admin/v1/stats?from={first_day}&to={today}&metric=satisfaction&by=outcome")))
        .bearer_auth(&op)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let t: Value = res.json().await.unwrap();
    let cells = t["tables"][0]["cells"].as_array().unwrap().clone();
    let cell = |v: &str| cells.iter().find(|c| c["outcome"] == v).unwrap()["count"].clone();
    assert_eq!(cell("skipped"), Value::Null, "{t}");
    assert_eq!(cell("4"), Value::Null, "{t}");
    assert_eq!(t["tables"][0]["total"], 3);

    // The statistician reads the comments beside the figures; the console has no page that
    // shows a rating with a person.
    crate::console::only_role(&server, Some(nixa::console::Role::Statistician)).await;
    let console = crate::console::operator_browser(&server).await;
    let page = console.get(&format!("/console/stats?metric=satisfaction&by=outcome&from={first_day}&to={today}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"comments\"") && page.body.contains("Nhanh. Số …, gọi …"), "{}", page.body);
    assert!(!page.body.contains("001090001234"));
    let none = console.get("/console/stats?metric=sign_in").await;
    assert!(!none.body.contains("id=\"comments\""), "comments only with the satisfaction figures");
}

#[tokio::test]
async fn the_period_is_checked_at_start_up() {
    let mut c = nixa::config::Config { issuer: Some("https://id.example.vn".into()), ..Default::default() };
    c.master_key = Some(nixa::keys::MasterKey::generate_base64());
    c.database_url = Some("sqlite::memory:".into());
    c.satisfaction_every_days = -1;
    let e = nixa::config::Settings::from_config(&c, false).unwrap_err();
    assert!(e.to_string().contains("satisfaction_every_days"), "{e}");
    c.satisfaction_every_days = 180;
    assert_eq!(nixa::config::Settings::from_config(&c, false).unwrap().satisfaction_every, 180 * 86_400);
}
