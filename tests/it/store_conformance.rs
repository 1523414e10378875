//! The store conformance suite (`portcullis::session::conformance`) run
//! against every backend: the embedded store in a temporary directory,
//! standalone Redis at 127.0.0.1:6379, a private three-node Redis Cluster
//! and a private primary/replica/sentinel set (see
//! `common::redis_procs`). A Redis that cannot be reached fails the Redis
//! tests; it never skips them. Each Redis case uses its own random key
//! prefix and deletes every key under it afterwards, even when the case
//! fails.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;
use portcullis::session::{
    EmbeddedStore, PublishedKey, RedisSettings, RedisStore, RedisTopology, RevocationEvent,
    SessionStore, Store, conformance,
};

use crate::common::redis_procs::{RedisCluster, SentinelDeployment};

/// The Redis every development and CI machine runs (`.ci/run` starts one).
const REDIS_URL: &str = "redis://127.0.0.1:6379";

/// A Redis deployment to run cases on: how the store reaches it, and the
/// data nodes whose keys cleanup visits (every Cluster primary).
struct Target {
    topology: RedisTopology,
    data_nodes: Vec<String>,
}

/// The shared standalone Redis.
fn shared() -> Target {
    Target {
        topology: RedisTopology::Standalone {
            url: REDIS_URL.into(),
        },
        data_nodes: vec![REDIS_URL.into()],
    }
}

/// A fresh embedded store; the directory lives as long as the guard.
fn embedded() -> (EmbeddedStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path().join("data/sessions.redb")).expect("open");
    (store, dir)
}

/// A Redis store under a fresh random prefix.
async fn redis_store(target: &Target) -> (RedisStore, String) {
    let prefix = format!("pc-test-{:016x}", rand::random::<u64>());
    let settings = RedisSettings {
        topology: target.topology.clone(),
        key_prefix: prefix.clone(),
        timeout: Duration::from_secs(2),
    };
    let store = RedisStore::connect(settings)
        .await
        .expect("Redis must be running for these tests");
    (store, prefix)
}

/// Deletes every key under `prefix` on every data node (SCAN + DEL).
async fn cleanup(prefix: &str, target: &Target) {
    for node in &target.data_nodes {
        let client = redis::Client::open(node.as_str()).expect("url");
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
            // One DEL per key: under Cluster the keys span slots.
            for key in keys {
                let _: () = redis::cmd("DEL")
                    .arg(key)
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

/// Runs `case` on a fresh store on the shared Redis (see [`on_target`]).
async fn on_redis<F, Fut>(case: F)
where
    F: FnOnce(RedisStore) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    on_target(&shared(), case).await;
}

/// Runs `case` on a fresh store on `target`, cleans up, then re-raises a
/// failure.
async fn on_target<F, Fut>(target: &Target, case: F)
where
    F: FnOnce(RedisStore) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (store, prefix) = redis_store(target).await;
    let outcome = AssertUnwindSafe(case(store)).catch_unwind().await;
    cleanup(&prefix, target).await;
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
        /// Every case in turn on `target` (one private deployment serves
        /// the whole suite), each under its own prefix; a failure names it.
        async fn every_case(target: &Target) {
            $(
                eprintln!("conformance case {}", stringify!($case));
                on_target(target, |store| async move { conformance::$case(&store).await }).await;
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
    let (store, prefix) = redis_store(&shared()).await;
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
    cleanup(&prefix, &shared()).await;
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

/// The whole suite on a private three-node Redis Cluster: every script,
/// pipeline and multi-key command stays in one slot (a crossing would fail
/// with CROSSSLOT). Then the public-key script and MGET, and revocation
/// fan-out through a subscription on one node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_on_a_redis_cluster() {
    let cluster = tokio::task::spawn_blocking(RedisCluster::start)
        .await
        .expect("cluster");
    let target = Target {
        topology: RedisTopology::Cluster {
            nodes: cluster.urls(),
            password: None,
        },
        data_nodes: cluster.urls(),
    };
    every_case(&target).await;
    on_target(&target, |store| async move {
        public_keys_and_fan_out(&store).await;
    })
    .await;
}

/// The whole suite on the primary a sentinel names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_through_sentinel() {
    let set = tokio::task::spawn_blocking(SentinelDeployment::start)
        .await
        .expect("sentinel set");
    let target = Target {
        topology: RedisTopology::Sentinel {
            sentinels: vec![set.sentinel_url()],
            master_name: crate::common::redis_procs::MASTER_NAME.into(),
            password: None,
        },
        data_nodes: vec![set.first_primary.url()],
    };
    every_case(&target).await;
    on_target(&target, |store| async move {
        public_keys_and_fan_out(&store).await;
    })
    .await;
}

/// Published keys round-trip (one script over several `{jwks}` keys, one
/// MGET), and a revocation reaches a subscriber.
async fn public_keys_and_fan_out(store: &RedisStore) {
    let now = conformance::T0;
    let keys: Vec<PublishedKey> = ["a", "b", "c"]
        .iter()
        .map(|seed| PublishedKey {
            kid: portcullis::auth::keys::thumbprint(seed, "AQAB"),
            jwk: format!(r#"{{"seed":"{seed}"}}"#),
            ttl_secs: 600,
        })
        .collect();
    store.publish_keys(&keys, now).await.expect("publish keys");
    let listed = store.published_keys(now).await.expect("list keys");
    assert_eq!(listed.len(), 3, "{listed:?}");
    let one = store.published_key(&keys[1].kid).await.expect("get key");
    assert_eq!(one.map(|k| k.jwk), Some(keys[1].jwk.clone()));

    let mut rx = store.subscribe_revocations();
    assert_eq!(next_event(&mut rx).await, RevocationEvent::Resync);
    let (s, h) = (
        conformance::session("fan", "alice", now),
        conformance::rt("fan", "h"),
    );
    store.create(&s, &h, 5, now).await.expect("create");
    assert!(store.revoke("fan", now + 1).await.expect("revoke"));
    assert_eq!(
        next_event(&mut rx).await,
        RevocationEvent::Revoked("fan".into())
    );
}

/// The next revocation event, within 10 s.
async fn next_event(rx: &mut tokio::sync::mpsc::Receiver<RevocationEvent>) -> RevocationEvent {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event in time")
        .expect("subscription open")
}
