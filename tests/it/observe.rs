//! Seeing the service: readiness follows the database (a PostgreSQL of the test's own, stopped
//! and started again).

use std::time::{Duration, Instant};

use crate::common;

use common::private_pg::PrivatePostgres;
use common::*;
use serde_json::Value;

async fn readyz(server: &TestServer) -> (u16, Value) {
    let res = backchannel().get(server.url("/readyz")).timeout(Duration::from_secs(10)).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn readyz_is_503_within_two_seconds_when_the_database_stops_and_200_again_when_it_is_back() {
    let pg = PrivatePostgres::start();
    let url = pg.url();
    let server = TestServer::start_with(|c| c.database_url = Some(url)).await;
    let (status, body) = readyz(&server).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["migrations"], "current");
    assert_eq!(body["checks"]["signing_keys"], "loaded");
    let health = backchannel().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!((health.status().as_u16(), health.text().await.unwrap().as_str()), (200, "ok"));

    pg.stop();
    let asked = Instant::now();
    let (status, body) = readyz(&server).await;
    assert!(asked.elapsed() < Duration::from_secs(2), "answered in {:?}", asked.elapsed());
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable");
    assert_ne!(body["checks"]["database"], "ok");
    let health = backchannel().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "the process still lives");

    pg.start_again();
    // The pool reconnects by itself; no restart of nixa.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = readyz(&server).await;
        if status == 200 {
            assert_eq!(body["status"], "ready");
            break;
        }
        assert!(Instant::now() < deadline, "still not ready: {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn readyz_says_behind_when_the_database_lacks_a_migration() {
    let server = TestServer::start().await;
    assert_eq!(readyz(&server).await.0, 200);
    use sqlx::Connection;
    let mut db = sqlx::AnyConnection::connect(&server.app.settings.database_url).await.unwrap();
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)").execute(&mut db).await.unwrap();
    let (status, body) = readyz(&server).await;
    assert_eq!((status, body["checks"]["migrations"].as_str()), (503, Some("behind")), "{body}");
}
