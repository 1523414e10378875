//! Health through the real binary with the Redis store on a private
//! `redis-server` that is stopped, then frozen: `/health/ready` answers
//! promptly (no hang) with the store check unhealthy and its duration,
//! `/health/live` stays 200, `portcullis health` exits 1; when Redis
//! answers again, readiness and the probe recover without a restart.

use crate::common;

use std::time::{Duration, Instant};

use common::Gateway;
use common::auth::ALICE;
use common::redis_util::{Prefix, RedisServer};

/// Redis round trips are bounded by 300 ms; the health check by 2 s.
const TIMEOUT_MS: u64 = 300;
/// How fast readiness must answer (generous for a loaded machine).
const PROMPT: Duration = Duration::from_secs(4);

/// `GET /health/{which}` on the admin listener: status, JSON body, time.
async fn health(gw: &Gateway, which: &str) -> (u16, serde_json::Value, Duration) {
    let admin = gw.admin_addr.expect("admin listener");
    let started = Instant::now();
    let resp = reqwest::Client::new()
        .get(format!("http://{admin}/health/{which}"))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("admin answers");
    let status = resp.status().as_u16();
    let body = resp.json().await.expect("JSON body");
    (status, body, started.elapsed())
}

/// The named check of a readiness report.
fn check<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no {name} check: {report}"))
}

/// `portcullis health --url <admin>/health/ready`: its exit code.
async fn probe(gw: &Gateway) -> Option<i32> {
    let url = format!("http://{}/health/ready", gw.admin_addr.expect("admin"));
    let out = tokio::task::spawn_blocking(move || common::cli(&["health", "--url", &url], &[]))
        .await
        .expect("probe ran");
    out.status.code()
}

/// Readiness without the store: a prompt 503 naming the store unhealthy
/// with its duration, the signing key still healthy; liveness 200; the
/// probe exits 1.
async fn assert_not_ready(gw: &Gateway, what: &str) {
    let (status, report, took) = health(gw, "ready").await;
    assert_eq!(status, 503, "{what}: {report}");
    assert!(took < PROMPT, "{what}: readiness took {took:?}");
    assert_eq!(report["status"], "unhealthy", "{what}: {report}");
    let store = check(&report, "store");
    assert_eq!(store["status"], "unhealthy", "{what}: {report}");
    assert!(store["duration_ms"].as_f64().is_some(), "{what}: {report}");
    assert!(store["detail"].is_string(), "{what}: {report}");
    assert_eq!(check(&report, "signing_key")["status"], "healthy");
    let (live, _, _) = health(gw, "live").await;
    assert_eq!(live, 200, "{what}: liveness");
    assert_eq!(probe(gw).await, Some(1), "{what}: probe");
}

/// Polls readiness until 200 (Redis reconnects on its own), then checks
/// the report and the probe.
async fn assert_ready_again(gw: &Gateway) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let report = loop {
        let (status, report, _) = health(gw, "ready").await;
        if status == 200 {
            break report;
        }
        assert!(Instant::now() < deadline, "never ready again: {report}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(check(&report, "store")["status"], "healthy", "{report}");
    assert_eq!(probe(gw).await, Some(0));
}

/// Stopped, then restarted; frozen, then thawed.
#[tokio::test]
async fn readiness_follows_the_store() {
    let mut redis = RedisServer::start();
    let prefix = Prefix::new(&redis.url());
    let gw = Gateway::start_with_users(&prefix.config(TIMEOUT_MS), &[ALICE]).await;
    let (status, report, _) = health(&gw, "ready").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(probe(&gw).await, Some(0));

    redis.stop();
    assert_not_ready(&gw, "stopped").await;
    redis.restart();
    assert_ready_again(&gw).await;

    redis.freeze();
    assert_not_ready(&gw, "frozen").await;
    redis.thaw();
    assert_ready_again(&gw).await;
}
