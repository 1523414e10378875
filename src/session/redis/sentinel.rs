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

pub(super) struct Inner {
    /// The monitored master's name (to pick our `+switch-master` events).
    pub(super) master_name: String,
    /// Asks the sentinels; the lock also makes concurrent callers wait for
    /// one resolution instead of each starting their own.
    pub(super) sentinels: tokio::sync::Mutex<SentinelClient>,
    current: std::sync::Mutex<Option<Current>>,
    config: AsyncConnectionConfig,
    generations: AtomicU64,
    /// Bumped at every `+switch-master` of our master (see
    /// [`super::switch_watch`]), so the pub/sub subscriber moves too.
    switches: tokio::sync::watch::Sender<u64>,
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
    /// `config`'s timeouts. Inside a Tokio runtime it also starts watching
    /// the sentinels' `+switch-master` announcements (the task ends when the
    /// last clone is dropped).
    pub(crate) fn new(
        sentinels: SentinelClient,
        master_name: &str,
        config: AsyncConnectionConfig,
    ) -> Self {
        let inner = Arc::new(Inner {
            master_name: master_name.to_owned(),
            sentinels: tokio::sync::Mutex::new(sentinels),
            current: std::sync::Mutex::new(None),
            config,
            generations: AtomicU64::new(0),
            switches: tokio::sync::watch::channel(0).0,
        });
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(super::switch_watch::run(Arc::downgrade(&inner)));
        }
        Self { inner }
    }

    /// Changes at every failover of our master the sentinels announce.
    pub(crate) fn switches(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.switches.subscribe()
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
        self.inner.slot()
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

impl Inner {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Current>> {
        // Nothing panics while holding the lock; recover the value anyway.
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The sentinels announced a new primary: drop the connection (the next
    /// command resolves again) and tell the subscriber.
    pub(super) fn switched(&self) {
        *self.slot() = None;
        self.switches.send_modify(|n| *n += 1);
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

/// Runs a script invocation. When it fails with NOSCRIPT although the
/// invocation loads the script first, the call moved after the load (a
/// retry on a new primary, which lacks the script): it runs once more,
/// loading the script there.
pub(crate) async fn invoke<T: redis::FromRedisValue>(
    inv: &redis::ScriptInvocation<'_>,
    conn: &mut impl ConnectionLike,
) -> RedisResult<T> {
    match inv.invoke_async(conn).await {
        Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
            inv.invoke_async(conn).await
        }
        other => other,
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

#[cfg(test)]
impl PrimaryConn {
    /// Makes `conn` the current connection, as if resolved before a
    /// failover and still open after it.
    fn pin(&self, conn: MultiplexedConnection) {
        *self.slot() = Some(Current {
            generation: self.inner.generations.fetch_add(1, Ordering::Relaxed) + 1,
            conn,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::session::redis::procs::{MASTER_NAME, SentinelDeployment, query};

    /// A connection to a node that has become a replica (as an old
    /// primary after a failover, its connections still open) answers
    /// READONLY to a command, a script and a pipeline; through
    /// [`PrimaryConn`] each is retried on the primary the sentinel names,
    /// where the writes land.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn readonly_from_a_demoted_primary_is_retried_on_the_new_one() {
        let set = tokio::task::spawn_blocking(SentinelDeployment::start);
        let set = set.await.expect("deployment");
        let (old, new) = (set.first_replica.port, set.first_primary.port);
        let stale = Client::open(format!("redis://127.0.0.1:{old}"))
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .expect("connect to the replica");
        let refused: RedisResult<()> = redis::cmd("SET")
            .arg("k")
            .arg("v")
            .query_async(&mut stale.clone())
            .await;
        assert!(is_readonly(&refused.expect_err("READONLY")));

        let sentinels = vec![set.sentinel_url()];
        let client = SentinelClient::build(
            sentinels,
            MASTER_NAME,
            None,
            redis::sentinel::SentinelServerType::Master,
        )
        .expect("sentinel client");
        let config =
            AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(2)));
        let mut primary = PrimaryConn::new(client, MASTER_NAME, config);

        primary.pin(stale.clone());
        let () = redis::cmd("SET")
            .arg("cmd")
            .arg("1")
            .query_async(&mut primary)
            .await
            .expect("command retried");
        primary.pin(stale.clone());
        let script = redis::Script::new("return redis.call('SET', KEYS[1], ARGV[1])");
        let mut inv = script.prepare_invoke();
        inv.key("script").arg("2");
        let _: redis::Value = invoke(&inv, &mut primary).await.expect("script retried");
        primary.pin(stale);
        let () = redis::pipe()
            .cmd("SET")
            .arg("pipe")
            .arg("3")
            .ignore()
            .query_async(&mut primary)
            .await
            .expect("pipeline retried");

        let on_new = move || {
            let got: Vec<Option<String>> =
                query(new, redis::cmd("MGET").arg("cmd").arg("script").arg("pipe")).expect("MGET");
            got
        };
        let got = tokio::task::spawn_blocking(on_new).await.unwrap();
        assert_eq!(got, [Some("1".into()), Some("2".into()), Some("3".into())]);
        drop(set);
    }

    /// After a failover the sentinel announces, writes move to the new
    /// primary at once, while the old one still runs as a primary (the
    /// sentinel demotes it seconds later; writes there would be lost).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn announced_failover_moves_writes_at_once() {
        let set = tokio::task::spawn_blocking(SentinelDeployment::start);
        let set = set.await.expect("deployment");
        let (old, new, sentinel) = (
            set.first_primary.port,
            set.first_replica.port,
            set.sentinel.port,
        );
        let client = SentinelClient::build(
            vec![set.sentinel_url()],
            MASTER_NAME,
            None,
            redis::sentinel::SentinelServerType::Master,
        )
        .expect("sentinel client");
        let config =
            AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(2)));
        let mut primary = PrimaryConn::new(client, MASTER_NAME, config);
        let () = redis::cmd("SET")
            .arg("before")
            .arg("1")
            .query_async(&mut primary)
            .await
            .expect("write before");

        let set = tokio::task::spawn_blocking(move || {
            crate::session::redis::procs::wait_until("the watch subscribed", || {
                query::<String>(sentinel, redis::cmd("CLIENT").arg("LIST"))
                    .is_ok_and(|list| list.contains("cmd=subscribe"))
            });
            set.begin_failover();
            set
        })
        .await
        .unwrap();

        let deadline = std::time::Instant::now() + Duration::from_secs(4);
        let mut n = 0;
        loop {
            n += 1;
            let () = redis::cmd("SET")
                .arg("after")
                .arg(n)
                .query_async(&mut primary)
                .await
                .expect("write after");
            let landed = tokio::task::spawn_blocking(move || {
                query::<Option<u64>>(new, redis::cmd("GET").arg("after"))
                    .ok()
                    .flatten()
                    == Some(n)
                    && info_role(old) == "master"
            });
            if landed.await.unwrap() {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "writes never moved");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        drop(set);
    }

    fn info_role(port: u16) -> String {
        crate::session::redis::procs::info_field(port, "replication", "role").unwrap_or_default()
    }
}
