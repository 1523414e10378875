//! Rate limits per client IP and per account. In one process the counters
//! live in memory (governor's GCRA); with the Redis store they live in Redis
//! (fixed windows, one atomic script per hit), so a client cannot multiply
//! its budget by the number of instances.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::clock::SharedClock;
use crate::config::RateLimitConfig;
use crate::session::{SessionStore, Store};

/// What is being limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `POST /auth/login` per client IP.
    LoginIp,
    /// `POST /auth/login` per username.
    LoginAccount,
    /// `POST /auth/refresh` per client IP.
    RefreshIp,
    /// Proxied requests per client IP.
    ProxyIp,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::LoginIp => "login_ip",
            Kind::LoginAccount => "login_account",
            Kind::RefreshIp => "refresh_ip",
            Kind::ProxyIp => "proxy_ip",
        }
    }
}

/// Over the limit: retry after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// Time until the next request may pass.
    pub retry_after: Duration,
}

/// One limit's counters.
enum Counters {
    Local(DefaultKeyedRateLimiter<String>),
    Shared { per_minute: u32 },
}

/// Every configured limit, with the backend chosen by the store.
pub struct RateLimiter {
    limits: Vec<(Kind, Counters)>,
    store: Option<Store>,
    clock: SharedClock,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<_> = self.limits.iter().map(|(k, _)| *k).collect();
        f.debug_struct("RateLimiter")
            .field("limits", &kinds)
            .field("shared", &self.store.is_some())
            .finish()
    }
}

impl RateLimiter {
    /// Limits from configuration; `shared` is the Redis store when counters
    /// must hold across instances.
    pub fn new(cfg: &RateLimitConfig, shared: Option<Store>, clock: SharedClock) -> Self {
        let wanted = [
            (Kind::LoginIp, cfg.login_per_ip),
            (Kind::LoginAccount, cfg.login_per_account),
            (Kind::RefreshIp, cfg.refresh_per_ip),
            (Kind::ProxyIp, cfg.proxy_per_ip),
        ];
        let limits = wanted
            .into_iter()
            .filter_map(|(kind, per_minute)| {
                let n = NonZeroU32::new(per_minute?)?;
                let counters = match shared {
                    Some(_) => Counters::Shared {
                        per_minute: n.get(),
                    },
                    None => Counters::Local(DefaultKeyedRateLimiter::keyed(Quota::per_minute(n))),
                };
                Some((kind, counters))
            })
            .collect();
        Self {
            limits,
            store: shared,
            clock,
        }
    }

    /// True when `kind` is limited at all.
    pub fn enabled(&self, kind: Kind) -> bool {
        self.limits.iter().any(|(k, _)| *k == kind)
    }

    /// Counts one request from client address `ip` (see [`ip_key`]).
    pub async fn check_ip(&self, kind: Kind, ip: IpAddr) -> Result<(), Limited> {
        self.check(kind, &ip_key(ip)).await
    }

    /// Counts one request for `key`; `Err` when over the limit. A shared
    /// store that is down lets the request through (the store's own callers
    /// answer 503 where it matters); proxied traffic never fails on it.
    pub async fn check(&self, kind: Kind, key: &str) -> Result<(), Limited> {
        let Some((_, counters)) = self.limits.iter().find(|(k, _)| *k == kind) else {
            return Ok(());
        };
        match counters {
            Counters::Local(limiter) => {
                limiter
                    .check_key(&key.to_string())
                    .map_err(|not_until| Limited {
                        retry_after: not_until.wait_time_from(DefaultClock::default().now()),
                    })
            }
            Counters::Shared { per_minute } => {
                Box::pin(self.check_shared(kind, key, *per_minute)).await
            }
        }
    }

    async fn check_shared(&self, kind: Kind, key: &str, per_minute: u32) -> Result<(), Limited> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let now = self.clock.unix();
        match store
            .hit(&format!("rl:{}:{key}", kind.name()), 60, now)
            .await
        {
            Ok(n) if n > u64::from(per_minute) => Err(Limited {
                retry_after: Duration::from_secs(60 - now % 60),
            }),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "rate-limit store unavailable; request allowed");
                Ok(())
            }
        }
    }

    /// Forgets idle in-memory keys (call periodically).
    pub fn shrink(&self) {
        for (_, c) in &self.limits {
            if let Counters::Local(l) = c {
                l.retain_recent();
                l.shrink_to_fit();
            }
        }
    }
}

/// The counter key of a client address: an IPv4 address itself, an IPv6
/// address its /64 network, since one subscriber holds a whole /64 and
/// could otherwise multiply its budget by 2^64.
pub fn ip_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{net}/64")
        }
    }
}

/// Keeps the in-memory tables small until `shutdown`.
pub fn spawn_maintenance(limiter: Arc<RateLimiter>, shutdown: tokio_util::sync::CancellationToken) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = tick.tick() => limiter.shrink(),
                _ = shutdown.cancelled() => return,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    fn cfg(login_per_ip: u64) -> RateLimitConfig {
        RateLimitConfig {
            login_per_ip: NonZeroU32::new(login_per_ip as u32).map(|n| n.get()),
            login_per_account: None,
            refresh_per_ip: None,
            proxy_per_ip: None,
        }
    }

    /// IPv6 clients are counted per /64; IPv4 (mapped or not) per address.
    #[test]
    fn ip_keys() {
        for (ip, key) in [
            ("203.0.113.9", "203.0.113.9"),
            ("::ffff:203.0.113.9", "203.0.113.9"),
            ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
            ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
            ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
            ("::1", "::/64"),
        ] {
            assert_eq!(ip_key(ip.parse().unwrap()), key, "{ip}");
        }
    }

    /// The in-memory limiter allows the quota, then refuses with a retry time;
    /// other keys and other kinds are unaffected.
    #[tokio::test]
    async fn local_limit_refuses_past_quota() {
        let rl = RateLimiter::new(&cfg(3), None, Arc::new(SystemClock));
        for _ in 0..3 {
            assert!(rl.check(Kind::LoginIp, "1.2.3.4").await.is_ok());
        }
        let limited = rl.check(Kind::LoginIp, "1.2.3.4").await.unwrap_err();
        assert!(
            limited.retry_after > Duration::ZERO && limited.retry_after <= Duration::from_secs(20)
        );
        assert!(rl.check(Kind::LoginIp, "5.6.7.8").await.is_ok());
        assert!(rl.check(Kind::RefreshIp, "1.2.3.4").await.is_ok());
        assert!(!rl.enabled(Kind::ProxyIp));
    }
}
