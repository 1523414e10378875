//! Private Redis deployments for tests: a Cluster of three
//! `redis-server --cluster-enabled yes` nodes, and a primary with one
//! replica watched by one sentinel. Each runs in its own temporary
//! directory on free loopback ports; every process is killed and the
//! directory removed on drop. The library's unit tests compile this file
//! too (`#[path]`), so it uses nothing but std, `redis` and `tempfile`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The master name the test sentinel monitors.
pub const MASTER_NAME: &str = "pc-main";

/// One `redis-server` process, killed on drop.
pub struct Proc {
    child: Option<Child>,
    /// Its loopback port.
    pub port: u16,
}

impl Proc {
    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGKILL and reap (a crash, as far as the others can tell).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free loopback port (bound once, then released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Starts `redis-server` on `port` with `args` (after an optional config
/// file), working in `dir`, and waits until it answers PING.
fn spawn(dir: &Path, port: u16, conf: Option<&Path>, args: &[&str]) -> Proc {
    let mut cmd = Command::new("redis-server");
    if let Some(conf) = conf {
        cmd.arg(conf);
    }
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let proc = Proc {
        child: Some(cmd.spawn().expect("redis-server starts")),
        port,
    };
    wait_until("redis-server answers", || {
        query::<String>(port, &redis::cmd("PING")).is_ok()
    });
    proc
}

/// Flags of a data node that keeps nothing on disk.
const EPHEMERAL: [&str; 4] = ["--save", "", "--appendonly", "no"];

/// One command on a fresh connection to `port`.
pub fn query<T: redis::FromRedisValue>(port: u16, cmd: &redis::Cmd) -> redis::RedisResult<T> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
    let mut conn = client.get_connection_with_timeout(Duration::from_secs(2))?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    cmd.query(&mut conn)
}

/// Polls `ok` every 50 ms for up to 30 s; panics naming `what` after that.
pub fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `field:value` of an INFO section.
pub fn info_field(port: u16, section: &str, field: &str) -> Option<String> {
    let text: String = query(port, redis::cmd("INFO").arg(section)).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_owned())
}

/// Three primaries (no replicas) joined into one Cluster.
pub struct RedisCluster {
    /// The nodes, in the order they were created.
    pub nodes: Vec<Proc>,
    _dir: tempfile::TempDir,
}

impl RedisCluster {
    /// Starts three nodes, joins them with `redis-cli --cluster create` and
    /// waits until every node reports `cluster_state:ok`.
    pub fn start() -> RedisCluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let nodes: Vec<Proc> = (0..3)
            .map(|i| {
                let port = free_port();
                let conf = format!("nodes-{i}.conf");
                let mut args = vec!["--cluster-enabled", "yes", "--cluster-config-file"];
                args.extend([conf.as_str(), "--cluster-node-timeout", "2000"]);
                args.extend(EPHEMERAL);
                spawn(dir.path(), port, None, &args)
            })
            .collect();
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let out = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addrs)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli runs");
        assert!(out.status.success(), "cluster create: {out:?}");
        for n in &nodes {
            wait_until("cluster_state:ok", || {
                query::<String>(n.port, &redis::cmd("CLUSTER").arg("INFO").clone())
                    .is_ok_and(|t| t.contains("cluster_state:ok"))
            });
        }
        RedisCluster { nodes, _dir: dir }
    }

    /// Every node's URL (the seed list).
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(Proc::url).collect()
    }
}

/// A primary, one replica and one sentinel (quorum 1) watching them.
pub struct SentinelDeployment {
    /// The primary at start.
    pub first_primary: Proc,
    /// The replica at start.
    pub first_replica: Proc,
    /// The sentinel.
    pub sentinel: Proc,
    _dir: tempfile::TempDir,
}

impl SentinelDeployment {
    /// Starts the primary, the replica (waiting for its link), then the
    /// sentinel (waiting until it knows the replica, so a failover can
    /// pick it).
    pub fn start() -> SentinelDeployment {
        let dir = tempfile::tempdir().expect("tempdir");
        let primary = spawn(dir.path(), free_port(), None, &EPHEMERAL);
        let primary_port = primary.port.to_string();
        let mut args = vec!["--replicaof", "127.0.0.1", primary_port.as_str()];
        args.extend(EPHEMERAL);
        let replica = spawn(dir.path(), free_port(), None, &args);
        wait_until("replication link up", || {
            info_field(replica.port, "replication", "master_link_status").as_deref() == Some("up")
        });
        let conf = dir.path().join("sentinel.conf");
        let text = format!(
            "sentinel monitor {MASTER_NAME} 127.0.0.1 {primary_port} 1\n\
             sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
             sentinel failover-timeout {MASTER_NAME} 4000\n"
        );
        std::fs::write(&conf, text).expect("sentinel.conf");
        let sentinel = spawn(dir.path(), free_port(), Some(&conf), &["--sentinel"]);
        let deployment = SentinelDeployment {
            first_primary: primary,
            first_replica: replica,
            sentinel,
            _dir: dir,
        };
        wait_until("the sentinel knows the replica", || {
            let replicas: redis::RedisResult<Vec<redis::Value>> = query(
                deployment.sentinel.port,
                redis::cmd("SENTINEL").arg("REPLICAS").arg(MASTER_NAME),
            );
            replicas.is_ok_and(|r| !r.is_empty())
        });
        deployment
    }

    /// The sentinel's URL (what `redis.nodes` lists).
    pub fn sentinel_url(&self) -> String {
        self.sentinel.url()
    }

    /// The port the sentinel names as the primary now, from `SENTINEL
    /// MASTER` (what clients read; it changes at `+switch-master`, when the
    /// failover is complete, a little after `GET-MASTER-ADDR-BY-NAME`).
    pub fn primary_port(&self) -> u16 {
        let flat: Vec<String> = query(
            self.sentinel.port,
            redis::cmd("SENTINEL").arg("MASTER").arg(MASTER_NAME),
        )
        .expect("the sentinel names a primary");
        let port = flat
            .chunks(2)
            .find(|kv| kv[0] == "port")
            .and_then(|kv| kv.get(1))
            .expect("a port field");
        port.parse().expect("a port")
    }

    /// `SENTINEL FAILOVER`, repeated until the sentinel accepts it (it
    /// refuses while it has not yet judged the replica fit); returns the
    /// old primary's port at once.
    pub fn begin_failover(&self) -> u16 {
        let old = self.primary_port();
        wait_until("SENTINEL FAILOVER accepted", || {
            query::<String>(
                self.sentinel.port,
                redis::cmd("SENTINEL").arg("FAILOVER").arg(MASTER_NAME),
            )
            .is_ok()
        });
        old
    }

    /// [`SentinelDeployment::begin_failover`], then waits until the sentinel names the other
    /// node, that node is a primary, and the old one has been demoted to
    /// its replica with a live link. Returns (old, new) ports.
    pub fn failover(&self) -> (u16, u16) {
        let old = self.begin_failover();
        wait_until("the sentinel names a new primary", || {
            self.primary_port() != old
        });
        let new = self.primary_port();
        wait_until("the new primary reports role:master", || {
            info_field(new, "replication", "role").as_deref() == Some("master")
        });
        wait_until("the old primary is demoted with a live link", || {
            info_field(old, "replication", "role").as_deref() == Some("slave")
                && info_field(old, "replication", "master_link_status").as_deref() == Some("up")
        });
        (old, new)
    }
}
