//! The request pipeline. [`Gateway::handle`] orders the stages; each stage
//! lives in its own module.

pub mod cors;
pub mod csrf;
pub mod deny;
pub mod endpoints;
pub mod forward;
pub mod forward_auth;
pub mod hygiene;
pub mod methods;
pub mod request_id;
pub mod respond;
pub mod routes;

use std::sync::Arc;
use std::time::Instant;

use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use tracing::Instrument;

use crate::auth::refresh::RefreshFailure;
use crate::auth::{AuthService, Identity};
use crate::body::Body;
use crate::clock::SharedClock;
use crate::config::{Config, Limits, Policy, Route};
use crate::headers::security::CompiledSecurityHeaders;
use crate::path::{self, PathOptions};
use crate::proxy::Upstreams;
use crate::ratelimit::Kind;
use crate::server::ConnInfo;
use crate::telemetry::metrics::{Endpoint, Metrics};
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
    /// Replaced whole on SIGHUP; a request keeps the table it started with.
    routes: tokio::sync::watch::Sender<Arc<RouteTable>>,
    upstreams: Upstreams,
    security: CompiledSecurityHeaders,
    path_options: PathOptions,
    cors: Option<cors::Cors>,
    cors_origins: Arc<[String]>,
    /// `X-Forwarded-Proto`/`-Host` and `Host` for upstreams, built once.
    forwarded: crate::headers::forwarded::ForwardedValues,
    upstream_host: HeaderValue,
    auth: Arc<AuthService>,
    metrics: Arc<Metrics>,
    shutdown: tokio_util::sync::CancellationToken,
}

/// What the pipeline learned about a request, for the request metrics.
#[derive(Debug, Clone, Copy)]
struct Seen {
    endpoint: Endpoint,
    /// For `authenticated` routes, the time authentication took.
    auth_time: Option<std::time::Duration>,
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
    /// Builds the gateway from a validated configuration, with a fresh
    /// metrics registry.
    pub async fn new(config: Arc<Config>, clock: SharedClock) -> Result<Self, GatewayError> {
        let security = config
            .headers
            .compile()
            .map_err(|e| GatewayError::Headers(e.to_string()))?;
        let prefixes = config.routes.iter().map(|r| r.prefix.as_str());
        let metrics = Arc::new(Metrics::new(prefixes, clock.clone()));
        let host = config.server.public_origin.trim_start_matches("https://");
        let forwarded = crate::headers::forwarded::ForwardedValues::new("https", host)
            .map_err(|e| GatewayError::Headers(e.to_string()))?;
        let upstream_host = HeaderValue::from_str(host)
            .map_err(|_| GatewayError::Headers(format!("invalid public origin host {host:?}")))?;
        Ok(Self {
            forwarded,
            upstream_host,
            auth: Arc::new(AuthService::new(&config, clock, metrics.clone()).await?),
            metrics,
            routes: tokio::sync::watch::Sender::new(Arc::new(RouteTable::new(
                config.routes.clone(),
            ))),
            upstreams: Upstreams::new(&config.upstream),
            path_options: PathOptions {
                reject_params: config.server.reject_path_params,
            },
            security,
            cors: cors::Cors::new(&config.cors),
            cors_origins: config.cors.allowed_origins.clone().into(),
            config,
            shutdown: tokio_util::sync::CancellationToken::new(),
        })
    }

    /// The connection limits the server applies.
    pub fn limits(&self) -> &Limits {
        &self.config.limits
    }

    /// The authentication service.
    pub fn auth(&self) -> &Arc<AuthService> {
        &self.auth
    }

    /// The metrics registry and its handles.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The route table in force.
    pub fn routes(&self) -> Arc<RouteTable> {
        self.routes.borrow().clone()
    }

    /// Swaps in a new route table (SIGHUP); requests already routed keep
    /// the old one.
    pub fn replace_routes(&self, routes: Vec<Route>) {
        self.routes.send_replace(Arc::new(RouteTable::new(routes)));
    }

    /// The configuration in force (its routes are those at start: see
    /// [`Gateway::routes`]).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Handles one request, in order:
    /// 1. assign the request id;
    /// 2. protocol hygiene (smuggling, `h2c`), see [`hygiene`];
    /// 3. normalize the path once (400 when ambiguous), see [`crate::path`];
    /// 4. CORS preflights (see [`cors`]) and the gateway's own endpoints,
    ///    forward-auth among them (see [`forward_auth`]);
    /// 5. route by longest prefix (404) and method (405);
    /// 6. route policy and authentication (401/403);
    /// 7. rewrite headers and forward upstream, see [`forward`];
    /// 8. security headers, CORS headers and the request id on the response;
    /// 9. metrics and the access log.
    pub async fn handle(&self, req: Request<Incoming>, conn: ConnInfo) -> Response<Body> {
        let started = Instant::now();
        let request_id = request_id::assign(req.headers());
        let method = req.method().clone();
        // A clone shares the parsed bytes: no copy unless the log is written.
        let uri = req.uri().clone();
        let preflight = cors::is_preflight(&req);
        let origin = self
            .cors
            .as_ref()
            .and_then(|c| c.allowed_origin(req.headers()));
        let mut seen = Seen {
            endpoint: Endpoint::Other,
            auth_time: None,
        };
        // Every log line of this request carries its id, and its user and
        // session once authentication knows them.
        let span = tracing::info_span!(
            "request",
            request_id = request_id.to_str().unwrap_or(""),
            user = tracing::field::Empty,
            sid = tracing::field::Empty,
        );
        let outcome = self
            .pipeline(req, conn, &request_id, &mut seen)
            .instrument(span.clone())
            .await;
        let (mut resp, own) = match outcome {
            Outcome::Own(r) => (r, true),
            Outcome::Proxied(r) => (r, false),
        };
        if own && method == http::Method::HEAD {
            // HTTP/2 refuses a HEAD answer that carries body bytes.
            *resp.body_mut() = crate::body::empty();
        }
        self.security.apply(resp.headers_mut(), own);
        if let Some(cors) = &self.cors {
            cors.finish(preflight, origin, resp.headers_mut());
        }
        resp.headers_mut()
            .insert(request_id::HEADER, request_id.clone());
        let took = seen.auth_time.unwrap_or_else(|| started.elapsed());
        self.metrics
            .request(seen.endpoint, resp.status().as_u16(), took);
        let _in_request = span.enter();
        tracing::info!(
            target: "portcullis::access",
            peer = %conn.peer.ip(),
            method = %method,
            path = %uri.path(),
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
        seen: &mut Seen,
    ) -> Outcome {
        if let Err(reason) = hygiene::check(&req) {
            return Outcome::Own(hygiene::refuse(reason));
        }
        if let Some(resp) = hygiene::refuse_method_or_count(&req, self.config.limits.max_headers) {
            return Outcome::Own(resp);
        }
        // The request moves on to the upstream while its path is still
        // needed: borrow from a clone of the URI (shared bytes, no copy).
        let uri = req.uri().clone();
        let raw = uri.path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
        let (raw_path, query) = path::split_path_query(raw);
        let Ok(normalized) = path::normalize(raw_path, &self.path_options) else {
            return Outcome::Own(bad_path());
        };
        let normalized: &str = &normalized;
        if normalized == forward_auth::PATH {
            // Read-only and asked by a proxy: before the CSRF check, any method.
            return Outcome::Own(
                Box::pin(forward_auth::handle(self, &req, conn, query, seen)).await,
            );
        }
        if let Some(cors) = &self.cors
            && cors::is_preflight(&req)
        {
            // Answered here, never forwarded: a preflight carries no
            // credentials and must not reach an upstream, identity or not.
            return Outcome::Own(cors.preflight(req.headers()));
        }
        if endpoints::is_own(normalized) {
            seen.endpoint = endpoints::metric_endpoint(normalized);
            let ctx = self.ctx(conn, req.headers());
            return Outcome::Own(
                Box::pin(endpoints::handle(&self.auth, req, &ctx, normalized, query)).await,
            );
        }
        let table = self.routes();
        let route = match table.find(normalized) {
            Ok(Some(route)) => route,
            Ok(None) => {
                return Outcome::Own(respond::json_error(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "no route for this path",
                ));
            }
            Err(_) => return Outcome::Own(bad_path()),
        };
        if let Some(resp) = methods::check(route, req.method(), req.headers(), query) {
            return Outcome::Own(resp);
        }
        let is_upgrade = crate::headers::hop_by_hop::is_upgrade_request(req.headers()).is_some();
        if is_upgrade
            && !csrf::allowed_origin(
                req.headers(),
                &self.config.server.public_origin,
                &self.cors_origins,
            )
        {
            // Cross-site WebSocket hijacking: browsers send Origin on upgrades.
            return Outcome::Own(respond::json_error(
                StatusCode::FORBIDDEN,
                "cross_origin",
                "cross-origin WebSocket refused",
            ));
        }
        if self.auth.limiter().enabled(Kind::ProxyIp) {
            let ip = self.ctx(conn, req.headers()).client_ip;
            if let Err(limited) = self.auth.limiter().check_ip(Kind::ProxyIp, ip).await {
                return Outcome::Own(crate::auth::login::too_many_requests("proxy_ip", limited));
            }
        }
        let here = Here {
            path: normalized,
            query,
        };
        let auth_started = Instant::now();
        let authorized = self.authorize(route, &req, here).await;
        if let Policy::Authenticated { .. } = route.policy {
            seen.endpoint = Endpoint::Verify;
            seen.auth_time = Some(auth_started.elapsed());
        }
        let (identity, cookies) = match authorized {
            Ok(pair) => pair,
            Err(resp) => return Outcome::Own(resp),
        };
        if let Some(id) = &identity {
            let span = tracing::Span::current();
            span.record(
                "user",
                tracing::field::display(crate::telemetry::Masked(&id.user)),
            );
            span.record("sid", tracing::field::display(&id.session));
        }
        let target = forward::Target {
            route,
            path: normalized,
            query,
            request_id,
            identity,
        };
        let mut outcome = forward::forward(self, req, conn, target).await;
        let resp = match &mut outcome {
            Outcome::Own(r) | Outcome::Proxied(r) => r,
        };
        for c in cookies {
            resp.headers_mut().append(header::SET_COOKIE, c);
        }
        outcome
    }

    /// Applies the route policy: who the user is (refreshing a browser
    /// session inline when its access token has expired), or the refusal.
    async fn authorize<B>(
        &self,
        route: &Route,
        req: &Request<B>,
        here: Here<'_>,
    ) -> Result<(Option<Identity>, Vec<HeaderValue>), Response<Body>> {
        let Policy::Authenticated { roles } = &route.policy else {
            return Ok((None, Vec::new()));
        };
        let (id, cookies) = match self.auth.authenticate(req.headers()).await {
            Ok(id) => (id, Vec::new()),
            Err(failure) => match Box::pin(self.auth.inline_refresh(req.headers(), &failure)).await
            {
                Ok(pair) => pair,
                Err(RefreshFailure::StoreDown) => return Err(crate::auth::login::unavailable()),
                Err(_) if deny::is_cross_site_navigation(req) => {
                    return Err(deny::reload_same_site(&here.to_string()));
                }
                Err(_) => return Err(deny::unauthenticated(&failure, req, &here.to_string())),
            },
        };
        if !id.has_any_role(roles) {
            // An inline refresh used up the old refresh token: hand out the
            // new one even with the refusal.
            let mut resp = deny::forbidden(&id, &route.prefix);
            for c in cookies {
                resp.headers_mut().append(header::SET_COOKIE, c);
            }
            return Err(resp);
        }
        Ok((Some(id), cookies))
    }

    /// The request context the gateway's own endpoints need.
    fn ctx(&self, conn: ConnInfo, headers: &http::HeaderMap) -> endpoints::Ctx {
        let trusted = &self.config.server.trusted_proxies;
        endpoints::Ctx {
            conn,
            client_ip: crate::headers::forwarded::client_ip(conn.peer.ip(), headers, trusted),
            public_origin: self.config.server.public_origin.clone(),
            cors_origins: self.cors_origins.clone(),
        }
    }

    /// The forwarded header values and the `Host` upstreams see.
    pub(crate) fn forwarded_values(
        &self,
    ) -> (&crate::headers::forwarded::ForwardedValues, &HeaderValue) {
        (&self.forwarded, &self.upstream_host)
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

/// The normalized path and query, written out only when a refusal needs
/// to send the user back here.
#[derive(Debug, Clone, Copy)]
struct Here<'a> {
    path: &'a str,
    query: Option<&'a str>,
}

impl std::fmt::Display for Here<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.query {
            Some(q) => write!(f, "{}?{q}", self.path),
            None => f.write_str(self.path),
        }
    }
}

fn bad_path() -> Response<Body> {
    respond::json_error(
        StatusCode::BAD_REQUEST,
        "bad_path",
        "the request path is malformed or ambiguous",
    )
}
