//! The in-memory set of revoked session ids, checked on every request
//! without a store round trip. Entries live as long as an access token of
//! the session could (lifetime plus leeway); after that the token has
//! expired anyway.
//!
//! Long-lived connections (WebSocket tunnels) outlive the request that
//! authenticated them, so they [`RevocationSet::watch`] their session: the
//! watch is cancelled the moment the id is inserted, whoever revoked it
//! (logout, eviction, reuse detection, or another instance over pub/sub).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use moka::sync::Cache;
use tokio_util::sync::CancellationToken;

/// Revoked session ids, and the watches of live ones.
#[derive(Clone)]
pub struct RevocationSet {
    ids: Cache<String, ()>,
    watched: Arc<Mutex<HashMap<String, Watched>>>,
}

/// The watches of one session: one token shared by `holders` watches.
/// The entry exists exactly while `holders > 0`.
struct Watched {
    token: CancellationToken,
    holders: usize,
}

impl std::fmt::Debug for RevocationSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationSet")
            .field("len", &self.ids.entry_count())
            .field("watched", &self.watched_sessions())
            .finish()
    }
}

impl RevocationSet {
    /// A set whose entries expire after `keep` (the longest access-token life).
    pub fn new(keep: Duration) -> Self {
        Self {
            ids: Cache::builder()
                .time_to_live(keep)
                .max_capacity(10_000_000)
                .build(),
            watched: Arc::default(),
        }
    }

    /// Marks a session revoked and cancels its watches.
    pub fn insert(&self, sid: &str) {
        self.ids.insert(sid.to_string(), ());
        if let Some(w) = lock(&self.watched).get(sid) {
            w.token.cancel();
        }
    }

    /// True when the session has been revoked.
    pub fn contains(&self, sid: &str) -> bool {
        self.ids.contains_key(sid)
    }

    /// A watch cancelled when `sid` is revoked; already cancelled if it is.
    pub fn watch(&self, sid: &str) -> SessionWatch {
        let token = {
            let mut map = lock(&self.watched);
            let w = map.entry(sid.to_string()).or_insert_with(|| Watched {
                token: CancellationToken::new(),
                holders: 0,
            });
            w.holders += 1;
            w.token.clone()
        };
        // Registered first, checked second: a concurrent `insert` either
        // finds the entry or is visible here.
        if self.contains(sid) {
            token.cancel();
        }
        SessionWatch {
            token,
            sid: sid.to_string(),
            watched: Arc::clone(&self.watched),
        }
    }

    /// How many sessions have live watches.
    pub fn watched_sessions(&self) -> usize {
        lock(&self.watched).len()
    }
}

/// The map of watches; a poisoned lock is still usable (every critical
/// section leaves it consistent).
fn lock(m: &Mutex<HashMap<String, Watched>>) -> MutexGuard<'_, HashMap<String, Watched>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Held by a long-lived connection of one session: [`SessionWatch::revoked`]
/// completes when the session is revoked. Dropping it unregisters.
pub struct SessionWatch {
    token: CancellationToken,
    sid: String,
    watched: Arc<Mutex<HashMap<String, Watched>>>,
}

impl std::fmt::Debug for SessionWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionWatch")
            .field("sid", &self.sid)
            .field("revoked", &self.is_revoked())
            .finish()
    }
}

impl SessionWatch {
    /// Completes when the session is revoked.
    pub async fn revoked(&self) {
        self.token.cancelled().await;
    }

    /// True once the session is revoked.
    pub fn is_revoked(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The watched session id.
    pub fn session_id(&self) -> &str {
        &self.sid
    }
}

impl Drop for SessionWatch {
    fn drop(&mut self) {
        let mut map = lock(&self.watched);
        if let Some(w) = map.get_mut(&self.sid) {
            w.holders -= 1;
            if w.holders == 0 {
                map.remove(&self.sid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inserted ids are found; others are not.
    #[test]
    fn remembers_revoked_ids() {
        let set = RevocationSet::new(Duration::from_secs(60));
        set.insert("a");
        assert!(set.contains("a"));
        assert!(!set.contains("b"));
    }

    /// Revoking a session cancels every watch of it and no other.
    #[test]
    fn revocation_cancels_the_sessions_watches() {
        let set = RevocationSet::new(Duration::from_secs(60));
        let (a1, a2, b) = (set.watch("a"), set.watch("a"), set.watch("b"));
        assert!(!a1.is_revoked() && !a2.is_revoked() && !b.is_revoked());
        set.insert("a");
        assert!(a1.is_revoked() && a2.is_revoked());
        assert!(!b.is_revoked());
        assert_eq!(a1.session_id(), "a");
    }

    /// Watching a session that is already revoked is cancelled at once.
    #[test]
    fn watch_of_a_revoked_session_is_cancelled() {
        let set = RevocationSet::new(Duration::from_secs(60));
        set.insert("a");
        assert!(set.watch("a").is_revoked());
    }

    /// Watches unregister when dropped: the map holds only watched sessions.
    #[test]
    fn dropped_watches_unregister() {
        let set = RevocationSet::new(Duration::from_secs(60));
        let a1 = set.watch("a");
        let a2 = set.watch("a");
        let b = set.watch("b");
        assert_eq!(set.watched_sessions(), 2);
        drop(a1);
        assert_eq!(set.watched_sessions(), 2, "a is still watched by a2");
        set.insert("a");
        assert!(a2.is_revoked());
        drop(a2);
        drop(b);
        assert_eq!(set.watched_sessions(), 0);
        // Watching again after everything was dropped starts afresh.
        assert!(set.watch("a").is_revoked());
        assert!(!set.watch("b").is_revoked());
    }

    /// `revoked()` completes when the session is revoked from elsewhere.
    #[tokio::test]
    async fn revoked_completes_on_revocation() {
        let set = RevocationSet::new(Duration::from_secs(60));
        let watch = set.watch("a");
        let revoker = set.clone();
        tokio::spawn(async move { revoker.insert("a") });
        tokio::time::timeout(Duration::from_secs(5), watch.revoked())
            .await
            .expect("the watch completes");
    }
}
