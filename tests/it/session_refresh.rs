//! Refresh tokens through the real binary, on the embedded store: the
//! cookie, rotation of all three cookies, the grace window, reuse after it
//! (the whole family dies), and class 18 (20 concurrent refreshes with one
//! token). The same scenarios run on Redis in `session_redis.rs`.

use crate::common;

use std::sync::Arc;

use common::Gateway;
use common::auth::{ALICE, BOB};
use common::flows::{self, GRACE_1, GRACE_4};

async fn gateway(extra: &str) -> Gateway {
    Gateway::start_with_users(extra, &[ALICE, BOB]).await
}

/// Login sets the refresh cookie with its attributes next to the
/// fingerprint and access cookies; refresh rotates all three.
#[tokio::test]
async fn login_sets_refresh_cookie_and_refresh_rotates_all_three() {
    flows::rotate_all_three(&gateway("").await).await;
}

/// A replay inside the grace window keeps the caller signed in.
#[tokio::test]
async fn replay_inside_grace_window_keeps_the_session() {
    flows::grace_replay(&gateway("").await).await;
}

/// A replay after the grace window revokes the whole family.
#[tokio::test]
async fn replay_after_grace_window_revokes_the_family() {
    flows::reuse_after_window(&gateway(GRACE_1).await).await;
}

/// Class 18: 20 concurrent refreshes with one token keep the user signed in.
#[tokio::test]
async fn concurrent_refreshes_with_one_token_keep_the_user_signed_in() {
    flows::concurrent_refreshes(Arc::new(gateway(GRACE_4).await)).await;
}

/// Refresh without a refresh cookie, with a malformed one, or with two of
/// them is 401 with the cookies cleared, and consumes nothing.
#[tokio::test]
async fn refresh_needs_exactly_one_well_formed_cookie() {
    let gw = gateway("").await;
    let s = gw.sign_in(ALICE).await;
    let rt = portcullis::auth::cookie_names::REFRESH;
    let no_rt = s.jar.only(&[portcullis::auth::cookie_names::FINGERPRINT]);
    let resp = gw.refresh_raw(&no_rt).await;
    assert_eq!(resp.status(), 401);
    assert!(common::session::clears_session_cookies(resp.headers()));
    let resp = gw.refresh_raw(&s.jar.with(rt, "not-a-token")).await;
    assert_eq!(resp.status(), 401);
    let other = gw.sign_in(ALICE).await;
    let twice = gw
        .client()
        .post(gw.url("/auth/refresh"))
        .header("origin", gw.origin())
        .header(
            "cookie",
            format!("{}; {rt}={}", s.jar.header(), other.jar.rt()),
        )
        .send()
        .await
        .expect("request");
    assert_eq!(twice.status(), 401, "two refresh cookies are ambiguous");
    // Nothing was consumed: both tokens rotate normally, no reuse alarm.
    assert_eq!(gw.refresh_raw(&s.jar).await.status(), 200);
    assert_eq!(gw.refresh_raw(&other.jar).await.status(), 200);
    assert!(!gw.log_text().contains("auth.token.reuse"));
}
