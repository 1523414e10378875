//! A scriptable upstream for what the example app cannot show: it records
//! every request it receives (so a test can prove something never arrived),
//! reads the whole body before answering, announces arrivals on a channel
//! (so a test can await "the request is in flight" instead of sleeping), and
//! answers with whatever headers the test asks for.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One request as the upstream saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The method.
    pub method: String,
    /// The request target (path and query).
    pub target: String,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, or `None` when it could not be read to the end.
    pub body: Option<Bytes>,
}

/// What to answer.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    /// Status code (200 when 0).
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(&'static str, &'static str)>,
    /// Response body.
    pub body: Vec<u8>,
    /// Wait this long (after announcing the request) before answering.
    pub delay: Duration,
}

type Script = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// A running scripted upstream; stops when dropped.
pub struct Upstream {
    /// Its address.
    pub addr: SocketAddr,
    /// Every request received, in order of arrival.
    pub seen: Arc<Mutex<Vec<Seen>>>,
    arrivals: mpsc::UnboundedReceiver<Seen>,
    stop: CancellationToken,
}

impl Upstream {
    /// Starts an upstream answering every request with `script`.
    pub async fn start(script: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Upstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (tx, arrivals) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let script: Script = Arc::new(script);
        let (seen2, stop2) = (seen.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let tcp = tokio::select! {
                    r = listener.accept() => match r { Ok((t, _)) => t, Err(_) => continue },
                    _ = stop2.cancelled() => return,
                };
                let (seen, tx, script) = (seen2.clone(), tx.clone(), script.clone());
                let svc =
                    service_fn(move |req| answer(req, seen.clone(), tx.clone(), script.clone()));
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), svc)
                        .with_upgrades()
                        .await;
                });
            }
        });
        Upstream {
            addr,
            seen,
            arrivals,
            stop,
        }
    }

    /// An upstream that answers 200 "ok" to everything.
    pub async fn ok() -> Upstream {
        Self::start(|_| Reply {
            body: b"ok".to_vec(),
            ..Reply::default()
        })
        .await
    }

    /// Waits for the next request to arrive (panics after 30 s).
    pub async fn arrival(&mut self) -> Seen {
        tokio::time::timeout(Duration::from_secs(30), self.arrivals.recv())
            .await
            .expect("a request reaches the upstream")
            .expect("upstream running")
    }

    /// A copy of everything received so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn answer(
    req: Request<Incoming>,
    seen: Arc<Mutex<Vec<Seen>>>,
    tx: mpsc::UnboundedSender<Seen>,
    script: Script,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.ok().map(|c| c.to_bytes());
    let request = Seen {
        method: parts.method.to_string(),
        target: parts
            .uri
            .path_and_query()
            .map(|pq| pq.to_string())
            .unwrap_or_default(),
        headers: parts.headers,
        body,
    };
    seen.lock().unwrap().push(request.clone());
    let _ = tx.send(request.clone());
    let reply = script(&request);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut resp = Response::new(Full::new(Bytes::from(reply.body)));
    *resp.status_mut() = http::StatusCode::from_u16(match reply.status {
        0 => 200,
        s => s,
    })
    .expect("status");
    for (name, value) in reply.headers {
        resp.headers_mut().append(
            http::HeaderName::from_static(name),
            http::HeaderValue::from_static(value),
        );
    }
    Ok(resp)
}
