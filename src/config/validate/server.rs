//! `[server]`, `[tls]`, `[upstream]`, `[limits]`.

use std::net::SocketAddr;
use std::path::Path;

use http::Uri;
use ipnet::IpNet;

use super::{addr, positive, resolve};
use crate::config::error::ConfigErrors;
use crate::config::raw::*;
use crate::config::types::*;

pub(super) fn server(
    raw: &RawServer,
    base: &Path,
    errs: &mut ConfigErrors,
) -> Option<ServerConfig> {
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
        public_origin_derived: raw.public_url.is_none(),
        public_origin,
        trusted_proxies,
        data_dir: resolve(base, &raw.data_dir),
        shutdown_timeout,
        reject_path_params: raw.reject_path_params,
    })
}

pub(super) fn parse_cidr(v: &str) -> Option<IpNet> {
    v.parse::<IpNet>()
        .ok()
        .or_else(|| v.parse::<std::net::IpAddr>().ok().map(IpNet::from))
}

/// `https://host[:port]` with no path; defaults to localhost on the listen port.
pub(super) fn public_origin(
    v: Option<&str>,
    listen: SocketAddr,
    errs: &mut ConfigErrors,
) -> Option<String> {
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

pub(super) fn tls(raw: &RawTls, base: &Path, errs: &mut ConfigErrors) -> Option<TlsConfig> {
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

pub(super) fn upstream(raw: &RawUpstream, errs: &mut ConfigErrors) -> Option<UpstreamConfig> {
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

pub(super) fn limits(raw: &RawLimits, errs: &mut ConfigErrors) -> Option<Limits> {
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
