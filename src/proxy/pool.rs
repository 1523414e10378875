//! Keep-alive HTTP/1.1 connections to upstreams.
//!
//! Each upstream connection runs in its own task; the pool keeps the
//! sending half of idle ones, per upstream authority, newest last. A
//! connection goes back to the pool when its response body has been read to
//! the end (see [`Checkin`]), never after an upgrade or an error. Taken from
//! the pool, a connection is used only once it says it is ready; a closed
//! one is dropped and the next tried.
//!
//! This replaces hyper-util's general-purpose client, whose checkout,
//! key hashing and one spawned task per response to return the connection
//! cost about a tenth of the gateway's instructions per proxied request.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::body::Body;

/// Idle upstream connections and how to make new ones.
#[derive(Debug)]
pub struct Pool {
    inner: Arc<Shared>,
    connect_timeout: Duration,
}

#[derive(Debug)]
struct Shared {
    /// Per authority (`host:port`), idle senders, oldest first. A short
    /// list scanned in order: gateways front a handful of upstreams.
    idle: Mutex<Vec<(Arc<str>, Vec<Idle>)>>,
    max_idle_per_host: usize,
    idle_timeout: Duration,
    reaper: std::sync::Once,
}

#[derive(Debug)]
struct Idle {
    sender: SendRequest<Body>,
    since: Instant,
}

/// A connection checked out of the pool, or fresh.
#[derive(Debug)]
pub struct Conn {
    /// Where requests go.
    pub sender: SendRequest<Body>,
    /// Whether it came from the pool (and may have been closed by the
    /// upstream since: a request on it may be retried).
    pub reused: bool,
    /// The pool's key for its upstream, to check it in again.
    pub key: Arc<str>,
}

impl Pool {
    /// An empty pool.
    pub fn new(
        connect_timeout: Duration,
        idle_timeout: Duration,
        max_idle_per_host: usize,
    ) -> Self {
        Self {
            inner: Arc::new(Shared {
                idle: Mutex::new(Vec::new()),
                max_idle_per_host,
                idle_timeout,
                reaper: std::sync::Once::new(),
            }),
            connect_timeout,
        }
    }

    /// A ready connection to `authority` (`host` or `host:port`, port 80
    /// by default): an idle one when there is one, else a new one.
    pub async fn get(&self, authority: &str) -> std::io::Result<Conn> {
        self.start_reaper();
        loop {
            let (key, idle) = self.inner.take(authority);
            let Some(mut sender) = idle else {
                // Boxed: the connect path is rare and its state large; it
                // would otherwise sit in every request's future.
                let sender = Box::pin(self.connect(authority)).await?;
                return Ok(Conn {
                    sender,
                    reused: false,
                    key,
                });
            };
            // A connection that finished its last response may need a moment
            // to become ready; one the upstream closed says so here.
            if sender.ready().await.is_ok() {
                return Ok(Conn {
                    sender,
                    reused: true,
                    key,
                });
            }
        }
    }

    /// Returns a connection whose last exchange completed.
    pub fn put(&self, conn: Conn) {
        self.inner.put(conn.key, conn.sender);
    }

    /// A handle that returns a connection to this pool later.
    pub fn checkin(&self, conn: Conn) -> Checkin {
        Checkin {
            pool: Arc::downgrade(&self.inner),
            authority: conn.key,
            sender: conn.sender,
        }
    }

    /// Opens a connection and starts the task that drives it.
    async fn connect(&self, authority: &str) -> std::io::Result<SendRequest<Body>> {
        let addr = match authority.rsplit_once(':') {
            // A port, and not the inside of a bare IPv6 literal.
            Some((_, port)) if !port.contains(']') => authority.to_string(),
            _ => format!("{authority}:80"),
        };
        let tcp = tokio::time::timeout(self.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")
            })??;
        tcp.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::Builder::new()
            .handshake(TokioIo::new(tcp))
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(error = %e, "upstream connection ended with error");
            }
        });
        Ok(sender)
    }

    /// Closes idle connections older than the idle timeout, periodically,
    /// for as long as the pool exists.
    fn start_reaper(&self) {
        let every = self.inner.idle_timeout.max(Duration::from_secs(1));
        self.inner.reaper.call_once(|| {
            let weak: Weak<Shared> = Arc::downgrade(&self.inner);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every / 2);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let Some(shared) = weak.upgrade() else {
                        return;
                    };
                    shared.reap();
                }
            });
        });
    }

    /// How many idle connections are pooled (for tests).
    pub fn idle_count(&self) -> usize {
        self.inner
            .idle
            .lock()
            .map(|all| all.iter().map(|(_, v)| v.len()).sum())
            .unwrap_or(0)
    }
}

impl Shared {
    /// The key for `authority` and its newest usable idle connection.
    fn take(&self, authority: &str) -> (Arc<str>, Option<SendRequest<Body>>) {
        let Ok(mut all) = self.idle.lock() else {
            return (authority.into(), None);
        };
        let Some((key, list)) = all.iter_mut().find(|(a, _)| &**a == authority) else {
            let key: Arc<str> = authority.into();
            all.push((key.clone(), Vec::new()));
            return (key, None);
        };
        while let Some(idle) = list.pop() {
            if !idle.sender.is_closed() && idle.since.elapsed() < self.idle_timeout {
                return (key.clone(), Some(idle.sender));
            }
        }
        (key.clone(), None)
    }

    fn put(&self, authority: Arc<str>, sender: SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        let Ok(mut all) = self.idle.lock() else {
            return;
        };
        let idle = Idle {
            sender,
            since: Instant::now(),
        };
        match all.iter_mut().find(|(a, _)| *a == authority) {
            Some((_, list)) if list.len() < self.max_idle_per_host => list.push(idle),
            // Full, or pooling off: the connection closes as `idle` drops.
            _ => {}
        }
    }

    fn reap(&self) {
        if let Ok(mut all) = self.idle.lock() {
            for (_, list) in all.iter_mut() {
                list.retain(|i| !i.sender.is_closed() && i.since.elapsed() < self.idle_timeout);
            }
        }
    }
}

/// A connection waiting for its response body to end before it goes back
/// to the pool; dropped earlier, the connection is closed instead.
#[derive(Debug)]
pub struct Checkin {
    pool: Weak<Shared>,
    authority: Arc<str>,
    sender: SendRequest<Body>,
}

impl Checkin {
    /// The exchange completed: the connection may serve another request.
    pub fn done(self) {
        if let Some(pool) = self.pool.upgrade() {
            pool.put(self.authority, self.sender);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small HTTP/1.1 upstream that answers every request with "ok" on
    /// keep-alive connections and counts the connections it accepted.
    async fn upstream() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut have = Vec::new();
                    loop {
                        let n = match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        have.extend_from_slice(&buf[..n]);
                        while let Some(end) = have.windows(4).position(|w| w == b"\r\n\r\n") {
                            have.drain(..end + 4);
                            let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                            if s.write_all(answer).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (addr, accepted)
    }

    /// The upstream's accept count, once it has caught up with `want` (the
    /// server task accepts after the client's connect returns) or after 2 s.
    async fn accepted_now(accepted: &std::sync::atomic::AtomicUsize, want: usize) -> usize {
        for _ in 0..200 {
            if accepted.load(std::sync::atomic::Ordering::SeqCst) >= want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // A little longer, so that an extra connection would show too.
        tokio::time::sleep(Duration::from_millis(20)).await;
        accepted.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn get() -> http::Request<Body> {
        http::Request::builder()
            .uri("/")
            .header(http::header::HOST, "up")
            .body(crate::body::empty())
            .unwrap()
    }

    /// A connection returned after a complete exchange is reused; one
    /// never returned is not.
    #[tokio::test]
    async fn reuses_returned_connections() {
        use http_body_util::BodyExt;
        let (addr, accepted) = upstream().await;
        let pool = Pool::new(Duration::from_secs(2), Duration::from_secs(60), 8);
        for _ in 0..3 {
            let mut conn = pool.get(&addr).await.unwrap();
            let resp = conn.sender.send_request(get()).await.unwrap();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&body[..], b"ok");
            pool.checkin(conn).done();
        }
        assert_eq!(accepted_now(&accepted, 1).await, 1);
        assert_eq!(pool.idle_count(), 1);

        let conn = pool.get(&addr).await.unwrap();
        assert!(conn.reused);
        drop(conn);
        let conn = pool.get(&addr).await.unwrap();
        assert!(!conn.reused, "a connection not checked in is not pooled");
        assert_eq!(accepted_now(&accepted, 2).await, 2);
    }

    /// At most `max_idle_per_host` connections wait per upstream; zero
    /// turns pooling off.
    #[tokio::test]
    async fn caps_idle_connections() {
        let (addr, _) = upstream().await;
        let pool = Pool::new(Duration::from_secs(2), Duration::from_secs(60), 2);
        let mut conns = Vec::new();
        for _ in 0..4 {
            conns.push(pool.get(&addr).await.unwrap());
        }
        for c in conns {
            pool.put(c);
        }
        assert_eq!(pool.idle_count(), 2);

        let off = Pool::new(Duration::from_secs(2), Duration::from_secs(60), 0);
        let c = off.get(&addr).await.unwrap();
        off.put(c);
        assert_eq!(off.idle_count(), 0);
    }

    /// Idle connections older than the idle timeout are not handed out.
    #[tokio::test]
    async fn expires_idle_connections() {
        let (addr, accepted) = upstream().await;
        let pool = Pool::new(Duration::from_secs(2), Duration::from_millis(50), 8);
        let c = pool.get(&addr).await.unwrap();
        pool.put(c);
        tokio::time::sleep(Duration::from_millis(120)).await;
        let c = pool.get(&addr).await.unwrap();
        assert!(!c.reused);
        assert_eq!(accepted_now(&accepted, 2).await, 2);
    }

    /// A connection the upstream closed while idle is skipped.
    #[tokio::test]
    async fn skips_closed_connections() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let closer = tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            drop(s);
            listener
        });
        let pool = Pool::new(Duration::from_secs(2), Duration::from_secs(60), 8);
        let c = pool.get(&addr).await.unwrap();
        pool.put(c);
        let listener = closer.await.unwrap();
        tokio::spawn(async move {
            let (_s, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        // Give the connection task a moment to see the close.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let c = pool.get(&addr).await.unwrap();
        assert!(!c.reused, "the closed connection must not be handed out");
    }
}
