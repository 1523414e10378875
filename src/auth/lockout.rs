//! Account lockout: after `lockout.max_failures` failed logins within a
//! period, the account is locked until that period ends; each further lock
//! within a day doubles the period (up to `lockout.max_secs`). A locked
//! account answers exactly like a wrong password, so lockout reveals nothing
//! about which accounts exist. Counters live in the session store, so they
//! hold across restarts and (with Redis) across instances.

use std::time::Duration;

use crate::clock::SharedClock;
use crate::config::LockoutConfig;
use crate::session::{SessionStore, Store, StoreError};

/// How long the lock level is remembered.
const LEVEL_WINDOW: u64 = 86_400;
/// Highest lock level (the period is capped by `max` long before).
const MAX_LEVEL: u64 = 20;

/// Failed-login bookkeeping over the store.
#[derive(Debug, Clone)]
pub struct Lockout {
    cfg: LockoutConfig,
    store: Store,
    clock: SharedClock,
}

impl Lockout {
    /// Lockout with these settings over `store`.
    pub fn new(cfg: LockoutConfig, store: Store, clock: SharedClock) -> Self {
        Self { cfg, store, clock }
    }

    fn period(&self, level: u64) -> u64 {
        let base = self.cfg.base.as_secs().max(1);
        base.saturating_mul(1 << level.min(MAX_LEVEL))
            .min(self.cfg.max.as_secs().max(base))
    }

    async fn level(&self, user: &str) -> Result<u64, StoreError> {
        self.store
            .peek(&format!("ll:{user}"), LEVEL_WINDOW, self.clock.unix())
            .await
    }

    /// True while the account is locked.
    pub async fn is_locked(&self, user: &str) -> Result<bool, StoreError> {
        if self.cfg.max_failures == 0 {
            return Ok(false);
        }
        let level = self.level(user).await?;
        let now = self.clock.unix();
        for l in [Some(level), level.checked_sub(1)].into_iter().flatten() {
            let n = self
                .store
                .peek(&format!("lf:{user}:{l}"), self.period(l), now)
                .await?;
            if n >= self.cfg.max_failures {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Counts one failed login; locks the account when the limit is reached.
    pub async fn record_failure(&self, user: &str) -> Result<(), StoreError> {
        if self.cfg.max_failures == 0 {
            return Ok(());
        }
        let level = self.level(user).await?;
        let now = self.clock.unix();
        let n = self
            .store
            .hit(&format!("lf:{user}:{level}"), self.period(level), now)
            .await?;
        if n == self.cfg.max_failures {
            self.store
                .hit(&format!("ll:{user}"), LEVEL_WINDOW, now)
                .await?;
            let period = Duration::from_secs(self.period(level));
            tracing::warn!(event = "auth.security.lockout", user = %crate::telemetry::Masked(user), period_secs = period.as_secs(), "account locked after repeated failed logins");
        }
        Ok(())
    }

    /// Clears every counter of the account (successful login, admin unlock).
    pub async fn clear(&self, user: &str) -> Result<(), StoreError> {
        let level = self.level(user).await?;
        for l in 0..=level.min(MAX_LEVEL) {
            self.store.reset(&format!("lf:{user}:{l}")).await?;
        }
        self.store.reset(&format!("ll:{user}")).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::session::EmbeddedStore;

    fn lockout(dir: &std::path::Path, clock: Arc<ManualClock>) -> Lockout {
        let store = Store::Embedded(EmbeddedStore::open(dir.join("s.redb")).unwrap());
        let cfg = LockoutConfig {
            max_failures: 3,
            base: Duration::from_secs(60),
            max: Duration::from_secs(600),
        };
        Lockout::new(cfg, store, clock)
    }

    /// Three failures lock; the lock ends with its period; the next lock lasts
    /// twice as long; a clear unlocks at once.
    #[tokio::test]
    async fn locks_grow_and_clear() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::at_unix(1_700_000_040));
        let l = lockout(dir.path(), clock.clone());
        for _ in 0..3 {
            assert!(!l.is_locked("bob").await.unwrap());
            l.record_failure("bob").await.unwrap();
        }
        assert!(l.is_locked("bob").await.unwrap());
        assert!(
            !l.is_locked("alice").await.unwrap(),
            "other accounts unaffected"
        );
        clock.advance(Duration::from_secs(60));
        assert!(
            !l.is_locked("bob").await.unwrap(),
            "first lock lasts one base period"
        );
        for _ in 0..3 {
            l.record_failure("bob").await.unwrap();
        }
        assert!(l.is_locked("bob").await.unwrap());
        assert_eq!(l.period(1), 120);
        assert_eq!(l.period(9), 600, "capped at max");
        l.clear("bob").await.unwrap();
        assert!(!l.is_locked("bob").await.unwrap());
        assert!(clock.unix() > 0);
    }
}
