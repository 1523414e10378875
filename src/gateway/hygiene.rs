//! Protocol hygiene before anything else looks at a request: framing that
//! two parsers could read differently is refused and the connection closed.

use http::{Request, Response, StatusCode, header};

use crate::body::Body;
use crate::gateway::respond;

/// `CONNECT` and `TRACE` are never proxied (405); more headers than
/// `limits.max_headers` is 431 on HTTP/2 too (HTTP/1.1 enforces it while
/// parsing).
pub fn refuse_method_or_count<B>(req: &Request<B>, max_headers: usize) -> Option<Response<Body>> {
    if matches!(*req.method(), http::Method::CONNECT | http::Method::TRACE) {
        let mut resp = respond::json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "CONNECT and TRACE are not supported",
        );
        resp.headers_mut().insert(
            header::ALLOW,
            http::HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"),
        );
        return Some(resp);
    }
    (req.headers().len() > max_headers).then(|| {
        respond::json_error(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            "too many request headers",
        )
    })
}

/// The closing 400 for a refused request.
pub fn refuse(reason: &str) -> Response<Body> {
    respond::json_error_close(StatusCode::BAD_REQUEST, "bad_request", reason)
}

/// Refuses ambiguous framing (request smuggling), a missing or duplicate
/// `Host` and `h2c` upgrades; the error says what was wrong.
pub fn check<B>(req: &Request<B>) -> Result<(), &'static str> {
    let h = req.headers();
    let te = h.get_all(header::TRANSFER_ENCODING).iter().count();
    let cl: Vec<_> = h.get_all(header::CONTENT_LENGTH).iter().collect();
    let bad = Err;
    // hyper drops Content-Length when both arrive; the server saw it.
    let both = req
        .extensions()
        .get::<crate::server::framing::BothLengths>()
        .is_some();
    if both || te > 0 && !cl.is_empty() {
        return bad("both Content-Length and Transfer-Encoding");
    }
    if te > 1
        || h.get(header::TRANSFER_ENCODING)
            .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"chunked"))
    {
        return bad("unsupported Transfer-Encoding");
    }
    if cl.len() > 1
        || cl.first().is_some_and(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .is_none()
        })
    {
        return bad("invalid Content-Length");
    }
    // RFC 9112 3.2: more than one Host is a 400; two parsers may pick
    // different ones.
    let hosts = h.get_all(header::HOST).iter().count();
    if hosts > 1 {
        return bad("more than one Host header");
    }
    // RFC 9112 3.2: an HTTP/1.1 request without Host is a 400. HTTP/2 names
    // the authority in `:authority` instead, and HTTP/1.0 predates Host.
    if hosts == 0 && req.version() == http::Version::HTTP_11 {
        return bad("missing Host header");
    }
    let upgrade_h2c = h.get_all(header::UPGRADE).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case("h2c")))
    });
    if upgrade_h2c {
        return bad("h2c upgrades are not supported");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An HTTP/1.1 request with `Host: localhost` unless `headers` hold one.
    fn req(headers: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::builder().uri("/");
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            b = b.header("host", "localhost");
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    /// Each ambiguous framing is refused with a closing 400; plain requests pass.
    #[test]
    fn refuses_ambiguous_framing() {
        let refused: &[&[(&str, &str)]] = &[
            &[("content-length", "5"), ("transfer-encoding", "chunked")],
            &[("transfer-encoding", "chunked, identity")],
            &[("transfer-encoding", "xchunked")],
            &[
                ("transfer-encoding", "chunked"),
                ("transfer-encoding", "chunked"),
            ],
            &[("content-length", "5"), ("content-length", "6")],
            &[("content-length", "-1")],
            &[("upgrade", "h2c"), ("connection", "upgrade")],
            &[("host", "a.example"), ("host", "b.example")],
        ];
        for case in refused {
            let resp = refuse(check(&req(case)).unwrap_err());
            assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{case:?}");
            assert_eq!(resp.headers()["connection"], "close");
        }
        for ok in [
            &[][..],
            &[("content-length", "5")],
            &[("transfer-encoding", "chunked")],
        ] {
            assert!(check(&req(ok)).is_ok(), "{ok:?}");
        }
    }

    /// HTTP/1.1 without `Host` is refused; HTTP/2 (`:authority`) and
    /// HTTP/1.0 without it pass.
    #[test]
    fn host_required_on_http11_only() {
        let bare = |version| {
            Request::builder()
                .version(version)
                .uri("/")
                .body(())
                .unwrap()
        };
        assert_eq!(
            check(&bare(http::Version::HTTP_11)),
            Err("missing Host header")
        );
        assert!(check(&bare(http::Version::HTTP_2)).is_ok());
        assert!(check(&bare(http::Version::HTTP_10)).is_ok());
    }
}
