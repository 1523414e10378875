//! How the store reaches Redis, by deployment (`redis.mode`): one server
//! through a [`ConnectionManager`], the primary the sentinels name (see
//! [`super::sentinel`]), or a Cluster through [`ClusterConnection`]. [`Conn`]
//! implements [`ConnectionLike`], so every command, pipeline and script of
//! the store runs unchanged on any of them; the store bounds each call with
//! its timeout.
//!
//! [`PubSubSource`] says where the revocation subscriber connects: the one
//! server, the current primary, or any Cluster node (PUBLISH is broadcast to
//! every node of a Cluster, so one subscription anywhere hears everything).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{
    AsyncConnectionConfig, Client, Cmd, IntoConnectionInfo, Pipeline, RedisConnectionInfo,
    RedisFuture, RedisResult, TlsMode, Value,
};

use super::sentinel::PrimaryConn;
use crate::config::RedisTopology;

/// Retries of one Cluster command (redirects, a node that restarts), all
/// within the store's timeout.
const CLUSTER_RETRIES: u32 = 3;

/// One shared, cheaply cloned connection to the deployment.
#[derive(Clone)]
pub(super) enum Conn {
    /// One server, reconnected by the manager.
    Standalone(ConnectionManager),
    /// The current primary, re-resolved through the sentinels.
    Sentinel(PrimaryConn),
    /// Every primary of the Cluster, commands routed by key slot.
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Standalone(c) => c.req_packed_command(cmd),
            Conn::Sentinel(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Standalone(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Sentinel(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Standalone(c) => c.get_db(),
            Conn::Sentinel(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// Where the revocation subscriber connects.
pub(super) enum PubSubSource {
    /// The one server (boxed: a client is large).
    Standalone(Box<Client>),
    /// Whichever node the sentinels name primary at each (re)subscription.
    Sentinel(PrimaryConn),
    /// The Cluster's seed nodes, tried in turn: a dead node's successor is
    /// used at the next attempt.
    Cluster {
        /// One client per seed node.
        nodes: Vec<Client>,
        /// The node of the next attempt (modulo the count).
        next: AtomicUsize,
    },
}

impl PubSubSource {
    /// A client for the next subscription attempt.
    pub(super) async fn client(&self) -> RedisResult<Client> {
        match self {
            PubSubSource::Standalone(c) => Ok(Client::clone(c)),
            PubSubSource::Sentinel(p) => p.primary_client().await,
            PubSubSource::Cluster { nodes, next } => {
                let i = next.fetch_add(1, Ordering::Relaxed) % nodes.len().max(1);
                nodes.get(i).cloned().ok_or_else(|| {
                    redis::RedisError::from((redis::ErrorKind::InvalidClientConfig, "no nodes"))
                })
            }
        }
    }
}

impl PubSubSource {
    /// Changes when the subscription should move (a Sentinel failover);
    /// `None` where nothing announces that.
    pub(super) fn moves(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        match self {
            PubSubSource::Sentinel(p) => Some(p.switches()),
            _ => None,
        }
    }
}

/// The connection and the pub/sub source for `topology`, built without
/// contacting Redis (the first command connects). Fails only on settings
/// the client library refuses (a malformed URL, say).
pub(super) fn open(
    topology: &RedisTopology,
    timeout: Duration,
) -> RedisResult<(Conn, Arc<PubSubSource>)> {
    match topology {
        RedisTopology::Standalone { url } => {
            let client = Client::open(url.as_str())?;
            let cfg = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(timeout))
                .set_response_timeout(Some(timeout))
                .set_number_of_retries(1)
                .set_min_delay(Duration::from_millis(50))
                .set_max_delay(Duration::from_secs(1));
            let conn = ConnectionManager::new_lazy_with_config(client.clone(), cfg)?;
            Ok((
                Conn::Standalone(conn),
                Arc::new(PubSubSource::Standalone(Box::new(client))),
            ))
        }
        RedisTopology::Sentinel {
            sentinels,
            master_name,
            password,
        } => {
            let client = sentinel_client(sentinels, master_name, password.as_deref())?;
            let primary = PrimaryConn::new(client, master_name, connection_config(timeout));
            Ok((
                Conn::Sentinel(primary.clone()),
                Arc::new(PubSubSource::Sentinel(primary)),
            ))
        }
        RedisTopology::Cluster { nodes, password } => cluster(nodes, password.as_deref(), timeout),
    }
}

/// Timeouts of one connection to a data node.
fn connection_config(timeout: Duration) -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
}

/// A client that asks the sentinels for `master_name`'s primary; the data
/// nodes get `password` and TLS when the sentinels' URLs use `rediss://`.
fn sentinel_client(
    sentinels: &[String],
    master_name: &str,
    password: Option<&str>,
) -> RedisResult<SentinelClient> {
    let mut data_node = RedisConnectionInfo::default();
    if let Some(p) = password {
        data_node = data_node.set_password(p);
    }
    let mut node_info = SentinelNodeConnectionInfo::default().set_redis_connection_info(data_node);
    if sentinels.iter().all(|s| s.starts_with("rediss://")) && !sentinels.is_empty() {
        node_info = node_info.set_tls_mode(TlsMode::Secure);
    }
    let infos = sentinels
        .iter()
        .map(|s| s.as_str().into_connection_info())
        .collect::<RedisResult<Vec<_>>>()?;
    SentinelClient::build(
        infos,
        master_name,
        Some(node_info),
        SentinelServerType::Master,
    )
}

/// A lazily connecting Cluster connection and one pub/sub client per seed.
fn cluster(
    nodes: &[String],
    password: Option<&str>,
    timeout: Duration,
) -> RedisResult<(Conn, Arc<PubSubSource>)> {
    let mut builder = ClusterClient::builder(nodes.iter().map(String::as_str))
        .retries(CLUSTER_RETRIES)
        .min_retry_wait(10)
        .max_retry_wait(200)
        .connection_timeout(timeout)
        .response_timeout(timeout);
    if let Some(p) = password {
        builder = builder.password(p);
    }
    let client = builder.build()?;
    let cfg = redis::cluster::ClusterConfig::new()
        .set_connection_timeout(timeout)
        .set_response_timeout(timeout);
    let conn = client.get_pending_async_connection_with_config(cfg);
    let mut subscribers = Vec::with_capacity(nodes.len());
    for node in nodes {
        let mut info = node.as_str().into_connection_info()?;
        if let Some(p) = password {
            let redis = info.redis_settings().clone().set_password(p);
            info = info.set_redis_settings(redis);
        }
        subscribers.push(Client::open(info)?);
    }
    Ok((
        Conn::Cluster(conn),
        Arc::new(PubSubSource::Cluster {
            nodes: subscribers,
            next: AtomicUsize::new(0),
        }),
    ))
}
