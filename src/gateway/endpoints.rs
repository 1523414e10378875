//! The gateway's own endpoints, answered before routing: login, refresh,
//! logout, sessions, and the public keys.

use std::net::IpAddr;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::csrf;
use super::respond::{json, json_error};
use crate::auth::{AuthService, account, login, logout, pages, refresh, sessions_api};
use crate::body::Body;
use crate::ratelimit::Kind;
use crate::server::ConnInfo;
use crate::telemetry::metrics::Endpoint;

/// Path of the JWKS document.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// Prefix of every authentication endpoint.
pub const AUTH_PREFIX: &str = "/auth/";

/// What an endpoint knows about the request beyond itself.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The connection.
    pub conn: ConnInfo,
    /// The client's address (the peer, or from a trusted proxy's header).
    pub client_ip: IpAddr,
    /// Our public origin.
    pub public_origin: String,
    /// Origins `[cors]` allows; the CSRF check trusts them as well.
    pub cors_origins: std::sync::Arc<[String]>,
}

/// True when the gateway answers `path` itself.
pub fn is_own(path: &str) -> bool {
    path == JWKS_PATH || path.starts_with(AUTH_PREFIX) || path == "/auth"
}

/// The `endpoint` label of one of the gateway's own paths.
pub fn metric_endpoint(path: &str) -> Endpoint {
    match path {
        "/auth/login" => Endpoint::Login,
        "/auth/refresh" => Endpoint::Refresh,
        "/auth/logout" => Endpoint::Logout,
        "/auth/logout-all" => Endpoint::LogoutAll,
        "/auth/sessions" | account::PATH => Endpoint::Sessions,
        p if p.starts_with("/auth/sessions/") || p.starts_with("/auth/account/") => {
            Endpoint::Sessions
        }
        JWKS_PATH => Endpoint::Jwks,
        _ => Endpoint::Other,
    }
}

/// Answers one of the gateway's own endpoints.
pub async fn handle(
    auth: &AuthService,
    req: Request<Incoming>,
    ctx: &Ctx,
    path: &str,
    query: Option<&str>,
) -> Response<Body> {
    let state_changing = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if state_changing && !csrf::allowed_origin(req.headers(), &ctx.public_origin, &ctx.cors_origins)
    {
        tracing::info!(
            event = "auth.security.csrf",
            path,
            "cross-origin state change refused"
        );
        if path == "/auth/login" && login::is_form(req.headers()) {
            return crate::auth::refusals::cross_origin_page(&ctx.public_origin);
        }
        return json_error(
            StatusCode::FORBIDDEN,
            "cross_origin",
            "cross-origin requests may not change state",
        );
    }
    let get = matches!(*req.method(), Method::GET | Method::HEAD);
    match (req.method(), path) {
        (_, JWKS_PATH) if get => json(StatusCode::OK, &auth.jwks().await),
        (_, "/auth/login") if get => login::get(query),
        (&Method::POST, "/auth/login") => login::post(auth, req, ctx).await,
        (&Method::POST, "/auth/refresh") => match auth
            .limiter()
            .check_ip(Kind::RefreshIp, ctx.client_ip)
            .await
        {
            Ok(()) => refresh::post(auth, req.headers()).await,
            Err(limited) => login::too_many_requests("refresh_ip", limited),
        },
        (_, pages::STYLESHEET_PATH) if get => pages::stylesheet(),
        (_, account::PATH) if get => account::page(auth, req.headers()).await,
        (&Method::POST, "/auth/account/revoke") => account::revoke_one(auth, req).await,
        (&Method::POST, "/auth/account/revoke-others") => account::revoke_others(auth, req).await,
        (_, "/auth/logout") if get => logout::confirm_page(),
        (&Method::POST, "/auth/logout") => logout::post(auth, req.headers(), false).await,
        (&Method::POST, "/auth/logout-all") => logout::post(auth, req.headers(), true).await,
        (_, "/auth/sessions") if get => sessions_api::list(auth, req.headers()).await,
        (&Method::DELETE, p) if p.starts_with("/auth/sessions/") => {
            sessions_api::revoke(auth, req.headers(), &p["/auth/sessions/".len()..]).await
        }
        (
            _,
            JWKS_PATH
            | "/auth/login"
            | "/auth/refresh"
            | "/auth/logout"
            | "/auth/logout-all"
            | "/auth/sessions"
            | account::PATH
            | "/auth/account/revoke"
            | "/auth/account/revoke-others"
            | pages::STYLESHEET_PATH,
        ) => json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed",
        ),
        _ => json_error(StatusCode::NOT_FOUND, "not_found", "no such endpoint"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each own path maps to its bounded `endpoint` label; a session id in
    /// the path never reaches the label, and unknown paths are `other`.
    #[test]
    fn metric_endpoints() {
        for (path, endpoint) in [
            ("/auth/login", Endpoint::Login),
            ("/auth/refresh", Endpoint::Refresh),
            ("/auth/logout", Endpoint::Logout),
            ("/auth/logout-all", Endpoint::LogoutAll),
            ("/auth/sessions", Endpoint::Sessions),
            ("/auth/sessions/abc123", Endpoint::Sessions),
            ("/auth/account", Endpoint::Sessions),
            ("/auth/account/revoke", Endpoint::Sessions),
            (JWKS_PATH, Endpoint::Jwks),
            ("/auth/nope", Endpoint::Other),
            ("/auth", Endpoint::Other),
        ] {
            assert_eq!(metric_endpoint(path), endpoint, "{path}");
        }
    }
}
