//! Forwarding to upstreams over pooled keep-alive connections (see
//! [`pool`]): streamed bodies both ways, a response timeout, WebSocket
//! tunnels, and upstream failures mapped to 502/504 without leaking
//! upstream detail.

pub mod pool;
pub mod upgrade;

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming, SizeHint};

use crate::body::{Body, BoxError};
use crate::config::UpstreamConfig;
use pool::{Checkin, Pool};

/// Why forwarding failed; mapped to a status by the gateway.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// Could not connect, or the connection broke.
    #[error("upstream unavailable: {0}")]
    Unavailable(String),
    /// No response headers within the response timeout.
    #[error("upstream timed out")]
    Timeout,
    /// The client's body exceeded the route's limit while streaming.
    #[error("request body too large")]
    BodyTooLarge,
    /// The client stopped sending its body.
    #[error("request body stalled")]
    ClientStalled,
    /// The client's body was malformed (e.g. bad chunked encoding).
    #[error("malformed request body")]
    ClientBody,
    /// The upstream URL could not be built.
    #[error("bad upstream URL: {0}")]
    BadUri(String),
}

/// The upstream connections.
#[derive(Debug)]
pub struct Upstreams {
    pool: Pool,
    response_timeout: Duration,
}

impl Upstreams {
    /// A pool configured from `[upstream]`.
    pub fn new(cfg: &UpstreamConfig) -> Self {
        Self {
            pool: Pool::new(
                cfg.connect_timeout,
                cfg.pool_idle_timeout,
                cfg.pool_max_idle_per_host,
            ),
            response_timeout: cfg.response_timeout,
        }
    }

    /// Sends `req` (already rewritten, with its `Host`) to `upstream` +
    /// `path_and_query`.
    pub async fn send(
        &self,
        mut req: Request<Body>,
        upstream: &Uri,
        path_and_query: &str,
    ) -> Result<Response<Body>, ProxyError> {
        let authority = upstream
            .authority()
            .ok_or_else(|| ProxyError::BadUri("upstream has no host".into()))?
            .as_str();
        set_origin_form(&mut req, upstream, path_and_query)?;
        let upgrade = req.headers().contains_key(http::header::UPGRADE);
        let exchange = self.exchange(req, authority);
        let (resp, conn) = match tokio::time::timeout(self.response_timeout, exchange).await {
            Err(_) => return Err(ProxyError::Timeout),
            Ok(result) => result?,
        };
        // A connection that switched protocols belongs to the tunnel.
        let checkin = (!upgrade && resp.status() != StatusCode::SWITCHING_PROTOCOLS)
            .then(|| self.pool.checkin(conn));
        Ok(resp.map(|inner| Returning { inner, checkin }.boxed()))
    }

    /// One request on a pooled or new connection. A request that a pooled
    /// connection gave back unsent (the upstream closed it while idle) goes
    /// out again on the next one.
    async fn exchange(
        &self,
        mut req: Request<Body>,
        authority: &str,
    ) -> Result<(Response<Incoming>, pool::Conn), ProxyError> {
        loop {
            let mut conn = self
                .pool
                .get(authority)
                .await
                .map_err(|e| ProxyError::Unavailable(e.to_string()))?;
            match conn.sender.try_send_request(req).await {
                Ok(resp) => return Ok((resp, conn)),
                Err(mut e) => match e.take_message() {
                    Some(unsent) if conn.reused => req = unsent,
                    _ => return Err(classify(&e.into_error())),
                },
            }
        }
    }
}

/// Points the request at the upstream's base path + `path_and_query`, in
/// origin form. The client's own target is kept when it is already that
/// (the usual case: no base path, a clean HTTP/1.1 path): no copy then.
fn set_origin_form(
    req: &mut Request<Body>,
    upstream: &Uri,
    path_and_query: &str,
) -> Result<(), ProxyError> {
    let base = upstream.path().trim_end_matches('/');
    let current = req.uri();
    if base.is_empty()
        && current.scheme().is_none()
        && current.authority().is_none()
        && current.path_and_query().map(|pq| pq.as_str()) == Some(path_and_query)
    {
        return Ok(());
    }
    *req.uri_mut() = target_uri(upstream, path_and_query)?;
    Ok(())
}

/// The origin-form target: the upstream's base path joined with the
/// normalized request path and query.
pub fn target_uri(upstream: &Uri, path_and_query: &str) -> Result<Uri, ProxyError> {
    let base = upstream.path().trim_end_matches('/');
    let mut target = String::with_capacity(base.len() + path_and_query.len());
    target.push_str(base);
    target.push_str(path_and_query);
    Uri::from_maybe_shared(Bytes::from(target))
        .map_err(|e: http::uri::InvalidUri| ProxyError::BadUri(e.to_string()))
}

/// An upstream response body that returns its connection to the pool once
/// read to the end.
struct Returning {
    inner: Incoming,
    checkin: Option<Checkin>,
}

impl Returning {
    fn finish(&mut self) {
        if let Some(c) = self.checkin.take() {
            c.done();
        }
    }
}

impl hyper::body::Body for Returning {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        match &frame {
            None => this.finish(),
            Some(Ok(_)) if this.inner.is_end_stream() => this.finish(),
            Some(Ok(_)) => {}
            // A broken exchange leaves the connection unusable.
            Some(Err(_)) => this.checkin = None,
        }
        Poll::Ready(frame.map(|f| f.map_err(BoxError::from)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Returning {
    fn drop(&mut self) {
        // An empty body (HEAD, 204, 304) may never be polled.
        if hyper::body::Body::is_end_stream(&self.inner) {
            self.finish();
        }
    }
}

/// Tells a body-limit failure from an unavailable upstream.
fn classify(e: &hyper::Error) -> ProxyError {
    let chain = || {
        std::iter::successors(Some(e as &(dyn std::error::Error + 'static)), |s| {
            s.source()
        })
    };
    if chain().any(|s| s.is::<http_body_util::LengthLimitError>()) {
        return ProxyError::BodyTooLarge;
    }
    if chain().any(|s| s.is::<crate::body::BodyStalled>()) {
        return ProxyError::ClientStalled;
    }
    // A failure of the request body stream we handed the client is the
    // client's own body being malformed or cut short, not the upstream.
    if chain().any(|s| {
        s.downcast_ref::<hyper::Error>()
            .is_some_and(|h| h.is_user())
    }) {
        return ProxyError::ClientBody;
    }
    ProxyError::Unavailable(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Base paths and request paths join without doubling slashes.
    #[test]
    fn joins_base_path() {
        let cases = [
            ("http://127.0.0.1:3000", "/a?b=1", "/a?b=1"),
            ("http://app:3000/", "/a", "/a"),
            ("http://app/base/", "/x/y", "/base/x/y"),
            ("http://app/base", "/?q", "/base/?q"),
        ];
        for (up, pq, want) in cases {
            let up: Uri = up.parse().unwrap();
            assert_eq!(target_uri(&up, pq).unwrap().to_string(), want);
        }
    }
}
