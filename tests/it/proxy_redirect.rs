//! The plain-HTTP listener: every request gets a 308 to the HTTPS URL built
//! from configuration, never from `Host` or `X-Forwarded-*` (class 15).

use crate::common;

use common::Gateway;
use common::raw::{After, RawConn};
use std::time::Duration;

const PUBLIC: &str = r#"
[server]
http_listen = "127.0.0.1:0"
public_url = "https://gateway.example.test"
"#;

async fn plain(gw: &Gateway) -> RawConn<tokio::net::TcpStream> {
    let addr = gw.http_addr.expect("the redirect listener is announced");
    RawConn::new(tokio::net::TcpStream::connect(addr).await.expect("connect"))
}

/// Each request (hostile `Host`, forwarded headers, absolute form, odd
/// methods) is answered 308 to the configured origin with the same path and
/// query, and the connection is closed.
#[tokio::test]
async fn redirects_to_configured_origin() {
    let gw = Gateway::start(PUBLIC).await;
    let cases: &[(&str, &str)] = &[
        (
            "GET /path?query=1 HTTP/1.1\r\nHost: evil.example\r\n\r\n",
            "https://gateway.example.test/path?query=1",
        ),
        (
            "GET /a/b?x=/c HTTP/1.1\r\nHost: evil.example:8443\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: http\r\nForwarded: host=evil.example\r\n\r\n",
            "https://gateway.example.test/a/b?x=/c",
        ),
        (
            "GET http://evil.example/steal?x=1 HTTP/1.1\r\nHost: evil.example\r\n\r\n",
            "https://gateway.example.test/",
        ),
        (
            "POST /form HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 3\r\n\r\nabc",
            "https://gateway.example.test/form",
        ),
        (
            "OPTIONS * HTTP/1.1\r\nHost: evil.example\r\n\r\n",
            "https://gateway.example.test/",
        ),
        (
            "GET /old HTTP/1.0\r\n\r\n",
            "https://gateway.example.test/old",
        ),
        (
            "GET //evil.example/x HTTP/1.1\r\nHost: a\r\n\r\n",
            "https://gateway.example.test//evil.example/x",
        ),
        (
            "GET /a%2Fb?x=%0d%0aSet-Cookie:%20a=1 HTTP/1.1\r\nHost: a\r\n\r\n",
            "https://gateway.example.test/a%2Fb?x=%0d%0aSet-Cookie:%20a=1",
        ),
    ];
    for (request, location) in cases {
        let mut conn = plain(&gw).await;
        let resp = conn.roundtrip(request.as_bytes()).await;
        assert_eq!(resp.status, 308, "{request:?}");
        assert_eq!(resp.header("location"), Some(*location), "{request:?}");
        assert!(resp.header("set-cookie").is_none(), "{request:?}");
        assert_eq!(
            conn.after(Duration::from_secs(10)).await,
            After::Closed,
            "{request:?}"
        );
    }
}

/// Without `public_url` the origin is `https://localhost:<bound HTTPS
/// port>`: with `listen = "127.0.0.1:0"` the redirect must name the port
/// actually bound, not 0.
#[tokio::test]
async fn default_origin_uses_bound_https_port() {
    let gw = Gateway::start("[server]\nhttp_listen = \"127.0.0.1:0\"\n").await;
    let mut conn = plain(&gw).await;
    let resp = conn
        .roundtrip(b"GET /x?y=1 HTTP/1.1\r\nHost: evil.example\r\n\r\n")
        .await;
    assert_eq!(resp.status, 308);
    let want = format!("https://localhost:{}/x?y=1", gw.addr.port());
    assert_eq!(resp.header("location"), Some(want.as_str()));
    // The URL works: following it reaches the gateway.
    let resp = gw.client().get(&want).send().await.unwrap();
    assert_eq!(resp.status(), 404, "the example app answers /x with 404");
}

/// Without `http_listen` no plain listener is announced.
#[tokio::test]
async fn no_redirect_listener_unless_configured() {
    let gw = Gateway::start("").await;
    assert_eq!(gw.http_addr, None);
}
