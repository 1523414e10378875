//! Hop-by-hop headers (RFC 9110 section 7.6.1): they describe one connection
//! and must not be forwarded, in either direction.
//!
//! Strip before the gateway sets anything of its own (forwarded, identity and
//! security headers): a client can name any header in `Connection`, and an
//! order the other way round would let it delete what the gateway set.

use smallvec::SmallVec;

use http::header::{
    CONNECTION, HeaderMap, HeaderName, HeaderValue, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE,
    TRAILER, TRANSFER_ENCODING, UPGRADE,
};

/// Headers that are hop-by-hop whatever `Connection` says, including the
/// legacy `Keep-Alive` and `Proxy-Connection` and the proxy credentials.
pub const ALWAYS_HOP_BY_HOP: [HeaderName; 9] = [
    CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    TE,
    TRAILER,
    TRANSFER_ENCODING,
    UPGRADE,
    PROXY_AUTHORIZATION,
    PROXY_AUTHENTICATE,
];

/// Removes `Connection`, every header it names, and [`ALWAYS_HOP_BY_HOP`].
pub fn strip(headers: &mut HeaderMap) {
    // Most messages carry none of them: one pass over the names present is
    // far cheaper than a hashed removal per listed name. Without a
    // `Connection` header nothing else can be named.
    if !headers.keys().any(|n| ALWAYS_HOP_BY_HOP.contains(n)) {
        return;
    }
    // Then remove only the names present, matched against the `Connection`
    // tokens as they are: building a `HeaderName` per token would allocate
    // for every non-standard one (`keep-alive` on nearly every response).
    let named: SmallVec<[&[u8]; 4]> = connection_tokens(headers).collect();
    let doomed: SmallVec<[HeaderName; 4]> = headers
        .keys()
        .filter(|name| {
            let name_bytes = name.as_str().as_bytes();
            ALWAYS_HOP_BY_HOP.contains(name)
                || named.iter().any(|t| t.eq_ignore_ascii_case(name_bytes))
        })
        .cloned()
        .collect();
    drop(named); // ends the borrow of the map
    for name in &doomed {
        headers.remove(name);
    }
}

/// The `Upgrade` value when this is an upgrade request (or a 101 response):
/// a `Connection` header holds the token `upgrade` (any case) and there is
/// exactly one `Upgrade` header. An upgrade offering `h2c` in any position is
/// reported as no upgrade: cleartext HTTP/2 through the gateway is never
/// honoured (it would tunnel past every later request check).
pub fn is_upgrade_request(headers: &HeaderMap) -> Option<HeaderValue> {
    let wants_upgrade = connection_tokens(headers).any(|t| t.eq_ignore_ascii_case(b"upgrade"));
    let mut values = headers.get_all(UPGRADE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    let mut protocols = list_items(value.as_bytes()).peekable();
    protocols.peek()?;
    let h2c = protocols.any(|p| {
        let name = p.split(|&b| b == b'/').next().unwrap_or(p);
        name.trim_ascii().eq_ignore_ascii_case(b"h2c")
    });
    (wants_upgrade && !h2c).then(|| value.clone())
}

/// Strips like [`strip`], but keeps a genuine upgrade (as judged by
/// [`is_upgrade_request`]) by putting back `Connection: upgrade` and the
/// `Upgrade` value, for tunnelling WebSockets. Returns the kept value.
pub fn strip_keep_upgrade(headers: &mut HeaderMap) -> Option<HeaderValue> {
    let upgrade = is_upgrade_request(headers);
    strip(headers);
    if let Some(value) = &upgrade {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, value.clone());
    }
    upgrade
}

/// The non-empty, trimmed tokens of every `Connection` header.
fn connection_tokens(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    headers
        .get_all(CONNECTION)
        .iter()
        .flat_map(|v| list_items(v.as_bytes()))
}

/// The non-empty, trimmed items of a comma-separated list.
fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Header name/value pairs, as a test input.
    type Pairs<'a> = &'a [(&'static str, &'static str)];

    /// Builds a header map from name/value pairs, repeating names as given.
    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        h
    }

    /// Sorted names left in a map.
    fn names(h: &HeaderMap) -> Vec<&str> {
        let mut n: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        n.sort_unstable();
        n
    }

    /// Fixed hop-by-hop headers and those named in `Connection` are removed.
    #[test]
    fn strip_table() {
        let cases: &[(Pairs, &[&str])] = &[
            (&[("host", "a"), ("accept", "*/*")], &["accept", "host"]),
            (
                &[
                    ("connection", "keep-alive"),
                    ("keep-alive", "timeout=5"),
                    ("proxy-connection", "keep-alive"),
                    ("te", "trailers"),
                    ("trailer", "x-checksum"),
                    ("transfer-encoding", "chunked"),
                    ("upgrade", "websocket"),
                    ("proxy-authorization", "Basic eA=="),
                    ("proxy-authenticate", "Basic"),
                    ("host", "a"),
                ],
                &["host"],
            ),
            (
                &[
                    ("connection", "X-Foo, x-bar"),
                    ("x-foo", "1"),
                    ("x-bar", "2"),
                    ("x-baz", "3"),
                ],
                &["x-baz"],
            ),
            (
                &[
                    ("connection", " ,x-foo ,, "),
                    ("connection", "X-Bar"),
                    ("x-foo", "1"),
                    ("x-bar", "2"),
                ],
                &[],
            ),
            (
                &[
                    ("connection", "bad name, x(y), x-ok"),
                    ("x-ok", "1"),
                    ("accept", "a"),
                ],
                &["accept"],
            ),
            (&[("connection", "close"), ("cookie", "a=b")], &["cookie"]),
        ];
        for (input, want) in cases {
            let mut h = map(input);
            strip(&mut h);
            assert_eq!(names(&h), *want, "{input:?}");
        }
    }

    /// Upgrades need the `upgrade` token and one `Upgrade` header; h2c never counts.
    #[test]
    fn is_upgrade_request_table() {
        let cases: &[(Pairs, Option<&str>)] = &[
            (
                &[("connection", "Upgrade"), ("upgrade", "websocket")],
                Some("websocket"),
            ),
            (
                &[
                    ("connection", "keep-alive, UPGRADE"),
                    ("upgrade", "WebSocket"),
                ],
                Some("WebSocket"),
            ),
            (
                &[
                    ("connection", "keep-alive"),
                    ("connection", "upgrade"),
                    ("upgrade", "websocket"),
                ],
                Some("websocket"),
            ),
            (&[("upgrade", "websocket")], None),
            (&[("connection", "upgrade")], None),
            (
                &[("connection", "upgraded"), ("upgrade", "websocket")],
                None,
            ),
            (
                &[
                    ("connection", "Upgrade, HTTP2-Settings"),
                    ("upgrade", "h2c"),
                ],
                None,
            ),
            (&[("connection", "upgrade"), ("upgrade", "H2C")], None),
            (
                &[("connection", "upgrade"), ("upgrade", "websocket, h2c")],
                None,
            ),
            (&[("connection", "upgrade"), ("upgrade", "h2c/1.0")], None),
            (
                &[
                    ("connection", "upgrade"),
                    ("upgrade", "websocket"),
                    ("upgrade", "h2c"),
                ],
                None,
            ),
            (&[("connection", "upgrade"), ("upgrade", " , ")], None),
        ];
        for (input, want) in cases {
            let got = is_upgrade_request(&map(input));
            assert_eq!(
                got.as_ref().map(|v| v.to_str().unwrap()),
                *want,
                "{input:?}"
            );
        }
    }

    /// A WebSocket upgrade survives stripping; everything else hop-by-hop goes.
    #[test]
    fn strip_keep_upgrade_keeps_websocket_only() {
        let mut h = map(&[
            ("connection", "keep-alive, Upgrade, x-secret"),
            ("upgrade", "websocket"),
            ("x-secret", "1"),
            ("keep-alive", "5"),
            ("sec-websocket-key", "k"),
        ]);
        assert_eq!(
            strip_keep_upgrade(&mut h),
            Some(HeaderValue::from_static("websocket"))
        );
        assert_eq!(names(&h), ["connection", "sec-websocket-key", "upgrade"]);
        assert_eq!(h["connection"], "upgrade");

        let mut h2c = map(&[
            ("connection", "Upgrade, HTTP2-Settings"),
            ("upgrade", "h2c"),
            ("http2-settings", "x"),
        ]);
        assert_eq!(strip_keep_upgrade(&mut h2c), None);
        assert!(h2c.is_empty());
    }
}
