//! Sessions and their store: sessions, refresh-token records (only SHA-256
//! hashes, never raw tokens), revocations and counters. Two backends share
//! one trait and one conformance suite: [`embedded`] (redb, the default) and
//! [`redis`].
//!
//! The gateway holds a [`Store`], which is either backend.
//!
//! **Grace window without raw tokens.** A refresh record is only
//! `SHA-256(token)` plus a state: Active, or Used with the time of its first
//! rotation and a replay count. A replay of a Used token within the grace
//! window cannot be given "the same successor" (its raw value was never
//! stored), so it gets a fresh successor of its own, stored as one more
//! Active record of the same session: both tabs end up logged in, each with
//! a working token, and the family stays intact. At most
//! [`MAX_GRACE_SIBLINGS`] such siblings per used record; the next replay,
//! like any replay after the window, is treated as theft and revokes the
//! whole session.

#[doc(hidden)]
pub mod conformance;
pub mod embedded;
pub mod manager;
pub mod model;
pub mod redis;
pub mod refresh_token;
pub mod revocations;
mod store;

pub use embedded::EmbeddedStore;
pub use model::*;
pub use redis::{PublishedKey, RedisSettings, RedisStore, RedisTopology, RevocationEvent};
pub use store::Store;

use std::future::Future;

/// How many extra successors one used refresh token may obtain inside the
/// grace window (concurrent tabs); the next replay counts as reuse.
pub const MAX_GRACE_SIBLINGS: u32 = 64;

/// How long a revocation stays visible to [`SessionStore::revoked_since`]
/// after it happened (one day, far longer than any access token lives);
/// [`SessionStore::purge_expired`] forgets older ones.
pub const REVOCATION_RETENTION_SECS: u64 = 86_400;

/// True if `id` can be a session id or refresh hash: 1 to 128 characters of
/// the base64url alphabet. Both backends refuse anything else, so a
/// client-chosen id can never break out of the Redis key layout.
pub(crate) fn well_formed_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// True if a rotation request is well formed: both hashes and the session
/// id are [`well_formed_id`]s and the successor belongs to the same session.
pub(crate) fn well_formed_rotation(presented: &RefreshHash, successor: &RefreshHash) -> bool {
    well_formed_id(&presented.session_id)
        && well_formed_id(&presented.hash)
        && well_formed_id(&successor.hash)
        && successor.session_id == presented.session_id
}

/// Why a store operation failed. Callers answer 503 with `Retry-After`;
/// nothing fails open.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend is unreachable or timed out.
    #[error("session store unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be read back, or a write was refused because
    /// it would corrupt the store (a malformed or already used id).
    #[error("session store data corrupt: {0}")]
    Corrupt(String),
}

/// The operations every backend offers. Multi-step changes are atomic.
/// Times are Unix seconds passed in by the caller (the clock is a parameter).
pub trait SessionStore: Send + Sync {
    /// Stores a new session, its first refresh token (Active) and its entry
    /// in the user's index; then, if the user has more than `limit` live
    /// sessions, revokes the oldest others (by `created`, ties by id; never
    /// the session being created) and returns their ids. Refused with
    /// [`StoreError::Corrupt`], storing nothing: a session id or hash that
    /// is not 1-128 base64url characters, a refresh hash of another session,
    /// or a session id already in use.
    fn create(
        &self,
        session: &Session,
        refresh: &RefreshHash,
        limit: usize,
        now: u64,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Rotates `presented` to `successor` atomically; see [`Rotation`].
    ///
    /// Invalid: unknown record, malformed ids, `successor` in another
    /// session or already stored, session revoked or not live at `now`.
    /// Active: it becomes Used at `now`, `successor` becomes Active,
    /// `last_used` moves to `now` (never backwards): Rotated. Used at most
    /// `grace_secs` ago (boundary included) and fewer than
    /// [`MAX_GRACE_SIBLINGS`] replays so far: `successor` is added as one
    /// more Active record and `last_used` moves as above: Grace. Used
    /// otherwise: the session and all its records are revoked: Reused.
    fn rotate(
        &self,
        presented: &RefreshHash,
        successor: &RefreshHash,
        now: u64,
        grace_secs: u64,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send;

    /// One session, if it exists (revoked and expired ones included until
    /// purged, with their flags and times as stored).
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

    /// Revokes one session and every refresh token of it, and records the
    /// revocation at `now` for [`SessionStore::revoked_since`]; true if the
    /// session exists (revoking twice is harmless), false if unknown.
    fn revoke(
        &self,
        session_id: &str,
        now: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes every session still in `user`'s index (live ones, and
    /// expired ones not yet purged); returns their ids.
    fn revoke_all(
        &self,
        user: &str,
        now: u64,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Ids of sessions revoked at or after `since`, each once (for the
    /// in-memory revocation set at start-up and after a reconnect). Entries
    /// are kept [`REVOCATION_RETENTION_SECS`] and then dropped by
    /// [`SessionStore::purge_expired`].
    fn revoked_since(
        &self,
        since: u64,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Adds one hit to a fixed-window counter and returns the count in the
    /// current window (rate limits, lockout). Windows start at multiples of
    /// `window_secs` (0 counts as 1); a hit in a later window starts over at
    /// 1.
    fn hit(
        &self,
        key: &str,
        window_secs: u64,
        now: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The count of a fixed-window counter in the current window of
    /// `window_secs`, without adding to it (0 when absent or expired).
    fn peek(
        &self,
        key: &str,
        window_secs: u64,
        now: u64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Resets a counter (unknown keys are fine).
    fn reset(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes sessions past their absolute expiry with all their records
    /// and index entries, revocations past the retention and finished
    /// counter windows; returns how many sessions it deleted. Run it
    /// periodically (every minute or so).
    fn purge_expired(&self, now: u64) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// A cheap round trip, for readiness checks.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// How many sessions are live at `now` (not revoked, before absolute
    /// expiry and idle timeout), for the `auth_active_sessions` gauge. It
    /// visits every session not past absolute expiry: run it every minute
    /// or so, never per request.
    fn count_live(&self, now: u64) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Opens the configured backend.
pub async fn open(cfg: &crate::config::StoreConfig) -> Result<Store, StoreError> {
    use crate::config::StoreConfig;
    Ok(match cfg {
        StoreConfig::Embedded { path } => {
            let path = path.clone();
            let opened = tokio::task::spawn_blocking(move || EmbeddedStore::open(path)).await;
            Store::Embedded(opened.map_err(|e| StoreError::Unavailable(e.to_string()))??)
        }
        StoreConfig::Redis {
            topology,
            key_prefix,
            timeout,
        } => Store::Redis(
            RedisStore::connect(RedisSettings {
                topology: topology.clone(),
                key_prefix: key_prefix.clone(),
                timeout: *timeout,
            })
            .await?,
        ),
    })
}
