//! The list of every key the cluster has published, reread at most once
//! per [`VIEW_FRESH_SECS`] by one caller at a time; everyone else gets the
//! last list at once (a JWKS flood costs one Redis read per period, and a
//! slow Redis delays one request, not all).

use std::future::Future;
use std::sync::{Arc, Mutex};

use super::VIEW_FRESH_SECS;
use crate::auth::keys::PublicKey;
use crate::session::StoreError;

/// Keys with the Unix time each expires.
pub(super) type Listed = Vec<(Arc<PublicKey>, u64)>;

/// The last list read and when it was read.
#[derive(Debug, Default)]
pub(super) struct View {
    /// When the list was last (attempted to be) reread; held while rereading.
    read_at: tokio::sync::Mutex<Option<u64>>,
    /// The last list read successfully.
    last: Mutex<Arc<Listed>>,
}

impl View {
    /// The list, rereading it with `reread` first when it is older than
    /// [`VIEW_FRESH_SECS`] at `now` and nobody else is rereading it. A failed
    /// reread keeps the previous list (and counts as an attempt).
    pub(super) async fn read<F, Fut>(&self, now: u64, reread: F) -> Arc<Listed>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Listed, StoreError>>,
    {
        if let Ok(mut read_at) = self.read_at.try_lock()
            && read_at.is_none_or(|at| now >= at + VIEW_FRESH_SECS)
        {
            *read_at = Some(now);
            match reread().await {
                Ok(keys) => *self.lock() = Arc::new(keys),
                Err(e) => tracing::debug!(error = %e, "rereading the cluster's keys failed"),
            }
        }
        Arc::clone(&self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Arc<Listed>> {
        // Only ever holds a swap of one Arc; a poisoned value is still whole.
        self.last.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn key() -> Arc<PublicKey> {
        Arc::clone(crate::auth::keys::test_keys()[0].public())
    }

    /// Rereads once per period; a failure keeps the last good list.
    #[tokio::test]
    async fn rereads_once_per_period_and_keeps_the_last_good_list() {
        let view = View::default();
        let reads = AtomicU32::new(0);
        let ok = || async {
            reads.fetch_add(1, Ordering::SeqCst);
            Ok(vec![(key(), 99)])
        };
        assert_eq!(view.read(10, ok).await.len(), 1);
        assert_eq!(view.read(10, ok).await.len(), 1);
        assert_eq!(reads.load(Ordering::SeqCst), 1, "fresh within the period");
        let failing = || async { Err(StoreError::Unavailable("down".into())) };
        assert_eq!(view.read(10 + VIEW_FRESH_SECS, failing).await.len(), 1);
        view.read(10 + VIEW_FRESH_SECS, ok).await;
        assert_eq!(reads.load(Ordering::SeqCst), 1, "the failure counted");
        view.read(10 + 2 * VIEW_FRESH_SECS, ok).await;
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }
}
