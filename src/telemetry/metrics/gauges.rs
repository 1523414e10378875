//! The gauges that are not simple counters of events: open connections
//! (a guard), live sessions (recounted from the store) and the certificate
//! expiry (computed at each scrape).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Unit;
use tokio_util::sync::CancellationToken;

use super::{Metrics, TLS_CERTIFICATE_EXPIRY};
use crate::clock::SharedClock;
use crate::session::manager::Sessions;

/// How often `auth_active_sessions` is recounted from the store.
pub const SESSION_COUNT_EVERY: Duration = Duration::from_secs(60);

/// The certificate's notAfter before one is known.
pub(super) const UNKNOWN: i64 = i64::MIN;

/// Counts one open connection in `portcullis_open_connections` while alive.
#[derive(Debug)]
pub struct ConnectionGuard(Gauge);

impl ConnectionGuard {
    /// Increments `gauge` until the guard is dropped.
    pub(super) fn open(gauge: &Gauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Metrics {
    /// Recounts live sessions every [`SESSION_COUNT_EVERY`] (the first time
    /// at once) until `shutdown`. The count covers the whole store, so with
    /// Redis every instance reports the same number: aggregate with `max`,
    /// not `sum`. A failed count keeps the last value and logs.
    pub async fn count_sessions(&self, sessions: &Sessions, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(SESSION_COUNT_EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => match sessions.count_live().await {
                    Ok(n) => self.set_active_sessions(n),
                    Err(e) => tracing::warn!(error = %e, "active sessions not counted; keeping the last value"),
                },
                _ = shutdown.cancelled() => return,
            }
        }
    }
}

/// Emits `portcullis_tls_certificate_expiry_days`, computed at scrape time
/// from the recorded notAfter; nothing while no certificate is known.
#[derive(Debug)]
pub(super) struct CertExpiry {
    not_after: Arc<AtomicI64>,
    clock: SharedClock,
    unit: Unit,
}

impl CertExpiry {
    /// Reads the notAfter from `not_after` (Unix seconds or [`UNKNOWN`]).
    pub(super) fn new(not_after: Arc<AtomicI64>, clock: SharedClock) -> Self {
        Self {
            not_after,
            clock,
            unit: Unit::Other("days".into()),
        }
    }
}

impl Collector for CertExpiry {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let not_after = self.not_after.load(Ordering::Relaxed);
        if not_after == UNKNOWN {
            return Ok(());
        }
        let now = i64::try_from(self.clock.unix()).unwrap_or(i64::MAX);
        let days = ConstGauge::new(not_after.saturating_sub(now) as f64 / 86_400.0);
        let metric = encoder.encode_descriptor(
            TLS_CERTIFICATE_EXPIRY.name,
            TLS_CERTIFICATE_EXPIRY.help,
            Some(&self.unit),
            days.metric_type(),
        )?;
        days.encode(metric)
    }
}
