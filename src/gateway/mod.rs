//! The request pipeline. [`Gateway::handle`] orders the stages; each stage
//! lives in its own module.

pub mod deny;
pub mod endpoints;
pub mod forward;
pub mod hygiene;
pub mod request_id;
pub mod respond;
pub mod routes;

use std::sync::Arc;
use std::time::Instant;

use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;

use crate::auth::AuthService;
use crate::body::Body;
use crate::clock::SharedClock;
use crate::config::{Config, Limits, Policy, Route};
use crate::headers::security::CompiledSecurityHeaders;
use crate::path::{self, PathOptions};
use crate::proxy::Upstreams;
use crate::server::ConnInfo;
use routes::RouteTable;

/// Who produced a response: the gateway itself or an upstream.
#[derive(Debug)]
pub enum Outcome {
    /// The gateway's own answer (errors, auth endpoints): `no-store`.
    Own(Response<Body>),
    /// An upstream's answer, passed on.
    Proxied(Response<Body>),
}

/// Everything a request needs, built once from the configuration.
#[derive(Debug)]
pub struct Gateway {
    config: Arc<Config>,
    routes: RouteTable,
    upstreams: Upstreams,
    security: CompiledSecurityHeaders,
    path_options: PathOptions,
    auth: AuthService,
    shutdown: tokio_util::sync::CancellationToken,
}

/// Why the gateway could not be built.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// A security header value was refused.
    #[error("security headers: {0}")]
    Headers(String),
    /// Keys or users could not be loaded.
    #[error(transparent)]
    Auth(#[from] crate::auth::service::AuthInitError),
}

impl Gateway {
    /// Builds the gateway from a validated configuration.
    pub fn new(config: Arc<Config>, clock: SharedClock) -> Result<Self, GatewayError> {
        let security = config
            .headers
            .compile()
            .map_err(|e| GatewayError::Headers(e.to_string()))?;
        Ok(Self {
            auth: AuthService::new(&config, clock)?,
            routes: RouteTable::new(config.routes.clone()),
            upstreams: Upstreams::new(&config.upstream),
            path_options: PathOptions {
                reject_params: config.server.reject_path_params,
            },
            security,
            config,
            shutdown: tokio_util::sync::CancellationToken::new(),
        })
    }

    /// The connection limits the server applies.
    pub fn limits(&self) -> &Limits {
        &self.config.limits
    }

    /// The authentication service.
    pub fn auth(&self) -> &AuthService {
        &self.auth
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Handles one request, in order:
    /// 1. assign the request id;
    /// 2. protocol hygiene (smuggling, `h2c`), see [`hygiene`];
    /// 3. normalize the path once (400 when ambiguous), see [`crate::path`];
    /// 4. the gateway's own endpoints;
    /// 5. route by longest prefix (404) and method (405);
    /// 6. route policy and authentication (401/403);
    /// 7. rewrite headers and forward upstream, see [`forward`];
    /// 8. security headers and the request id on the response.
    pub async fn handle(&self, req: Request<Incoming>, conn: ConnInfo) -> Response<Body> {
        let started = Instant::now();
        let request_id = request_id::assign(req.headers());
        let method = req.method().clone();
        let outcome = self.pipeline(req, conn, &request_id).await;
        let (mut resp, own) = match outcome {
            Outcome::Own(r) => (r, true),
            Outcome::Proxied(r) => (r, false),
        };
        self.security.apply(resp.headers_mut(), own);
        resp.headers_mut()
            .insert(request_id::HEADER, request_id.clone());
        tracing::info!(
            target: "portcullis::access",
            request_id = request_id.to_str().unwrap_or(""),
            peer = %conn.peer.ip(),
            method = %method,
            status = resp.status().as_u16(),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
        resp
    }

    async fn pipeline(
        &self,
        req: Request<Incoming>,
        conn: ConnInfo,
        request_id: &HeaderValue,
    ) -> Outcome {
        if let Err(reason) = hygiene::check(&req) {
            return Outcome::Own(hygiene::refuse(reason));
        }
        let raw = req
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/")
            .to_string();
        let (raw_path, query) = path::split_path_query(&raw);
        let normalized = match path::normalize(raw_path, &self.path_options) {
            Ok(p) => p.into_owned(),
            Err(e) => {
                tracing::debug!(error = %e, "path refused");
                return Outcome::Own(respond::json_error(
                    StatusCode::BAD_REQUEST,
                    "bad_path",
                    "the request path is malformed or ambiguous",
                ));
            }
        };
        if endpoints::is_own(&normalized) {
            return Outcome::Own(
                endpoints::handle(&self.auth, req, conn, &normalized, query).await,
            );
        }
        let Ok(found) = self.routes.find(&normalized) else {
            return Outcome::Own(respond::json_error(
                StatusCode::BAD_REQUEST,
                "bad_path",
                "the request path is malformed or ambiguous",
            ));
        };
        let Some(route) = found else {
            return Outcome::Own(respond::json_error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no route for this path",
            ));
        };
        if let Some(resp) = method_check(route, req.method()) {
            return Outcome::Own(resp);
        }
        let identity = match &route.policy {
            Policy::Public => None,
            Policy::Authenticated { roles } => match self.auth.authenticate(req.headers()) {
                Ok(id) if id.has_any_role(roles) => Some(id),
                Ok(id) => return Outcome::Own(deny::forbidden(&id, &route.prefix)),
                Err(failure) => {
                    let here = match query {
                        Some(q) => format!("{normalized}?{q}"),
                        None => normalized.clone(),
                    };
                    return Outcome::Own(deny::unauthenticated(&failure, &req, &here));
                }
            },
        };
        let target = forward::Target {
            route,
            path: &normalized,
            query,
            request_id,
            identity,
        };
        forward::forward(self, req, conn, target).await
    }

    pub(crate) fn upstreams(&self) -> &Upstreams {
        &self.upstreams
    }

    /// A token cancelled when the gateway stops; long-lived tunnels watch it.
    pub fn shutdown_token(&self) -> tokio_util::sync::CancellationToken {
        self.shutdown.child_token()
    }

    /// Ends long-lived tunnels (called on shutdown).
    pub fn stop(&self) {
        self.shutdown.cancel();
    }
}

/// 405 with `Allow` when the route restricts methods.
fn method_check(route: &Route, method: &http::Method) -> Option<Response<Body>> {
    let allowed = route.methods.as_ref()?;
    if allowed.contains(method) {
        return None;
    }
    let mut resp = respond::json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    );
    let list = allowed
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if let Ok(v) = HeaderValue::from_str(&list) {
        resp.headers_mut().insert(header::ALLOW, v);
    }
    Some(resp)
}
