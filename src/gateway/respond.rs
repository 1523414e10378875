//! The one place errors become HTTP responses: a status, a small JSON body
//! that never carries internal detail, and a log line at the level that
//! fits who caused it.

use http::{Response, StatusCode, header};

use crate::body::{self, Body};
use crate::proxy::ProxyError;

/// Who caused a failure, which sets the log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// The client sent something wrong (4xx, debug log).
    Client,
    /// The upstream failed (502/503/504, warn).
    Upstream,
    /// The gateway itself failed (500, error).
    Internal,
}

/// A JSON error answer: `{"error": code, "message": message}`.
pub fn json_error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({ "error": code, "message": message }).to_string();
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body::full(body))
        .unwrap_or_else(|_| Response::new(body::empty()))
}

/// A JSON error that also closes the connection (protocol violations).
pub fn json_error_close(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let mut resp = json_error(status, code, message);
    resp.headers_mut()
        .insert(header::CONNECTION, http::HeaderValue::from_static("close"));
    resp
}

/// A JSON success answer.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body::full(value.to_string()))
        .unwrap_or_else(|_| Response::new(body::empty()))
}

/// Maps an upstream failure to 502/504/413 and logs it.
pub fn proxy_error(err: &ProxyError, route: &str) -> Response<Body> {
    let (status, code, blame) = match err {
        ProxyError::Timeout => (
            StatusCode::GATEWAY_TIMEOUT,
            "upstream_timeout",
            Blame::Upstream,
        ),
        ProxyError::Unavailable(_) => (
            StatusCode::BAD_GATEWAY,
            "upstream_unavailable",
            Blame::Upstream,
        ),
        ProxyError::BodyTooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            Blame::Client,
        ),
        ProxyError::ClientBody => (StatusCode::BAD_REQUEST, "bad_body", Blame::Client),
        ProxyError::ClientStalled => (StatusCode::REQUEST_TIMEOUT, "body_timeout", Blame::Client),
        ProxyError::BadUri(_) => (
            StatusCode::BAD_GATEWAY,
            "upstream_unavailable",
            Blame::Internal,
        ),
    };
    log(blame, route, err);
    let message = status.canonical_reason().unwrap_or("error");
    json_error(status, code, message)
}

/// Logs a failure at the level its cause deserves.
pub fn log(blame: Blame, route: &str, err: &dyn std::fmt::Display) {
    match blame {
        Blame::Client => tracing::debug!(route, error = %err, "client error"),
        Blame::Upstream => tracing::warn!(route, error = %err, "upstream error"),
        Blame::Internal => tracing::error!(route, error = %err, "internal error"),
    }
}
