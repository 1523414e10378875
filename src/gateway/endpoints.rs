//! The gateway's own endpoints, answered before routing: login and the
//! public keys.

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::respond::{json, json_error};
use crate::auth::{AuthService, login};
use crate::body::Body;
use crate::server::ConnInfo;

/// Path of the JWKS document.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// Prefix of every authentication endpoint.
pub const AUTH_PREFIX: &str = "/auth/";

/// True when the gateway answers `path` itself.
pub fn is_own(path: &str) -> bool {
    path == JWKS_PATH || path.starts_with(AUTH_PREFIX) || path == "/auth"
}

/// Answers one of the gateway's own endpoints.
pub async fn handle(
    auth: &AuthService,
    req: Request<Incoming>,
    conn: ConnInfo,
    path: &str,
    query: Option<&str>,
) -> Response<Body> {
    match (req.method(), path) {
        (&Method::GET | &Method::HEAD, JWKS_PATH) => json(StatusCode::OK, &auth.jwks()),
        (&Method::GET | &Method::HEAD, "/auth/login") => login::get(query),
        (&Method::POST, "/auth/login") => login::post(auth, req, conn).await,
        (_, JWKS_PATH | "/auth/login") => json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed",
        ),
        _ => json_error(StatusCode::NOT_FOUND, "not_found", "no such endpoint"),
    }
}
