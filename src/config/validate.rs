//! Converts the raw configuration into the typed one, collecting every
//! problem instead of stopping at the first.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::{HeaderName, Method, Uri};
use ipnet::IpNet;

use super::error::ConfigErrors;
use super::raw::*;
use super::types::*;
use crate::headers::security::SecurityHeaders;

/// Longest access-token lifetime accepted.
pub const MAX_ACCESS_TTL_SECS: u64 = 3600;
/// Largest clock leeway accepted.
pub const MAX_LEEWAY_SECS: u64 = 60;

/// Validates everything, reporting all errors together.
pub fn validate(raw: RawConfig, base: &Path) -> Result<Config, ConfigErrors> {
    let mut errs = ConfigErrors::default();
    let server = server(&raw.server, base, &mut errs);
    let tls = tls(&raw.tls, base, &mut errs);
    let upstream = upstream(&raw.upstream, &mut errs);
    let limits = limits(&raw.limits, &mut errs);
    let headers = headers(&raw.headers, &mut errs);
    let identity = identity(&raw.identity, &mut errs);
    let log = log(&raw.log, &mut errs);
    let routes = routes(&raw.routes, raw.limits.max_body_bytes, &mut errs);
    let auth = server
        .as_ref()
        .and_then(|s| auth(&raw.auth, s, base, &mut errs));
    match (server, tls, upstream, limits, auth) {
        (Some(server), Some(tls), Some(upstream), Some(limits), Some(auth)) if errs.is_empty() => {
            Ok(Config {
                server,
                tls,
                upstream,
                limits,
                headers,
                identity,
                auth,
                log,
                routes,
            })
        }
        _ => Err(errs),
    }
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

fn addr(key: &str, v: &str, errs: &mut ConfigErrors) -> Option<SocketAddr> {
    match v.parse() {
        Ok(a) => Some(a),
        Err(_) => {
            errs.push(
                key,
                format!("`{v}` is not an address; write e.g. \"0.0.0.0:8443\" or \"[::]:8443\""),
            );
            None
        }
    }
}

fn positive(key: &str, v: u64, unit: &str, errs: &mut ConfigErrors) -> Duration {
    if v == 0 {
        errs.push(key, format!("must be greater than zero ({unit})"));
    }
    if unit == "ms" {
        Duration::from_millis(v)
    } else {
        Duration::from_secs(v)
    }
}

fn server(raw: &RawServer, base: &Path, errs: &mut ConfigErrors) -> Option<ServerConfig> {
    let listen = addr("server.listen", &raw.listen, errs);
    let http_listen = raw
        .http_listen
        .as_deref()
        .and_then(|v| addr("server.http_listen", v, errs));
    let mut trusted_proxies = Vec::new();
    for (i, cidr) in raw.trusted_proxies.iter().enumerate() {
        match parse_cidr(cidr) {
            Some(net) => trusted_proxies.push(net),
            None => errs.push(
                format!("server.trusted_proxies[{i}]"),
                format!("`{cidr}` is not an IP address or CIDR; write e.g. \"10.0.0.0/8\""),
            ),
        }
    }
    let shutdown_timeout = positive(
        "server.shutdown_timeout_secs",
        raw.shutdown_timeout_secs,
        "s",
        errs,
    );
    let listen = listen?;
    let public_origin = public_origin(raw.public_url.as_deref(), listen, errs)?;
    Some(ServerConfig {
        listen,
        http_listen,
        public_origin,
        trusted_proxies,
        data_dir: resolve(base, &raw.data_dir),
        shutdown_timeout,
        reject_path_params: raw.reject_path_params,
    })
}

fn parse_cidr(v: &str) -> Option<IpNet> {
    v.parse::<IpNet>()
        .ok()
        .or_else(|| v.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

/// `https://host[:port]` with no path; defaults to localhost on the listen port.
fn public_origin(v: Option<&str>, listen: SocketAddr, errs: &mut ConfigErrors) -> Option<String> {
    let Some(v) = v else {
        return Some(match listen.port() {
            443 => "https://localhost".to_string(),
            port => format!("https://localhost:{port}"),
        });
    };
    let key = "server.public_url";
    let Ok(uri) = v.parse::<Uri>() else {
        errs.push(
            key,
            format!("`{v}` is not a URL; write e.g. \"https://gateway.example.com\""),
        );
        return None;
    };
    let path_ok = matches!(uri.path(), "" | "/") && uri.query().is_none();
    match (uri.scheme_str(), uri.authority(), path_ok) {
        (Some("https"), Some(auth), true)
            if auth.as_str() == auth.host() || auth.port().is_some() =>
        {
            Some(format!("https://{}", auth.as_str()))
        }
        _ => {
            errs.push(key, format!("`{v}` must be an https:// origin without path or credentials, e.g. \"https://gateway.example.com\""));
            None
        }
    }
}

fn tls(raw: &RawTls, base: &Path, errs: &mut ConfigErrors) -> Option<TlsConfig> {
    let min_version = match raw.min_version.as_str() {
        "1.2" => TlsVersion::Tls12,
        "1.3" => TlsVersion::Tls13,
        other => {
            errs.push("tls.min_version", format!("`{other}` is not allowed; write \"1.2\" or \"1.3\" (older versions are insecure)"));
            return None;
        }
    };
    Some(TlsConfig {
        cert: resolve(base, &raw.cert),
        key: resolve(base, &raw.key),
        min_version,
        generate_dev_cert: raw.generate_dev_cert,
    })
}

fn upstream(raw: &RawUpstream, errs: &mut ConfigErrors) -> Option<UpstreamConfig> {
    Some(UpstreamConfig {
        connect_timeout: positive(
            "upstream.connect_timeout_ms",
            raw.connect_timeout_ms,
            "ms",
            errs,
        ),
        response_timeout: positive(
            "upstream.response_timeout_ms",
            raw.response_timeout_ms,
            "ms",
            errs,
        ),
        pool_idle_timeout: positive(
            "upstream.pool_idle_timeout_secs",
            raw.pool_idle_timeout_secs,
            "s",
            errs,
        ),
        pool_max_idle_per_host: raw.pool_max_idle_per_host,
    })
}

fn limits(raw: &RawLimits, errs: &mut ConfigErrors) -> Option<Limits> {
    if raw.max_header_bytes < 8192 {
        errs.push(
            "limits.max_header_bytes",
            "must be at least 8192 (browsers send large cookies)",
        );
    }
    if raw.max_headers == 0 {
        errs.push("limits.max_headers", "must be greater than zero");
    }
    if raw.max_connections == 0 {
        errs.push("limits.max_connections", "must be greater than zero");
    }
    if raw.max_body_bytes == 0 {
        errs.push("limits.max_body_bytes", "must be greater than zero");
    }
    Some(Limits {
        max_header_bytes: raw.max_header_bytes,
        max_headers: raw.max_headers,
        max_body_bytes: raw.max_body_bytes,
        header_read_timeout: positive(
            "limits.header_read_timeout_ms",
            raw.header_read_timeout_ms,
            "ms",
            errs,
        ),
        tls_handshake_timeout: positive(
            "limits.tls_handshake_timeout_ms",
            raw.tls_handshake_timeout_ms,
            "ms",
            errs,
        ),
        idle_timeout: positive("limits.idle_timeout_secs", raw.idle_timeout_secs, "s", errs),
        max_connections: raw.max_connections,
    })
}

fn headers(raw: &RawHeaders, errs: &mut ConfigErrors) -> SecurityHeaders {
    let d = SecurityHeaders::default();
    // Absent keeps the built-in value; an empty string turns the header off.
    let pick = |v: &Option<String>, default: Option<String>| match v.as_deref() {
        None => default,
        Some("") => None,
        Some(s) => Some(s.to_string()),
    };
    let h = SecurityHeaders {
        hsts: pick(&raw.strict_transport_security, d.hsts),
        content_type_options: pick(&raw.content_type_options, d.content_type_options),
        frame_options: pick(&raw.frame_options, d.frame_options),
        referrer_policy: pick(&raw.referrer_policy, d.referrer_policy),
        content_security_policy: pick(&raw.content_security_policy, d.content_security_policy),
        permissions_policy: pick(&raw.permissions_policy, d.permissions_policy),
        override_upstream: raw.override_upstream,
        strip_software_headers: raw.strip_software_headers,
    };
    if let Err(crate::headers::security::SecurityError::InvalidValue { header, reason }) =
        h.compile()
    {
        errs.push(
            format!("headers.{}", header_key(header)),
            format!("{header}: {reason}"),
        );
    }
    h
}

/// The config key of a security header.
fn header_key(header: &str) -> String {
    match header {
        "Strict-Transport-Security" => "strict_transport_security".into(),
        other => other
            .trim_start_matches("X-")
            .to_ascii_lowercase()
            .replace('-', "_"),
    }
}

fn header_name(key: &str, v: &str, errs: &mut ConfigErrors) -> HeaderName {
    HeaderName::from_bytes(v.as_bytes()).unwrap_or_else(|_| {
        errs.push(key, format!("`{v}` is not a valid header name"));
        HeaderName::from_static("x-invalid")
    })
}

fn identity(raw: &RawIdentity, errs: &mut ConfigErrors) -> IdentityConfig {
    IdentityConfig {
        user_header: header_name("identity.user_header", &raw.user_header, errs),
        email_header: header_name("identity.email_header", &raw.email_header, errs),
        roles_header: header_name("identity.roles_header", &raw.roles_header, errs),
        session_header: header_name("identity.session_header", &raw.session_header, errs),
        pass_access_token: raw.pass_access_token,
    }
}

fn auth(
    raw: &RawAuth,
    server: &ServerConfig,
    base: &Path,
    errs: &mut ConfigErrors,
) -> Option<AuthConfig> {
    if raw.access_token_ttl_secs == 0 || raw.access_token_ttl_secs > MAX_ACCESS_TTL_SECS {
        errs.push("auth.access_token_ttl_secs", format!("must be between 1 and {MAX_ACCESS_TTL_SECS} seconds; short tokens limit the damage of a leak (900 is the default)"));
    }
    if raw.leeway_secs > MAX_LEEWAY_SECS {
        errs.push(
            "auth.leeway_secs",
            format!("must be at most {MAX_LEEWAY_SECS} seconds"),
        );
    }
    if ![2048, 3072, 4096].contains(&raw.key_bits) {
        errs.push("auth.key_bits", "must be 2048, 3072 or 4096");
    }
    if raw.audience.is_empty() {
        errs.push("auth.audience", "must not be empty");
    }
    if raw.hash_workers == 0 {
        errs.push("auth.hash_workers", "must be at least 1");
    }
    if raw.max_token_bytes < 512 {
        errs.push("auth.max_token_bytes", "must be at least 512");
    }
    let key_dir = match &raw.key_dir {
        Some(d) => resolve(base, d),
        None => server.data_dir.join("keys"),
    };
    Some(AuthConfig {
        users_file: resolve(base, &raw.users_file),
        issuer: raw
            .issuer
            .clone()
            .unwrap_or_else(|| server.public_origin.clone()),
        audience: raw.audience.clone(),
        access_token_ttl: Duration::from_secs(raw.access_token_ttl_secs),
        leeway: Duration::from_secs(raw.leeway_secs),
        key_dir,
        key_bits: raw.key_bits,
        key_rotation: positive("auth.key_rotation_days", raw.key_rotation_days, "s", errs) * 86_400,
        browser_mode: raw.browser_mode,
        hash_workers: raw.hash_workers,
        hash_queue: raw.hash_queue,
        max_token_bytes: raw.max_token_bytes,
    })
}

fn log(raw: &RawLog, errs: &mut ConfigErrors) -> LogConfig {
    if tracing_subscriber::EnvFilter::try_new(&raw.level).is_err() {
        errs.push(
            "log.level",
            format!(
                "`{}` is not a level; write error, warn, info, debug or trace",
                raw.level
            ),
        );
    }
    let format = match raw.format.as_str() {
        "json" => LogFormat::Json,
        "pretty" => LogFormat::Pretty,
        other => {
            errs.push(
                "log.format",
                format!("`{other}` is not a format; write \"json\" or \"pretty\""),
            );
            LogFormat::Json
        }
    };
    LogConfig {
        level: raw.level.clone(),
        format,
    }
}

fn routes(raw: &[RawRoute], default_body: u64, errs: &mut ConfigErrors) -> Vec<Route> {
    if raw.is_empty() {
        errs.push("routes", "at least one [[routes]] entry is required, e.g. prefix = \"/\", upstream = \"http://127.0.0.1:3000\"");
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        if let Some(route) = route(i, r, default_body, errs) {
            if !seen.insert(route.prefix.clone()) {
                errs.push(
                    format!("routes[{i}].prefix"),
                    format!("`{}` appears twice", route.prefix),
                );
            }
            out.push(route);
        }
    }
    out
}

fn route(i: usize, r: &RawRoute, default_body: u64, errs: &mut ConfigErrors) -> Option<Route> {
    let key = |f: &str| format!("routes[{i}].{f}");
    let prefix_ok = r.prefix.starts_with('/')
        && !r.prefix.contains(['?', '#', '%', '\\'])
        && !r.prefix.split('/').any(|s| s == "." || s == "..");
    if !prefix_ok {
        errs.push(
            key("prefix"),
            format!(
                "`{}` must be a plain path starting with `/`, e.g. \"/api\"",
                r.prefix
            ),
        );
    }
    let upstream = upstream_uri(&key("upstream"), r.upstream.as_deref(), errs);
    let policy = match r.policy.as_deref().unwrap_or("authenticated") {
        "public" if r.roles.is_empty() => Some(Policy::Public),
        "public" => {
            errs.push(
                key("roles"),
                "a public route cannot require roles; use policy = \"authenticated\"",
            );
            None
        }
        "authenticated" => Some(Policy::Authenticated {
            roles: r.roles.clone(),
        }),
        other => {
            errs.push(
                key("policy"),
                format!("`{other}` is not a policy; write \"public\" or \"authenticated\""),
            );
            None
        }
    };
    let methods = methods(&key("methods"), &r.methods, errs);
    if r.max_body_bytes == Some(0) {
        errs.push(key("max_body_bytes"), "must be greater than zero");
    }
    Some(Route {
        prefix: r.prefix.clone(),
        upstream: upstream?,
        policy: policy?,
        methods,
        max_body_bytes: r.max_body_bytes.unwrap_or(default_body),
    })
    .filter(|_| prefix_ok)
}

fn upstream_uri(key: &str, v: Option<&str>, errs: &mut ConfigErrors) -> Option<Uri> {
    let Some(v) = v else {
        errs.push(
            key,
            "is missing; write the app's address, e.g. \"http://127.0.0.1:3000\"",
        );
        return None;
    };
    match v.parse::<Uri>() {
        Ok(u)
            if u.scheme_str() == Some("http")
                && u.host().is_some()
                && u.query().is_none()
                && !u.authority().is_some_and(|a| a.as_str().contains('@')) =>
        {
            Some(u)
        }
        _ => {
            errs.push(key, format!("`{v}` must be an http:// URL with a host and no query, e.g. \"http://127.0.0.1:3000\""));
            None
        }
    }
}

fn methods(key: &str, raw: &[String], errs: &mut ConfigErrors) -> Option<Vec<Method>> {
    if raw.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for m in raw {
        match Method::from_bytes(m.to_ascii_uppercase().as_bytes()) {
            Ok(method) => out.push(method),
            Err(_) => errs.push(key, format!("`{m}` is not an HTTP method")),
        }
    }
    Some(out)
}
