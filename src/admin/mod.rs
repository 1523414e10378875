//! The admin listener, separate from traffic (default loopback only):
//! `/health/live`, `/health/ready` and `/metrics`.

pub mod health;

use std::convert::Infallible;
use std::sync::Arc;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::body::Body;
use crate::gateway::Gateway;
use crate::gateway::respond::{json, json_error};
use crate::telemetry::metrics;

/// Serves the admin endpoints until `shutdown`.
pub async fn serve(listener: TcpListener, gateway: Arc<Gateway>, shutdown: CancellationToken) {
    loop {
        let tcp = tokio::select! {
            r = listener.accept() => match r {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed on the admin listener");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => return,
        };
        let gateway = gateway.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let gateway = gateway.clone();
                async move { Ok::<_, Infallible>(handle(&gateway, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(std::time::Duration::from_secs(5))
                .serve_connection(TokioIo::new(tcp), svc);
            let _ = conn.await;
        });
    }
}

async fn handle(gateway: &Gateway, req: Request<Incoming>) -> Response<Body> {
    if req.method() == Method::POST {
        return unlock(gateway, req.uri().path()).await;
    }
    if req.method() != Method::GET {
        return json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "GET, or POST to unlock",
        );
    }
    match req.uri().path() {
        "/health/live" => json(StatusCode::OK, &serde_json::json!({ "status": "healthy" })),
        "/health/ready" => {
            let report = health::ready(gateway).await;
            let status = if report.ok() {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            json(status, &report.to_json())
        }
        "/metrics" => metrics(gateway),
        _ => json_error(StatusCode::NOT_FOUND, "not_found", "no such endpoint"),
    }
}

/// `POST /admin/users/{name}/unlock`: clears an account's lockout.
async fn unlock(gateway: &Gateway, path: &str) -> Response<Body> {
    let name = path
        .strip_prefix("/admin/users/")
        .and_then(|rest| rest.strip_suffix("/unlock"))
        .filter(|n| {
            !n.is_empty()
                && n.len() <= 64
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c))
        });
    let Some(name) = name else {
        return json_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "POST /admin/users/{name}/unlock",
        );
    };
    match gateway.auth().lockout().clear(name).await {
        Ok(()) => {
            tracing::info!(event = "auth.admin.unlock", user = %crate::telemetry::Masked(name), "account unlocked by an operator");
            json(StatusCode::OK, &serde_json::json!({ "unlocked": name }))
        }
        Err(e) => json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            &e.to_string(),
        ),
    }
}

/// The Prometheus exposition (OpenMetrics text).
fn metrics(gateway: &Gateway) -> Response<Body> {
    let Ok(text) = gateway.metrics().encode() else {
        return json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "metrics could not be encoded",
        );
    };
    let mut resp = Response::new(crate::body::full(text));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(metrics::CONTENT_TYPE),
    );
    resp
}
