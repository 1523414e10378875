//! The bundled example upstream: a small plain-HTTP "legacy app" that knows
//! nothing about authentication and shows what the gateway sent it.
//!
//! `portcullis demo` and the integration tests start it in-process;
//! `cargo run --example legacy_app -- --listen 127.0.0.1:8080` runs it alone.
//!
//! Endpoints (`HEAD` is served wherever `GET` is):
//! - `GET /`, and any other `GET` whose `Accept` allows `text/html`: an HTML
//!   page with the identity headers (`X-Auth-Request-User`, `-Email`,
//!   `-Roles`, `-Session`, each "anonymous" when absent), the path, a form
//!   that posts `message` to `/message`, and links to `/auth/logout` and
//!   `/auth/account` (the account page);
//! - `GET /headers`: JSON `{"headers", "method", "path", "query"}`;
//! - `POST /echo`: the request body streamed back with its `Content-Type`;
//! - `POST /message`: an HTML page showing the form field `message` it got
//!   (what a browser sees after submitting the home page's form);
//! - `GET /bytes/{n}`: `n` bytes (at most 2^31) where byte `k` is `k % 256`;
//! - `GET /slow/{ms}`: "slow" after `ms` milliseconds (at most 600 000);
//! - `GET /status/{code}`: an empty response with that status (200 to 599);
//! - `GET /ws`: WebSocket echo whose first message is the user (or "anonymous");
//! - anything else: 404 `{"error": "not found"}`.

mod pages;
mod ws;

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Every response body: a fixed buffer, a generated stream or the request body.
type ResponseBody = UnsyncBoxBody<Bytes, BoxError>;

/// How long open connections may take to finish once shutdown starts.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest `n` for `/bytes/{n}`.
const MAX_BYTES: u64 = 1 << 31;
/// The longest wait for `/slow/{ms}`.
const MAX_SLOW_MS: u64 = 600_000;
/// The size of each generated `/bytes` chunk.
const CHUNK: usize = 64 * 1024;
/// One chunk of the `/bytes` pattern; chunks start at multiples of 256, so
/// byte `k` of any download is `k % 256`.
static PATTERN: [u8; CHUNK] = pattern();

/// A bound example app, ready to serve.
#[derive(Debug)]
pub struct ExampleApp {
    listener: TcpListener,
    local_addr: SocketAddr,
}

/// Binds the example app to `addr`; [`ExampleApp::serve`] then serves until
/// its token is cancelled, and [`ExampleApp::local_addr`] gives the bound
/// address (useful with port 0).
pub async fn bind(addr: SocketAddr) -> std::io::Result<ExampleApp> {
    let listener = TcpListener::bind(addr).await?;
    let local_addr = listener.local_addr()?;
    Ok(ExampleApp {
        listener,
        local_addr,
    })
}

/// Binds `127.0.0.1:0`, spawns [`ExampleApp::serve`] on the current runtime
/// and returns the bound address and the token that stops it.
pub async fn spawn_local() -> std::io::Result<(SocketAddr, CancellationToken)> {
    let app = bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
    let addr = app.local_addr();
    let shutdown = CancellationToken::new();
    tokio::spawn(app.serve(shutdown.clone()));
    Ok((addr, shutdown))
}

impl ExampleApp {
    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves HTTP/1.1 (and HTTP/2 with prior knowledge) on plain TCP until
    /// `shutdown` is cancelled; then stops accepting, closes WebSockets and
    /// gives open requests five seconds to finish.
    pub async fn serve(self, shutdown: CancellationToken) {
        let builder = auto::Builder::new(TokioExecutor::new());
        let graceful = GracefulShutdown::new();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => spawn_connection(&builder, &graceful, stream, &shutdown),
                    Err(err) => {
                        // Usually out of file descriptors: back off instead of spinning.
                        tracing::warn!(error = %err, "example app: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
        drop(self.listener);
        if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::debug!("example app: connections still open after the drain timeout");
        }
    }
}

/// Serves one connection on its own task, watched for graceful shutdown.
fn spawn_connection(
    builder: &auto::Builder<TokioExecutor>,
    graceful: &GracefulShutdown,
    stream: TcpStream,
    shutdown: &CancellationToken,
) {
    // Best effort: only latency suffers if this fails.
    let _ = stream.set_nodelay(true);
    let shutdown = shutdown.clone();
    let service = service_fn(move |req| handle(req, shutdown.clone()));
    let conn = builder
        .serve_connection_with_upgrades(TokioIo::new(stream), service)
        .into_owned();
    let conn = graceful.watch(conn);
    tokio::spawn(async move {
        if let Err(err) = conn.await {
            tracing::debug!(error = %err, "example app: connection error");
        }
    });
}

/// Routes one request; never fails, every problem is a response.
async fn handle(
    req: Request<Incoming>,
    shutdown: CancellationToken,
) -> Result<Response<ResponseBody>, Infallible> {
    let path = req.uri().path().to_owned();
    if req.method() == Method::POST && path == "/echo" {
        return Ok(echo(req));
    }
    if req.method() == Method::POST && path == "/message" {
        return Ok(pages::message(req).await);
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(not_found());
    }
    let response = match path.as_str() {
        "/" => pages::home(&req),
        "/headers" => pages::headers(&req),
        "/ws" => ws::upgrade(req, shutdown),
        _ => match path.split_once('/').map(|(_, rest)| rest.split_once('/')) {
            Some(Some(("bytes", n))) => bytes(n),
            Some(Some(("slow", ms))) => slow(ms).await,
            Some(Some(("status", code))) => status(code),
            _ if pages::accepts_html(req.headers()) => pages::home(&req),
            _ => not_found(),
        },
    };
    Ok(response)
}

/// `POST /echo`: the request body, streamed back as it arrives.
fn echo(req: Request<Incoming>) -> Response<ResponseBody> {
    let content_type = req.headers().get(header::CONTENT_TYPE).cloned();
    let mut response = Response::new(req.into_body().map_err(BoxError::from).boxed_unsync());
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    response
}

/// `GET /bytes/{n}`: `n` pattern bytes, generated a chunk at a time.
fn bytes(n: &str) -> Response<ResponseBody> {
    match n.parse::<u64>() {
        Ok(remaining) if remaining <= MAX_BYTES => {
            let body = PatternBody { remaining }.map_err(BoxError::from);
            let mut response = Response::new(body.boxed_unsync());
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            response
        }
        _ => bad_request("n must be an integer from 0 to 2147483648"),
    }
}

/// `GET /slow/{ms}`: answers "slow" after `ms` milliseconds.
async fn slow(ms: &str) -> Response<ResponseBody> {
    match ms.parse::<u64>() {
        Ok(ms) if ms <= MAX_SLOW_MS => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            full(StatusCode::OK, "text/plain; charset=utf-8", "slow")
        }
        _ => bad_request("ms must be an integer from 0 to 600000"),
    }
}

/// `GET /status/{code}`: an empty response with that status.
fn status(code: &str) -> Response<ResponseBody> {
    match code.parse::<u16>().map(StatusCode::from_u16) {
        Ok(Ok(status)) if (200..=599).contains(&status.as_u16()) => {
            let mut response = Response::new(empty());
            *response.status_mut() = status;
            response
        }
        _ => bad_request("code must be an integer from 200 to 599"),
    }
}

/// The 404 answer for everything unknown.
fn not_found() -> Response<ResponseBody> {
    json(
        StatusCode::NOT_FOUND,
        &serde_json::json!({ "error": "not found" }),
    )
}

/// A 400 answer naming what was wrong.
fn bad_request(message: &str) -> Response<ResponseBody> {
    json(
        StatusCode::BAD_REQUEST,
        &serde_json::json!({ "error": message }),
    )
}

/// A JSON response.
fn json(status: StatusCode, value: &serde_json::Value) -> Response<ResponseBody> {
    full(status, "application/json", value.to_string())
}

/// A response with a fixed body.
fn full(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<ResponseBody> {
    let body = Full::new(body.into()).map_err(BoxError::from);
    let mut response = Response::new(body.boxed_unsync());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// An empty body.
fn empty() -> ResponseBody {
    Empty::new().map_err(BoxError::from).boxed_unsync()
}

/// Every value of header `name`, joined with ", " (lossily decoded), if any.
fn header_text(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let values: Vec<_> = headers
        .get_all(name)
        .iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// Builds [`PATTERN`] at compile time.
const fn pattern() -> [u8; CHUNK] {
    let mut out = [0; CHUNK];
    let mut i = 0;
    while i < CHUNK {
        out[i] = (i % 256) as u8;
        i += 1;
    }
    out
}

/// A body of `remaining` pattern bytes, handed out as slices of [`PATTERN`]
/// so nothing is allocated per request.
struct PatternBody {
    remaining: u64,
}

impl Body for PatternBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let len = usize::try_from(self.remaining).map_or(CHUNK, |n| n.min(CHUNK));
        if len == 0 {
            return Poll::Ready(None);
        }
        self.remaining -= len as u64;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&PATTERN[..len])))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests;
