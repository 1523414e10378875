//! Gateway processes on Redis deployments beyond one server, selected with
//! `redis.mode`: a private three-node Redis Cluster, and a primary with a
//! replica watched by a sentinel, failed over under the running gateways
//! (see `common::redis_procs`). The deployments are private, so they hold
//! no other test's keys and vanish with the test.

use crate::common;

use common::Gateway;
use common::auth::{ALICE, BOB};
use common::redis_procs::{MASTER_NAME, RedisCluster, SentinelDeployment, query};
use common::session::merged;
use reqwest::StatusCode;

const UNAUTHORIZED: Result<String, StatusCode> = Err(StatusCode::UNAUTHORIZED);

/// `[session]`/`[redis]` for `mode` with `nodes` (plus `extra` keys of
/// `[redis]`), a shared issuer, and `more` sections.
fn config(mode: &str, nodes: &[String], extra: &str, more: &str) -> String {
    let nodes: Vec<String> = nodes.iter().map(|n| format!("\"{n}\"")).collect();
    let redis = format!(
        "[session]\nstore = \"redis\"\n[redis]\nmode = \"{mode}\"\nnodes = [{}]\n{extra}\
         key_prefix = \"pc-test-{:016x}\"\ntimeout_ms = 1000\n",
        nodes.join(", "),
        rand::random::<u64>()
    );
    let shared = "[auth]\nissuer = \"https://deployments.portcullis.test\"\n";
    merged(&[&redis, shared, more])
}

/// Two gateways with alice and bob on `config`.
async fn pair(config: &str) -> (Gateway, Gateway) {
    let a = Gateway::start_with_users(config, &[ALICE, BOB]).await;
    let b = Gateway::start_with_users(config, &[ALICE, BOB]).await;
    (a, b)
}

/// Two gateways with `mode = "cluster"`: login on A, refresh on B, logout
/// on B; the old tokens are then refused on both (the revocation reached
/// A through its subscription on one node) and the refresh token too. The
/// per-account login limit is counted in the Cluster, across both
/// instances.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateways_on_a_redis_cluster() {
    let cluster = tokio::task::spawn_blocking(RedisCluster::start)
        .await
        .expect("cluster");
    let limits = "[rate_limit]\nlogin_per_account = 3\n";
    let (a, b) = pair(&config("cluster", &cluster.urls(), "", limits)).await;

    let s0 = a.sign_in(ALICE).await;
    let s1 = b.refresh(&s0.jar).await;
    assert_eq!(a.whoami(&s1).await, Ok("alice".into()));
    assert_eq!(b.whoami(&s0).await, Ok("alice".into()));
    let bob = b.sign_in(BOB).await;

    assert_eq!(b.post_with("/auth/logout", &s1.jar).await.status(), 200);
    for gw in [&a, &b] {
        assert_eq!(gw.whoami(&s1).await, UNAUTHORIZED, "{}", gw.addr);
        assert_eq!(gw.whoami(&s0).await, UNAUTHORIZED, "{}", gw.addr);
        assert_eq!(gw.refresh_raw(&s1.jar).await.status(), 401);
        assert_eq!(gw.whoami(&bob).await, Ok("bob".into()));
    }

    // alice's first login was one of three; two more pass, on either side.
    b.sign_in(ALICE).await;
    a.sign_in(ALICE).await;
    let limited = b.login_raw(ALICE.0, ALICE.1, "tests").await;
    assert_eq!(limited.status(), 429, "the fourth login across instances");
    let counters: usize = cluster
        .nodes
        .iter()
        .map(|n| {
            let keys: Vec<String> =
                query(n.port, redis::cmd("KEYS").arg("pc-test-*:c:*")).expect("KEYS");
            keys.len()
        })
        .sum();
    assert!(counters > 0, "rate-limit counters live in the Cluster");
}

/// Two gateways with `mode = "sentinel"`: alice logs in on A; the sentinel
/// fails the primary over and the old primary is killed. Without a
/// restart, A refreshes alice's session and B logs bob in (on the new
/// primary), and a logout on B reaches A once its subscription has followed
/// the primary (within seconds): the old token and the refresh token are
/// refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateways_follow_a_sentinel_failover() {
    let set = tokio::task::spawn_blocking(SentinelDeployment::start)
        .await
        .expect("sentinel set");
    let extra = format!("master_name = \"{MASTER_NAME}\"\n");
    let (a, b) = pair(&config("sentinel", &[set.sentinel_url()], &extra, "")).await;
    let s0 = a.sign_in(ALICE).await;

    let mut set = tokio::task::spawn_blocking(move || {
        let old = set.begin_failover();
        assert_eq!(old, set.first_primary.port);
        common::redis_procs::wait_until("the replica is the primary", || {
            set.primary_port() == set.first_replica.port
                && common::redis_procs::info_field(set.first_replica.port, "replication", "role")
                    .as_deref()
                    == Some("master")
        });
        set
    })
    .await
    .expect("failover");
    set.first_primary.kill();

    let s1 = a.refresh(&s0.jar).await;
    assert_eq!(a.whoami(&s1).await, Ok("alice".into()));
    let bob = b.sign_in(BOB).await;
    assert_eq!(a.whoami(&bob).await, Ok("bob".into()));

    assert_eq!(b.post_with("/auth/logout", &s1.jar).await.status(), 200);
    // A's subscription was on the killed primary: it follows the new one
    // after a reconnect (backoff from 100 ms) and re-reads revocations when
    // it does, so right after a failover the revocation may take that long.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while a.whoami(&s1).await != UNAUTHORIZED && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(a.whoami(&s1).await, UNAUTHORIZED, "revocation reached A");
    assert_eq!(a.refresh_raw(&s1.jar).await.status(), 401);
    assert_eq!(a.whoami(&bob).await, Ok("bob".into()));
    let keys: Vec<String> = query(set.first_replica.port, redis::cmd("KEYS").arg("pc-test-*"))
        .expect("KEYS on the new primary");
    assert!(!keys.is_empty(), "the sessions live on the new primary");
}

/// The revocation subscription on a Cluster sits on one node; when that
/// node dies it moves to the next seed node (Resync again) and still hears
/// a revocation published on a third node (PUBLISH crosses the cluster
/// bus).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_subscription_moves_when_its_node_dies() {
    use portcullis::session::{RedisSettings, RedisStore, RedisTopology, RevocationEvent};
    use std::time::Duration;

    let mut cluster = tokio::task::spawn_blocking(RedisCluster::start)
        .await
        .expect("cluster");
    let prefix = format!("pc-test-{:016x}", rand::random::<u64>());
    let store = RedisStore::connect(RedisSettings {
        topology: RedisTopology::Cluster {
            nodes: cluster.urls(),
            password: None,
        },
        key_prefix: prefix.clone(),
        timeout: Duration::from_secs(1),
    })
    .await
    .expect("connect");
    let mut rx = store.subscribe_revocations();
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("an event in time")
            .expect("subscription open")
    };
    assert_eq!(next().await, RevocationEvent::Resync);
    // The first subscription goes to the first seed node.
    cluster.nodes[0].kill();
    assert_eq!(
        next().await,
        RevocationEvent::Resync,
        "resubscribed elsewhere"
    );
    let third = cluster.nodes[2].port;
    let channel = format!("{prefix}:revocations");
    tokio::task::spawn_blocking(move || {
        let n: i64 = query(third, redis::cmd("PUBLISH").arg(channel).arg("sid1")).expect("PUBLISH");
        n
    })
    .await
    .expect("publish");
    assert_eq!(next().await, RevocationEvent::Revoked("sid1".into()));
}
