//! The Redis store, shared by every gateway instance.
//!
//! One shared connection ([`conn::Conn`]: a reconnecting manager for one
//! server, the primary named by Sentinel, or a Cluster connection; see
//! [`RedisTopology`]). Every command is bounded by
//! [`RedisSettings::timeout`]: a dead or frozen server turns into
//! [`StoreError::Unavailable`] within that time, never a hang or a panic,
//! and the next call after Redis returns succeeds.
//!
//! Atomicity: every change to one session (create, rotate, revoke, purge) is
//! one Lua script over that session's keys, which share the `{s:SID}` hash
//! tag (key layout below). The indexes (the user's sessions, expiries,
//! revocations) are separate keys updated by separate commands after the
//! session script; under Redis Cluster they live in other slots, so they are
//! eventually consistent with the sessions: a crash between the two steps
//! can leave a session missing from its user's index (it still expires by
//! TTL) or a revocation missing from `revoked` (the session itself is
//! revoked, so it cannot refresh). Eviction past the per-user limit reads
//! the index and then revokes, so two logins of one user at the same instant
//! may both evict.
//!
//! Fan-out: every revocation the store makes is also published on
//! `P:revocations` (see [`RedisStore::subscribe_revocations`]). `revoke` and
//! `revoke_all` fail if the publish fails (retrying them is harmless);
//! eviction in `create` and reuse in `rotate` only log it, because their
//! own answer matters more and subscribers catch up at their next resync.
//!
//! Deployments: standalone, Sentinel (the client follows failovers, see
//! [`sentinel`]) and Cluster. No script, pipeline or multi-key command spans
//! two slots (the Cluster conformance run checks it: a crossing would fail
//! with CROSSSLOT), so the layout is the same for all three.
//!
//! Key layout:
//!
//! ```text
//! P:{s:SID}:session     hash    the session's fields           TTL: expires_at
//! P:{s:SID}:rt:HASH     hash    st (a|u), at, n (grace count)   TTL: expires_at
//! P:{s:SID}:tokens      set     every HASH of the session       TTL: expires_at
//! P:u:USER              zset    SID scored by created           TTL: latest expiry
//! P:expiries            zset    SID scored by expires_at        TTL: latest expiry
//! P:revoked             zset    SID scored by revocation time   TTL: retention
//! P:c:KEY               hash    w (window start), n (count)     TTL: window end
//! P:{jwks}:k:KID        string  an instance's public JWK        TTL: see below
//! P:{jwks}:index        zset    KID scored by expiry            TTL: latest expiry
//! P:revocations         pub/sub channel of revoked SIDs
//! ```
//!
//! Public keys ([`RedisStore::publish_keys`]): each instance republishes
//! its ring's keys periodically, the active one for longer than its tokens
//! live, a retired one until its last token expires; a stopped instance's
//! keys expire by themselves.
//!
//! `P` is the configured prefix. `{s:SID}` is a Cluster hash tag: every key
//! of one session lands in one slot, so the scripts that touch them stay
//! atomic under Cluster. Session ids and hashes are checked to be base64url
//! before any key is built, and the prefix may not contain braces, so no
//! input can move a key into another session's tag.

mod conn;
mod keys;
mod ops;
mod public_keys;
mod pubsub;
mod scripts;
mod sentinel;
mod switch_watch;

use std::future::Future;
use std::time::Duration;

use redis::RedisResult;

use super::{RefreshHash, Rotation, Session, SessionStore, StoreError};
pub use crate::config::RedisTopology;
use conn::{Conn, PubSubSource};
use keys::Keys;
pub use public_keys::{MAX_PUBLISHED, PublishedKey};
pub use pubsub::RevocationEvent;

/// Where and how to reach Redis.
#[derive(Clone)]
pub struct RedisSettings {
    /// The deployment and how to reach it; URLs and passwords are never
    /// logged (see its `Debug` impl).
    pub topology: RedisTopology,
    /// Prefix of every key and of the pub/sub channel (non-empty, no spaces
    /// or braces), so several deployments can share one Redis.
    pub key_prefix: String,
    /// Upper bound of every round trip, connecting included.
    pub timeout: Duration,
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("topology", &self.topology)
            .field("key_prefix", &self.key_prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Sessions, refresh records, revocations and counters in Redis.
/// Cheap to clone (the connection is shared).
#[derive(Clone)]
pub struct RedisStore {
    /// Where the revocation subscriber connects.
    pubsub: std::sync::Arc<PubSubSource>,
    conn: Conn,
    keys: Keys,
    timeout: Duration,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("keys", &self.keys)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects and checks the server with one PING. A server that is down
    /// or does not answer gives [`StoreError::Unavailable`] within
    /// `cfg.timeout`; so do a malformed URL or key prefix. Use
    /// [`RedisStore::connect_lazy`] to start while Redis is down.
    pub async fn connect(cfg: RedisSettings) -> Result<Self, StoreError> {
        let store = Self::connect_lazy(cfg)?;
        store.ping().await?;
        Ok(store)
    }

    /// Builds the store without contacting Redis: the connection is made on
    /// the first call, and every call fails with
    /// [`StoreError::Unavailable`] (within the timeout) until Redis answers.
    /// Fails only on a malformed URL or key prefix, or when called outside
    /// a Tokio runtime (the connection needs one for its background task).
    pub fn connect_lazy(cfg: RedisSettings) -> Result<Self, StoreError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StoreError::Unavailable(
                "the redis store must be built inside a Tokio runtime".into(),
            ));
        }
        if !keys::valid_prefix(&cfg.key_prefix) {
            return Err(StoreError::Unavailable(
                "redis key prefix must be 1-64 printable characters without braces".into(),
            ));
        }
        let (conn, pubsub) = conn::open(&cfg.topology, cfg.timeout)
            .map_err(|e| StoreError::Unavailable(format!("redis settings: {:?}", e.kind())))?;
        Ok(Self {
            pubsub,
            conn,
            keys: Keys::new(&cfg.key_prefix),
            timeout: cfg.timeout,
        })
    }

    /// Runs one round trip under the timeout. `f` gets its own handle on
    /// the shared connection.
    async fn call<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        match tokio::time::timeout(self.timeout, f(self.conn.clone())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(unavailable(e)),
            Err(_) => Err(StoreError::Unavailable(format!(
                "redis did not answer within {:?}",
                self.timeout
            ))),
        }
    }

    /// Runs one command under the timeout.
    async fn query<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, StoreError> {
        self.call(|mut c| async move { cmd.query_async(&mut c).await })
            .await
    }

    /// Runs one pipeline (one round trip) under the timeout. Its commands
    /// must share one Cluster slot.
    async fn pipeline<T: redis::FromRedisValue>(
        &self,
        pipe: redis::Pipeline,
    ) -> Result<T, StoreError> {
        self.call(|mut c| async move { pipe.query_async(&mut c).await })
            .await
    }

    /// Runs one prepared script invocation under the timeout.
    async fn script<T: redis::FromRedisValue>(
        &self,
        inv: redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        self.call(|mut c| async move { sentinel::invoke(&inv, &mut c).await })
            .await
    }
}

/// A Redis error as the store reports it (the message names the failure,
/// never the URL or its password).
fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!("redis: {e}"))
}

impl SessionStore for RedisStore {
    async fn create(
        &self,
        session: &Session,
        refresh: &RefreshHash,
        limit: usize,
        now: u64,
    ) -> Result<Vec<String>, StoreError> {
        self.create_session(session, refresh, limit, now).await
    }

    async fn rotate(
        &self,
        presented: &RefreshHash,
        successor: &RefreshHash,
        now: u64,
        grace_secs: u64,
    ) -> Result<Rotation, StoreError> {
        self.rotate_token(presented, successor, now, grace_secs)
            .await
    }

    async fn get(&self, session_id: &str) -> Result<Option<Session>, StoreError> {
        self.load(session_id).await
    }

    async fn list(&self, user: &str, now: u64) -> Result<Vec<Session>, StoreError> {
        self.live_sessions(user, now).await
    }

    async fn revoke(&self, session_id: &str, now: u64) -> Result<bool, StoreError> {
        let revoked = self.revoke_one(session_id, now).await?.is_some();
        if revoked {
            self.publish_revocation(session_id).await?;
        }
        Ok(revoked)
    }

    async fn revoke_all(&self, user: &str, now: u64) -> Result<Vec<String>, StoreError> {
        let ids = self.user_index(user).await?;
        let mut revoked = Vec::with_capacity(ids.len());
        for sid in ids {
            if self.revoke_one(&sid, now).await?.is_some() {
                self.publish_revocation(&sid).await?;
                revoked.push(sid);
            }
        }
        Ok(revoked)
    }

    async fn revoked_since(&self, since: u64) -> Result<Vec<String>, StoreError> {
        let mut cmd = redis::cmd("ZRANGEBYSCORE");
        cmd.arg(self.keys.revoked()).arg(since).arg("+inf");
        self.query(cmd).await
    }

    async fn hit(&self, key: &str, window_secs: u64, now: u64) -> Result<u64, StoreError> {
        let window = window_secs.max(1);
        let start = now - now % window;
        let ttl = keys::ttl_until(start.saturating_add(window), now);
        let mut inv = scripts::HIT.prepare_invoke();
        inv.key(self.keys.counter(key)).arg(start).arg(ttl);
        self.script(inv).await
    }

    async fn peek(&self, key: &str, window_secs: u64, now: u64) -> Result<u64, StoreError> {
        let window = window_secs.max(1);
        let start = now - now % window;
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(self.keys.counter(key)).arg("w").arg("n");
        let (w, n): (Option<u64>, Option<u64>) = self.query(cmd).await?;
        Ok(match (w, n) {
            (Some(w), Some(n)) if w >= start => n,
            _ => 0,
        })
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.keys.counter(key));
        self.query(cmd).await
    }

    async fn purge_expired(&self, now: u64) -> Result<u64, StoreError> {
        self.purge(now).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.query(redis::cmd("PING")).await
    }

    async fn count_live(&self, now: u64) -> Result<u64, StoreError> {
        self.count_live_sessions(now).await
    }
}

#[cfg(test)]
mod tests;

/// Private Redis deployments (Cluster, Sentinel) for unit tests; the
/// integration tests use the same file.
#[cfg(test)]
#[allow(dead_code)]
#[path = "../../../tests/it/common/redis_procs.rs"]
mod procs;
