//! Session life cycle on top of a store: start at login, rotate on refresh,
//! revoke, list; keeps the in-memory revocation set current.

use std::time::Duration;

use super::refresh_token::RefreshToken;
use super::revocations::{RevocationSet, SessionWatch};
use super::{RevocationEvent, Rotation, Session, SessionStore, Store, StoreError};
use crate::auth::service::random_id;
use crate::clock::SharedClock;
use crate::config::SessionConfig;

/// Longest user agent kept with a session.
const MAX_USER_AGENT: usize = 256;

/// The result of presenting a refresh token.
#[derive(Debug)]
pub enum Refreshed {
    /// A usable session with its new refresh token.
    Ok(Session, RefreshToken),
    /// The token was replayed after the grace window: the session is revoked.
    Reused(Session),
    /// Unknown, revoked or expired.
    Invalid,
}

/// Sessions, their store and the revocation set.
#[derive(Debug)]
pub struct Sessions {
    store: Store,
    revoked: RevocationSet,
    cfg: SessionConfig,
    clock: SharedClock,
}

impl Sessions {
    /// Wraps an opened store; `keep` is how long a revoked id must be
    /// remembered (the longest access-token life plus leeway).
    pub async fn new(
        store: Store,
        cfg: SessionConfig,
        clock: SharedClock,
        keep: Duration,
    ) -> Result<Self, StoreError> {
        let revoked = RevocationSet::new(keep);
        let since = clock.unix().saturating_sub(keep.as_secs());
        for sid in store.revoked_since(since).await? {
            revoked.insert(&sid);
        }
        Ok(Self {
            store,
            revoked,
            cfg,
            clock,
        })
    }

    /// The store, for counters and health checks.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// True when `sid` was revoked; no store round trip.
    pub fn is_revoked(&self, sid: &str) -> bool {
        self.revoked.contains(sid)
    }

    /// A watch that completes when `sid` is revoked, for connections that
    /// outlive their request (WebSocket tunnels).
    pub fn watch(&self, sid: &str) -> SessionWatch {
        self.revoked.watch(sid)
    }

    /// Marks ids revoked locally (revocations learned from elsewhere).
    pub fn mark_revoked(&self, sids: &[String]) {
        for sid in sids {
            self.revoked.insert(sid);
        }
    }

    /// Starts a session at login; returns it, its first refresh token and
    /// the ids of sessions evicted by the per-user limit.
    pub async fn start(
        &self,
        user: &str,
        user_agent: &str,
        ip: &str,
    ) -> Result<(Session, RefreshToken, Vec<String>), StoreError> {
        let now = self.clock.unix();
        let id = random_id();
        let session = Session {
            family: random_id(),
            user: user.to_string(),
            user_agent: truncate(user_agent, MAX_USER_AGENT),
            ip: ip.to_string(),
            created: now,
            last_used: now,
            expires_at: now + self.cfg.refresh_lifetime.as_secs(),
            idle_timeout_secs: self.cfg.idle_timeout.as_secs(),
            revoked: false,
            id,
        };
        let token = RefreshToken::generate(&session.id);
        let evicted = self
            .store
            .create(&session, &token.hash(), self.cfg.max_per_user, now)
            .await?;
        self.mark_revoked(&evicted);
        Ok((session, token, evicted))
    }

    /// Rotates a refresh token (see [`Rotation`]).
    pub async fn refresh(&self, presented: &RefreshToken) -> Result<Refreshed, StoreError> {
        let successor = RefreshToken::generate(presented.session_id());
        let now = self.clock.unix();
        let grace = self.cfg.reuse_grace.as_secs();
        Ok(
            match self
                .store
                .rotate(&presented.hash(), &successor.hash(), now, grace)
                .await?
            {
                Rotation::Rotated(s) | Rotation::Grace(s) => Refreshed::Ok(s, successor),
                Rotation::Reused(s) => {
                    self.revoked.insert(&s.id);
                    Refreshed::Reused(s)
                }
                Rotation::Invalid => {
                    self.log_if_expired(presented.session_id(), now).await;
                    Refreshed::Invalid
                }
            },
        )
    }

    /// After a refused refresh: when the token's session still exists but
    /// has expired (absolute or idle), says so with its user and id. A
    /// store that already dropped it (Redis TTL) has nothing to report.
    async fn log_if_expired(&self, sid: &str, now: u64) {
        if let Ok(Some(s)) = self.store.get(sid).await
            && !s.revoked
            && !s.is_live(now)
        {
            tracing::info!(event = "auth.session.expired", user = %crate::telemetry::Masked(&s.user), sid = %s.id, "refresh refused: the session has expired");
        }
    }

    /// One session.
    pub async fn get(&self, sid: &str) -> Result<Option<Session>, StoreError> {
        self.store.get(sid).await
    }

    /// The user's live sessions, oldest first.
    pub async fn list(&self, user: &str) -> Result<Vec<Session>, StoreError> {
        self.store.list(user, self.clock.unix()).await
    }

    /// Revokes one session.
    pub async fn revoke(&self, sid: &str) -> Result<bool, StoreError> {
        let found = self.store.revoke(sid, self.clock.unix()).await?;
        self.revoked.insert(sid);
        Ok(found)
    }

    /// Revokes every session of a user.
    pub async fn revoke_all(&self, user: &str) -> Result<Vec<String>, StoreError> {
        let ids = self.store.revoke_all(user, self.clock.unix()).await?;
        self.mark_revoked(&ids);
        Ok(ids)
    }

    /// Revokes every session of a user but `keep`; returns the revoked ids.
    pub async fn revoke_others(&self, user: &str, keep: &str) -> Result<Vec<String>, StoreError> {
        let mut revoked = Vec::new();
        for s in self.list(user).await? {
            if s.id != keep && self.revoke(&s.id).await? {
                revoked.push(s.id);
            }
        }
        Ok(revoked)
    }

    /// Follows revocations made by other instances (Redis pub/sub) until
    /// `shutdown`; after every (re)subscription re-reads the recent ones, so
    /// nothing missed while disconnected stays valid.
    pub async fn follow_revocations(
        &self,
        keep: Duration,
        shutdown: tokio_util::sync::CancellationToken,
    ) {
        let Some(mut events) = self.store.subscribe_revocations() else {
            return;
        };
        loop {
            let event = tokio::select! {
                e = events.recv() => e,
                _ = shutdown.cancelled() => return,
            };
            match event {
                Some(RevocationEvent::Revoked(sid)) => self.revoked.insert(&sid),
                Some(RevocationEvent::Resync) => {
                    let since = self.clock.unix().saturating_sub(keep.as_secs());
                    match self.store.revoked_since(since).await {
                        Ok(ids) => self.mark_revoked(&ids),
                        Err(e) => {
                            tracing::warn!(error = %e, "revocation resync failed; will retry on the next reconnect")
                        }
                    }
                }
                None => return,
            }
        }
    }

    /// Deletes expired sessions every minute until `shutdown`.
    pub async fn purge_periodically(&self, shutdown: tokio_util::sync::CancellationToken) {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = tick.tick() => match self.store.purge_expired(self.clock.unix()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(event = "auth.session.expired", purged = n, "expired sessions purged"),
                    Err(e) => tracing::warn!(error = %e, "session purge failed; retrying later"),
                },
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// How many sessions are live now, in the whole store (every instance's).
    pub async fn count_live(&self) -> Result<u64, StoreError> {
        self.store.count_live(self.clock.unix()).await
    }

    /// Session settings.
    pub fn settings(&self) -> &SessionConfig {
        &self.cfg
    }
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}
