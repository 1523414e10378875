//! CORS for configured origins only.
//!
//! While `[cors] allowed_origins` is empty the gateway does nothing here and
//! upstreams answer for themselves. Once origins are configured the gateway
//! owns CORS on every response:
//! - a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
//!   is answered by the gateway and never forwarded, so it can neither skip
//!   authentication (it authorizes nothing: the actual request is
//!   authenticated as usual) nor receive identity headers;
//! - an actual request from an allowed origin (exact match, one `Origin`
//!   header) gets `Access-Control-Allow-Origin` with that origin, and
//!   `Access-Control-Allow-Credentials: true` only where configured;
//! - every other origin gets no `Access-Control-*` header at all, the
//!   upstream's own included;
//! - every response carries `Vary: Origin`, so no cache serves one origin's
//!   answer to another.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode};

use super::respond::json_error;
use crate::body::{self, Body};
use crate::config::CorsConfig;

/// Response headers that only CORS may set.
const CORS_RESPONSE_HEADERS: [HeaderName; 6] = [
    header::ACCESS_CONTROL_ALLOW_ORIGIN,
    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
    header::ACCESS_CONTROL_ALLOW_METHODS,
    header::ACCESS_CONTROL_ALLOW_HEADERS,
    header::ACCESS_CONTROL_EXPOSE_HEADERS,
    header::ACCESS_CONTROL_MAX_AGE,
];

/// The compiled `[cors]` policy; exists only when origins are configured.
#[derive(Debug, Clone)]
pub struct Cors {
    cfg: CorsConfig,
    methods: HeaderValue,
    headers: Option<HeaderValue>,
    expose: Option<HeaderValue>,
    max_age: HeaderValue,
}

impl Cors {
    /// The policy for `cfg`, or `None` when no origin is configured.
    pub fn new(cfg: &CorsConfig) -> Option<Self> {
        if cfg.allowed_origins.is_empty() {
            return None;
        }
        let join = |items: Vec<&str>| HeaderValue::from_str(&items.join(", ")).ok();
        Some(Self {
            methods: join(cfg.allowed_methods.iter().map(Method::as_str).collect())
                .unwrap_or(HeaderValue::from_static("GET, HEAD, POST")),
            headers: join(cfg.allowed_headers.iter().map(HeaderName::as_str).collect())
                .filter(|v| !v.is_empty()),
            expose: join(cfg.expose_headers.iter().map(HeaderName::as_str).collect())
                .filter(|v| !v.is_empty()),
            max_age: HeaderValue::from(cfg.max_age.as_secs()),
            cfg: cfg.clone(),
        })
    }

    /// The configured origins (the CSRF check trusts them too).
    pub fn origins(&self) -> &[String] {
        &self.cfg.allowed_origins
    }

    /// The request's origin when it is allowed: exactly one `Origin` header,
    /// byte for byte one of the configured origins.
    pub fn allowed_origin(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let mut all = headers.get_all(header::ORIGIN).iter();
        let (Some(origin), None) = (all.next(), all.next()) else {
            return None;
        };
        self.cfg
            .allowed_origins
            .iter()
            .any(|o| o.as_bytes() == origin.as_bytes())
            .then(|| origin.clone())
    }

    /// Answers a preflight: 204 with the policy for an allowed origin asking
    /// for an allowed method and headers, otherwise 403 without any
    /// `Access-Control-*` header. Nothing is forwarded either way.
    pub fn preflight(&self, headers: &HeaderMap) -> Response<Body> {
        let Some(origin) = self
            .allowed_origin(headers)
            .filter(|_| self.asks_allowed(headers))
        else {
            tracing::info!(
                event = "auth.security.cors",
                "preflight refused: origin, method or headers not allowed"
            );
            return json_error(
                StatusCode::FORBIDDEN,
                "cors_refused",
                "cross-origin request not allowed",
            );
        };
        let mut resp = Response::builder()
            .status(StatusCode::NO_CONTENT)
            .body(body::empty())
            .unwrap_or_else(|_| Response::new(body::empty()));
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, self.methods.clone());
        if let Some(v) = &self.headers {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v.clone());
        }
        h.insert(header::ACCESS_CONTROL_MAX_AGE, self.max_age.clone());
        if self.cfg.allow_credentials {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        h.append(
            header::VARY,
            HeaderValue::from_static(
                "Access-Control-Request-Method, Access-Control-Request-Headers",
            ),
        );
        resp
    }

    /// True when the preflight's requested method and every requested
    /// header are in the policy.
    fn asks_allowed(&self, headers: &HeaderMap) -> bool {
        let mut methods = headers
            .get_all(header::ACCESS_CONTROL_REQUEST_METHOD)
            .iter();
        let (Some(method), None) = (methods.next(), methods.next()) else {
            return false;
        };
        let method_ok = Method::from_bytes(method.as_bytes())
            .is_ok_and(|m| self.cfg.allowed_methods.contains(&m));
        method_ok
            && headers
                .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
                .iter()
                .all(|v| self.headers_allowed(v.as_bytes()))
    }

    /// Every name of an `Access-Control-Request-Headers` value is allowed.
    fn headers_allowed(&self, list: &[u8]) -> bool {
        list.split(|&b| b == b',')
            .map(<[u8]>::trim_ascii)
            .filter(|n| !n.is_empty())
            .all(|n| HeaderName::from_bytes(n).is_ok_and(|n| self.cfg.allowed_headers.contains(&n)))
    }

    /// Finishes any response: `Vary: Origin` always; for anything but a
    /// preflight (whose answer [`Cors::preflight`] made) the upstream's own
    /// CORS headers go and an allowed `origin` is named.
    pub fn finish(&self, preflight: bool, origin: Option<HeaderValue>, h: &mut HeaderMap) {
        if !preflight {
            self.apply(origin, h);
        }
        add_vary_origin(h);
    }

    /// The CORS headers of an actual request's response.
    fn apply(&self, origin: Option<HeaderValue>, h: &mut HeaderMap) {
        for name in &CORS_RESPONSE_HEADERS {
            h.remove(name);
        }
        if let Some(origin) = origin {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            if self.cfg.allow_credentials {
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                );
            }
            if let Some(v) = &self.expose {
                h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v.clone());
            }
        }
    }
}

/// True for a CORS preflight: `OPTIONS` with `Origin` and
/// `Access-Control-Request-Method`.
pub fn is_preflight<B>(req: &Request<B>) -> bool {
    req.method() == Method::OPTIONS
        && req.headers().contains_key(header::ORIGIN)
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// Adds `Origin` to `Vary` unless it is already there (or `Vary: *`).
fn add_vary_origin(h: &mut HeaderMap) {
    let present = h.get_all(header::VARY).iter().any(|v| {
        v.as_bytes().split(|&b| b == b',').any(|t| {
            let t = t.trim_ascii();
            t == b"*" || t.eq_ignore_ascii_case(b"origin")
        })
    });
    if !present {
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn policy(credentials: bool) -> Cors {
        Cors::new(&CorsConfig {
            allowed_origins: vec!["https://app.example".into()],
            allowed_methods: vec![Method::GET, Method::POST, Method::PUT],
            allowed_headers: vec![HeaderName::from_static("content-type")],
            expose_headers: vec![HeaderName::from_static("x-total")],
            allow_credentials: credentials,
            max_age: Duration::from_secs(600),
        })
        .unwrap()
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    /// No configured origin, no policy.
    #[test]
    fn off_without_origins() {
        assert!(Cors::new(&CorsConfig::default()).is_none());
    }

    /// Only one exact `Origin` is allowed.
    #[test]
    fn origin_matching_is_exact() {
        let p = policy(false);
        assert!(
            p.allowed_origin(&headers(&[("origin", "https://app.example")]))
                .is_some()
        );
        for bad in [
            &[("origin", "https://app.example.evil")][..],
            &[("origin", "https://APP.example")],
            &[("origin", "https://app.example/")],
            &[("origin", "http://app.example")],
            &[("origin", "https://app.example:443")],
            &[("origin", "null")],
            &[("origin", " https://app.example")],
            &[
                ("origin", "https://app.example"),
                ("origin", "https://evil.example"),
            ],
            &[
                ("origin", "https://app.example"),
                ("origin", "https://app.example"),
            ],
            &[],
        ] {
            assert!(p.allowed_origin(&headers(bad)).is_none(), "{bad:?}");
        }
    }

    /// A preflight passes only with an allowed origin, method and headers.
    #[test]
    fn preflight_table() {
        let p = policy(true);
        let ok = p.preflight(&headers(&[
            ("origin", "https://app.example"),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "Content-Type"),
        ]));
        assert_eq!(ok.status(), StatusCode::NO_CONTENT);
        let h = ok.headers();
        assert_eq!(h["access-control-allow-origin"], "https://app.example");
        assert_eq!(h["access-control-allow-methods"], "GET, POST, PUT");
        assert_eq!(h["access-control-allow-headers"], "content-type");
        assert_eq!(h["access-control-allow-credentials"], "true");
        assert_eq!(h["access-control-max-age"], "600");
        for bad in [
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "GET"),
            ][..],
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "DELETE"),
            ],
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "get"),
            ],
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "GET"),
                (
                    "access-control-request-headers",
                    "content-type, x-auth-request-user",
                ),
            ],
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "GET"),
                ("access-control-request-method", "PUT"),
            ],
        ] {
            let resp = p.preflight(&headers(bad));
            assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{bad:?}");
            assert!(
                resp.headers()
                    .keys()
                    .all(|k| !k.as_str().starts_with("access-control-")),
                "{bad:?}"
            );
        }
    }

    /// Responses lose the upstream's CORS headers, gain `Vary: Origin`, and
    /// name only an allowed origin; credentials only when configured.
    #[test]
    fn apply_table() {
        let upstream = || {
            headers(&[
                ("access-control-allow-origin", "*"),
                ("access-control-allow-credentials", "true"),
                ("vary", "Accept-Encoding"),
            ])
        };
        let mut h = upstream();
        policy(false).finish(false, None, &mut h);
        assert!(!h.contains_key("access-control-allow-origin"));
        assert!(!h.contains_key("access-control-allow-credentials"));
        let vary: Vec<_> = h.get_all("vary").iter().collect();
        assert_eq!(vary, ["Accept-Encoding", "Origin"]);

        let mut h = upstream();
        let origin = HeaderValue::from_static("https://app.example");
        policy(false).finish(false, Some(origin.clone()), &mut h);
        assert_eq!(h["access-control-allow-origin"], "https://app.example");
        assert!(!h.contains_key("access-control-allow-credentials"));
        assert_eq!(h["access-control-expose-headers"], "x-total");

        let mut h = headers(&[("vary", "accept, ORIGIN")]);
        policy(true).finish(false, Some(origin.clone()), &mut h);
        assert_eq!(h["access-control-allow-credentials"], "true");
        assert_eq!(h.get_all("vary").iter().count(), 1);

        // A preflight's own answer is kept as made; only Vary is added.
        let mut h = headers(&[("access-control-allow-origin", "https://app.example")]);
        policy(true).finish(true, Some(origin), &mut h);
        assert_eq!(h["access-control-allow-origin"], "https://app.example");
        assert!(!h.contains_key("access-control-allow-credentials"));
        assert_eq!(h["vary"], "Origin");
    }

    /// Preflights need OPTIONS, `Origin` and a requested method.
    #[test]
    fn preflight_detection() {
        let req = |m: Method, h: &[(&str, &str)]| {
            let mut b = Request::builder().method(m).uri("/");
            for (k, v) in h {
                b = b.header(*k, *v);
            }
            b.body(()).unwrap()
        };
        let full = [
            ("origin", "https://a"),
            ("access-control-request-method", "GET"),
        ];
        assert!(is_preflight(&req(Method::OPTIONS, &full)));
        assert!(!is_preflight(&req(Method::GET, &full)));
        assert!(!is_preflight(&req(Method::OPTIONS, &full[..1])));
        assert!(!is_preflight(&req(Method::OPTIONS, &full[1..])));
    }
}
