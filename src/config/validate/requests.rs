//! `[headers]`, `[identity]`, `[log]` and `[[routes]]`.

use http::{HeaderName, Method, Uri};

use crate::headers::security::SecurityHeaders;

use crate::config::error::ConfigErrors;
use crate::config::raw::*;
use crate::config::types::*;

pub(super) fn headers(raw: &RawHeaders, errs: &mut ConfigErrors) -> SecurityHeaders {
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
pub(super) fn header_key(header: &str) -> String {
    match header {
        "Strict-Transport-Security" => "strict_transport_security".into(),
        other => other
            .trim_start_matches("X-")
            .to_ascii_lowercase()
            .replace('-', "_"),
    }
}

pub(super) fn header_name(key: &str, v: &str, errs: &mut ConfigErrors) -> HeaderName {
    HeaderName::from_bytes(v.as_bytes()).unwrap_or_else(|_| {
        errs.push(key, format!("`{v}` is not a valid header name"));
        HeaderName::from_static("x-invalid")
    })
}

pub(super) fn identity(raw: &RawIdentity, errs: &mut ConfigErrors) -> IdentityConfig {
    IdentityConfig {
        user_header: header_name("identity.user_header", &raw.user_header, errs),
        email_header: header_name("identity.email_header", &raw.email_header, errs),
        roles_header: header_name("identity.roles_header", &raw.roles_header, errs),
        session_header: header_name("identity.session_header", &raw.session_header, errs),
        pass_access_token: raw.pass_access_token,
    }
}

pub(super) fn log(raw: &RawLog, errs: &mut ConfigErrors) -> LogConfig {
    if !level_ok(&raw.level) {
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

pub(super) fn routes(raw: &[RawRoute], default_body: u64, errs: &mut ConfigErrors) -> Vec<Route> {
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

pub(super) fn route(
    i: usize,
    r: &RawRoute,
    default_body: u64,
    errs: &mut ConfigErrors,
) -> Option<Route> {
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

pub(super) fn upstream_uri(key: &str, v: Option<&str>, errs: &mut ConfigErrors) -> Option<Uri> {
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

pub(super) fn methods(key: &str, raw: &[String], errs: &mut ConfigErrors) -> Option<Vec<Method>> {
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

/// A plain level, or filter directives whose levels are all real levels
/// (`warning` would otherwise parse as a target name and silence every log).
fn level_ok(v: &str) -> bool {
    const LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];
    let directive_ok = |d: &str| {
        let level = d
            .rsplit('=')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        LEVELS.contains(&level.as_str())
            && (d.contains('=') || LEVELS.contains(&d.trim().to_ascii_lowercase().as_str()))
    };
    !v.trim().is_empty()
        && v.split(',').all(directive_ok)
        && tracing_subscriber::EnvFilter::try_new(v).is_ok()
}
