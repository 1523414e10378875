//! The request a proxy asks about, read from the forwarded headers of its
//! subrequest. Only called for trusted proxies.
//!
//! Each piece may come under two names (Traefik and Caddy send
//! `X-Forwarded-*`, nginx configurations often `X-Original-*`). Either is
//! accepted; a name sent twice, or both names with different values, is
//! refused, so no proxy, client or order of headers decides which one wins.

use http::header::{HeaderMap, HeaderName};
use http::uri::Authority;
use http::{HeaderValue, Method};

use crate::path::{self, PathError, PathOptions};

/// One forwarded header: its name and its spelling in messages.
type Named = (HeaderName, &'static str);

/// Where the original request target (path and query) is read from.
const URI: [Named; 2] = [
    (
        HeaderName::from_static("x-forwarded-uri"),
        "X-Forwarded-Uri",
    ),
    (HeaderName::from_static("x-original-uri"), "X-Original-URI"),
];
/// Where the original method is read from.
const METHOD: [Named; 2] = [
    (
        HeaderName::from_static("x-forwarded-method"),
        "X-Forwarded-Method",
    ),
    (
        HeaderName::from_static("x-original-method"),
        "X-Original-Method",
    ),
];
/// Where the original host is read from.
const HOST: [Named; 1] = [(
    HeaderName::from_static("x-forwarded-host"),
    "X-Forwarded-Host",
)];

/// The original request, as the route policy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The original method (the subrequest's own when none is forwarded).
    pub method: Method,
    /// The normalized path.
    pub path: String,
    /// The query, verbatim (never matched).
    pub query: Option<String>,
    /// The original host, checked for shape only: it decides nothing and
    /// builds no URL.
    pub host: Option<String>,
}

impl Target {
    /// Path and query, for the login page's `return_to`.
    pub fn path_and_query(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }
}

/// Why the forwarded headers were refused (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// No header names the original request target.
    #[error("X-Forwarded-Uri (or X-Original-URI) is required")]
    MissingUri,
    /// One header came more than once.
    #[error("{0} is sent more than once")]
    Repeated(&'static str),
    /// Two names for the same thing disagree.
    #[error("{0} and {1} disagree")]
    Conflict(&'static str, &'static str),
    /// A value is not visible ASCII.
    #[error("{0} is not visible ASCII")]
    NotText(&'static str),
    /// The method is not an HTTP method token.
    #[error("the forwarded method is not an HTTP method")]
    BadMethod,
    /// The host is not `host[:port]`.
    #[error("X-Forwarded-Host is not a host name with an optional port")]
    BadHost,
    /// The normalizer refused the path.
    #[error("the forwarded path is ambiguous: {0}")]
    Path(#[from] PathError),
    /// The raw path has dot segments (see [`path::has_dot_segment`]).
    #[error("the forwarded path has dot segments")]
    DotSegments,
}

/// Reads the original request from a trusted proxy's headers; `own` is the
/// subrequest's method, used when no method is forwarded.
pub fn read(h: &HeaderMap, own: &Method, opts: &PathOptions) -> Result<Target, TargetError> {
    let uri = one_of(h, &URI)?.ok_or(TargetError::MissingUri)?;
    let (raw_path, query) = path::split_path_query(uri);
    let normalized = path::normalize(raw_path, opts)?.into_owned();
    if path::has_dot_segment(raw_path) {
        return Err(TargetError::DotSegments);
    }
    let method = match one_of(h, &METHOD)? {
        Some(m) => Method::from_bytes(m.as_bytes()).map_err(|_| TargetError::BadMethod)?,
        None => own.clone(),
    };
    let host = one_of(h, &HOST)?.map(parse_host).transpose()?;
    Ok(Target {
        method,
        path: normalized,
        query: query.map(str::to_string),
        host,
    })
}

/// The one value sent under any of `names`: `None` when absent; an error
/// when a name repeats, two names disagree, or the value is not text.
fn one_of<'h>(h: &'h HeaderMap, names: &[Named]) -> Result<Option<&'h str>, TargetError> {
    let mut found: Option<(&'h str, &'static str)> = None;
    for &(ref name, label) in names {
        let mut values = h.get_all(name).iter();
        let Some(value) = values.next() else {
            continue;
        };
        if values.next().is_some() {
            return Err(TargetError::Repeated(label));
        }
        let value = text(value).ok_or(TargetError::NotText(label))?;
        match found {
            Some((first, first_label)) if first != value => {
                return Err(TargetError::Conflict(first_label, label));
            }
            Some(_) => {}
            None => found = Some((value, label)),
        }
    }
    Ok(found.map(|(value, _)| value))
}

/// A header value as visible ASCII, without surrounding blanks.
fn text(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?.trim();
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())).then_some(s)
}

/// `host[:port]` without user information.
fn parse_host(v: &str) -> Result<String, TargetError> {
    let authority: Authority = v.parse().map_err(|_| TargetError::BadHost)?;
    if authority.as_str().contains('@') || authority.host().is_empty() {
        return Err(TargetError::BadHost);
    }
    Ok(authority.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Headers from `(name, value)` pairs, repeats kept.
    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn read_pairs(pairs: &[(&str, &str)]) -> Result<Target, TargetError> {
        read(&headers(pairs), &Method::GET, &PathOptions::default())
    }

    /// Either name gives the target; equal values under both are fine; the
    /// path is normalized and the query kept verbatim.
    #[test]
    fn reads_either_spelling() {
        let t = read_pairs(&[("x-forwarded-uri", "//a/%62/c?x=/../y")]).unwrap();
        assert_eq!(
            (t.path.as_str(), t.query.as_deref()),
            ("/a/b/c", Some("x=/../y"))
        );
        assert_eq!(t.method, Method::GET);
        assert_eq!(t.path_and_query(), "/a/b/c?x=/../y");
        let t = read_pairs(&[
            ("x-original-uri", "/p"),
            ("x-original-method", "DELETE"),
            ("x-forwarded-uri", "/p"),
            ("x-forwarded-host", "app.example:8443"),
        ])
        .unwrap();
        assert_eq!(t.path, "/p");
        assert_eq!(t.method, Method::DELETE);
        assert_eq!(t.host.as_deref(), Some("app.example:8443"));
    }

    /// Missing, repeated, conflicting or malformed headers are refused,
    /// each naming what is wrong.
    #[test]
    fn refusals() {
        use TargetError::*;
        let cases: &[(&[(&str, &str)], TargetError)] = &[
            (&[], MissingUri),
            (&[("x-forwarded-method", "GET")], MissingUri),
            (&[("x-forwarded-uri", "")], NotText("X-Forwarded-Uri")),
            (&[("x-forwarded-uri", "/a b")], NotText("X-Forwarded-Uri")),
            (
                &[("x-forwarded-uri", "/a"), ("x-forwarded-uri", "/b")],
                Repeated("X-Forwarded-Uri"),
            ),
            (
                &[("x-forwarded-uri", "/a"), ("x-original-uri", "/public")],
                Conflict("X-Forwarded-Uri", "X-Original-URI"),
            ),
            (
                &[
                    ("x-forwarded-uri", "/a"),
                    ("x-forwarded-method", "GET"),
                    ("x-original-method", "POST"),
                ],
                Conflict("X-Forwarded-Method", "X-Original-Method"),
            ),
            (
                &[("x-forwarded-uri", "/a"), ("x-forwarded-method", "G(ET")],
                BadMethod,
            ),
            (
                &[
                    ("x-forwarded-uri", "/a"),
                    ("x-forwarded-method", "GET,POST"),
                ],
                BadMethod,
            ),
            (
                &[
                    ("x-forwarded-uri", "/a"),
                    ("x-forwarded-host", "u@evil.example"),
                ],
                BadHost,
            ),
            (
                &[
                    ("x-forwarded-uri", "/a"),
                    ("x-forwarded-host", "evil.example/x"),
                ],
                BadHost,
            ),
            (
                &[("x-forwarded-uri", "/a"), ("x-forwarded-host", ":443")],
                BadHost,
            ),
            (
                &[("x-forwarded-uri", "/public/..%2Fadmin")],
                Path(PathError::EncodedSlash),
            ),
            (
                &[("x-forwarded-uri", "http://evil/public/")],
                Path(PathError::NotOriginForm),
            ),
            (&[("x-forwarded-uri", "/public/../admin")], DotSegments),
            (&[("x-forwarded-uri", "/public/%2e%2e/admin")], DotSegments),
            (&[("x-forwarded-uri", "/admin/./x")], DotSegments),
        ];
        for (pairs, want) in cases {
            assert_eq!(read_pairs(pairs).as_ref(), Err(want), "{pairs:?}");
        }
    }
}
