//! The configuration as written: figment merges built-in defaults, the TOML
//! file and `PORTCULLIS_` environment variables into these structs. Unknown
//! keys are errors (`deny_unknown_fields`) so a typo names itself.

use serde::{Deserialize, Serialize};

/// Every section of the configuration file, before validation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// Listeners, public URL, trusted proxies, data directory.
    pub server: RawServer,
    /// Certificate, key and protocol versions.
    pub tls: RawTls,
    /// Upstream connection behaviour.
    pub upstream: RawUpstream,
    /// Request and connection limits.
    pub limits: RawLimits,
    /// Security response headers.
    pub headers: RawHeaders,
    /// Identity headers sent to upstreams.
    pub identity: RawIdentity,
    /// Login, tokens, keys and cookies.
    pub auth: RawAuth,
    /// Sessions and refresh tokens.
    pub session: RawSession,
    /// Redis, when `session.store = "redis"`.
    pub redis: RawRedis,
    /// The admin listener (health, metrics).
    pub admin: RawAdmin,
    /// Rate limits.
    pub rate_limit: RawRateLimit,
    /// Account lockout after failed logins.
    pub lockout: RawLockout,
    /// Cross-origin requests from configured origins.
    pub cors: RawCors,
    /// Logging.
    pub log: RawLog,
    /// Routes, matched by longest path prefix.
    pub routes: Vec<RawRoute>,
}

/// `[server]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    pub listen: String,
    pub http_listen: Option<String>,
    pub public_url: Option<String>,
    pub trusted_proxies: Vec<String>,
    pub data_dir: String,
    pub shutdown_timeout_secs: u64,
    pub reject_path_params: bool,
}

impl Default for RawServer {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8443".into(),
            http_listen: None,
            public_url: None,
            trusted_proxies: Vec::new(),
            data_dir: "data".into(),
            shutdown_timeout_secs: 30,
            reject_path_params: true,
        }
    }
}

/// `[tls]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTls {
    pub cert: String,
    pub key: String,
    pub min_version: String,
    pub generate_dev_cert: bool,
}

impl Default for RawTls {
    fn default() -> Self {
        Self {
            cert: "certs/cert.pem".into(),
            key: "certs/key.pem".into(),
            min_version: "1.2".into(),
            generate_dev_cert: false,
        }
    }
}

/// `[upstream]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawUpstream {
    pub connect_timeout_ms: u64,
    pub response_timeout_ms: u64,
    pub pool_idle_timeout_secs: u64,
    pub pool_max_idle_per_host: usize,
}

impl Default for RawUpstream {
    fn default() -> Self {
        Self {
            connect_timeout_ms: 2_000,
            response_timeout_ms: 30_000,
            pool_idle_timeout_secs: 90,
            pool_max_idle_per_host: 256,
        }
    }
}

/// `[limits]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLimits {
    pub max_header_bytes: usize,
    pub max_headers: usize,
    pub max_body_bytes: u64,
    pub header_read_timeout_ms: u64,
    pub tls_handshake_timeout_ms: u64,
    pub idle_timeout_secs: u64,
    pub max_connections: usize,
}

impl Default for RawLimits {
    fn default() -> Self {
        Self {
            max_header_bytes: 16 * 1024,
            max_headers: 100,
            max_body_bytes: 10 * 1024 * 1024,
            header_read_timeout_ms: 10_000,
            tls_handshake_timeout_ms: 10_000,
            idle_timeout_secs: 60,
            max_connections: 10_000,
        }
    }
}

/// `[headers]`: an absent key keeps the built-in value, an empty string
/// turns the header off.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawHeaders {
    pub strict_transport_security: Option<String>,
    pub content_type_options: Option<String>,
    pub frame_options: Option<String>,
    pub referrer_policy: Option<String>,
    pub content_security_policy: Option<String>,
    pub permissions_policy: Option<String>,
    pub override_upstream: bool,
    pub strip_software_headers: bool,
}

impl Default for RawHeaders {
    fn default() -> Self {
        Self {
            strict_transport_security: None,
            content_type_options: None,
            frame_options: None,
            referrer_policy: None,
            content_security_policy: None,
            permissions_policy: None,
            override_upstream: false,
            strip_software_headers: true,
        }
    }
}

/// `[identity]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawIdentity {
    pub user_header: String,
    pub email_header: String,
    pub roles_header: String,
    pub session_header: String,
    pub pass_access_token: bool,
}

impl Default for RawIdentity {
    fn default() -> Self {
        Self {
            user_header: "X-Auth-Request-User".into(),
            email_header: "X-Auth-Request-Email".into(),
            roles_header: "X-Auth-Request-Roles".into(),
            session_header: "X-Auth-Request-Session".into(),
            pass_access_token: false,
        }
    }
}

/// `[auth]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAuth {
    pub users_file: String,
    /// Users given inline (e.g. from `PORTCULLIS_AUTH__USERS`), each table
    /// shaped like a users-file entry; when any is given the file is unused.
    pub users: Vec<toml::Table>,
    pub issuer: Option<String>,
    pub audience: String,
    pub access_token_ttl_secs: u64,
    pub leeway_secs: u64,
    pub key_dir: Option<String>,
    pub key_bits: usize,
    pub key_rotation_days: u64,
    pub browser_mode: bool,
    pub hash_workers: usize,
    pub hash_queue: usize,
    pub max_token_bytes: usize,
    pub verified_cache_entries: u64,
}

impl Default for RawAuth {
    fn default() -> Self {
        Self {
            users_file: "users.toml".into(),
            users: Vec::new(),
            issuer: None,
            audience: "portcullis".into(),
            access_token_ttl_secs: 900,
            leeway_secs: 30,
            key_dir: None,
            key_bits: 2048,
            key_rotation_days: 90,
            browser_mode: true,
            hash_workers: 1,
            hash_queue: 64,
            max_token_bytes: 8 * 1024,
            verified_cache_entries: 10_000,
        }
    }
}

/// `[session]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSession {
    pub store: String,
    pub refresh_lifetime_days: u64,
    pub idle_timeout_secs: u64,
    pub max_per_user: usize,
    pub reuse_grace_secs: u64,
}

impl Default for RawSession {
    fn default() -> Self {
        Self {
            store: "embedded".into(),
            refresh_lifetime_days: 30,
            idle_timeout_secs: 7 * 86_400,
            max_per_user: 5,
            reuse_grace_secs: 10,
        }
    }
}

/// `[redis]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRedis {
    pub mode: String,
    pub url: Option<String>,
    pub url_file: Option<String>,
    pub nodes: Vec<String>,
    pub master_name: Option<String>,
    pub password: Option<String>,
    pub password_file: Option<String>,
    pub key_prefix: String,
    pub timeout_ms: u64,
}

impl Default for RawRedis {
    fn default() -> Self {
        Self {
            mode: "standalone".into(),
            url: None,
            url_file: None,
            nodes: Vec::new(),
            master_name: None,
            password: None,
            password_file: None,
            key_prefix: "portcullis".into(),
            timeout_ms: 1_000,
        }
    }
}

/// `[rate_limit]`: requests per minute (0 turns a limit off).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRateLimit {
    pub login_per_ip: u64,
    pub login_per_account: u64,
    pub refresh_per_ip: u64,
    pub proxy_per_ip: u64,
}

impl Default for RawRateLimit {
    fn default() -> Self {
        Self {
            login_per_ip: 30,
            login_per_account: 10,
            refresh_per_ip: 120,
            proxy_per_ip: 0,
        }
    }
}

/// `[lockout]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLockout {
    pub max_failures: u64,
    pub base_secs: u64,
    pub max_secs: u64,
}

impl Default for RawLockout {
    fn default() -> Self {
        Self {
            max_failures: 5,
            base_secs: 300,
            max_secs: 86_400,
        }
    }
}

/// `[cors]`: off while `allowed_origins` is empty.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCors {
    pub allowed_origins: Vec<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub allow_credentials: bool,
    pub max_age_secs: u64,
}

impl Default for RawCors {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            allowed_methods: vec!["GET".into(), "HEAD".into(), "POST".into()],
            allowed_headers: vec!["Authorization".into(), "Content-Type".into()],
            expose_headers: Vec::new(),
            allow_credentials: false,
            max_age_secs: 600,
        }
    }
}

/// `[admin]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAdmin {
    pub listen: Option<String>,
}

impl Default for RawAdmin {
    fn default() -> Self {
        Self {
            listen: Some("127.0.0.1:9090".into()),
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLog {
    pub level: String,
    pub format: String,
}

impl Default for RawLog {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: "json".into(),
        }
    }
}

/// One `[[routes]]` entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRoute {
    pub prefix: String,
    pub upstream: Option<String>,
    pub policy: Option<String>,
    pub roles: Vec<String>,
    pub methods: Vec<String>,
    pub max_body_bytes: Option<u64>,
}
