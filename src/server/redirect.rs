//! The plain-HTTP listener: every request gets a 308 to the HTTPS URL built
//! from the configured public origin, never from the `Host` header.

use std::convert::Infallible;
use std::sync::Arc;

use http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::body::{self, Body};

/// Serves redirects until `shutdown` fires.
pub async fn serve(listener: TcpListener, public_origin: String, shutdown: CancellationToken) {
    let origin: Arc<str> = public_origin.into();
    let tracker = TaskTracker::new();
    loop {
        let tcp = tokio::select! {
            r = listener.accept() => match r {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed on the redirect listener");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        let origin = origin.clone();
        tracker.spawn(async move {
            let svc = service_fn(move |req| {
                let resp = redirect(&origin, &req);
                async move { Ok::<_, Infallible>(resp) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(10))
                .serve_connection(TokioIo::new(tcp), svc);
            let _ = conn.await;
        });
    }
    tracker.close();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), tracker.wait()).await;
}

/// The redirect for one request: same path and query on the public origin.
pub fn redirect(origin: &str, req: &Request<Incoming>) -> Response<Body> {
    redirect_target(origin, req.uri())
        .and_then(|location| {
            Response::builder()
                .status(StatusCode::PERMANENT_REDIRECT)
                .header(header::LOCATION, location)
                .header(header::CONNECTION, "close")
                .body(body::empty())
                .ok()
        })
        .unwrap_or_else(|| {
            let mut r = Response::new(body::empty());
            *r.status_mut() = StatusCode::BAD_REQUEST;
            r
        })
}

/// `origin` + the origin-form path and query; `/` for anything else.
pub fn redirect_target(origin: &str, uri: &http::Uri) -> Option<String> {
    let pq = uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .filter(|s| s.starts_with('/') && uri.scheme().is_none())
        .unwrap_or("/");
    Some(format!("{origin}{pq}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The target keeps path and query but never takes a host from the request.
    #[test]
    fn target_uses_configured_origin() {
        let o = "https://gw.example";
        let cases = [
            ("/a/b?x=1", "https://gw.example/a/b?x=1"),
            ("http://evil.example/x", "https://gw.example/"),
            ("*", "https://gw.example/"),
        ];
        for (input, want) in cases {
            let uri: http::Uri = input.parse().unwrap();
            assert_eq!(redirect_target(o, &uri).unwrap(), want, "{input}");
        }
    }
}
