//! `[cors]`: origins in the exact form browsers send, methods and header
//! names that parse, no wildcards.

use std::time::Duration;

use http::{HeaderName, Method, Uri};

use crate::config::error::ConfigErrors;
use crate::config::raw::RawCors;
use crate::config::types::CorsConfig;

/// Longest preflight cache accepted (browsers cap it lower still).
const MAX_AGE_LIMIT: u64 = 86_400;

pub(super) fn cors(raw: &RawCors, errs: &mut ConfigErrors) -> CorsConfig {
    let mut allowed_origins = Vec::new();
    for (i, v) in raw.allowed_origins.iter().enumerate() {
        match origin(v) {
            Ok(o) if !allowed_origins.contains(&o) => allowed_origins.push(o),
            Ok(_) => {}
            Err(why) => errs.push(format!("cors.allowed_origins[{i}]"), why),
        }
    }
    let mut allowed_methods = Vec::new();
    for (i, m) in raw.allowed_methods.iter().enumerate() {
        // `*` parses as an extension method; as a CORS list it means "any".
        let parsed = Method::from_bytes(m.to_ascii_uppercase().as_bytes()).map_err(|_| ());
        match parsed.and_then(|p| if m == "*" { Err(()) } else { Ok(p) }) {
            Ok(Method::CONNECT | Method::TRACE) => errs.push(
                format!("cors.allowed_methods[{i}]"),
                format!("`{m}` is never proxied, so it cannot be allowed"),
            ),
            Ok(method) if !allowed_methods.contains(&method) => allowed_methods.push(method),
            Ok(_) => {}
            Err(_) => errs.push(
                format!("cors.allowed_methods[{i}]"),
                format!("`{m}` is not an HTTP method (no wildcards); write e.g. \"PUT\""),
            ),
        }
    }
    CorsConfig {
        allowed_origins,
        allowed_methods,
        allowed_headers: names("cors.allowed_headers", &raw.allowed_headers, errs),
        expose_headers: names("cors.expose_headers", &raw.expose_headers, errs),
        allow_credentials: raw.allow_credentials,
        max_age: max_age(raw.max_age_secs, errs),
    }
}

fn max_age(secs: u64, errs: &mut ConfigErrors) -> Duration {
    if secs > MAX_AGE_LIMIT {
        errs.push(
            "cors.max_age_secs",
            format!("must be at most {MAX_AGE_LIMIT} (one day)"),
        );
    }
    Duration::from_secs(secs.min(MAX_AGE_LIMIT))
}

/// Header names, lowercased and deduplicated; `*` and invalid names refused.
fn names(key: &str, raw: &[String], errs: &mut ConfigErrors) -> Vec<HeaderName> {
    let mut out: Vec<HeaderName> = Vec::new();
    for (i, v) in raw.iter().enumerate() {
        // `*` is a valid token, but as a CORS list it would mean "anything".
        match HeaderName::from_bytes(v.as_bytes())
            .ok()
            .filter(|_| v != "*")
        {
            Some(name) if !out.contains(&name) => out.push(name),
            Some(_) => {}
            None => errs.push(
                format!("{key}[{i}]"),
                format!(
                    "`{v}` is not a header name (no wildcards); write e.g. \"X-Requested-With\""
                ),
            ),
        }
    }
    out
}

/// The serialized origin browsers send for `v`: lowercase scheme and host,
/// default port omitted, no path. Wildcards, `null`, paths, queries and
/// user info are refused.
pub(super) fn origin(v: &str) -> Result<String, String> {
    let advice = "write an origin such as \"https://app.example.com\"";
    if v == "*" || v.eq_ignore_ascii_case("null") {
        return Err(format!(
            "`{v}` would trust every page; list each origin exactly ({advice})"
        ));
    }
    let uri: Uri = v
        .parse()
        .map_err(|_| format!("`{v}` is not an origin; {advice}"))?;
    let scheme = uri.scheme_str().map(str::to_ascii_lowercase);
    let default_port = match scheme.as_deref() {
        Some("https") => 443,
        Some("http") => 80,
        _ => return Err(format!("`{v}` needs an http or https scheme; {advice}")),
    };
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or("");
    let host = uri.host().unwrap_or("");
    let bare = matches!(uri.path(), "" | "/") && uri.query().is_none();
    // `Uri` keeps a port it cannot read as u16; refuse it rather than drop it.
    let port_text = authority
        .strip_prefix(uri.host().unwrap_or(""))
        .and_then(|r| r.strip_prefix(':'));
    let port_ok = port_text.is_none_or(|p| p.parse::<u16>().is_ok());
    if host.is_empty() || authority.contains('@') || host.contains('*') || !bare || !port_ok {
        return Err(format!(
            "`{v}` must be scheme://host[:port] with no path, query, user or wildcard; {advice}"
        ));
    }
    let host = host.to_ascii_lowercase();
    Ok(match uri.port_u16() {
        Some(p) if p != default_port => format!("{}://{host}:{p}", scheme.unwrap_or_default()),
        _ => format!("{}://{host}", scheme.unwrap_or_default()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Origins are brought to the form browsers send; anything that is not a
    /// plain origin is refused.
    #[test]
    fn origins_table() {
        for (given, want) in [
            ("https://app.example.com", "https://app.example.com"),
            ("HTTPS://App.Example.COM/", "https://app.example.com"),
            ("https://app.example.com:443", "https://app.example.com"),
            (
                "https://app.example.com:8443",
                "https://app.example.com:8443",
            ),
            ("http://localhost:3000", "http://localhost:3000"),
            ("http://127.0.0.1:80", "http://127.0.0.1"),
            ("https://[::1]:8443", "https://[::1]:8443"),
        ] {
            assert_eq!(origin(given).as_deref(), Ok(want), "{given}");
        }
        for bad in [
            "*",
            "null",
            "NULL",
            "app.example.com",
            "https://",
            "ftp://app.example.com",
            "https://app.example.com/path",
            "https://app.example.com?x=1",
            "https://user@app.example.com",
            "https://*.example.com",
            "https://app.example.com:99999",
            "",
        ] {
            assert!(origin(bad).is_err(), "{bad}");
        }
    }

    /// Methods and headers parse or are named in an error; duplicates and
    /// case collapse; wildcards and CONNECT/TRACE are refused.
    #[test]
    fn methods_and_headers() {
        let mut raw = RawCors {
            allowed_origins: vec!["https://a.example".into(), "https://A.example/".into()],
            allowed_methods: vec!["get".into(), "GET".into(), "PUT".into()],
            allowed_headers: vec!["X-Custom".into(), "x-custom".into()],
            ..RawCors::default()
        };
        let mut errs = ConfigErrors::default();
        let cfg = cors(&raw, &mut errs);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(cfg.allowed_origins, ["https://a.example"]);
        assert_eq!(cfg.allowed_methods, [Method::GET, Method::PUT]);
        assert_eq!(cfg.allowed_headers, ["x-custom"]);
        raw.allowed_methods = vec!["*".into(), "TRACE".into()];
        raw.allowed_headers = vec!["*".into()];
        raw.expose_headers = vec!["bad header".into()];
        raw.max_age_secs = 86_401;
        let mut errs = ConfigErrors::default();
        cors(&raw, &mut errs);
        let keys: Vec<_> = errs.0.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "cors.allowed_methods[0]",
                "cors.allowed_methods[1]",
                "cors.allowed_headers[0]",
                "cors.expose_headers[0]",
                "cors.max_age_secs"
            ]
        );
    }
}
