//! The primary of a Sentinel-monitored deployment, followed across
//! failovers.
//!
//! The sentinels are asked for the primary's address when the first command
//! runs; one multiplexed connection to it is then shared. When a command
//! fails because that connection broke, or because the node answers
//! `READONLY` (an old primary demoted to replica: its connections may
//! survive the failover), the connection is dropped, the sentinels are asked
//! again and the command is retried once on the node they name now. A
//! retried write may have run on the old primary before the connection
//! broke; a failover discards such unreplicated writes anyway, and the
//! store's scripts are written to be safe to run again where that matters
//! (a second `revoke` is a no-op; a repeated counter hit counts twice).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError};

use futures_util::FutureExt;
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::sentinel::SentinelClient;
use redis::{
    AsyncConnectionConfig, Client, Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult,
    ServerErrorKind, Value,
};

/// The primary's connection, shared by clones.
#[derive(Clone)]
pub(crate) struct PrimaryConn {
    inner: Arc<Inner>,
}

struct Inner {
    /// Asks the sentinels; the lock also makes concurrent callers wait for
    /// one resolution instead of each starting their own.
    sentinels: tokio::sync::Mutex<SentinelClient>,
    current: std::sync::Mutex<Option<Current>>,
    config: AsyncConnectionConfig,
    generations: AtomicU64,
}

/// One resolved primary connection; `generation` tells whether a failed
/// caller's connection is still the current one.
#[derive(Clone)]
struct Current {
    generation: u64,
    conn: MultiplexedConnection,
}

impl PrimaryConn {
    /// Resolves lazily through `sentinels`; data-node connections use
    /// `config`'s timeouts.
    pub(crate) fn new(sentinels: SentinelClient, config: AsyncConnectionConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                sentinels: tokio::sync::Mutex::new(sentinels),
                current: std::sync::Mutex::new(None),
                config,
                generations: AtomicU64::new(0),
            }),
        }
    }

    /// A client for the node the sentinels name primary now (for pub/sub,
    /// which needs its own connection).
    pub(crate) async fn primary_client(&self) -> RedisResult<Client> {
        self.inner.sentinels.lock().await.async_get_client().await
    }

    /// The current connection, resolving and connecting if there is none.
    async fn current(&self) -> RedisResult<Current> {
        if let Some(c) = self.cached() {
            return Ok(c);
        }
        let mut sentinels = self.inner.sentinels.lock().await;
        if let Some(c) = self.cached() {
            return Ok(c); // another caller resolved while we waited
        }
        let client = sentinels.async_get_client().await?;
        let conn = client
            .get_multiplexed_async_connection_with_config(&self.inner.config)
            .await?;
        let current = Current {
            generation: self.inner.generations.fetch_add(1, Ordering::Relaxed) + 1,
            conn,
        };
        *self.slot() = Some(current.clone());
        tracing::debug!(
            generation = current.generation,
            "store.redis_primary_resolved"
        );
        Ok(current)
    }

    fn cached(&self) -> Option<Current> {
        self.slot().clone()
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Current>> {
        // Nothing panics while holding the lock; recover the value anyway.
        self.inner
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops the connection of `generation` if it is still the current one.
    fn forget(&self, generation: u64) {
        let mut slot = self.slot();
        if slot.as_ref().is_some_and(|c| c.generation == generation) {
            *slot = None;
        }
    }

    /// Runs `op` on the current primary; on a broken connection or a
    /// READONLY answer, re-resolves and runs it once more.
    async fn run<T>(
        &self,
        op: impl Fn(MultiplexedConnection) -> RedisFuture<'static, T>,
        stale: impl Fn(&RedisResult<T>) -> bool,
    ) -> RedisResult<T> {
        let first = self.current().await?;
        let generation = first.generation;
        let answer = op(first.conn).await;
        if !stale(&answer) {
            return answer;
        }
        self.forget(generation);
        tracing::info!("store.redis_primary_lost");
        let second = self.current().await?;
        op(second.conn).await
    }
}

impl ConnectionLike for PrimaryConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        async move {
            let op = |mut c: MultiplexedConnection| {
                let cmd = cmd.clone();
                async move { c.req_packed_command(&cmd).await }.boxed()
            };
            self.run(op, |r| match r {
                Ok(v) => value_is_readonly(v),
                Err(e) => needs_new_primary(e),
            })
            .await
        }
        .boxed()
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        async move {
            let op = |mut c: MultiplexedConnection| {
                let pipeline = pipeline.clone();
                async move { c.req_packed_commands(&pipeline, offset, count).await }.boxed()
            };
            self.run(op, |r| match r {
                Ok(values) => values.iter().any(value_is_readonly),
                Err(e) => needs_new_primary(e),
            })
            .await
        }
        .boxed()
    }

    fn get_db(&self) -> i64 {
        0
    }
}

/// True for errors after which the connection cannot be trusted to reach
/// the primary: a broken or refused connection, or READONLY.
pub(crate) fn needs_new_primary(e: &RedisError) -> bool {
    is_readonly(e) || e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error()
}

/// READONLY as a command's error, or inside a script's error (Redis reports
/// a refused write in a script as the script's failure, quoting it).
fn is_readonly(e: &RedisError) -> bool {
    e.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly)
        || e.code() == Some("READONLY")
        || e.detail().is_some_and(|d| d.contains("READONLY"))
}

fn value_is_readonly(v: &Value) -> bool {
    match v {
        Value::ServerError(e) => is_readonly(&RedisError::from(e.clone())),
        _ => false,
    }
}
