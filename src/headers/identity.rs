//! Identity and forwarding headers a client could forge.
//!
//! Upstreams and their frameworks do not agree on header spelling: CGI, WSGI,
//! PHP and many proxies map `-`, `_` (and sometimes `.`) to the same
//! variable, so `X_Auth_Request_User` can arrive as `X-Auth-Request-User`.
//! Names are therefore compared on a canonical form: ASCII lowercase, with
//! `_` and `.` read as `-`. Identity is only ever set by the gateway, after
//! this stripping, so the upstream never sees a client-supplied one.

use http::header::{HeaderMap, HeaderName};

/// Canonical prefixes of identity headers (always stripped): ours and the
/// ones other gateways and platforms use for the same purpose.
const IDENTITY_PREFIXES: [&str; 9] = [
    "x-auth-",
    "x-remote-",
    "x-webauth-",
    "x-authenticated-",
    "x-ms-client-principal",
    "x-goog-authenticated-",
    "x-amzn-oidc-",
    "x-original-forwarded-",
    "x-cluster-client-",
];

/// Canonical names of identity headers (always stripped).
const IDENTITY_NAMES: [&str; 12] = [
    "x-client-ip",
    "true-client-ip",
    "cf-connecting-ip",
    "fastly-client-ip",
    "x-remote-user",
    "remote-user",
    "x-user",
    "x-email",
    "x-original-uri",
    "x-original-url",
    "x-rewrite-url",
    "x-original-method",
];

/// Canonical prefix of the forwarding family.
const FORWARDING_PREFIX: &str = "x-forwarded-";

/// Canonical names of the forwarding family besides the prefix.
const FORWARDING_NAMES: [&str; 2] = ["forwarded", "x-real-ip"];

/// Forwarding headers a trusted proxy may pass on, in their exact spelling.
/// Other `x-forwarded-*` names (`-user`, `-email`, `-groups`,
/// `-access-token`...) are identity in disguise and always go, as do
/// non-canonical spellings such as `x_forwarded_for`.
pub const TRUSTED_FORWARDING: [&str; 7] = [
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-prefix",
    "forwarded",
    "x-real-ip",
];

/// What kind of forgeable header a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spoofable {
    /// Claims who the user is: always stripped.
    Identity,
    /// Claims where the request came from: kept only from trusted proxies,
    /// and only in a [`TRUSTED_FORWARDING`] spelling.
    Forwarding,
}

/// Classifies a header name (any case or separator spelling); `configured`
/// are the identity headers the gateway itself sets.
pub fn classify(name: &str, configured: &[HeaderName]) -> Option<Spoofable> {
    let identity = IDENTITY_PREFIXES.iter().any(|p| canon_starts_with(name, p))
        || IDENTITY_NAMES.iter().any(|n| canon_eq(name, n))
        || configured.iter().any(|c| canon_eq(name, c.as_str()));
    if identity {
        Some(Spoofable::Identity)
    } else if canon_starts_with(name, FORWARDING_PREFIX)
        || FORWARDING_NAMES.iter().any(|n| canon_eq(name, n))
    {
        Some(Spoofable::Forwarding)
    } else {
        None
    }
}

/// Whether a header name could pose as identity or forwarding information.
pub fn is_identity_like(name: &str, configured: &[HeaderName]) -> bool {
    classify(name, configured).is_some()
}

/// Removes every identity and forwarding header, in every spelling: for
/// requests from peers that are not trusted proxies (and for trailers).
pub fn strip_identity(headers: &mut HeaderMap, configured: &[HeaderName]) {
    strip_with(headers, configured, false);
}

/// Removes every identity header, but keeps the [`TRUSTED_FORWARDING`]
/// headers in their exact spelling: for requests from trusted proxies.
pub fn strip_identity_keep_forwarded(headers: &mut HeaderMap, configured: &[HeaderName]) {
    strip_with(headers, configured, true);
}

/// Removes what [`classify`] flags, keeping trusted forwarding if asked.
fn strip_with(headers: &mut HeaderMap, configured: &[HeaderName], keep_forwarded: bool) {
    let doomed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| match classify(name.as_str(), configured) {
            None => false,
            Some(Spoofable::Identity) => true,
            Some(Spoofable::Forwarding) => {
                !(keep_forwarded && TRUSTED_FORWARDING.contains(&name.as_str()))
            }
        })
        .cloned()
        .collect();
    for name in doomed {
        headers.remove(name);
    }
}

/// One byte in canonical form: lowercase, `_` and `.` as `-`.
fn canon(b: u8) -> u8 {
    match b {
        b'_' | b'.' => b'-',
        b => b.to_ascii_lowercase(),
    }
}

/// Whether two names are equal in canonical form.
fn canon_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| canon(x) == canon(y))
}

/// Whether `name` starts with `prefix` in canonical form.
fn canon_starts_with(name: &str, prefix: &str) -> bool {
    name.get(..prefix.len())
        .is_some_and(|head| canon_eq(head, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    /// Names the gateway is configured to set.
    fn configured() -> Vec<HeaderName> {
        vec![
            HeaderName::from_static("x-session-id"),
            HeaderName::from_static("x-grafana-user"),
        ]
    }

    /// Every spelling of identity and forwarding names is classified.
    #[test]
    fn classify_table() {
        use Spoofable::*;
        let cases = [
            ("x-auth-request-user", Some(Identity)),
            ("X_Auth_Request_User", Some(Identity)),
            ("x.auth.request.email", Some(Identity)),
            ("X-AUTH-ANYTHING", Some(Identity)),
            ("x-auth-", Some(Identity)),
            ("x-remote-user", Some(Identity)),
            ("remote_user", Some(Identity)),
            ("X-User", Some(Identity)),
            ("x_email", Some(Identity)),
            ("x-client-ip", Some(Identity)),
            ("x-original-uri", Some(Identity)),
            ("X_Original_URL", Some(Identity)),
            ("x-rewrite-url", Some(Identity)),
            ("x-original-method", Some(Identity)),
            ("x-session-id", Some(Identity)),
            ("X_Session.Id", Some(Identity)),
            ("x-grafana-user", Some(Identity)),
            ("x-forwarded-for", Some(Forwarding)),
            ("X_Forwarded_For", Some(Forwarding)),
            ("x-forwarded-user", Some(Forwarding)),
            ("forwarded", Some(Forwarding)),
            ("x-real-ip", Some(Forwarding)),
            ("X_Real.IP", Some(Forwarding)),
            ("x-auth", None),
            ("x-authorization", None),
            ("authorization", None),
            ("x-users", None),
            ("x-forwarded", None),
            ("forwarded-for", None),
            ("user-agent", None),
            ("", None),
            ("é-auth-x", None),
        ];
        for (name, want) in cases {
            assert_eq!(classify(name, &configured()), want, "{name}");
            assert_eq!(
                is_identity_like(name, &configured()),
                want.is_some(),
                "{name}"
            );
        }
    }

    /// Builds a map with the given header names, each set to "v".
    fn map(names: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for n in names {
            h.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                HeaderValue::from_static("v"),
            );
        }
        h
    }

    /// Sorted names left in a map.
    fn left(h: &HeaderMap) -> Vec<&str> {
        let mut n: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        n.sort_unstable();
        n
    }

    const SENT: &[&str] = &[
        "X-Auth-Request-User",
        "X_Auth_Request_User",
        "x.auth.request.email",
        "X-Forwarded-For",
        "X_Forwarded_For",
        "X-Forwarded-Host",
        "X-Forwarded-Proto",
        "X-Forwarded-User",
        "X-Forwarded-Email",
        "Forwarded",
        "X-Real-IP",
        "X-Client-IP",
        "X-Original-URL",
        "X-Session-Id",
        "Accept",
        "Cookie",
    ];

    /// From untrusted peers every identity and forwarding header goes.
    #[test]
    fn strip_identity_removes_everything_spoofable() {
        let mut h = map(SENT);
        strip_identity(&mut h, &configured());
        assert_eq!(left(&h), ["accept", "cookie"]);
    }

    /// From trusted proxies only the canonical forwarding headers stay.
    #[test]
    fn trusted_keeps_only_canonical_forwarding() {
        let mut h = map(SENT);
        strip_identity_keep_forwarded(&mut h, &configured());
        let want = [
            "accept",
            "cookie",
            "forwarded",
            "x-forwarded-for",
            "x-forwarded-host",
            "x-forwarded-proto",
            "x-real-ip",
        ];
        assert_eq!(left(&h), want);
    }

    /// Repeated values of a stripped header all go.
    #[test]
    fn strip_removes_every_value() {
        let mut h = map(&[
            "x-auth-request-user",
            "x-auth-request-user",
            "x-auth-request-user",
        ]);
        strip_identity(&mut h, &[]);
        assert!(h.is_empty());
    }
}
