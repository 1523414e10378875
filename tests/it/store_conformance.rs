//! The store conformance suite (`portcullis::session::conformance`) run
//! against every backend: the embedded store in a temporary directory and
//! Redis at 127.0.0.1:6379. A Redis that cannot be reached fails the Redis
//! tests; it never skips them. Each Redis test uses its own random key
//! prefix and deletes every key under it afterwards, even when the case
//! fails.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;
use portcullis::session::{
    EmbeddedStore, RedisSettings, RedisStore, SessionStore, Store, conformance,
};

/// The Redis every development and CI machine runs (`.ci/run` starts one).
const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// A fresh embedded store; the directory lives as long as the guard.
fn embedded() -> (EmbeddedStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path().join("data/sessions.redb")).expect("open");
    (store, dir)
}

/// A Redis store under a fresh random prefix.
async fn redis_store() -> (RedisStore, String) {
    let prefix = format!("pc-test-{:016x}", rand::random::<u64>());
    let settings = RedisSettings {
        url: REDIS_URL.into(),
        key_prefix: prefix.clone(),
        timeout: Duration::from_secs(2),
    };
    let store = RedisStore::connect(settings)
        .await
        .expect("Redis at 127.0.0.1:6379 must be running for these tests");
    (store, prefix)
}

/// Deletes every key under `prefix` (SCAN + DEL).
async fn cleanup(prefix: &str) {
    let client = redis::Client::open(REDIS_URL).expect("url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("cleanup connection");
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(500)
            .query_async(&mut conn)
            .await
            .expect("scan");
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL")
                .arg(&keys)
                .query_async(&mut conn)
                .await
                .expect("del");
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
}

/// Counts the keys left under `prefix`.
async fn leftover_keys(prefix: &str) -> usize {
    let client = redis::Client::open(REDIS_URL).expect("url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connection");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .expect("keys");
    keys.len()
}

/// Runs `case` on a fresh Redis store, cleans up, then re-raises a failure.
async fn on_redis<F, Fut>(case: F)
where
    F: FnOnce(RedisStore) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (store, prefix) = redis_store().await;
    let outcome = AssertUnwindSafe(case(store)).catch_unwind().await;
    cleanup(&prefix).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// One `#[tokio::test]` per case and backend.
macro_rules! conformance_tests {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            use super::*;
            $(
                #[doc = concat!("Conformance case `", stringify!($case), "` on the embedded store.")]
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let (store, _dir) = embedded();
                    conformance::$case(&store).await;
                }
            )*
        }
        mod redis_backend {
            use super::*;
            $(
                #[doc = concat!("Conformance case `", stringify!($case), "` on Redis.")]
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    on_redis(|store| async move { conformance::$case(&store).await }).await;
                }
            )*
        }
    };
}

conformance_tests!(
    create_get_list,
    limit_evicts_oldest,
    rotate_active,
    replay_within_grace,
    replay_after_grace_is_reuse,
    concurrent_rotations,
    grace_siblings_are_capped,
    wrong_session_id,
    revoke_one,
    revoke_all_of_user,
    idle_timeout,
    absolute_expiry,
    counters_and_reset,
    purge_expired,
    count_live,
    malformed_and_duplicate_ids,
    ping,
);

/// The `Store` enum delegates to both backends (one case through each).
#[tokio::test]
async fn store_enum_delegates() {
    let (embedded, _dir) = embedded();
    conformance::replay_within_grace(&Store::Embedded(embedded)).await;
    on_redis(|store| async move {
        conformance::replay_within_grace(&Store::Redis(store)).await;
    })
    .await;
}

/// Every key a Redis case writes has a TTL, so nothing outlives its use
/// even without cleanup.
#[tokio::test]
async fn redis_keys_all_expire() {
    let (store, prefix) = redis_store().await;
    let outcome = AssertUnwindSafe(async {
        conformance::replay_within_grace(&store).await;
        conformance::counters_and_reset(&store).await;
        store
            .revoke("s", conformance::T0 + 20)
            .await
            .expect("revoke");
        assert_keys_have_ttl(&prefix).await;
    })
    .catch_unwind()
    .await;
    cleanup(&prefix).await;
    assert_eq!(leftover_keys(&prefix).await, 0, "cleanup left keys behind");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Asserts that every key under `prefix` has a TTL.
async fn assert_keys_have_ttl(prefix: &str) {
    let client = redis::Client::open(REDIS_URL).expect("url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connection");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .expect("keys");
    assert!(
        keys.len() >= 5,
        "expected session, token, index keys: {keys:?}"
    );
    for key in keys {
        let ttl: i64 = redis::cmd("TTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .expect("ttl");
        assert!(ttl > 0, "{key} has no TTL ({ttl})");
    }
}
