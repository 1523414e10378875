//! Converts the raw configuration into the typed one, collecting every
//! problem instead of stopping at the first.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod auth;
mod cors;
mod redis;
mod requests;
mod server;

use super::error::ConfigErrors;
use super::raw::*;
use super::types::*;
use auth::*;
use requests::*;
use server::*;

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
    let rate_limit = rate_limit(&raw.rate_limit, &mut errs);
    let lockout = lockout(&raw.lockout, &mut errs);
    let cors = cors::cors(&raw.cors, &mut errs);
    let admin_listen = match raw.admin.listen.as_deref() {
        None | Some("") => None,
        Some(v) => addr("admin.listen", v, &mut errs),
    };
    let data_dir = resolve(base, &raw.server.data_dir);
    let session = session(&raw.session, &raw.redis, &data_dir, base, &mut errs);
    let routes = routes(&raw.routes, raw.limits.max_body_bytes, &mut errs);
    if let (Some(admin), Some(server)) = (admin_listen, server.as_ref()) {
        listeners_distinct(admin, server, &mut errs);
    }
    // Validated even when [server] is not, so every error is reported at once.
    let origin = server
        .as_ref()
        .map_or("https://localhost", |s| s.public_origin.as_str());
    let auth = auth(&raw.auth, origin, &data_dir, base, &mut errs);
    match (server, tls, upstream, limits, auth, session) {
        (Some(server), Some(tls), Some(upstream), Some(limits), Some(auth), Some(session))
            if errs.is_empty() =>
        {
            Ok(Config {
                server,
                tls,
                upstream,
                limits,
                headers,
                identity,
                auth,
                session,
                admin_listen,
                rate_limit,
                lockout,
                cors,
                log,
                routes,
            })
        }
        _ => Err(errs),
    }
}

/// The files `raw` names, resolved as [`validate`] resolves them, for
/// `check-config` to load even when other keys are invalid. An invalid
/// `tls.min_version` (reported by validation) reads as "1.2" here.
pub fn named_files(raw: &RawConfig, base: &Path) -> NamedFiles {
    let mut ignored = ConfigErrors::default();
    let tls = tls(&raw.tls, base, &mut ignored).unwrap_or_else(|| TlsConfig {
        cert: resolve(base, &raw.tls.cert),
        key: resolve(base, &raw.tls.key),
        min_version: TlsVersion::Tls12,
        generate_dev_cert: raw.tls.generate_dev_cert,
    });
    NamedFiles {
        tls,
        users_file: resolve(base, &raw.auth.users_file),
        inline_users: !raw.auth.users.is_empty(),
        route_needing_users: raw
            .routes
            .iter()
            .position(|r| r.policy.as_deref() != Some("public")),
    }
}

/// The admin listener cannot share an address with a gateway listener: one of
/// the two binds would fail at start, after the configuration was accepted.
fn listeners_distinct(admin: SocketAddr, server: &ServerConfig, errs: &mut ConfigErrors) {
    let others = [
        Some(("server.listen", server.listen)),
        server.http_listen.map(|a| ("server.http_listen", a)),
    ];
    for (key, other) in others.into_iter().flatten() {
        if overlaps(admin, other) {
            errs.push(
                "admin.listen",
                format!(
                    "`{admin}` is also `{key}` (`{other}`); give the admin listener its own port"
                ),
            );
        }
    }
}

/// Whether binding both addresses would collide: same non-zero port, and the
/// same IP or either one the wildcard. Port 0 picks a free port each time.
fn overlaps(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() != 0
        && a.port() == b.port()
        && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}

pub(super) fn resolve(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

pub(super) fn addr(key: &str, v: &str, errs: &mut ConfigErrors) -> Option<SocketAddr> {
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

pub(super) fn positive(key: &str, v: u64, unit: &str, errs: &mut ConfigErrors) -> Duration {
    if v == 0 {
        errs.push(key, format!("must be greater than zero ({unit})"));
    }
    if unit == "ms" {
        Duration::from_millis(v)
    } else {
        Duration::from_secs(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::RawRoute;

    fn route(prefix: &str, upstream: Option<&str>) -> RawRoute {
        RawRoute {
            prefix: prefix.into(),
            upstream: upstream.map(str::to_string),
            ..RawRoute::default()
        }
    }

    /// An admin listener on a gateway listener's address is refused, naming
    /// both keys; the wildcard overlaps every IP; port 0 never collides.
    #[test]
    fn admin_listen_must_not_collide() {
        let judge = |listen: &str, http: Option<&str>, admin: &str| {
            let mut raw = RawConfig::default();
            raw.server.listen = listen.into();
            raw.server.http_listen = http.map(str::to_string);
            raw.admin.listen = Some(admin.into());
            raw.routes = vec![route("/", Some("http://127.0.0.1:3000"))];
            validate(raw, Path::new("."))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let same = judge("127.0.0.1:8443", None, "127.0.0.1:8443");
        assert!(
            same.contains("admin.listen:") && same.contains("server.listen"),
            "{same}"
        );
        let http = judge("127.0.0.1:8443", Some("0.0.0.0:8080"), "127.0.0.1:8080");
        assert!(
            http.contains("admin.listen:") && http.contains("server.http_listen"),
            "{http}"
        );
        assert_eq!(judge("127.0.0.1:8443", None, "127.0.0.1:9090"), "");
        assert_eq!(judge("127.0.0.1:0", None, "127.0.0.1:0"), "");
    }

    /// Every problem is reported at once, each under its own key.
    #[test]
    fn reports_every_error_with_its_key() {
        let mut raw = RawConfig::default();
        raw.tls.min_version = "1.0".into();
        raw.upstream.connect_timeout_ms = 0;
        raw.auth.access_token_ttl_secs = 7200;
        raw.session.refresh_lifetime_days = 365;
        raw.server.trusted_proxies = vec!["not-a-cidr".into()];
        raw.routes = vec![route("/", None), route("api", Some("ftp://x"))];
        let errs = validate(raw, Path::new(".")).unwrap_err();
        let keys: Vec<_> = errs.0.iter().map(|e| e.key.as_str()).collect();
        for want in [
            "tls.min_version",
            "upstream.connect_timeout_ms",
            "auth.access_token_ttl_secs",
            "session.refresh_lifetime_days",
            "server.trusted_proxies[0]",
            "routes[0].upstream",
            "routes[1].prefix",
            "routes[1].upstream",
        ] {
            assert!(keys.contains(&want), "missing {want} in {keys:?}");
        }
    }

    /// A minimal valid configuration converts, with defaults filled in.
    #[test]
    fn minimal_config_is_valid() {
        let raw = RawConfig {
            routes: vec![route("/", Some("http://127.0.0.1:3000"))],
            ..RawConfig::default()
        };
        let cfg = validate(raw, Path::new("/etc/p")).unwrap();
        assert_eq!(cfg.server.public_origin, "https://localhost:8443");
        assert_eq!(cfg.auth.issuer, "https://localhost:8443");
        assert_eq!(cfg.auth.key_dir, PathBuf::from("/etc/p/data/keys"));
        assert_eq!(
            cfg.routes[0].policy,
            Policy::Authenticated { roles: vec![] }
        );
        assert_eq!(cfg.auth.access_token_ttl, Duration::from_secs(900));
    }

    /// Redis needs a URL; public origins must be https without a path.
    #[test]
    fn refuses_incomplete_redis_and_bad_origin() {
        let mut raw = RawConfig {
            routes: vec![route("/", Some("http://127.0.0.1:3000"))],
            ..RawConfig::default()
        };
        raw.session.store = "redis".into();
        raw.server.public_url = Some("http://gw.example/path".into());
        let errs = validate(raw, Path::new(".")).unwrap_err();
        let keys: Vec<_> = errs.0.iter().map(|e| e.key.as_str()).collect();
        assert!(
            keys.contains(&"redis.url") && keys.contains(&"server.public_url"),
            "{keys:?}"
        );
    }
}
