//! Durability of the embedded store through the real binary: `kill -9`
//! right after answered logins, refreshes and a logout, then a restart on
//! the same data directory and configuration.

use crate::common;

use common::Gateway;
use common::auth::ALICE;
use reqwest::StatusCode;

/// A fixed issuer (the public origin, and so the default issuer, follows
/// the listen port, which changes on restart), and room for six sessions of
/// one user (the default limit is five).
const CONFIG: &str = "[auth]\nissuer = \"https://portcullis.test\"\n[session]\nmax_per_user = 10";

/// Every session whose login or refresh was answered before `kill -9`
/// still refreshes after a restart; the access tokens issued before still
/// verify (same keys); a logout answered before the kill stays in force.
#[tokio::test]
async fn answered_sessions_survive_kill_9() {
    let mut gw = Gateway::start_with_users(CONFIG, &[ALICE]).await;
    let mut logins = Vec::new();
    for i in 0..5 {
        logins.push(gw.sign_in_as(ALICE, &format!("device-{i}")).await);
    }
    // Two sessions rotate: their successors are what must survive.
    for i in [3, 4] {
        logins[i] = gw.refresh(&logins[i].jar).await;
    }
    let gone = gw.sign_in_as(ALICE, "signed-out").await;
    assert_eq!(gw.post_with("/auth/logout", &gone.jar).await.status(), 200);
    let old_kid = gw
        .client()
        .get(gw.url("/.well-known/jwks.json"))
        .send()
        .await;
    let old_jwks: serde_json::Value = old_kid.expect("jwks").json().await.expect("JSON");

    gw.kill9();
    gw.restart().await;

    let jwks: serde_json::Value = gw
        .client()
        .get(gw.url("/.well-known/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("JSON");
    assert_eq!(jwks, old_jwks, "same signing keys after the restart");
    for (i, s) in logins.iter().enumerate() {
        assert_eq!(gw.whoami(s).await, Ok("alice".into()), "access token {i}");
    }
    assert_eq!(gw.whoami(&gone).await, Err(StatusCode::UNAUTHORIZED));
    assert_eq!(gw.refresh_raw(&gone.jar).await.status(), 401);
    for (i, s) in logins.iter().enumerate() {
        let next = gw.refresh_raw(&s.jar).await;
        assert_eq!(next.status(), 200, "session {i} must still refresh");
    }
    let resp = gw
        .client()
        .get(gw.url("/auth/sessions"))
        .header("cookie", logins[0].jar.header())
        .send()
        .await
        .expect("sessions");
    let body: serde_json::Value = resp.json().await.expect("JSON");
    assert_eq!(body["sessions"].as_array().expect("list").len(), 5);
    assert!(!gw.log_text().contains("auth.token.reuse"));
}
