use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use super::*;
use crate::session::conformance::{T0, rt, session};

/// Environment variable that turns [`crash_child`] from a no-op into the
/// child half of [`survives_abort_right_after_answers`].
const CRASH_DIR_ENV: &str = "PORTCULLIS_TEST_CRASH_DIR";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// `open` creates the data directory 0700 and the database file 0600, and
/// tightens an existing file that was too open.
#[test]
fn open_creates_private_dir_and_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let file = dir.join("sessions.redb");
    drop(EmbeddedStore::open(&file).expect("open"));
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&file), 0o600);
    std::fs::set_permissions(&file, Permissions::from_mode(0o644)).expect("chmod");
    drop(EmbeddedStore::open(&file).expect("reopen"));
    assert_eq!(mode(&file), 0o600);
}

/// A second open of a file this process holds fails cleanly (no panic).
#[test]
fn second_open_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("s.redb");
    let _first = EmbeddedStore::open(&path).expect("open");
    assert!(matches!(
        EmbeddedStore::open(&path),
        Err(StoreError::Unavailable(_))
    ));
}

/// Everything answered before the store is dropped is there after reopening:
/// sessions, rotated tokens, revocations, counters.
#[tokio::test]
async fn reopen_after_drop_keeps_everything() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("data/sessions.redb");
    let store = EmbeddedStore::open(&path).expect("open");
    let s = session("s", "alice", T0);
    store
        .create(&s, &rt("s", "h0"), 5, T0)
        .await
        .expect("create");
    let rotated = store
        .rotate(&rt("s", "h0"), &rt("s", "h1"), T0 + 1, 10)
        .await;
    assert!(matches!(rotated, Ok(Rotation::Rotated(_))));
    store
        .create(&session("r", "alice", T0), &rt("r", "r0"), 5, T0)
        .await
        .expect("create");
    assert!(store.revoke("r", T0 + 2).await.expect("revoke"));
    assert_eq!(store.hit("k", 60, T0).await.expect("hit"), 1);
    drop(store);

    let store = EmbeddedStore::open(&path).expect("reopen");
    assert_eq!(store.list("alice", T0 + 3).await.expect("list").len(), 1);
    assert_eq!(store.revoked_since(T0).await.expect("since"), ["r"]);
    assert_eq!(store.hit("k", 60, T0 + 1).await.expect("hit"), 2);
    let again = store
        .rotate(&rt("s", "h1"), &rt("s", "h2"), T0 + 3, 10)
        .await;
    assert!(matches!(again, Ok(Rotation::Rotated(_))));
}

/// Child half of the crash test: with [`CRASH_DIR_ENV`] set, it logs in
/// and rotates, then aborts the process (no destructors, no clean close,
/// like `kill -9`) right after the answers. Without it, it does nothing.
#[tokio::test]
#[ignore = "helper process for survives_abort_right_after_answers"]
async fn crash_child() {
    let Ok(dir) = std::env::var(CRASH_DIR_ENV) else {
        return;
    };
    let store = EmbeddedStore::open(Path::new(&dir).join("sessions.redb")).expect("open");
    for i in 0..10 {
        let sid = format!("s{i}");
        let s = session(&sid, "alice", T0 + i);
        store
            .create(&s, &rt(&sid, "h0"), 100, T0 + i)
            .await
            .expect("create");
        let r = store
            .rotate(&rt(&sid, "h0"), &rt(&sid, "h1"), T0 + 20, 10)
            .await;
        assert!(matches!(r, Ok(Rotation::Rotated(_))));
    }
    std::process::abort();
}

/// Every login and rotation answered before the process died abruptly is
/// on disk: the child aborts right after its answers, the parent reopens.
#[tokio::test]
async fn survives_abort_right_after_answers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let status = Command::new(std::env::current_exe().expect("test binary"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .args(["--exact", "session::embedded::tests::crash_child"])
        .args(["--ignored", "--nocapture", "--test-threads=1"])
        .env(CRASH_DIR_ENV, tmp.path())
        .status()
        .expect("run the child");
    assert!(!status.success(), "the child must have aborted");

    let store = EmbeddedStore::open(tmp.path().join("sessions.redb")).expect("reopen");
    assert_eq!(store.list("alice", T0 + 21).await.expect("list").len(), 10);
    for i in 0..10 {
        let sid = format!("s{i}");
        let r = store
            .rotate(&rt(&sid, "h1"), &rt(&sid, "h2"), T0 + 21, 10)
            .await;
        assert!(matches!(r, Ok(Rotation::Rotated(_))), "{sid}: {r:?}");
    }
}
