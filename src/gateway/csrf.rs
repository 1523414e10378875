//! CSRF defence for cookie-authenticated state-changing endpoints: the
//! request must come from our own origin. Browsers always send `Origin` on
//! POST and DELETE (and `Sec-Fetch-Site`); clients that send neither are not
//! browsers and cannot be driven by another site.

use http::HeaderMap;

/// [`same_origin`], also trusting the configured CORS origins (exact
/// match): an origin an operator allowed to call us may change state too.
pub fn allowed_origin(headers: &HeaderMap, public_origin: &str, cors_origins: &[String]) -> bool {
    let mut origins = headers.get_all(http::header::ORIGIN).iter();
    match (origins.next(), origins.next()) {
        // Two `Origin` headers: no browser sends that; trust neither.
        (Some(_), Some(_)) => false,
        (Some(o), None) if cors_origins.iter().any(|c| c.as_bytes() == o.as_bytes()) => true,
        _ => same_origin(headers, public_origin),
    }
}

/// True when the request may change state on behalf of its cookies.
pub fn same_origin(headers: &HeaderMap, public_origin: &str) -> bool {
    if let Some(origin) = headers.get(http::header::ORIGIN) {
        return origin.as_bytes() == public_origin.as_bytes();
    }
    match headers.get("sec-fetch-site").map(|v| v.as_bytes()) {
        Some(b"same-origin") | Some(b"none") | None => true,
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(*k, v.parse().unwrap());
        }
        m
    }

    /// Only our exact origin, or same-origin fetch metadata, passes.
    #[test]
    fn judges_origin() {
        let o = "https://gw.example";
        assert!(same_origin(&h(&[("origin", "https://gw.example")]), o));
        assert!(same_origin(&h(&[]), o));
        assert!(same_origin(&h(&[("sec-fetch-site", "same-origin")]), o));
        for bad in [
            &[("origin", "https://evil.example")][..],
            &[("origin", "null")],
            &[("origin", "https://gw.example.evil")],
            &[("sec-fetch-site", "cross-site")],
            &[("sec-fetch-site", "same-site")],
            &[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "same-origin"),
            ],
        ] {
            assert!(!same_origin(&h(bad), o), "{bad:?}");
        }
    }

    /// Configured CORS origins are trusted exactly; two `Origin` headers
    /// never are.
    #[test]
    fn cors_origins_are_trusted_exactly() {
        let o = "https://gw.example";
        let cors = ["https://app.example".to_string()];
        assert!(allowed_origin(
            &h(&[("origin", "https://app.example")]),
            o,
            &cors
        ));
        assert!(allowed_origin(
            &h(&[("origin", "https://gw.example")]),
            o,
            &cors
        ));
        assert!(allowed_origin(&h(&[]), o, &cors));
        for bad in [
            &[("origin", "https://app.example.evil")][..],
            &[("origin", "https://evil.example")],
            &[
                ("origin", "https://gw.example"),
                ("origin", "https://gw.example"),
            ],
            &[
                ("origin", "https://app.example"),
                ("origin", "https://evil.example"),
            ],
        ] {
            assert!(!allowed_origin(&h(bad), o, &cors), "{bad:?}");
        }
    }
}
