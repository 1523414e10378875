//! The main job end to end: a real HTTPS client reaches the example app
//! through the gateway, and logs in for a protected route.

use crate::common;

use common::Gateway;
use common::auth::ALICE;

/// A public route proxies to the example app with forwarded headers set.
#[tokio::test]
async fn public_route_reaches_example_app() {
    let gw = Gateway::start("").await;
    let resp = gw
        .client()
        .get(gw.url("/headers"))
        .header("X-Forwarded-For", "6.6.6.6")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["headers"]["x-forwarded-for"], "127.0.0.1");
    assert_eq!(body["headers"]["x-forwarded-proto"], "https");
}

/// Pinned to one CPU (`taskset`), the gateway runs tokio's current-thread
/// runtime (said in the "listening" line) and the main job still
/// works end to end: the password hash runs off the runtime's thread, a
/// login, the protected route, a refresh and a logout.
#[tokio::test]
async fn one_cpu_runtime_serves_the_main_job() {
    let mut gw = Gateway::start_with_users("", &[ALICE]).await;
    let listening = |gw: &Gateway| -> serde_json::Value {
        let logs = gw.log_text();
        let line = logs
            .lines()
            .find(|l| l.contains("\"listening\""))
            .expect("a listening line");
        serde_json::from_str(line).expect("JSON log line")
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let line = listening(&gw);
    assert_eq!(line["workers"], cpus, "one worker per CPU: {line}");
    if cpus > 1 {
        assert_eq!(line["runtime"], "multi_thread", "{line}");
    }
    gw.restart_under(&["taskset", "-c", "0"]).await;
    let line = listening(&gw);
    assert_eq!(line["runtime"], "current_thread", "pinned: {line}");
    assert_eq!(line["workers"], 1, "pinned: {line}");

    let s = gw.sign_in(ALICE).await;
    assert_eq!(
        gw.whoami(&s).await,
        Ok("alice".to_string()),
        "protected route"
    );
    let renewed = gw.refresh(&s.jar).await;
    assert_eq!(
        gw.whoami(&renewed).await,
        Ok("alice".to_string()),
        "after refresh"
    );
    let resp = gw.post_with("/auth/logout", &renewed.jar).await;
    assert!(resp.status().is_success(), "logout: {}", resp.status());
    let resp = gw.refresh_raw(&renewed.jar).await;
    assert_eq!(resp.status(), 401, "the session ended with the logout");
}
