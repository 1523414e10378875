//! Follows Sentinel failovers as they are announced: a sentinel publishes
//! `+switch-master <name> <old-ip> <old-port> <new-ip> <new-port>` when it
//! names a new primary. The old primary keeps accepting writes until the
//! sentinels demote it (seconds later, if it is reachable at all), and
//! writes made there in between are lost at the demotion; so on the
//! announcement the store drops its connection at once, and the next
//! command resolves the new primary. Without an announcement (a sentinel
//! unreachable) the store still moves on the first broken connection or
//! READONLY answer.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;

use super::sentinel::Inner;

/// Wait before resubscribing after a failure.
const RETRY: Duration = Duration::from_secs(1);
/// How often a quiet watch checks whether its store is gone.
const CHECK: Duration = Duration::from_secs(5);
/// The sentinels' channel of primary changes.
const CHANNEL: &str = "+switch-master";

/// Subscribes to a sentinel's announcements until `inner` is dropped,
/// resubscribing (to whichever sentinel answers) after any failure.
pub(super) async fn run(inner: Weak<Inner>) {
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let master = strong.master_name.clone();
        let subscribed = subscribe(&strong).await;
        drop(strong);
        match subscribed {
            Ok(stream) => {
                if !forward(&inner, &master, stream).await {
                    return;
                }
            }
            Err(e) => tracing::debug!(error = %e, "store.sentinel_watch_failed"),
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// A stream of `+switch-master` messages from one sentinel, or an error
/// within [`CHECK`] (the sentinels' lock is never held longer).
async fn subscribe(inner: &Arc<Inner>) -> redis::RedisResult<redis::aio::PubSubStream> {
    let attempt = async {
        let client = inner
            .sentinels
            .lock()
            .await
            .async_get_sentinel_client()
            .await?;
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(CHANNEL).await?;
        Ok(pubsub.into_on_message())
    };
    tokio::time::timeout(CHECK, attempt)
        .await
        .unwrap_or_else(|_| Err((redis::ErrorKind::Io, "sentinel subscribe timed out").into()))
}

/// Acts on announcements for `master` until the stream ends (true: retry)
/// or the store is gone (false).
async fn forward(inner: &Weak<Inner>, master: &str, mut stream: redis::aio::PubSubStream) -> bool {
    let mut check = tokio::time::interval(CHECK);
    loop {
        tokio::select! {
            msg = stream.next() => {
                let Some(msg) = msg else { return true };
                let Ok(text) = msg.get_payload::<String>() else { continue };
                if text.split(' ').next() != Some(master) {
                    continue;
                }
                let Some(inner) = inner.upgrade() else { return false };
                tracing::info!("store.redis_primary_switched");
                inner.switched();
            }
            _ = check.tick() => {
                if inner.strong_count() == 0 {
                    return false;
                }
            }
        }
    }
}
