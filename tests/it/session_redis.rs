//! The Redis backend through the real binary: the same session scenarios
//! as on the embedded store (`[session] store = "redis"`, the shared Redis
//! at 127.0.0.1:6379, a random key prefix per test, its keys deleted
//! afterwards), plus what only Redis can show: the keys it writes hold no
//! raw refresh token.

use crate::common;

use std::sync::Arc;

use common::Gateway;
use common::auth::{ALICE, BOB};
use common::flows::{self, GRACE_1, GRACE_4, LIMIT_2};
use common::redis_util::{Prefix, SHARED_URL};
use common::session::merged;

/// A gateway on the shared Redis under `prefix`, with `extra` settings.
async fn gateway(prefix: &Prefix, extra: &str) -> Gateway {
    let config = merged(&[&prefix.config(1000), extra]);
    Gateway::start_with_users(&config, &[ALICE, BOB]).await
}

/// Rotation of all three cookies, on Redis.
#[tokio::test]
async fn redis_refresh_rotates_all_three() {
    let prefix = Prefix::new(SHARED_URL);
    flows::rotate_all_three(&gateway(&prefix, "").await).await;
    assert!(prefix.key_count() > 0, "the gateway really used Redis");
}

/// Grace-window replay keeps the session, on Redis.
#[tokio::test]
async fn redis_replay_inside_grace_window_keeps_the_session() {
    let prefix = Prefix::new(SHARED_URL);
    flows::grace_replay(&gateway(&prefix, "").await).await;
}

/// Replay after the window revokes the family, on Redis.
#[tokio::test]
async fn redis_replay_after_grace_window_revokes_the_family() {
    let prefix = Prefix::new(SHARED_URL);
    flows::reuse_after_window(&gateway(&prefix, GRACE_1).await).await;
}

/// Class 18 on Redis: 20 concurrent refreshes with one token.
#[tokio::test]
async fn redis_concurrent_refreshes_keep_the_user_signed_in() {
    let prefix = Prefix::new(SHARED_URL);
    flows::concurrent_refreshes(Arc::new(gateway(&prefix, GRACE_4).await)).await;
}

/// Logout refuses the old access token on the next request, on Redis.
#[tokio::test]
async fn redis_logout_refuses_the_old_token() {
    let prefix = Prefix::new(SHARED_URL);
    flows::logout(&gateway(&prefix, "").await).await;
}

/// Logout-all revokes every session of the user, on Redis.
#[tokio::test]
async fn redis_logout_all_revokes_every_session() {
    let prefix = Prefix::new(SHARED_URL);
    flows::logout_all(&gateway(&prefix, "").await).await;
}

/// Sessions are listed and revoked one by one, on Redis.
#[tokio::test]
async fn redis_sessions_are_listed_and_revoked() {
    let prefix = Prefix::new(SHARED_URL);
    flows::list_and_revoke(&gateway(&prefix, "").await).await;
}

/// The per-user limit, on Redis.
#[tokio::test]
async fn redis_session_limit_evicts_the_oldest() {
    let prefix = Prefix::new(SHARED_URL);
    flows::session_limit(&gateway(&prefix, LIMIT_2).await).await;
}

/// Nothing the gateway writes to Redis contains the secret part of a
/// refresh token (only its SHA-256 is stored), whether current or used.
#[tokio::test]
async fn redis_holds_no_raw_refresh_token() {
    let prefix = Prefix::new(SHARED_URL);
    let gw = gateway(&prefix, "").await;
    let s0 = gw.sign_in(ALICE).await;
    let s1 = gw.refresh(&s0.jar).await;
    let everything = prefix.dump();
    assert!(!everything.is_empty());
    for s in [&s0, &s1] {
        let secret = s.jar.rt().split_once('.').expect("sid.secret").1;
        assert!(!everything.contains(secret), "raw refresh token stored");
        assert!(!everything.contains(&s.access_token));
    }
}
