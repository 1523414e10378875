//! The in-memory set of revoked session ids, checked on every request
//! without a store round trip. Entries live as long as an access token of
//! the session could (lifetime plus leeway); after that the token has
//! expired anyway.

use std::time::Duration;

use moka::sync::Cache;

/// Revoked session ids.
#[derive(Clone)]
pub struct RevocationSet {
    ids: Cache<String, ()>,
}

impl std::fmt::Debug for RevocationSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationSet")
            .field("len", &self.ids.entry_count())
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
        }
    }

    /// Marks a session revoked.
    pub fn insert(&self, sid: &str) {
        self.ids.insert(sid.to_string(), ());
    }

    /// True when the session has been revoked.
    pub fn contains(&self, sid: &str) -> bool {
        self.ids.contains_key(sid)
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
}
