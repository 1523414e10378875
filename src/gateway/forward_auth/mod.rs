//! `/auth/verify`: forward-auth for nginx `auth_request`, Traefik
//! ForwardAuth and Caddy `forward_auth`.
//!
//! A proxy holding a request asks whether it may pass. The request it asks
//! about comes from its forwarded headers ([`target`]), which are believed
//! only from a configured trusted proxy: anyone else gets 400. The path is
//! normalized as a proxied request's would be, matched against the same
//! routes, and the same checks apply (token, fingerprint, revocation, user,
//! roles, methods). Answers:
//! - 200, empty, with the identity headers (the `[identity]` names);
//! - 401 with a Bearer challenge and a JSON body; a browser navigation also
//!   gets `X-Auth-Redirect` and `Location`: the login page on the public URL
//!   with the original path as `return_to` (with `?redirect=1`, a 302 there
//!   instead, for Traefik and Caddy, which hand the answer to the browser);
//! - 403: a required role, the method or a matching route is missing;
//! - 400: not a trusted proxy, or forwarded headers missing, repeated,
//!   conflicting, malformed, or an ambiguous path.
//!
//! There is no inline refresh here: a proxy may drop the `Set-Cookie` of a
//! subrequest's answer, and a rotated refresh token the browser never got
//! would later look like theft and end the session.

pub mod target;

use crate::gateway::routes::RouteTable;
use std::time::Instant;

use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};

use super::respond::json_error;
use super::{Gateway, Seen, deny, forward};
use crate::auth::{AuthFailure, Identity};
use crate::body::{self, Body};
use crate::config::{Policy, Route};
use crate::headers::forwarded;
use crate::ratelimit::Kind;
use crate::server::ConnInfo;
use crate::telemetry::metrics::Endpoint;
use target::Target;

/// The forward-auth endpoint.
pub const PATH: &str = "/auth/verify";
/// The header carrying the login URL for browsers (nginx reads it with
/// `auth_request_set`).
pub const REDIRECT_HEADER: &str = "x-auth-redirect";

/// Answers a forward-auth subrequest.
pub(super) async fn handle<B>(
    gw: &Gateway,
    req: &Request<B>,
    conn: ConnInfo,
    query: Option<&str>,
    seen: &mut Seen,
) -> Response<Body> {
    if !forwarded::is_trusted(conn.peer.ip(), &gw.config.server.trusted_proxies) {
        return untrusted(conn);
    }
    let Some(redirect) = redirect_mode(query) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "redirect must be 1, true, 0 or false",
        );
    };
    let target = match target::read(req.headers(), req.method(), &gw.path_options) {
        Ok(t) => t,
        Err(e) => return refuse_target(&e),
    };
    let table = gw.routes();
    let route = match route_for(&table, &target) {
        Ok(route) => route,
        Err(no) => return no.response(),
    };
    if gw.auth.limiter().enabled(Kind::ProxyIp) {
        let ip = gw.ctx(conn, req.headers()).client_ip.to_string();
        if let Err(limited) = gw.auth.limiter().check(Kind::ProxyIp, &ip).await {
            return crate::auth::login::too_many_requests("proxy_ip", limited);
        }
    }
    let Policy::Authenticated { roles } = &route.policy else {
        return allowed(gw, None);
    };
    seen.endpoint = Endpoint::Verify;
    let started = Instant::now();
    let result = gw.auth.authenticate(req.headers()).await;
    seen.auth_time = Some(started.elapsed());
    match result {
        Ok(id) if id.has_any_role(roles) => allowed(gw, Some(&id)),
        Ok(id) => deny::forbidden(&id, &route.prefix),
        Err(failure) => unauthenticated(gw, &failure, req.headers(), &target, redirect),
    }
}

/// 400 for a peer that is not a trusted proxy, whatever it sent; logged
/// as a security event.
fn untrusted(conn: ConnInfo) -> Response<Body> {
    tracing::warn!(event = "auth.security.untrusted_forward_auth", peer = %conn.peer.ip(), "forward-auth request from a peer that is not a trusted proxy");
    json_error(
        StatusCode::BAD_REQUEST,
        "untrusted_peer",
        "forward-auth answers only configured trusted proxies (server.trusted_proxies)",
    )
}

/// 400 for forwarded headers that do not name one request.
fn refuse_target(e: &target::TargetError) -> Response<Body> {
    tracing::debug!(error = %e, "forward-auth request refused");
    let code = match e {
        target::TargetError::Path(_) | target::TargetError::DotSegments => "bad_path",
        _ => "bad_forwarded_request",
    };
    json_error(StatusCode::BAD_REQUEST, code, &e.to_string())
}

/// `?redirect=1|true|0|false`; absent is false; `None` for anything else.
fn redirect_mode(query: Option<&str>) -> Option<bool> {
    let mut mode = false;
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if k == "redirect" {
            mode = match v.as_ref() {
                "1" | "true" => true,
                "0" | "false" => false,
                _ => return None,
            };
        }
    }
    Some(mode)
}

/// Why the route table gives a target no policy.
#[derive(Debug)]
enum NoPolicy {
    /// No route matches: closed by default.
    NoRoute,
    /// `;` parameters make the route ambiguous.
    Ambiguous(crate::path::PathError),
    /// The route does not allow the method (CONNECT and TRACE never pass).
    Method,
}

impl NoPolicy {
    /// 400 for an ambiguous path; otherwise 403, so nginx passes it on
    /// rather than turning it into a 500.
    fn response(&self) -> Response<Body> {
        match self {
            NoPolicy::NoRoute => {
                json_error(StatusCode::FORBIDDEN, "no_route", "no route for this path")
            }
            NoPolicy::Ambiguous(e) => json_error(
                StatusCode::BAD_REQUEST,
                "bad_path",
                &format!("the forwarded path is ambiguous: {e}"),
            ),
            NoPolicy::Method => json_error(
                StatusCode::FORBIDDEN,
                "method_not_allowed",
                "method not allowed on this route",
            ),
        }
    }
}

/// The route the target falls under, with its method allowed.
fn route_for<'t>(table: &'t RouteTable, t: &Target) -> Result<&'t Route, NoPolicy> {
    let route = table
        .find(&t.path)
        .map_err(NoPolicy::Ambiguous)?
        .ok_or(NoPolicy::NoRoute)?;
    let refused = matches!(t.method, Method::CONNECT | Method::TRACE)
        || route
            .methods
            .as_ref()
            .is_some_and(|m| !m.contains(&t.method));
    if refused {
        return Err(NoPolicy::Method);
    }
    Ok(route)
}

/// 200 with the identity headers (none for public routes).
fn allowed(gw: &Gateway, id: Option<&Identity>) -> Response<Body> {
    let mut resp = Response::new(body::empty());
    if let Some(id) = id {
        forward::set_identity(resp.headers_mut(), &gw.config.identity, id);
    }
    resp
}

/// 401 with a challenge; browsers also learn where to log in (a 302 there
/// in redirect mode). The URL is built from the configured public origin,
/// never from `Host` or `X-Forwarded-Host`.
fn unauthenticated(
    gw: &Gateway,
    failure: &AuthFailure,
    headers: &HeaderMap,
    t: &Target,
    redirect: bool,
) -> Response<Body> {
    deny::log(failure);
    if !deny::is_navigation(&t.method, headers) {
        return deny::challenge(failure);
    }
    let login = format!(
        "{}{}",
        gw.config.server.public_origin,
        deny::login_path(&t.path_and_query())
    );
    let Ok(location) = HeaderValue::from_str(&login) else {
        return deny::challenge(failure);
    };
    if redirect {
        let mut resp = Response::new(body::empty());
        *resp.status_mut() = StatusCode::FOUND;
        resp.headers_mut().insert(header::LOCATION, location);
        return resp;
    }
    let mut resp = deny::challenge(failure);
    let h = resp.headers_mut();
    h.insert(REDIRECT_HEADER, location.clone());
    h.insert(header::LOCATION, location);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the documented values of `redirect` are accepted.
    #[test]
    fn redirect_mode_values() {
        let cases = [
            (None, Some(false)),
            (Some(""), Some(false)),
            (Some("redirect=1"), Some(true)),
            (Some("redirect=true"), Some(true)),
            (Some("x=2&redirect=0"), Some(false)),
            (Some("redirect=false"), Some(false)),
            (Some("redirect=yes"), None),
            (Some("redirect="), None),
            (Some("other=1"), Some(false)),
        ];
        for (query, want) in cases {
            assert_eq!(redirect_mode(query), want, "{query:?}");
        }
    }
}
