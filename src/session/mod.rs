//! Sessions and their store: sessions, refresh-token records (only SHA-256
//! hashes, never raw tokens), revocations and counters. Two backends share
//! one trait and one conformance suite: [`embedded`] (redb, the default) and
//! [`redis`].

pub mod model;

pub use model::*;

use std::future::Future;

/// Why a store operation failed. Callers answer 503 with `Retry-After`;
/// nothing fails open.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend is unreachable or timed out.
    #[error("session store unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be read back.
    #[error("session store data corrupt: {0}")]
    Corrupt(String),
}

/// The operations every backend offers. Multi-step changes are atomic.
/// Times are Unix seconds passed in by the caller (the clock is a parameter).
pub trait SessionStore: Send + Sync {
    /// Stores a new session and its first refresh token; then, if the user
    /// has more than `limit` live sessions, revokes the oldest ones and
    /// returns their ids.
    fn create(
        &self,
        session: &Session,
        refresh: &RefreshHash,
        limit: usize,
        now: u64,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Rotates `presented` to `successor` atomically; see [`Rotation`].
    fn rotate(
        &self,
        presented: &RefreshHash,
        successor: &RefreshHash,
        now: u64,
        grace_secs: u64,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send;

    /// One session, if it exists (revoked ones included, with the flag set).
    fn get(
        &self,
        session_id: &str,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// The user's live (not revoked, not expired) sessions, oldest first.
    fn list(
        &self,
        user: &str,
        now: u64,
    ) -> impl Future<Output = Result<Vec<Session>, StoreError>> + Send;

    /// Revokes one session and every refresh token of it; false if unknown.
    fn revoke(
        &self,
        session_id: &str,
        now: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes every session of `user`; returns their ids.
    fn revoke_all(
        &self,
        user: &str,
        now: u64,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Ids of sessions revoked at or after `since` (for the in-memory
    /// revocation set at start-up and after a reconnect).
    fn revoked_since(
        &self,
        since: u64,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Adds one hit to a fixed-window counter and returns the count in the
    /// current window (rate limits, lockout).
    fn hit(
        &self,
        key: &str,
        window_secs: u64,
        now: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Resets a counter.
    fn reset(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes sessions and records past their absolute expiry.
    fn purge_expired(&self, now: u64) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// A cheap round trip, for readiness checks.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}
