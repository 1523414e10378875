//! Revocation fan-out: every revocation is published on
//! `P:revocations`; each instance subscribes and feeds its in-memory set.
//! Pub/sub delivers at most once and only to connected subscribers, so after
//! every (re)subscription the subscriber gets [`RevocationEvent::Resync`]
//! and re-reads [`SessionStore::revoked_since`](crate::session::SessionStore::revoked_since).
//!
//! Where it subscribes depends on the deployment: the one server, the
//! primary the sentinels name at each attempt (a failover closes the old
//! primary's connections, so the subscriber moves and resyncs), or one
//! Cluster node (PUBLISH reaches every node; a dead node's successor in the
//! seed list is tried next).

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::sync::mpsc;

use super::RedisStore;
use super::conn::PubSubSource;
use crate::session::{StoreError, well_formed_id};

/// First wait before reconnecting; doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often an idle subscription PINGs, to notice a half-open connection.
const PING_EVERY: Duration = Duration::from_secs(5);
/// Events buffered for a slow reader before the subscriber waits.
const CHANNEL_CAPACITY: usize = 1024;

/// What a revocation subscription yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationEvent {
    /// (Re)subscribed: messages may have been missed while disconnected;
    /// re-read `revoked_since` for the retention window.
    Resync,
    /// This session was revoked (by any instance, this one included).
    Revoked(String),
}

impl RedisStore {
    /// Announces a revocation to every subscribed instance.
    pub async fn publish_revocation(&self, session_id: &str) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(self.keys.channel()).arg(session_id);
        self.query(cmd).await
    }

    /// Publishes, logging instead of failing: used where the revocation is
    /// already stored and the caller must still get its primary answer;
    /// subscribers catch up at their next resync.
    pub(super) async fn publish_best_effort(&self, session_id: &str) {
        if let Err(e) = self.publish_revocation(session_id).await {
            tracing::warn!(error = %e, "store.revocation_publish_failed");
        }
    }

    /// Subscribes to revocations in a background task that reconnects with
    /// backoff (100 ms doubling to 5 s) and sends [`RevocationEvent::Resync`]
    /// after each successful subscription. The task ends when the receiver
    /// is dropped. Outside a Tokio runtime no task can run: the receiver is
    /// returned already closed (and an error is logged).
    pub fn subscribe_revocations(&self) -> mpsc::Receiver<RevocationEvent> {
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let sub = Subscriber {
            source: std::sync::Arc::clone(&self.pubsub),
            channel: self.keys.channel(),
            timeout: self.timeout,
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(sub.run(tx));
            }
            Err(_) => tracing::error!("store.subscribe_outside_runtime"),
        }
        rx
    }
}

/// The background subscriber's settings.
struct Subscriber {
    source: std::sync::Arc<PubSubSource>,
    channel: String,
    timeout: Duration,
}

impl Subscriber {
    /// Connect, subscribe, forward; on any failure wait and start over.
    async fn run(self, tx: mpsc::Sender<RevocationEvent>) {
        let mut backoff = MIN_BACKOFF;
        loop {
            if let Some((sink, stream)) = self.subscribe().await {
                let since = Instant::now();
                if tx.send(RevocationEvent::Resync).await.is_err() {
                    return;
                }
                if !self.forward(sink, stream, &tx).await {
                    return;
                }
                // A connection that held for a while earns a fresh backoff;
                // one dropped at once keeps growing it (no resync storm).
                if since.elapsed() >= MAX_BACKOFF {
                    backoff = MIN_BACKOFF;
                }
                tracing::warn!("store.revocation_subscription_lost");
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = tx.closed() => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// A subscribed pub/sub connection, or `None` within the timeout.
    async fn subscribe(&self) -> Option<(PubSubSink, PubSubStream)> {
        let attempt = async {
            // Asked again at every attempt: after a failover (Sentinel) or a
            // node's death (Cluster) the next attempt goes elsewhere.
            let client = self.source.client().await?;
            let (mut sink, stream) = client.get_async_pubsub().await?.split();
            sink.subscribe(&self.channel).await?;
            Ok::<_, redis::RedisError>((sink, stream))
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok(pair)) => Some(pair),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "store.revocation_subscribe_failed");
                None
            }
            Err(_) => None,
        }
    }

    /// Forwards messages until the connection fails (true) or the receiver
    /// is gone (false).
    async fn forward(
        &self,
        mut sink: PubSubSink,
        mut stream: PubSubStream,
        tx: &mpsc::Sender<RevocationEvent>,
    ) -> bool {
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        let mut moves = self.source.moves();
        loop {
            tokio::select! {
                () = moved(&mut moves) => return true,
                msg = stream.next() => {
                    let Some(msg) = msg else { return true };
                    let Ok(sid) = msg.get_payload::<String>() else { continue };
                    if well_formed_id(&sid) && tx.send(RevocationEvent::Revoked(sid)).await.is_err() {
                        return false;
                    }
                }
                _ = ping.tick() => {
                    let pong = tokio::time::timeout(self.timeout, sink.ping::<redis::Value>()).await;
                    if !matches!(pong, Ok(Ok(_))) {
                        return true;
                    }
                }
                () = tx.closed() => return false,
            }
        }
    }
}

/// Resolves when `moves` changes (the primary moved); never without one.
async fn moved(moves: &mut Option<tokio::sync::watch::Receiver<u64>>) {
    if let Some(rx) = moves
        && rx.changed().await.is_ok()
    {
        return;
    }
    std::future::pending().await
}
