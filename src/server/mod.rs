//! Listeners: accept, TLS handshake, HTTP/1.1 and HTTP/2 with upgrades,
//! connection cap, idle and slow-client timeouts, graceful drain, and the
//! plain-HTTP listener that redirects to HTTPS.

pub mod io;
pub mod redirect;
pub mod reload;
pub mod run;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
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
    let builder = Arc::new(http_builder(&limits));
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
            builder: builder.clone(),
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

fn http_builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .max_headers(limits.max_headers)
        .keep_alive(true);
    b.http2()
        .timer(TokioTimer::new())
        .max_header_list_size(limits.max_header_bytes as u32)
        .max_concurrent_streams(256)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(Duration::from_secs(20));
    b
}

/// One accepted connection.
struct Connection {
    gateway: Arc<Gateway>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    limits: Limits,
    shutdown: CancellationToken,
}

impl Connection {
    async fn run(self, tcp: TcpStream, peer: SocketAddr, acceptor: TlsAcceptor) {
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
        let io = TokioIo::new(Tracked::new(tls, activity.clone()));
        let gateway = self.gateway.clone();
        let act = activity.clone();
        let svc = service_fn(move |req| {
            let gateway = gateway.clone();
            let guard = act.request();
            async move {
                let resp = gateway.handle(req, info).await;
                drop(guard);
                Ok::<_, Infallible>(resp)
            }
        });
        let conn = self.builder.serve_connection_with_upgrades(io, svc);
        self.drive(conn, activity).await;
    }

    /// Runs the connection, asking it to finish gracefully on shutdown or
    /// when it has been idle too long.
    async fn drive<C>(&self, conn: C, activity: Activity)
    where
        C: std::future::Future<Output = Result<(), crate::body::BoxError>> + GracefulShutdown,
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

impl<I, S, E, B> GracefulShutdown for auto::UpgradeableConnection<'_, I, S, E>
where
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = B>,
    S::Error: Into<crate::body::BoxError>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<crate::body::BoxError>,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, B>,
{
    fn begin_shutdown(self: std::pin::Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}
