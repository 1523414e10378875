//! Rotation cases: the refresh flow, grace window and reuse detection.

use futures_util::future::join_all;

use super::{GRACE, T0, listed, login, rotate, rt, session};
use crate::session::{MAX_GRACE_SIBLINGS, Rotation, SessionStore};

/// An Active token rotates: Rotated, `last_used` moves to now, the
/// successor rotates in turn, and the old token is now Used (a replay
/// inside the window is Grace, not Rotated).
pub async fn rotate_active<S: SessionStore>(store: &S) {
    login(store, &session("s", "alice", T0), "h0").await;
    let Rotation::Rotated(s) = rotate(store, "s", "h0", "h1", T0 + 5).await else {
        panic!("first presentation must rotate");
    };
    assert_eq!(
        (s.id.as_str(), s.last_used, s.revoked),
        ("s", T0 + 5, false)
    );
    assert!(matches!(
        rotate(store, "s", "h1", "h2", T0 + 6).await,
        Rotation::Rotated(_)
    ));
    assert_eq!(
        store.get("s").await.expect("get").expect("kept").last_used,
        T0 + 6
    );
    assert!(matches!(
        rotate(store, "s", "h0", "h3", T0 + 7).await,
        Rotation::Grace(_)
    ));
}

/// Replays inside the grace window (boundary included) get Grace, each
/// successor then rotates normally, and nothing is revoked.
pub async fn replay_within_grace<S: SessionStore>(store: &S) {
    login(store, &session("s", "alice", T0), "h0").await;
    assert!(matches!(
        rotate(store, "s", "h0", "a", T0 + 5).await,
        Rotation::Rotated(_)
    ));
    let Rotation::Grace(s) = rotate(store, "s", "h0", "b", T0 + 8).await else {
        panic!("replay inside the window must be Grace");
    };
    assert!(!s.revoked);
    assert!(matches!(
        rotate(store, "s", "h0", "c", T0 + 5 + GRACE).await,
        Rotation::Grace(_)
    ));
    for (from, to) in [("a", "a2"), ("b", "b2"), ("c", "c2")] {
        assert!(matches!(
            rotate(store, "s", from, to, T0 + 16).await,
            Rotation::Rotated(_)
        ));
    }
    assert_eq!(listed(store, "alice", T0 + 16).await, ["s"]);
}

/// A replay after the window is reuse: Reused with the session revoked,
/// every other token of it Invalid, the revocation listed.
pub async fn replay_after_grace_is_reuse<S: SessionStore>(store: &S) {
    login(store, &session("s", "alice", T0), "h0").await;
    assert!(matches!(
        rotate(store, "s", "h0", "a", T0 + 5).await,
        Rotation::Rotated(_)
    ));
    let Rotation::Reused(s) = rotate(store, "s", "h0", "x", T0 + 6 + GRACE).await else {
        panic!("replay after the window must be Reused");
    };
    assert!(s.revoked && s.id == "s");
    assert!(store.get("s").await.expect("get").expect("kept").revoked);
    assert_eq!(
        rotate(store, "s", "a", "a2", T0 + 17).await,
        Rotation::Invalid
    );
    assert_eq!(
        rotate(store, "s", "x", "x2", T0 + 17).await,
        Rotation::Invalid
    );
    assert_eq!(
        rotate(store, "s", "h0", "y", T0 + 17).await,
        Rotation::Invalid
    );
    assert!(listed(store, "alice", T0 + 17).await.is_empty());
    assert_eq!(
        store
            .revoked_since(T0 + 6 + GRACE)
            .await
            .expect("revoked_since"),
        ["s"]
    );
}

/// 20 concurrent presentations of one token: exactly one Rotated, the
/// rest Grace, and every successor works afterwards.
pub async fn concurrent_rotations<S: SessionStore>(store: &S) {
    login(store, &session("s", "alice", T0), "h0").await;
    let successors: Vec<String> = (0..20).map(|i| format!("n{i}")).collect();
    let results = join_all(
        successors
            .iter()
            .map(|to| rotate(store, "s", "h0", to, T0 + 1)),
    )
    .await;
    let rotated = results
        .iter()
        .filter(|r| matches!(r, Rotation::Rotated(_)))
        .count();
    let grace = results
        .iter()
        .filter(|r| matches!(r, Rotation::Grace(_)))
        .count();
    assert_eq!((rotated, grace), (1, 19), "{results:?}");
    for to in &successors {
        let next = format!("{to}-next");
        assert!(matches!(
            rotate(store, "s", to, &next, T0 + 2).await,
            Rotation::Rotated(_)
        ));
    }
}

/// More than [`MAX_GRACE_SIBLINGS`] replays of one used token inside the
/// window count as reuse.
pub async fn grace_siblings_are_capped<S: SessionStore>(store: &S) {
    login(store, &session("s", "alice", T0), "h0").await;
    assert!(matches!(
        rotate(store, "s", "h0", "first", T0 + 1).await,
        Rotation::Rotated(_)
    ));
    for i in 0..MAX_GRACE_SIBLINGS {
        let to = format!("g{i}");
        assert!(
            matches!(
                rotate(store, "s", "h0", &to, T0 + 2).await,
                Rotation::Grace(_)
            ),
            "{i}"
        );
    }
    assert!(matches!(
        rotate(store, "s", "h0", "last", T0 + 2).await,
        Rotation::Reused(_)
    ));
}

/// A token presented with another session's id, or with a successor in
/// another session, is Invalid and leaves the token untouched.
pub async fn wrong_session_id<S: SessionStore>(store: &S) {
    login(store, &session("s1", "alice", T0), "h1").await;
    login(store, &session("s2", "alice", T0), "h2").await;
    assert_eq!(
        rotate(store, "s2", "h1", "x", T0 + 1).await,
        Rotation::Invalid
    );
    let cross = store
        .rotate(&rt("s1", "h1"), &rt("s2", "y"), T0 + 1, GRACE)
        .await;
    assert_eq!(cross.expect("rotate"), Rotation::Invalid);
    assert!(matches!(
        rotate(store, "s1", "h1", "z", T0 + 1).await,
        Rotation::Rotated(_)
    ));
    assert_eq!(
        rotate(store, "s1", "unknown", "w", T0 + 1).await,
        Rotation::Invalid
    );
}
