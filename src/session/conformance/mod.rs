//! The store conformance suite: every case runs against every backend
//! (`tests/store_conformance.rs`), the way rustls runs its API tests once
//! per crypto provider. Each case gets a fresh, empty store and panics on
//! the first difference from the contract of [`SessionStore`]. Test code:
//! public only so integration tests can reach it.

mod rotation;

pub use rotation::*;

use super::{REVOCATION_RETENTION_SECS, RefreshHash, Rotation, Session, SessionStore, StoreError};

/// The cases' "now": a multiple of 60, 100 and 1000, so counter windows
/// start exactly here.
pub const T0: u64 = 1_700_000_400;
/// Grace window used by the cases.
const GRACE: u64 = 10;
const DAY: u64 = 86_400;

/// A session created at `created`, 30-day expiry, 7-day idle timeout.
pub fn session(id: &str, user: &str, created: u64) -> Session {
    Session {
        id: id.into(),
        user: user.into(),
        family: format!("fam-{id}"),
        user_agent: "Mozilla/5.0 (conformance)".into(),
        ip: "192.0.2.7".into(),
        created,
        last_used: created,
        expires_at: created + 30 * DAY,
        idle_timeout_secs: 7 * DAY,
        revoked: false,
    }
}

/// A refresh hash of session `sid`.
pub fn rt(sid: &str, hash: &str) -> RefreshHash {
    RefreshHash {
        session_id: sid.into(),
        hash: hash.into(),
    }
}

/// Creates `s` with first token `hash` under a generous limit.
async fn login<S: SessionStore>(store: &S, s: &Session, hash: &str) {
    let evicted = store.create(s, &rt(&s.id, hash), 100, s.created).await;
    assert_eq!(evicted.expect("create"), Vec::<String>::new());
}

/// Rotates `from` to `to` in session `sid`.
async fn rotate<S: SessionStore>(store: &S, sid: &str, from: &str, to: &str, now: u64) -> Rotation {
    store
        .rotate(&rt(sid, from), &rt(sid, to), now, GRACE)
        .await
        .expect("rotate")
}

/// Ids of the user's live sessions, in the order `list` gives them.
async fn listed<S: SessionStore>(store: &S, user: &str, now: u64) -> Vec<String> {
    let sessions = store.list(user, now).await.expect("list");
    sessions.into_iter().map(|s| s.id).collect()
}

/// `create` stores exactly what it is given; `get` finds it (and nothing
/// for an unknown id); `list` gives the user's sessions oldest first.
pub async fn create_get_list<S: SessionStore>(store: &S) {
    let (s2, s1, s3) = (
        session("s2", "alice", T0 + 10),
        session("s1", "alice", T0),
        session("s3", "bob", T0),
    );
    for s in [&s2, &s1, &s3] {
        login(store, s, &format!("h-{}", s.id)).await;
    }
    assert_eq!(store.get("s1").await.expect("get"), Some(s1));
    assert_eq!(store.get("nope").await.expect("get"), None);
    assert_eq!(listed(store, "alice", T0 + 20).await, ["s1", "s2"]);
    assert_eq!(listed(store, "bob", T0 + 20).await, ["s3"]);
    assert!(listed(store, "carol", T0).await.is_empty());
}

/// Past the per-user limit, `create` revokes the oldest live sessions and
/// returns their ids; their tokens stop working.
pub async fn limit_evicts_oldest<S: SessionStore>(store: &S) {
    for (i, id) in ["a", "b"].into_iter().enumerate() {
        let s = session(id, "alice", T0 + i as u64);
        assert!(
            store
                .create(&s, &rt(id, &format!("h{id}")), 2, T0 + 2)
                .await
                .expect("create")
                .is_empty()
        );
    }
    let c = session("c", "alice", T0 + 2);
    let evicted = store
        .create(&c, &rt("c", "hc"), 2, T0 + 2)
        .await
        .expect("create");
    assert_eq!(evicted, ["a"]);
    assert!(store.get("a").await.expect("get").expect("a kept").revoked);
    assert_eq!(listed(store, "alice", T0 + 3).await, ["b", "c"]);
    assert_eq!(
        rotate(store, "a", "ha", "ha2", T0 + 3).await,
        Rotation::Invalid
    );
    assert!(
        store
            .revoked_since(T0)
            .await
            .expect("revoked_since")
            .contains(&"a".to_owned())
    );
    let d = session("d", "alice", T0 + 3);
    let evicted = store
        .create(&d, &rt("d", "hd"), 1, T0 + 3)
        .await
        .expect("create");
    assert_eq!(evicted, ["b", "c"]);

    // Created in the same second as an older session whose id sorts after
    // it: the new session is never the one evicted.
    login(store, &session("z", "carol", T0 + 5), "hz").await;
    let y = session("y", "carol", T0 + 5);
    let evicted = store
        .create(&y, &rt("y", "hy"), 1, T0 + 5)
        .await
        .expect("create");
    assert_eq!(evicted, ["z"]);
    assert_eq!(listed(store, "carol", T0 + 6).await, ["y"]);
}

/// `revoke` flags the session (get still returns it), kills its tokens,
/// hides it from `list`, and records the time for `revoked_since`.
pub async fn revoke_one<S: SessionStore>(store: &S) {
    login(store, &session("s", "alice", T0), "h0").await;
    login(store, &session("t", "alice", T0), "t0").await;
    assert!(store.revoke("s", T0 + 5).await.expect("revoke"));
    assert!(!store.revoke("unknown", T0 + 5).await.expect("revoke"));
    assert!(store.get("s").await.expect("get").expect("kept").revoked);
    assert_eq!(
        rotate(store, "s", "h0", "h1", T0 + 6).await,
        Rotation::Invalid
    );
    assert_eq!(listed(store, "alice", T0 + 6).await, ["t"]);
    assert_eq!(store.revoked_since(T0 + 5).await.expect("since"), ["s"]);
    assert!(store.revoked_since(T0 + 6).await.expect("since").is_empty());
    assert!(matches!(
        rotate(store, "t", "t0", "t1", T0 + 6).await,
        Rotation::Rotated(_)
    ));
}

/// `revoke_all` revokes every session of one user and only those.
pub async fn revoke_all_of_user<S: SessionStore>(store: &S) {
    for (id, user) in [("a1", "alice"), ("a2", "alice"), ("b1", "bob")] {
        login(store, &session(id, user, T0), &format!("h-{id}")).await;
    }
    let mut ids = store.revoke_all("alice", T0 + 1).await.expect("revoke_all");
    ids.sort();
    assert_eq!(ids, ["a1", "a2"]);
    assert!(listed(store, "alice", T0 + 1).await.is_empty());
    assert_eq!(listed(store, "bob", T0 + 1).await, ["b1"]);
    let mut since = store.revoked_since(T0).await.expect("since");
    since.sort();
    assert_eq!(since, ["a1", "a2"]);
    assert_eq!(
        rotate(store, "a2", "h-a2", "n", T0 + 2).await,
        Rotation::Invalid
    );
    assert!(
        store
            .revoke_all("nobody", T0)
            .await
            .expect("revoke_all")
            .is_empty()
    );
}

/// Past the idle timeout (counted from the last refresh) rotation is
/// Invalid and `list` leaves the session out.
pub async fn idle_timeout<S: SessionStore>(store: &S) {
    let mut s = session("s", "alice", T0);
    s.idle_timeout_secs = 100;
    login(store, &s, "h0").await;
    assert!(matches!(
        rotate(store, "s", "h0", "h1", T0 + 99).await,
        Rotation::Rotated(_)
    ));
    assert!(matches!(
        rotate(store, "s", "h1", "h2", T0 + 198).await,
        Rotation::Rotated(_)
    ));
    assert_eq!(listed(store, "alice", T0 + 297).await, ["s"]);
    assert!(listed(store, "alice", T0 + 298).await.is_empty());
    assert_eq!(
        rotate(store, "s", "h2", "h3", T0 + 298).await,
        Rotation::Invalid
    );
}

/// At the absolute expiry rotation is Invalid however recent the last
/// refresh, and `list` leaves the session out.
pub async fn absolute_expiry<S: SessionStore>(store: &S) {
    let mut s = session("s", "alice", T0);
    s.expires_at = T0 + 1000;
    login(store, &s, "h0").await;
    assert!(matches!(
        rotate(store, "s", "h0", "h1", T0 + 999).await,
        Rotation::Rotated(_)
    ));
    assert!(listed(store, "alice", T0 + 1000).await.is_empty());
    assert_eq!(
        rotate(store, "s", "h1", "h2", T0 + 1000).await,
        Rotation::Invalid
    );
}

/// `hit` counts within a fixed window, restarts in the next one, and keeps
/// keys apart; `reset` starts a counter over.
pub async fn counters_and_reset<S: SessionStore>(store: &S) {
    let mut seen = Vec::new();
    for now in [T0, T0 + 1, T0 + 59, T0 + 60, T0 + 61] {
        seen.push(store.hit("ip:1", 60, now).await.expect("hit"));
    }
    assert_eq!(seen, [1, 2, 3, 1, 2]);
    assert_eq!(store.peek("ip:1", 60, T0 + 61).await.expect("peek"), 2);
    assert_eq!(
        store.peek("ip:1", 60, T0 + 61).await.expect("peek"),
        2,
        "peek does not count"
    );
    assert_eq!(
        store.peek("ip:1", 60, T0 + 120).await.expect("peek"),
        0,
        "next window"
    );
    assert_eq!(store.peek("unknown", 60, T0).await.expect("peek"), 0);
    assert_eq!(store.hit("ip:2", 60, T0 + 61).await.expect("hit"), 1);
    store.reset("ip:1").await.expect("reset");
    assert_eq!(store.hit("ip:1", 60, T0 + 62).await.expect("hit"), 1);
    assert_eq!(store.hit("ip:2", 60, T0 + 62).await.expect("hit"), 2);
    store
        .reset("never-used")
        .await
        .expect("reset of an unknown key");
}

/// `count_live` counts every user's sessions that are neither revoked nor
/// past their absolute expiry or idle timeout.
pub async fn count_live<S: SessionStore>(store: &S) {
    assert_eq!(store.count_live(T0).await.expect("count"), 0);
    let mut short = session("short", "alice", T0);
    short.expires_at = T0 + 100;
    let mut idle = session("idle", "bob", T0);
    idle.idle_timeout_secs = 50;
    let (a, r) = (session("a", "alice", T0), session("r", "carol", T0));
    for s in [&short, &idle, &a, &r] {
        login(store, s, &format!("h-{}", s.id)).await;
    }
    assert!(store.revoke("r", T0 + 1).await.expect("revoke"));
    assert_eq!(store.count_live(T0 + 1).await.expect("count"), 3);
    assert_eq!(store.count_live(T0 + 50).await.expect("count"), 2);
    assert_eq!(store.count_live(T0 + 100).await.expect("count"), 1);
}

/// `purge_expired` deletes sessions past absolute expiry (and only those),
/// counts them, and forgets revocations past the retention.
pub async fn purge_expired<S: SessionStore>(store: &S) {
    let mut short = [session("a", "alice", T0), session("b", "alice", T0)];
    for s in &mut short {
        s.expires_at = T0 + 100;
        login(store, s, &format!("h-{}", s.id)).await;
    }
    login(store, &session("c", "alice", T0), "h-c").await;
    assert!(store.revoke("c", T0 + 10).await.expect("revoke"));
    assert_eq!(store.purge_expired(T0 + 99).await.expect("purge"), 0);
    assert_eq!(store.purge_expired(T0 + 100).await.expect("purge"), 2);
    assert_eq!(store.get("a").await.expect("get"), None);
    assert_eq!(
        rotate(store, "b", "h-b", "n", T0 + 50).await,
        Rotation::Invalid
    );
    assert!(store.get("c").await.expect("get").is_some());
    assert_eq!(store.purge_expired(T0 + 100).await.expect("purge"), 0);
    assert_eq!(store.revoked_since(0).await.expect("since"), ["c"]);
    let after_retention = T0 + 11 + REVOCATION_RETENTION_SECS;
    store.purge_expired(after_retention).await.expect("purge");
    assert!(store.revoked_since(0).await.expect("since").is_empty());
}

/// Ids outside the base64url alphabet are refused at `create` and never
/// match anything elsewhere; a taken session id is refused too.
pub async fn malformed_and_duplicate_ids<S: SessionStore>(store: &S) {
    for bad in ["", "a}b", "a b", "x:{s:y}"] {
        let created = store
            .create(&session(bad, "alice", T0), &rt(bad, "h"), 5, T0)
            .await;
        assert!(matches!(created, Err(StoreError::Corrupt(_))), "{bad:?}");
        assert_eq!(rotate(store, bad, "h", "h2", T0).await, Rotation::Invalid);
        assert_eq!(store.get(bad).await.expect("get"), None);
        assert!(!store.revoke(bad, T0).await.expect("revoke"));
    }
    let mismatched = store
        .create(&session("s", "alice", T0), &rt("other", "h"), 5, T0)
        .await;
    assert!(matches!(mismatched, Err(StoreError::Corrupt(_))));
    login(store, &session("s", "alice", T0), "h").await;
    let dup = store
        .create(&session("s", "mallory", T0), &rt("s", "h9"), 5, T0)
        .await;
    assert!(matches!(dup, Err(StoreError::Corrupt(_))));
    assert_eq!(
        store.get("s").await.expect("get").expect("kept").user,
        "alice"
    );
    assert!(listed(store, "mallory", T0).await.is_empty());
}

/// `ping` answers on a healthy store.
pub async fn ping<S: SessionStore>(store: &S) {
    store.ping().await.expect("ping");
}
