//! Redis for integration tests: a random key prefix per test whose keys are
//! deleted afterwards, and a private `redis-server` on a free port that a
//! test may freeze, stop and restart (always killed on drop).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The shared development Redis.
pub const SHARED_URL: &str = "redis://127.0.0.1:6379";

/// A random key prefix on a Redis server; its keys are deleted on drop
/// (SCAN + DEL), whatever the test's outcome.
pub struct Prefix {
    /// The prefix (no glob characters).
    pub name: String,
    url: String,
}

impl Prefix {
    /// A fresh prefix on the server at `url`.
    pub fn new(url: &str) -> Prefix {
        Prefix {
            name: format!("pc-test-{:016x}", rand::random::<u64>()),
            url: url.to_string(),
        }
    }

    /// The `[session]` and `[redis]` TOML for a gateway using this prefix.
    pub fn config(&self, timeout_ms: u64) -> String {
        format!(
            "[session]\nstore = \"redis\"\n[redis]\nurl = \"{}\"\nkey_prefix = \"{}\"\ntimeout_ms = {timeout_ms}\n",
            self.url, self.name
        )
    }

    /// How many keys the prefix holds now.
    pub fn key_count(&self) -> usize {
        self.keys().map(|k| k.len()).unwrap_or(0)
    }

    /// Every key under the prefix with its contents (hash fields and
    /// values, set and sorted-set members, strings), as one text.
    pub fn dump(&self) -> String {
        let client = redis::Client::open(self.url.as_str()).expect("url");
        let mut conn = client
            .get_connection_with_timeout(Duration::from_secs(2))
            .expect("connect");
        let mut out = String::new();
        for key in self.keys().expect("scan") {
            let kind: String = redis::cmd("TYPE").arg(&key).query(&mut conn).expect("TYPE");
            let mut cmd = match kind.as_str() {
                "hash" => redis::cmd("HGETALL"),
                "set" => redis::cmd("SMEMBERS"),
                "zset" => redis::cmd("ZRANGE"),
                "string" => redis::cmd("GET"),
                other => panic!("unexpected key type {other} for {key}"),
            };
            cmd.arg(&key);
            if kind == "zset" {
                cmd.arg(0).arg(-1);
            }
            let values: Vec<String> = if kind == "string" {
                vec![cmd.query(&mut conn).expect("GET")]
            } else {
                cmd.query(&mut conn).expect("read")
            };
            out.push_str(&format!("{key} {}\n", values.join(" ")));
        }
        out
    }

    fn keys(&self) -> redis::RedisResult<Vec<String>> {
        let client = redis::Client::open(self.url.as_str())?;
        let mut conn = client.get_connection_with_timeout(Duration::from_secs(2))?;
        let pattern = format!("{}:*", self.name);
        let iter = redis::cmd("SCAN")
            .cursor_arg(0)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .clone()
            .iter::<String>(&mut conn)?;
        iter.collect()
    }

    fn clean(&self) -> redis::RedisResult<()> {
        let keys = self.keys()?;
        if keys.is_empty() {
            return Ok(());
        }
        let client = redis::Client::open(self.url.as_str())?;
        let mut conn = client.get_connection_with_timeout(Duration::from_secs(2))?;
        for chunk in keys.chunks(500) {
            redis::cmd("DEL").arg(chunk).query::<()>(&mut conn)?;
        }
        Ok(())
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let _ = self.clean();
    }
}

/// A free loopback port (bound once, then released).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A `redis-server` of our own that keeps nothing on disk.
pub struct RedisServer {
    child: Option<Child>,
    /// Its port.
    pub port: u16,
}

impl RedisServer {
    /// Starts one on a free port and waits until it answers.
    pub fn start() -> RedisServer {
        let mut s = RedisServer {
            child: None,
            port: free_port(),
        };
        s.restart();
        s
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// (Re)starts the server on the same port, with empty data.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.answers() {
            assert!(Instant::now() < deadline, "redis-server did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn answers(&self) -> bool {
        let Ok(client) = redis::Client::open(self.url()) else {
            return false;
        };
        let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_millis(500)) else {
            return false;
        };
        redis::cmd("PING").query::<String>(&mut conn).is_ok()
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let ok = Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill {sig} {pid}");
    }

    /// `SIGSTOP`: the server keeps its connections but answers nothing.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// `SIGCONT`.
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    /// `SIGTERM` and wait for the exit.
    pub fn stop(&mut self) {
        self.signal("-TERM");
        if let Some(mut c) = self.child.take() {
            c.wait().expect("wait");
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
