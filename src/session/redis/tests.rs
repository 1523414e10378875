use std::net::SocketAddr;
use std::time::Instant;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::*;
use crate::session::conformance::{T0, rt, session};

/// The timeout of the outage tests.
const SHORT: Duration = Duration::from_millis(200);
/// What a call may take beyond the timeout on a busy 2-core machine.
const SLACK: Duration = Duration::from_millis(400);

fn settings(url: String, prefix: &str, timeout: Duration) -> RedisSettings {
    RedisSettings {
        topology: RedisTopology::Standalone { url },
        key_prefix: prefix.into(),
        timeout,
    }
}

/// A loopback port where nothing listens.
fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A listener that accepts connections and never reads or answers.
async fn silent_server() -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    (addr, task)
}

/// Asserts `fut` ends in `Unavailable` within the timeout (plus slack).
async fn assert_unavailable<T: std::fmt::Debug>(
    what: &str,
    fut: impl Future<Output = Result<T, StoreError>>,
) {
    let start = Instant::now();
    let outcome = tokio::time::timeout(SHORT * 10, fut).await;
    let took = start.elapsed();
    assert!(
        matches!(outcome, Ok(Err(StoreError::Unavailable(_)))),
        "{what}: {outcome:?}"
    );
    assert!(took <= SHORT + SLACK, "{what} took {took:?}");
}

/// Every store call, each against `store`, must fail as Unavailable in time.
async fn every_call_unavailable(store: &RedisStore) {
    let (s, h) = (session("s", "alice", T0), rt("s", "h"));
    for _ in 0..2 {
        assert_unavailable("create", store.create(&s, &h, 5, T0)).await;
        assert_unavailable("rotate", store.rotate(&h, &rt("s", "n"), T0, 10)).await;
        assert_unavailable("get", store.get("s")).await;
        assert_unavailable("list", store.list("alice", T0)).await;
        assert_unavailable("revoke", store.revoke("s", T0)).await;
        assert_unavailable("revoke_all", store.revoke_all("alice", T0)).await;
        assert_unavailable("revoked_since", store.revoked_since(T0)).await;
        assert_unavailable("hit", store.hit("k", 60, T0)).await;
        assert_unavailable("reset", store.reset("k")).await;
        assert_unavailable("purge_expired", store.purge_expired(T0)).await;
        assert_unavailable("ping", store.ping()).await;
        assert_unavailable("publish", store.publish_revocation("s")).await;
        let kid = crate::auth::keys::thumbprint("n", "e");
        assert_unavailable("published_key", store.published_key(&kid)).await;
        assert_unavailable("published_keys", store.published_keys(T0)).await;
    }
}

/// Nothing listening: `connect` fails in time, and a lazily built store
/// fails every call in time (twice over, so the reconnect path is covered).
#[tokio::test]
async fn dead_server_fails_fast() {
    let url = format!("redis://127.0.0.1:{}", dead_port());
    let connect = RedisStore::connect(settings(url.clone(), "pc", SHORT));
    assert_unavailable("connect", connect).await;
    let store = RedisStore::connect_lazy(settings(url, "pc", SHORT)).expect("lazy");
    every_call_unavailable(&store).await;
}

/// A server that accepts but never answers: the same, bounded by the timeout.
#[tokio::test]
async fn silent_server_times_out() {
    let (addr, task) = silent_server().await;
    let url = format!("redis://{addr}");
    let connect = RedisStore::connect(settings(url.clone(), "pc", SHORT));
    assert_unavailable("connect", connect).await;
    let store = RedisStore::connect_lazy(settings(url, "pc", SHORT)).expect("lazy");
    every_call_unavailable(&store).await;
    task.abort();
}

/// `rediss://` (TLS) is understood, and a TLS handshake that never
/// completes is bounded by the timeout like anything else (no panic from a
/// missing crypto provider either).
#[tokio::test]
async fn tls_url_against_silent_server_times_out() {
    let (addr, task) = silent_server().await;
    let url = format!("rediss://{addr}");
    let store = RedisStore::connect_lazy(settings(url, "pc", SHORT)).expect("rediss url");
    assert_unavailable("ping over TLS", store.ping()).await;
    assert_unavailable("ping over TLS again", store.ping()).await;
    task.abort();
}

/// A malformed URL or prefix is refused up front, with no password echoed.
#[tokio::test]
async fn bad_settings_are_refused() {
    let bad_url = settings("redis://:s3cret@[::1".into(), "pc", SHORT);
    let err = RedisStore::connect_lazy(bad_url).expect_err("bad url");
    assert!(!err.to_string().contains("s3cret"), "{err}");
    let bad_prefix = settings("redis://127.0.0.1:6379".into(), "a{b}", SHORT);
    assert!(RedisStore::connect_lazy(bad_prefix).is_err());
    let shown = format!("{:?}", settings("redis://:s3cret@host".into(), "pc", SHORT));
    assert!(!shown.contains("s3cret"), "{shown}");
}

/// Outside a Tokio runtime, building a store is an error, not a panic.
#[test]
fn outside_a_runtime_is_an_error() {
    let cfg = settings("redis://127.0.0.1:6379".into(), "pc", SHORT);
    assert!(matches!(
        RedisStore::connect_lazy(cfg),
        Err(StoreError::Unavailable(_))
    ));
}

/// A TCP forwarder to the local Redis that can cut every connection.
struct Proxy {
    addr: SocketAddr,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (cut, _) = tokio::sync::watch::channel(0u64);
        let cuts = cut.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut cut_rx = cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect("127.0.0.1:6379").await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut_rx.changed() => {}
                    }
                });
            }
        });
        Self { addr, cut }
    }

    /// Drops every connection open now (later ones go through again).
    fn cut_all(&self) {
        self.cut.send_modify(|n| *n += 1);
    }
}

/// Receives the next event or fails after a few seconds.
async fn next_event(rx: &mut mpsc::Receiver<RevocationEvent>) -> RevocationEvent {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("an event in time")
        .expect("subscription alive")
}

/// Subscribers get Resync on subscribing, then every revocation (published
/// explicitly or by `revoke`), and after a dropped connection they
/// reconnect and get Resync again before new revocations.
#[tokio::test]
async fn revocations_fan_out_and_resync_after_reconnect() {
    let proxy = Proxy::start().await;
    let prefix = format!("pc-test-{:016x}", rand::random::<u64>());
    let timeout = Duration::from_secs(2);
    let direct = RedisStore::connect(settings("redis://127.0.0.1:6379".into(), &prefix, timeout))
        .await
        .expect("Redis at 127.0.0.1:6379 must be running");
    let via_proxy = settings(format!("redis://{}", proxy.addr), &prefix, timeout);
    let subscriber = RedisStore::connect(via_proxy)
        .await
        .expect("connect via proxy");
    let mut rx = subscriber.subscribe_revocations();
    assert_eq!(next_event(&mut rx).await, RevocationEvent::Resync);

    direct.publish_revocation("abc").await.expect("publish");
    assert_eq!(
        next_event(&mut rx).await,
        RevocationEvent::Revoked("abc".into())
    );
    direct
        .create(&session("s", "alice", T0), &rt("s", "h"), 5, T0)
        .await
        .expect("create");
    assert!(direct.revoke("s", T0 + 1).await.expect("revoke"));
    assert_eq!(
        next_event(&mut rx).await,
        RevocationEvent::Revoked("s".into())
    );

    proxy.cut_all();
    assert_eq!(next_event(&mut rx).await, RevocationEvent::Resync);
    direct.publish_revocation("def").await.expect("publish");
    assert_eq!(
        next_event(&mut rx).await,
        RevocationEvent::Revoked("def".into())
    );

    delete_prefix(&direct, &prefix).await;
}

/// Deletes every key under `prefix`.
async fn delete_prefix(store: &RedisStore, prefix: &str) {
    let mut find = redis::cmd("KEYS");
    find.arg(format!("{prefix}:*"));
    let keys: Vec<String> = store.query(find).await.expect("keys");
    if !keys.is_empty() {
        let mut del = redis::cmd("DEL");
        del.arg(keys);
        store.query::<()>(del).await.expect("del");
    }
}

/// After every connection is cut, calls fail fast or succeed, and the store
/// is working again shortly, by itself, with the data intact.
#[tokio::test]
async fn store_recovers_after_connections_drop() {
    let proxy = Proxy::start().await;
    let prefix = format!("pc-test-{:016x}", rand::random::<u64>());
    let cfg = settings(
        format!("redis://{}", proxy.addr),
        &prefix,
        Duration::from_secs(1),
    );
    let store = RedisStore::connect(cfg)
        .await
        .expect("Redis at 127.0.0.1:6379 must be running");
    store
        .create(&session("s", "alice", T0), &rt("s", "h"), 5, T0)
        .await
        .expect("create");
    proxy.cut_all();
    let mut recovered = false;
    for _ in 0..50 {
        let start = Instant::now();
        let answer = store.get("s").await;
        assert!(
            start.elapsed() <= Duration::from_secs(1) + SLACK,
            "a call hung"
        );
        if let Ok(Some(s)) = answer {
            assert_eq!(s.user, "alice");
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    delete_prefix(&store, &prefix).await;
    assert!(recovered, "the store did not reconnect by itself");
}
