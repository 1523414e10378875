//! The cluster's public keys, when the store is Redis (DESIGN deployment 4).
//!
//! Each instance signs with its own private key, which never leaves its key
//! directory. [`SharedKeys::publish`] puts the public JWKs of its ring in
//! Redis: the active key for [`SharedKeys::active_ttl`] (longer than any
//! token it signs lives, plus two publication periods, so a stopped
//! instance's tokens stay verifiable until they expire), each retired key
//! until its last token expires. A background task republishes every
//! [`PUBLISH_EVERY`] (sooner after a failure), and rotation publishes the
//! new key *before* signing with it, so a peer never sees a token whose key
//! is not in Redis yet.
//!
//! Verifying a token whose `kid` is not in the local ring
//! ([`SharedKeys::find`]):
//! 1. a kid that is not thumbprint-shaped is refused without a look-up;
//! 2. the moka cache answers hits (until the key's published expiry, at most
//!    [`SharedKeys::active_ttl`]) and misses (for [`MISS_TTL_SECS`]);
//! 3. otherwise one Redis look-up, coalesced per kid by moka (a hundred
//!    requests with the same new kid cost one round trip), and only while
//!    the [`LookupBudget`] of [`LOOKUPS_PER_WINDOW`] per [`LOOKUP_WINDOW_SECS`]
//!    lasts, across all kids: a flood of made-up kids costs at most that many
//!    round trips per window; past it, a kid is searched for in the list of
//!    every published key (reread at most once per [`VIEW_FRESH_SECS`]), so
//!    a real peer's new key is still found while made-up ones cost nothing
//!    more;
//! 4. what Redis holds is parsed with the same strict rules as any JWK
//!    ([`super::parse_jwk`]) and must be the key its kid names (the kid is
//!    the RFC 7638 thumbprint, so a cached kid can never map to another key).
//!
//! Every periodic pass and every JWKS read ([`SharedKeys::cluster_keys`])
//! also lists all published keys and fills the cache. Redis reads per
//! instance are thus bounded by the budget plus one list per
//! [`VIEW_FRESH_SECS`], whatever arrives.
//! Anyone who can write to Redis under the key prefix can add a trusted
//! key: Redis is inside the token trust boundary (as it is for sessions).

mod budget;
mod view;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use budget::LookupBudget;
use view::View;

use super::{KeyError, KeyRing, PublicKey, is_thumbprint_shaped, parse_jwk};
use crate::clock::SharedClock;
use crate::session::{PublishedKey, RedisStore, StoreError};
use crate::telemetry::metrics::{KeyLookup, Metrics};

/// How often an instance republishes its keys and rereads the cluster's.
pub const PUBLISH_EVERY: Duration = Duration::from_secs(60);
/// After a failed publication, the next attempt comes this soon.
pub const RETRY_EVERY: Duration = Duration::from_secs(5);
/// A kid Redis does not have is not asked about again for this long.
pub const MISS_TTL_SECS: u64 = 5;
/// Redis look-ups allowed per [`LOOKUP_WINDOW_SECS`], all kids together.
pub const LOOKUPS_PER_WINDOW: u32 = 10;
/// The look-up budget's window.
pub const LOOKUP_WINDOW_SECS: u64 = 5;
/// The list of every published key is reread at most this often.
pub const VIEW_FRESH_SECS: u64 = 1;
/// Cached kids (hits and misses) kept in memory at most.
const CACHE_CAPACITY: u64 = 10_000;

/// Where published keys live: Redis, or a stand-in in tests.
pub trait KeySource: Send + Sync + 'static {
    /// Publishes `keys`, dated `now`.
    fn publish(
        &self,
        keys: &[PublishedKey],
        now: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The key published under `kid`, if any.
    fn fetch(
        &self,
        kid: &str,
    ) -> impl Future<Output = Result<Option<PublishedKey>, StoreError>> + Send;
    /// Every key published and not expired at `now`.
    fn fetch_all(
        &self,
        now: u64,
    ) -> impl Future<Output = Result<Vec<PublishedKey>, StoreError>> + Send;
}

impl KeySource for RedisStore {
    async fn publish(&self, keys: &[PublishedKey], now: u64) -> Result<(), StoreError> {
        self.publish_keys(keys, now).await
    }

    async fn fetch(&self, kid: &str) -> Result<Option<PublishedKey>, StoreError> {
        self.published_key(kid).await
    }

    async fn fetch_all(&self, now: u64) -> Result<Vec<PublishedKey>, StoreError> {
        self.published_keys(now).await
    }
}

/// What the cache knows about a kid, and until when (Unix seconds).
#[derive(Debug, Clone)]
enum Cached {
    Found(Arc<PublicKey>, u64),
    Missing(u64),
}

impl Cached {
    fn until(&self) -> u64 {
        match self {
            Cached::Found(_, until) | Cached::Missing(until) => *until,
        }
    }

    fn key(self) -> Option<Arc<PublicKey>> {
        match self {
            Cached::Found(key, _) => Some(key),
            Cached::Missing(_) => None,
        }
    }
}

/// Why a look-up produced nothing cacheable.
#[derive(Debug, Clone, Copy)]
enum NotAsked {
    Throttled,
    Unavailable,
}

/// Publishes this instance's keys and finds the other instances' keys.
#[derive(Debug)]
pub struct SharedKeys<S: KeySource = RedisStore> {
    source: S,
    clock: SharedClock,
    grace_secs: u64,
    cache: moka::future::Cache<String, Cached>,
    budget: LookupBudget,
    view: View,
    metrics: Arc<Metrics>,
}

impl<S: KeySource> SharedKeys<S> {
    /// Keys in `source`; `grace_secs` is the longest a token lives (access
    /// lifetime plus leeway).
    pub fn new(source: S, clock: SharedClock, grace_secs: u64, metrics: Arc<Metrics>) -> Self {
        let active_ttl = active_ttl(grace_secs);
        Self {
            source,
            clock,
            grace_secs,
            cache: moka::future::Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .time_to_live(Duration::from_secs(active_ttl))
                .build(),
            budget: LookupBudget::new(LOOKUPS_PER_WINDOW, LOOKUP_WINDOW_SECS),
            view: View::default(),
            metrics,
        }
    }

    /// How long the active key is published for, and the longest a peer's
    /// key is cached: the token lifetime plus two publication periods.
    pub fn active_ttl(&self) -> u64 {
        active_ttl(self.grace_secs)
    }

    /// Publishes every key of `ring`: the active one for
    /// [`SharedKeys::active_ttl`], retired ones until their last token
    /// expires.
    pub async fn publish(&self, ring: &KeyRing) -> Result<(), StoreError> {
        let now = self.clock.unix();
        let longest = self.active_ttl();
        let keys: Vec<PublishedKey> = ring
            .keys()
            .iter()
            .map(|key| PublishedKey {
                kid: key.kid().to_owned(),
                jwk: serde_json::to_string(&key.to_jwk()).unwrap_or_default(),
                ttl_secs: match ring.retired_until(key.kid()) {
                    Some(until) => until.saturating_sub(now).clamp(1, longest),
                    None => longest,
                },
            })
            .collect();
        self.source.publish(&keys, now).await
    }

    /// The peer key named `kid`, from the cache or (budget allowing) Redis.
    pub async fn find(&self, kid: &str) -> Option<Arc<PublicKey>> {
        if !is_thumbprint_shaped(kid) {
            return None;
        }
        let now = self.clock.unix();
        if let Some(cached) = self.cache.get(kid).await {
            if cached.until() > now {
                return cached.key();
            }
            self.cache.invalidate(kid).await;
        }
        let looked_up = self
            .cache
            .try_get_with_by_ref(kid, self.look_up(kid, now))
            .await;
        match looked_up {
            Ok(cached) => cached.key(),
            // Out of budget (a flood of made-up kids, most likely): a real
            // peer's key is still found in the list of every published key,
            // which costs one read per VIEW_FRESH_SECS whatever the flood.
            Err(e) if matches!(*e, NotAsked::Throttled) => {
                self.cluster_keys().await;
                self.cache.get(kid).await.and_then(Cached::key)
            }
            Err(_) => None,
        }
    }

    /// Whether a peer key named `kid` is held in the cache (found, or a
    /// recent miss). Used to keep serving verified-token cache hits for
    /// peers' tokens; a key cached as missing was never used to verify one,
    /// and a verified entry ends at its token's `exp` anyway.
    pub fn holds(&self, kid: &str) -> bool {
        self.cache.contains_key(kid)
    }

    /// One Redis round trip for `kid`, if the budget allows.
    async fn look_up(&self, kid: &str, now: u64) -> Result<Cached, NotAsked> {
        if !self.budget.take(now) {
            self.metrics.key_lookup(KeyLookup::Throttled);
            return Err(NotAsked::Throttled);
        }
        let miss = Cached::Missing(now + MISS_TTL_SECS);
        match self.source.fetch(kid).await {
            Ok(Some(published)) => match self.parse(&published) {
                Ok(key) => {
                    self.metrics.key_lookup(KeyLookup::Found);
                    Ok(Cached::Found(key, self.until(&published, now)))
                }
                Err(e) => {
                    self.metrics.key_lookup(KeyLookup::Invalid);
                    tracing::warn!(kid, error = %e, event = "auth.key.invalid_published", "a published key was refused");
                    Ok(miss)
                }
            },
            Ok(None) => {
                self.metrics.key_lookup(KeyLookup::Missing);
                Ok(miss)
            }
            Err(e) => {
                self.metrics.key_lookup(KeyLookup::Unavailable);
                tracing::debug!(error = %e, "key look-up failed");
                Err(NotAsked::Unavailable)
            }
        }
    }

    /// A published key, checked strictly: the JWK rules, then the kid.
    fn parse(&self, published: &PublishedKey) -> Result<Arc<PublicKey>, KeyError> {
        let key = parse_jwk(&published.jwk)?;
        if key.kid() != published.kid {
            return Err(KeyError::KidNotThumbprint);
        }
        Ok(Arc::new(key))
    }

    /// Until when a published key is trusted: its published expiry, never
    /// beyond what this instance would publish for itself.
    fn until(&self, published: &PublishedKey, now: u64) -> u64 {
        now + published.ttl_secs.min(self.active_ttl())
    }

    /// Every key the cluster has published and not yet expired, for the
    /// JWKS union. Reread from Redis at most once per [`VIEW_FRESH_SECS`]
    /// (one caller at a time); when Redis fails, the last list read, minus
    /// what has expired since.
    pub async fn cluster_keys(&self) -> Vec<Arc<PublicKey>> {
        let now = self.clock.unix();
        self.view
            .read(now, || self.reread(now))
            .await
            .iter()
            .filter(|(_, until)| *until > now)
            .map(|(key, _)| Arc::clone(key))
            .collect()
    }

    /// Lists every published key, parses the ones not cached yet, and
    /// caches them all (so their kids need no look-up of their own).
    async fn reread(&self, now: u64) -> Result<view::Listed, StoreError> {
        let mut keys = Vec::new();
        for published in self.source.fetch_all(now).await? {
            let key = match self.cache.get(&published.kid).await {
                Some(Cached::Found(key, _)) => Ok(key),
                _ => self.parse(&published),
            };
            match key {
                Ok(key) => {
                    let until = self.until(&published, now);
                    keys.push((Arc::clone(&key), until));
                    self.cache
                        .insert(published.kid, Cached::Found(key, until))
                        .await;
                }
                Err(e) => {
                    tracing::warn!(kid = %published.kid, error = %e, event = "auth.key.invalid_published", "a published key was refused");
                }
            }
        }
        Ok(keys)
    }

    /// Republishes `ring`'s keys every [`PUBLISH_EVERY`] (every
    /// [`RETRY_EVERY`] after a failure) and whenever the ring changes, and
    /// rereads the cluster's keys, until `shutdown`.
    pub fn spawn(
        self: Arc<Self>,
        mut ring: watch::Receiver<Arc<KeyRing>>,
        shutdown: CancellationToken,
    ) {
        tokio::spawn(async move {
            loop {
                let current = ring.borrow_and_update().clone();
                let wait = match self.publish(&current).await {
                    Ok(()) => PUBLISH_EVERY,
                    Err(e) => {
                        tracing::warn!(error = %e, "publishing the public keys failed; retrying soon");
                        RETRY_EVERY
                    }
                };
                self.cluster_keys().await;
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    changed = ring.changed() => if changed.is_err() { return },
                    () = shutdown.cancelled() => return,
                }
            }
        });
    }
}

/// The active key's publication TTL for tokens living `grace_secs`.
fn active_ttl(grace_secs: u64) -> u64 {
    grace_secs + 2 * PUBLISH_EVERY.as_secs()
}

#[cfg(test)]
mod tests;
