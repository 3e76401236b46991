//! Statistics for the monitoring centre: counted in memory during sign-ins, folded into the
//! daily counts by the upkeep, exported anonymised (CLI, admin API).

use std::collections::HashMap;

use crate::common;

use common::*;
use nixa::stats::dims::Demographics;
use nixa::stats::export::{self, Request};
use nixa::stats::{Metric, Observation, SubjectType, Who};
use serde_json::{Value, json};

/// Signs `who` in at a portal, with a password or (`fresh = false`) through the browser's
/// session, approving the consent page when it comes.
async fn sign_in_at(server: &TestServer, browser: &Browser, client: &str, redirect: &str, who: (&str, &str), fresh: bool) {
    let (_, challenge) = pkce_pair();
    let url = authorize_url(server, client, redirect, &challenge, &[]);
    let mut page = if fresh { browser.sign_in(&url, who).await } else { browser.follow(browser.get(&url).await).await };
    if page.body.contains("action=\"/login/totp\"") {
        // A TOTP code is good once per step.
        server.app.clock.advance(31);
        let code = nixa::authn::totp::current_code(nixa::demo::DEMO_TOTP_SECRET, server.app.now()).unwrap();
        page = browser.submit_totp(&page, &code).await;
    }
    if page.url.contains("/consent?r=") {
        page = browser.consent(&page, "approve").await;
    }
    assert!(
        page.location.as_deref().is_some_and(|l| l.starts_with(redirect)),
        "back at the portal: {} {:?} {}",
        page.url,
        page.location,
        page.body
    );
}

async fn stats_rows(server: &TestServer) -> i64 {
    use sqlx::Connection;
    let mut db = sqlx::AnyConnection::connect(&server.app.settings.database_url).await.unwrap();
    sqlx::query_scalar("SELECT COUNT(*) FROM stats_daily").fetch_one(&mut db).await.unwrap()
}

async fn get(server: &TestServer, token: &str, query: &str) -> (u16, String) {
    let res = backchannel().get(server.url(&format!("/admin/v1/stats?{query}"))).bearer_auth(token).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The published count of the cell whose breakdown values are `at`.
fn cell(table: &Value, at: &[(&str, &str)]) -> Value {
    let cells = table["cells"].as_array().unwrap();
    let found = cells.iter().find(|c| at.iter().all(|(k, v)| c[*k] == *v)).unwrap_or_else(|| panic!("no cell {at:?} in {table}"));
    found["count"].clone()
}

#[tokio::test]
async fn sign_ins_and_consents_are_counted_by_person_and_portal_and_exported_anonymised() {
    let server = TestServer::start_with(|c| c.stats_k = 2).await;
    // AN twice at the service portal, then at the provincial portal through the session;
    // BINH twice at the service portal.
    for _ in 0..2 {
        let b = server.browser();
        sign_in_at(&server, &b, DVC, DVC_REDIRECT, AN, true).await;
        sign_in_at(&server, &b, TINH, TINH_REDIRECT, AN, false).await;
        sign_in_at(&server, &server.browser(), DVC, DVC_REDIRECT, BINH, true).await;
    }
    assert_eq!(stats_rows(&server).await, 0, "a sign-in writes nothing to the statistics");
    let folded = server.app.stats.flush(&server.app.store).await.unwrap();
    assert_eq!(folded, 6 + 3, "six sign-ins, three consents (AN's at both portals, BINH's)");
    assert!(stats_rows(&server).await > 0);

    let op = operator_token(&server, &["stats:read"]).await;
    let day = nixa::stats::dims::day_of(server.app.now());
    let q = |by: &str| format!("from={day}&to={day}&metric=sign_in&by={by}");
    let (s, body) = get(&server, &op, &q("gender")).await;
    assert_eq!(s, 200, "{body}");
    let t: Value = serde_json::from_str(&body).unwrap();
    let t = &t["tables"][0];
    assert_eq!(cell(t, &[("gender", "male")]), 4, "AN (001 09…: a man) four times");
    assert_eq!(cell(t, &[("gender", "female")]), 2, "BINH (079 1…: a woman) twice");
    assert_eq!(cell(t, &[("gender", "unknown")]), 0);
    assert_eq!(t["total"], 6);

    // One wrong password: a failure, counted under nobody.
    server.app.clock.advance(31);
    let (_, challenge) = pkce_pair();
    let failed = server.browser().sign_in(&authorize_url(&server, DVC, DVC_REDIRECT, &challenge, &[]), (AN.0, "wrong")).await;
    assert_eq!(failed.status, 401, "the login page again, with the error");
    assert_eq!(server.app.stats.flush(&server.app.store).await.unwrap(), 1);
    let (_, body) = get(&server, &op, &q("outcome,gender")).await;
    let t: Value = serde_json::from_str(&body).unwrap();
    let t = &t["tables"][0];
    assert_eq!(cell(t, &[("outcome", "success"), ("gender", "male")]), 4);
    assert_eq!(cell(t, &[("outcome", "failure"), ("gender", "unknown")]), Value::Null, "one failure: below k, suppressed");
    // Its row and column hold nothing else, so the box that hides it reaches BINH's two
    // sign-ins: suppressed with it, and so is the failures' total.
    assert_eq!(cell(t, &[("outcome", "success"), ("gender", "female")]), Value::Null);
    let margin =
        |dim: &str, value: &str| t["margins"][dim].as_array().unwrap().iter().find(|m| m["value"] == value).unwrap()["count"].clone();
    assert_eq!(margin("outcome", "failure"), Value::Null);

    let (_, body) = get(&server, &op, &format!("from={day}&to={day}&metric=sign_in&by=method,portal&format=json")).await;
    let t: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(cell(&t["tables"][0], &[("method", "sso"), ("portal", TINH)]), 2, "{t}");
    let (_, body) = get(&server, &op, &format!("from={day}&to={day}&metric=consent_given&by=province")).await;
    let t: Value = serde_json::from_str(&body).unwrap();
    // AN (001) consented twice, BINH (079) once: 1 is under k, and the total would give it
    // away through AN's 2, so both are suppressed.
    assert_eq!(cell(&t["tables"][0], &[("province", "079")]), Value::Null, "{t}");
    assert_eq!(cell(&t["tables"][0], &[("province", "001")]), Value::Null, "{t}");
    assert_eq!(t["tables"][0]["total"], 3);

    let (s, csv) = get(&server, &op, &format!("{}&format=csv", q("gender"))).await;
    assert_eq!(s, 200);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "metric,gender,count,suppressed");
    assert!(lines.contains(&"sign_in,male,4,false") && lines.contains(&"sign_in,unknown,,true"), "{csv}");
    assert!(lines.contains(&"sign_in,female,,true"), "the failure's partner: {csv}");

    // Refusals: another scope, a bad breakdown, a threshold below the server's.
    let other = operator_token(&server, &["persons:read"]).await;
    assert_eq!(get(&server, &other, &q("gender")).await.0, 403);
    let (s, body) = get(&server, &op, &q("colour")).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(get(&server, &op, &format!("{}&k=1", q("gender"))).await.0, 422);
    assert_eq!(get(&server, &op, &format!("from={day}&to=2000-01-01")).await.0, 422);
    assert_eq!(get(&server, &op, &q("gender,age_band,province,portal")).await.0, 422);
}

/// A month of 100,000 sign-ins drawn from a known distribution: every cell of the breakdown is
/// published exactly, except the rare ones (suppressed) and the few suppressed to protect them.
#[tokio::test]
async fn a_generated_month_of_sign_ins_gives_exactly_the_expected_cells() {
    let server = TestServer::start().await;
    let provinces = ["001", "079", "048", "031", "092"];
    let bands = ["18_24", "25_34", "35_44", "45_54", "55_64", "65_plus", "under_18"];
    let genders = ["female", "male"];
    // 2026-11-01 00:00 in Viet Nam.
    let start = 1_793_491_200 - 7 * 3600;
    let mut truth: HashMap<(String, String, String), u64> = HashMap::new();
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut record = |gender: &'static str, band: &'static str, province: &str, at: i64| {
        *truth.entry((gender.to_string(), band.to_string(), province.to_string())).or_default() += 1;
        let who = Who::Stated(Demographics { gender, age_band: band, province: province.to_string() });
        server.app.stats.record(Observation {
            at,
            metric: Metric::SignIn,
            portal: DVC.into(),
            acr: "urn:vn:eid:loa:1".into(),
            method: "pwd".into(),
            outcome: "success",
            subject_type: SubjectType::Citizen,
            who,
        });
    };
    // The rare ones: a commune-sized province with seven sign-ins of older people.
    let rare = [("female", "65_plus", 4u64), ("male", "65_plus", 3)];
    for (g, b, n) in rare {
        for i in 0..n {
            record(g, b, "011", start + 86_400 * i as i64);
        }
    }
    for _ in 0..(100_000 - 7) {
        let r = next();
        let g = genders[(r % 2) as usize];
        // Skewed but never thin: the least likely cell still gets hundreds.
        let b = bands[((r >> 8) % 7) as usize];
        let p = provinces[[0, 0, 1, 1, 1, 2, 3, 4][((r >> 16) % 8) as usize]];
        let at = start + ((r >> 24) % (30 * 86_400)) as i64;
        record(g, b, p, at);
    }
    assert_eq!(server.app.stats.flush(&server.app.store).await.unwrap(), 100_000);

    let request = Request {
        from: "2026-11-01".into(),
        to: "2026-11-30".into(),
        by: export::parse_by("gender,age_band,province").unwrap(),
        metrics: vec![Metric::SignIn],
        k: 10,
    };
    let out = export::export(&server.app.store, request, 10).await.unwrap().unwrap();
    let json = out.to_json();
    let table = &json["tables"][0];
    let (mut published, mut complementary) = (0, 0);
    for c in table["cells"].as_array().unwrap() {
        let key = (
            c["gender"].as_str().unwrap().to_string(),
            c["age_band"].as_str().unwrap().to_string(),
            c["province"].as_str().unwrap().to_string(),
        );
        let real = truth.get(&key).copied().unwrap_or(0);
        match c["count"].as_u64() {
            Some(n) => {
                assert_eq!(n, real, "{key:?}");
                published += 1;
            }
            None if real > 0 && real < 10 => {}
            None => complementary += 1,
        }
    }
    let (g, a, p) = (3, 8, provinces.len() + 1);
    assert_eq!(published + complementary + rare.len(), g * a * p);
    assert!(truth.iter().filter(|(k, _)| k.2 != "011").all(|(_, &n)| n >= 10), "the generator keeps big cells big");
    // The two rare cells are the only values under k besides the province's own total (7):
    // protecting them takes one box through both (2×2×2 corners: six more cells).
    assert!(complementary <= 6, "{complementary} cells suppressed to protect two");
    let margin =
        |dim: &str, value: &str| table["margins"][dim].as_array().unwrap().iter().find(|m| m["value"] == value).unwrap()["count"].clone();
    assert_eq!(margin("province", "011"), Value::Null);
    assert_eq!(margin("province", "001"), json!(truth.iter().filter(|(k, _)| k.2 == "001").map(|(_, n)| n).sum::<u64>()));
    assert_eq!(table["total"], 100_000);
}

#[tokio::test]
async fn the_integration_report_counts_portals_by_level_and_sign_ins_by_acr() {
    let server = TestServer::start_with(|c| c.stats_k = 2).await;
    let admin = operator_token(&server, &["clients:write", "stats:read"]).await;
    for (name, host, code) in [
        ("Bộ Tư pháp", "bo.gov.vn", "000.00.00.G12"),
        ("Tỉnh Hà Giang", "tinh.gov.vn", "000.00.00.H29"),
        ("Xã Mỹ Đức", "xa.gov.vn", "000.01.21.H41"),
    ] {
        let body = json!({"client_name": name, "redirect_uris": [format!("https://{host}/cb")], "options": {"agency_code": code}});
        let res = backchannel().post(server.url("/admin/v1/clients")).bearer_auth(&admin).json(&body).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 201, "{}", res.text().await.unwrap());
    }
    let bad = json!({"client_name": "X", "redirect_uris": ["https://x.gov.vn/cb"], "options": {"agency_code": "G12"}});
    let res = backchannel().post(server.url("/admin/v1/clients")).bearer_auth(&admin).json(&bad).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 422, "an agency code must be one");
    // Two sign-ins at level 1 (AN) and two at level 2 (BINH).
    for who in [AN, AN, BINH, BINH] {
        sign_in_at(&server, &server.browser(), DVC, DVC_REDIRECT, who, true).await;
    }
    server.app.stats.flush(&server.app.store).await.unwrap();
    let day = nixa::stats::dims::day_of(server.app.now());
    let res = backchannel()
        .get(server.url(&format!("/admin/v1/stats/integration?from={day}&to={day}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let r: Value = res.json().await.unwrap();
    assert_eq!(r["by_administrative_level"], json!({"central": 1, "provincial": 1, "commune": 1, "unknown": 3}), "{r}");
    assert_eq!(r["portals"], 6, "three new and the three demo portals (no agency code)");
    let shares = r["sign_ins_by_acr"].as_array().unwrap();
    assert_eq!(shares.len(), 2, "{r}");
    assert!(shares.iter().all(|s| s["sign_ins"] == 2 && s["share"] == 0.5), "{r}");
}
