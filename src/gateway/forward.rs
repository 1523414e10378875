//! Forwarding: rewrite the request for the upstream (hop-by-hop, identity
//! and forwarded headers, gateway cookies), stream it, and clean the answer.

use std::time::Instant;

use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Request, StatusCode, Version};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::{Gateway, Outcome, respond};
use crate::auth::{Identity, cookie_names};
use crate::config::{IdentityConfig, Route};
use crate::headers::{cookies, forwarded, hop_by_hop, identity};
use crate::proxy::{ProxyError, upgrade};
use crate::server::ConnInfo;
use crate::telemetry::metrics::UpstreamStatus;

/// Where and as whom a request goes.
#[derive(Debug)]
pub struct Target<'a> {
    /// The matched route.
    pub route: &'a Route,
    /// The normalized path.
    pub path: &'a str,
    /// The query, verbatim.
    pub query: Option<&'a str>,
    /// The request id, passed upstream.
    pub request_id: &'a HeaderValue,
    /// The verified identity, for authenticated routes.
    pub identity: Option<Identity>,
}

/// Sends the request upstream and returns the cleaned answer.
pub async fn forward(
    gw: &Gateway,
    mut req: Request<Incoming>,
    conn: ConnInfo,
    t: Target<'_>,
) -> Outcome {
    let limit = t.route.max_body_bytes;
    if content_length(req.headers()).is_some_and(|n| n > limit) {
        return Outcome::Own(respond::json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "request body exceeds the limit for this route",
        ));
    }
    let upgrade_proto = hop_by_hop::is_upgrade_request(req.headers());
    let client_upgrade = upgrade_proto.as_ref().map(|_| hyper::upgrade::on(&mut req));
    let (mut parts, body) = req.into_parts();
    rewrite_request(gw, &mut parts.headers, conn, &t, upgrade_proto.is_some());
    parts.version = Version::HTTP_11;
    // A request without a body (most are) needs no limit and no stall timer.
    let body = if hyper::body::Body::is_end_stream(&body) {
        crate::body::empty()
    } else {
        let patience = gw.config().limits.header_read_timeout;
        Limited::new(crate::body::Patient::new(body, patience), limit as usize).boxed()
    };
    let pq = match t.query {
        Some(q) => format!("{}?{q}", t.path),
        None => t.path.to_string(),
    };
    let upstream_req = Request::from_parts(parts, body);
    let sent = Instant::now();
    let result = gw
        .upstreams()
        .send(upstream_req, &t.route.upstream, &pq)
        .await;
    let status = match &result {
        Ok(r) => UpstreamStatus::Code(r.status().as_u16()),
        Err(e) => upstream_failure(e),
    };
    gw.metrics()
        .upstream(&t.route.prefix, status, sent.elapsed());
    let mut resp = match result {
        Ok(r) => r,
        Err(e) => return Outcome::Own(respond::proxy_error(&e, &t.route.prefix)),
    };
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        let Some(client) = client_upgrade else {
            return Outcome::Own(respond::json_error(
                StatusCode::BAD_GATEWAY,
                "upstream_unavailable",
                "Bad Gateway",
            ));
        };
        let upstream = hyper::upgrade::on(&mut resp);
        let watch = t
            .identity
            .as_ref()
            .map(|id| gw.auth().sessions().watch(&id.session));
        upgrade::tunnel(client, upstream, gw.shutdown_token(), watch);
        hop_by_hop::strip_keep_upgrade(resp.headers_mut());
    } else {
        hop_by_hop::strip(resp.headers_mut());
    }
    Outcome::Proxied(resp)
}

/// The `status` label of an exchange that produced no response.
fn upstream_failure(e: &ProxyError) -> UpstreamStatus {
    match e {
        ProxyError::Timeout => UpstreamStatus::Timeout,
        ProxyError::Unavailable(_) => UpstreamStatus::Unavailable,
        ProxyError::BodyTooLarge => UpstreamStatus::BodyTooLarge,
        ProxyError::BadUri(_) => UpstreamStatus::BadUri,
        ProxyError::ClientStalled | ProxyError::ClientBody => UpstreamStatus::ClientBody,
    }
}

fn content_length(h: &HeaderMap) -> Option<u64> {
    h.get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// Rewrites the client's headers into what the upstream may see.
fn rewrite_request(gw: &Gateway, h: &mut HeaderMap, conn: ConnInfo, t: &Target<'_>, upgrade: bool) {
    let cfg = gw.config();
    if upgrade {
        hop_by_hop::strip_keep_upgrade(h);
    } else {
        hop_by_hop::strip(h);
    }
    let trusted = &cfg.server.trusted_proxies;
    let peer_trusted = forwarded::is_trusted(conn.peer.ip(), trusted);
    let configured = configured_identity_headers(&cfg.identity);
    if peer_trusted {
        identity::strip_identity_keep_forwarded(h, &configured);
    } else {
        identity::strip_identity(h, &configured);
    }
    cookies::remove(h, cookie_names::ALL);
    h.remove(header::AUTHORIZATION);
    let (values, host) = gw.forwarded_values();
    forwarded::set_forwarded(h, conn.peer.ip(), values, peer_trusted);
    h.insert(header::HOST, host.clone());
    h.insert(super::request_id::HEADER, t.request_id.clone());
    if let Some(id) = &t.identity {
        set_identity(h, &cfg.identity, id);
    }
}

fn configured_identity_headers(c: &IdentityConfig) -> [HeaderName; 4] {
    [
        c.user_header.clone(),
        c.email_header.clone(),
        c.roles_header.clone(),
        c.session_header.clone(),
    ]
}

/// Sets the configured identity headers (and the token when configured)
/// for `id`: on the upstream request, or on a forward-auth answer.
pub(super) fn set_identity(h: &mut HeaderMap, c: &IdentityConfig, id: &Identity) {
    let mut put = |name: &HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name.clone(), v);
        }
    };
    put(&c.user_header, &id.user);
    if let Some(email) = &id.email {
        put(&c.email_header, email);
    }
    put(&c.roles_header, &id.roles.join(","));
    put(&c.session_header, &id.session);
    if let (true, Some(token)) = (c.pass_access_token, &id.token) {
        put(&header::AUTHORIZATION, &format!("Bearer {token}"));
    }
}
