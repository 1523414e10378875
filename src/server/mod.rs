//! Listeners: accept, TLS handshake, HTTP/1.1 and HTTP/2 with upgrades,
//! connection cap, idle and slow-client timeouts, graceful drain, and the
//! plain-HTTP listener that redirects to HTTPS.

pub mod framing;
pub mod io;
pub mod redirect;
pub mod reload;
pub mod run;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Limits;
use crate::gateway::Gateway;
use io::{Activity, Tracked};

/// What the gateway knows about the connection a request came on.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    /// The TCP peer.
    pub peer: SocketAddr,
    /// The local address it connected to.
    pub local: SocketAddr,
}

/// Serves HTTPS on `listener` until `shutdown` fires, then drains open
/// connections for at most `drain`.
pub async fn serve_https(
    listener: TcpListener,
    tls: watch::Receiver<Arc<ServerConfig>>,
    gateway: Arc<Gateway>,
    shutdown: CancellationToken,
    drain: Duration,
) {
    let limits = gateway.limits().clone();
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let tracker = TaskTracker::new();
    let protocols = Arc::new(protocols(&limits));
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.ok(),
            _ = shutdown.cancelled() => None,
        };
        let Some(permit) = permit else {
            break;
        };
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        let acceptor = TlsAcceptor::from(tls.borrow().clone());
        let conn = Connection {
            gateway: gateway.clone(),
            protocols: protocols.clone(),
            limits: limits.clone(),
            shutdown: shutdown.clone(),
        };
        tracker.spawn(async move {
            conn.run(tcp, peer, acceptor).await;
            drop(permit);
        });
    }
    drop(listener);
    tracker.close();
    if tokio::time::timeout(drain, tracker.wait()).await.is_err() {
        tracing::warn!(
            remaining = tracker.len(),
            "drain timeout reached; closing remaining connections"
        );
    }
}

/// hyper's HTTP/1 header-count limit when none is set.
const HYPER_DEFAULT_MAX_HEADERS: usize = 100;

/// The HTTP/1.1 and HTTP/2 server settings. The protocol is the one agreed
/// by ALPN in the TLS handshake, so no connection carries the other
/// protocol's state (hyper-util's `auto` keeps room for both in every
/// connection's task and reads a preface to choose).
struct Protocols {
    h1: http1::Builder,
    h2: http2::Builder<TokioExecutor>,
}

fn protocols(limits: &Limits) -> Protocols {
    let mut h1 = http1::Builder::new();
    h1.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // The exact cut-off for the head (start line included); the read
        // buffer's cap alone lets a head through when it arrives in one read.
        .max_header_size(limits.max_header_bytes)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .keep_alive(true);
    // hyper's own limit is 100 headers; naming a limit, even the same one,
    // makes it fill a table of that size on every parse (1.7k instructions).
    if limits.max_headers != HYPER_DEFAULT_MAX_HEADERS {
        h1.max_headers(limits.max_headers);
    }
    let mut h2 = http2::Builder::new(TokioExecutor::new());
    h2.timer(TokioTimer::new())
        .max_header_list_size(limits.max_header_bytes as u32)
        .max_concurrent_streams(256)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    Protocols { h1, h2 }
}

/// One accepted connection.
struct Connection {
    gateway: Arc<Gateway>,
    protocols: Arc<Protocols>,
    limits: Limits,
    shutdown: CancellationToken,
}

impl Connection {
    async fn run(self, tcp: TcpStream, peer: SocketAddr, acceptor: TlsAcceptor) {
        let _open = self.gateway.metrics().connection_opened();
        let _ = tcp.set_nodelay(true);
        let local = tcp.local_addr().unwrap_or(peer);
        let tls =
            match tokio::time::timeout(self.limits.tls_handshake_timeout, acceptor.accept(tcp))
                .await
            {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
        let info = ConnInfo { peer, local };
        let activity = Activity::new();
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
        let marks = framing::Marks::default();
        let sniffer = framing::Sniffer::new(marks.clone(), !h2);
        let io = TokioIo::new(Tracked::new(tls, activity.clone()).sniffing(sniffer));
        let gateway = self.gateway.clone();
        let act = activity.clone();
        let svc = service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            if marks.next() {
                req.extensions_mut().insert(framing::BothLengths);
            }
            let gateway = gateway.clone();
            let guard = act.request();
            async move {
                // Boxed per request: hyper keeps a slot the size of this
                // future for the whole life of an HTTP/1 connection, and the
                // pipeline's state (7.5 KB) would otherwise sit in every idle
                // keep-alive connection.
                let resp = Box::pin(gateway.handle(req, info)).await;
                drop(guard);
                Ok::<_, Infallible>(resp)
            }
        });
        if h2 {
            // Boxed: HTTP/2's state is large and this path is the rarer one.
            let conn = Box::pin(self.protocols.h2.serve_connection(io, svc));
            self.drive(conn, activity).await;
        } else {
            let conn = self.protocols.h1.serve_connection(io, svc).with_upgrades();
            self.drive(conn, activity).await;
        }
    }

    /// Runs the connection, asking it to finish gracefully on shutdown or
    /// when it has been idle too long.
    async fn drive<C>(&self, conn: C, activity: Activity)
    where
        C: std::future::Future<Output = hyper::Result<()>> + GracefulShutdown,
    {
        tokio::pin!(conn);
        let idle = self.limits.idle_timeout;
        let mut tick = tokio::time::interval((idle / 4).max(Duration::from_millis(100)));
        let mut closing = false;
        loop {
            tokio::select! {
                res = conn.as_mut() => {
                    if let Err(e) = res {
                        tracing::debug!(error = %e, "connection ended with error");
                    }
                    return;
                }
                _ = self.shutdown.cancelled(), if !closing => {
                    closing = true;
                    conn.as_mut().begin_shutdown();
                }
                _ = tick.tick(), if !closing => {
                    if activity.idle_for() >= idle {
                        closing = true;
                        conn.as_mut().begin_shutdown();
                    }
                }
            }
        }
    }
}

/// A connection that can be asked to finish its current requests and close.
pub trait GracefulShutdown {
    /// Stops taking new requests; the connection future then completes.
    fn begin_shutdown(self: std::pin::Pin<&mut Self>);
}

impl<I, S, B> GracefulShutdown for http1::UpgradeableConnection<I, S>
where
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = B>,
    S::Error: Into<crate::body::BoxError>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: hyper::body::Body + 'static,
    B::Error: Into<crate::body::BoxError>,
{
    fn begin_shutdown(self: std::pin::Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

impl<I, S, E, B> GracefulShutdown for std::pin::Pin<Box<http2::Connection<I, S, E>>>
where
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = B>,
    S::Error: Into<crate::body::BoxError>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: hyper::body::Body + 'static,
    B::Error: Into<crate::body::BoxError>,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, B>,
{
    fn begin_shutdown(self: std::pin::Pin<&mut Self>) {
        self.get_mut().as_mut().graceful_shutdown();
    }
}
