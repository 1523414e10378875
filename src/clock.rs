//! Time as a parameter: token expiry, grace windows and rate limits read the
//! clock through this trait so tests can move time without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// Seconds since the Unix epoch (0 for times before it).
    fn unix(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug)]
pub struct ManualClock {
    unix_millis: AtomicU64,
}

impl ManualClock {
    /// A manual clock at the given Unix time in seconds.
    pub fn at_unix(secs: u64) -> Self {
        Self {
            unix_millis: AtomicU64::new(secs * 1000),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.unix_millis
            .fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.unix_millis.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manual clock moves only when advanced.
    #[test]
    fn manual_clock_advances() {
        let c = ManualClock::at_unix(1_000);
        assert_eq!(c.unix(), 1_000);
        c.advance(Duration::from_secs(61));
        assert_eq!(c.unix(), 1_061);
    }
}
