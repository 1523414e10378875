//! The main job end to end: a real HTTPS client reaches the example app
//! through the gateway, and logs in for a protected route.

use crate::common;

use common::Gateway;

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
