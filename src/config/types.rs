//! The validated configuration. Every value here has been checked.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use http::{HeaderName, Method, Uri};
use ipnet::IpNet;

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listeners and server behaviour.
    pub server: ServerConfig,
    /// TLS termination.
    pub tls: TlsConfig,
    /// Upstream client behaviour.
    pub upstream: UpstreamConfig,
    /// Request and connection limits.
    pub limits: Limits,
    /// Security headers on every response.
    pub headers: crate::headers::security::SecurityHeaders,
    /// Identity headers sent upstream.
    pub identity: IdentityConfig,
    /// Authentication settings.
    pub auth: AuthConfig,
    /// Sessions and their store.
    pub session: SessionConfig,
    /// Rate limits.
    pub rate_limit: RateLimitConfig,
    /// Account lockout.
    pub lockout: LockoutConfig,
    /// CORS for configured origins.
    pub cors: CorsConfig,
    /// Admin listener (health checks, metrics); `None` when off.
    pub admin_listen: Option<SocketAddr>,
    /// Logging.
    pub log: LogConfig,
    /// Routes; never empty.
    pub routes: Vec<Route>,
}

impl Config {
    /// After binding port 0: the derived public origin takes the port
    /// actually bound.
    pub fn with_bound_port(mut self, port: u16) -> Self {
        if self.server.public_origin_derived && self.server.listen.port() == 0 {
            // The issuer stays as validated so tokens survive a restart on
            // another ephemeral port.
            self.server.public_origin = format!("https://localhost:{port}");
        }
        self
    }
}

/// `[server]`, validated.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// HTTPS listen address.
    pub listen: SocketAddr,
    /// Plain-HTTP listener that redirects to HTTPS.
    pub http_listen: Option<SocketAddr>,
    /// Origin absolute URLs are built from, e.g. `https://gw.example.com`
    /// (never from the `Host` header).
    pub public_origin: String,
    /// True when `public_origin` was derived from `listen` (no `public_url`).
    pub public_origin_derived: bool,
    /// Peers whose forwarded headers are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Where keys, the session store and generated certificates live.
    pub data_dir: PathBuf,
    /// How long in-flight requests may take to finish on shutdown.
    pub shutdown_timeout: Duration,
    /// Refuse `;` path parameters.
    pub reject_path_params: bool,
}

/// Lowest TLS version accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    /// TLS 1.2 and 1.3.
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// `[tls]`, validated.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
    /// Lowest version accepted.
    pub min_version: TlsVersion,
    /// Generate a self-signed certificate when the files are missing.
    pub generate_dev_cert: bool,
}

/// `[upstream]`, validated.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Time allowed until the upstream's response headers arrive.
    pub response_timeout: Duration,
    /// Idle pooled connections are closed after this.
    pub pool_idle_timeout: Duration,
    /// Idle pooled connections kept per upstream.
    pub pool_max_idle_per_host: usize,
}

/// `[limits]`, validated.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Request head size; beyond it the answer is 431.
    pub max_header_bytes: usize,
    /// Number of request headers; beyond it the answer is 431.
    pub max_headers: usize,
    /// Default request body cap; beyond it the answer is 413.
    pub max_body_bytes: u64,
    /// A client must send its request head within this time.
    pub header_read_timeout: Duration,
    /// A client must finish the TLS handshake within this time.
    pub tls_handshake_timeout: Duration,
    /// A connection with no traffic for this long is closed.
    pub idle_timeout: Duration,
    /// Connections beyond this wait in the accept queue.
    pub max_connections: usize,
}

/// `[identity]`, validated.
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// Carries the username.
    pub user_header: HeaderName,
    /// Carries the email, when known.
    pub email_header: HeaderName,
    /// Carries the roles, comma separated.
    pub roles_header: HeaderName,
    /// Carries the session id.
    pub session_header: HeaderName,
    /// Forward the access token as `Authorization: Bearer`.
    pub pass_access_token: bool,
}

/// `[auth]`, validated.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// TOML file of users.
    pub users_file: PathBuf,
    /// Users given in the configuration itself (`auth.users`, e.g. from the
    /// environment); when set, the users file is not read.
    pub inline_users: Option<crate::auth::users::Users>,
    /// `iss` of issued tokens.
    pub issuer: String,
    /// `aud` of issued tokens.
    pub audience: String,
    /// Access-token lifetime (at most one hour).
    pub access_token_ttl: Duration,
    /// Clock leeway for `exp`, `nbf`, `iat` (at most 60 s).
    pub leeway: Duration,
    /// Directory of signing keys.
    pub key_dir: PathBuf,
    /// RSA modulus size for new keys.
    pub key_bits: usize,
    /// Automatic rotation interval.
    pub key_rotation: Duration,
    /// Accept the access token from a cookie and redirect browsers to login.
    pub browser_mode: bool,
    /// Password-hashing threads.
    pub hash_workers: usize,
    /// Logins allowed to wait for a hashing thread before 503.
    pub hash_queue: usize,
    /// Tokens longer than this are refused before parsing.
    pub max_token_bytes: usize,
    /// Verified tokens kept to skip repeated signature checks; 0 is off.
    pub verified_cache_entries: u64,
}

/// Where sessions live.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// redb in `<data_dir>/sessions.redb`.
    Embedded {
        /// The database file.
        path: PathBuf,
    },
    /// Redis shared by every instance.
    Redis {
        /// Which servers, and how to reach them.
        topology: RedisTopology,
        /// Prefix of every key.
        key_prefix: String,
        /// Timeout of every call.
        timeout: Duration,
    },
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Embedded { path } => f.debug_struct("Embedded").field("path", path).finish(),
            Self::Redis {
                topology,
                key_prefix,
                timeout,
            } => f
                .debug_struct("Redis")
                .field("topology", topology)
                .field("key_prefix", key_prefix)
                .field("timeout", timeout)
                .finish(),
        }
    }
}

/// The Redis deployment (`redis.mode`). URLs and passwords may hold
/// secrets: the `Debug` impl shows only the mode, the node count and the
/// master name.
#[derive(Clone, PartialEq, Eq)]
pub enum RedisTopology {
    /// One server (`redis://` or `rediss://` URL, possibly with a password).
    Standalone {
        /// The server.
        url: String,
    },
    /// The primary that the sentinels name `master_name`, followed across
    /// failovers.
    Sentinel {
        /// The sentinels' URLs (their own password, if any, in the URL);
        /// `rediss://` sentinels mean TLS to the data nodes too.
        sentinels: Vec<String>,
        /// The monitored master's name.
        master_name: String,
        /// The data nodes' password (the sentinels' may differ).
        password: Option<String>,
    },
    /// A Redis Cluster reached through seed nodes.
    Cluster {
        /// Seed nodes' URLs; the rest of the cluster is discovered.
        nodes: Vec<String>,
        /// The nodes' password, unless the URLs carry it.
        password: Option<String>,
    },
}

impl std::fmt::Debug for RedisTopology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Standalone { .. } => f.write_str("Standalone"),
            Self::Sentinel {
                sentinels,
                master_name,
                ..
            } => f
                .debug_struct("Sentinel")
                .field("sentinels", &sentinels.len())
                .field("master_name", master_name)
                .finish_non_exhaustive(),
            Self::Cluster { nodes, .. } => f
                .debug_struct("Cluster")
                .field("nodes", &nodes.len())
                .finish_non_exhaustive(),
        }
    }
}

/// `[session]`, validated.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The backend.
    pub store: StoreConfig,
    /// Absolute session lifetime (at most 90 days).
    pub refresh_lifetime: Duration,
    /// A session unused for this long ends.
    pub idle_timeout: Duration,
    /// Live sessions per user; the oldest is evicted beyond it.
    pub max_per_user: usize,
    /// A replayed refresh token within this window counts as a concurrent
    /// tab, not theft.
    pub reuse_grace: Duration,
}

/// `[rate_limit]`, validated: requests per minute, `None` when off.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitConfig {
    /// Logins per client IP.
    pub login_per_ip: Option<u32>,
    /// Logins per username.
    pub login_per_account: Option<u32>,
    /// Refreshes per client IP.
    pub refresh_per_ip: Option<u32>,
    /// Proxied requests per client IP.
    pub proxy_per_ip: Option<u32>,
}

/// `[lockout]`, validated.
#[derive(Debug, Clone, Copy)]
pub struct LockoutConfig {
    /// Failed logins that lock an account; 0 turns lockout off.
    pub max_failures: u64,
    /// First lock period; each further lock doubles it.
    pub base: Duration,
    /// Longest lock period.
    pub max: Duration,
}

/// `[cors]`, validated. CORS is off while `allowed_origins` is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsConfig {
    /// Origins allowed, in the serialized form browsers send in `Origin`
    /// (`https://app.example.com`, default port omitted), compared exactly.
    pub allowed_origins: Vec<String>,
    /// Methods a preflight may ask for.
    pub allowed_methods: Vec<Method>,
    /// Request headers a preflight may ask for (lowercase).
    pub allowed_headers: Vec<HeaderName>,
    /// Response headers scripts of an allowed origin may read.
    pub expose_headers: Vec<HeaderName>,
    /// Answer `Access-Control-Allow-Credentials: true` (cookies, and the
    /// fingerprint cookie every token needs).
    pub allow_credentials: bool,
    /// How long browsers may cache a preflight answer.
    pub max_age: Duration,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Pretty,
}

/// `[log]`, validated.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// A tracing filter directive, e.g. `info` or `portcullis=debug`.
    pub level: String,
    /// Output format.
    pub format: LogFormat,
}

/// Who may use a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// Anyone.
    Public,
    /// A verified access token; with roles, the token must carry one of them.
    Authenticated {
        /// Roles of which the user needs at least one; empty means any user.
        roles: Vec<String>,
    },
}

/// One route, validated.
#[derive(Debug, Clone)]
pub struct Route {
    /// Path prefix matched on segment boundaries.
    pub prefix: String,
    /// `http://host:port` of the upstream, optionally with a base path.
    pub upstream: Uri,
    /// Who may use it.
    pub policy: Policy,
    /// Allowed methods; `None` allows all.
    pub methods: Option<Vec<Method>>,
    /// Request body cap for this route.
    pub max_body_bytes: u64,
}

/// The files a configuration names, as `serve` reads them (`check-config`
/// loads them).
#[derive(Debug, Clone)]
pub struct NamedFiles {
    /// The certificate and key, and whether a missing pair is generated.
    pub tls: TlsConfig,
    /// The users file.
    pub users_file: PathBuf,
    /// Users are given inline (`auth.users`): the file is not read.
    pub inline_users: bool,
    /// The first route that needs sign-in (and so users), if any.
    pub route_needing_users: Option<usize>,
}

impl NamedFiles {
    /// The files of a valid configuration.
    pub fn of(config: &Config) -> Self {
        Self {
            tls: config.tls.clone(),
            users_file: config.auth.users_file.clone(),
            inline_users: config.auth.inline_users.is_some(),
            route_needing_users: config
                .routes
                .iter()
                .position(|r| r.policy != Policy::Public),
        }
    }
}
