//! Forwarding to upstreams with a pooled hyper-util client: streamed bodies
//! both ways, a response timeout, WebSocket tunnels, and upstream failures
//! mapped to 502/504 without leaking upstream detail.

pub mod upgrade;

use std::time::Duration;

use http::{Request, Response, Uri};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::body::{Body, BoxError};
use crate::config::UpstreamConfig;

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

/// The shared upstream client.
#[derive(Debug, Clone)]
pub struct Upstreams {
    client: Client<HttpConnector, Body>,
    response_timeout: Duration,
}

impl Upstreams {
    /// A pooled client configured from `[upstream]`.
    pub fn new(cfg: &UpstreamConfig) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(cfg.connect_timeout));
        connector.set_nodelay(true);
        connector.enforce_http(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(cfg.pool_idle_timeout)
            .pool_max_idle_per_host(cfg.pool_max_idle_per_host)
            .build(connector);
        Self {
            client,
            response_timeout: cfg.response_timeout,
        }
    }

    /// Sends `req` (already rewritten) to `upstream` + `path_and_query`.
    pub async fn send(
        &self,
        mut req: Request<Body>,
        upstream: &Uri,
        path_and_query: &str,
    ) -> Result<Response<Body>, ProxyError> {
        *req.uri_mut() = target_uri(upstream, path_and_query)?;
        let fut = self.client.request(req);
        let resp = match tokio::time::timeout(self.response_timeout, fut).await {
            Err(_) => return Err(ProxyError::Timeout),
            Ok(Err(e)) => return Err(classify(&e)),
            Ok(Ok(resp)) => resp,
        };
        Ok(resp.map(|b| b.map_err(BoxError::from).boxed()))
    }
}

/// Joins the upstream's base path and the normalized request path.
pub fn target_uri(upstream: &Uri, path_and_query: &str) -> Result<Uri, ProxyError> {
    let base = upstream.path().trim_end_matches('/');
    let mut parts = upstream.clone().into_parts();
    parts.path_and_query = Some(
        format!("{base}{path_and_query}")
            .parse()
            .map_err(|e: http::uri::InvalidUri| ProxyError::BadUri(e.to_string()))?,
    );
    Uri::from_parts(parts).map_err(|e| ProxyError::BadUri(e.to_string()))
}

/// Tells a body-limit failure from an unavailable upstream.
fn classify(e: &hyper_util::client::legacy::Error) -> ProxyError {
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
            (
                "http://127.0.0.1:3000",
                "/a?b=1",
                "http://127.0.0.1:3000/a?b=1",
            ),
            ("http://app:3000/", "/a", "http://app:3000/a"),
            ("http://app/base/", "/x/y", "http://app/base/x/y"),
        ];
        for (up, pq, want) in cases {
            let up: Uri = up.parse().unwrap();
            assert_eq!(target_uri(&up, pq).unwrap().to_string(), want);
        }
    }
}
