//! [`Store`]: the backend chosen in the configuration, as the gateway holds it.

use tokio::sync::mpsc;

use super::{
    EmbeddedStore, RedisStore, RefreshHash, RevocationEvent, Rotation, Session, SessionStore,
    StoreError,
};

/// One of the backends; implements [`SessionStore`] by delegation.
#[derive(Debug, Clone)]
pub enum Store {
    /// The redb file in the data directory (single instance, the default).
    Embedded(EmbeddedStore),
    /// Redis, shared by every instance.
    Redis(RedisStore),
}

impl Store {
    /// Revocations made by other instances, pushed by Redis pub/sub (see
    /// [`RedisStore::subscribe_revocations`]); `None` for the embedded
    /// store, where this process makes every revocation itself.
    pub fn subscribe_revocations(&self) -> Option<mpsc::Receiver<RevocationEvent>> {
        match self {
            Store::Embedded(_) => None,
            Store::Redis(r) => Some(r.subscribe_revocations()),
        }
    }
}

/// Forwards one call to whichever backend is inside.
macro_rules! delegate {
    ($self:ident, $method:ident($($arg:expr),*)) => {
        match $self {
            Store::Embedded(s) => s.$method($($arg),*).await,
            Store::Redis(s) => s.$method($($arg),*).await,
        }
    };
}

impl SessionStore for Store {
    async fn create(
        &self,
        session: &Session,
        refresh: &RefreshHash,
        limit: usize,
        now: u64,
    ) -> Result<Vec<String>, StoreError> {
        delegate!(self, create(session, refresh, limit, now))
    }

    async fn rotate(
        &self,
        presented: &RefreshHash,
        successor: &RefreshHash,
        now: u64,
        grace_secs: u64,
    ) -> Result<Rotation, StoreError> {
        delegate!(self, rotate(presented, successor, now, grace_secs))
    }

    async fn get(&self, session_id: &str) -> Result<Option<Session>, StoreError> {
        delegate!(self, get(session_id))
    }

    async fn list(&self, user: &str, now: u64) -> Result<Vec<Session>, StoreError> {
        delegate!(self, list(user, now))
    }

    async fn revoke(&self, session_id: &str, now: u64) -> Result<bool, StoreError> {
        delegate!(self, revoke(session_id, now))
    }

    async fn revoke_all(&self, user: &str, now: u64) -> Result<Vec<String>, StoreError> {
        delegate!(self, revoke_all(user, now))
    }

    async fn revoked_since(&self, since: u64) -> Result<Vec<String>, StoreError> {
        delegate!(self, revoked_since(since))
    }

    async fn hit(&self, key: &str, window_secs: u64, now: u64) -> Result<u64, StoreError> {
        delegate!(self, hit(key, window_secs, now))
    }

    async fn peek(&self, key: &str, window_secs: u64, now: u64) -> Result<u64, StoreError> {
        delegate!(self, peek(key, window_secs, now))
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        delegate!(self, reset(key))
    }

    async fn purge_expired(&self, now: u64) -> Result<u64, StoreError> {
        delegate!(self, purge_expired(now))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        delegate!(self, ping())
    }

    async fn count_live(&self, now: u64) -> Result<u64, StoreError> {
        delegate!(self, count_live(now))
    }
}
