//! Protocol hygiene over raw TLS (class 21): framing two parsers could read
//! differently is answered 400 and the connection closed, nothing reaches the
//! upstream (in particular no request hidden in a body), and `h2c` upgrades
//! are never honoured.

use crate::common;

use std::time::Duration;

use common::Gateway;
use common::raw::After;
use common::upstream::Upstream;

/// A second request hidden after a chunked terminator.
const SMUGGLED: &str = "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// `POST /` with the given framing header lines and [`SMUGGLED`] as body;
/// `{len}` in a line becomes the body's full length.
fn smuggle(lines: &[&str]) -> Vec<u8> {
    let len = SMUGGLED.len().to_string();
    let mut req = String::from("POST /target HTTP/1.1\r\nHost: localhost\r\n");
    for l in lines {
        req.push_str(&l.replace("{len}", &len));
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    req.push_str(SMUGGLED);
    req.into_bytes()
}

/// Sends `request`; `Err` unless exactly one 400 comes back and the
/// connection is then closed.
async fn refused(gw: &Gateway, request: &[u8]) -> Result<(), String> {
    let mut conn = gw.raw().await;
    // The gateway may close while we are still writing; that is fine.
    let _ = conn.send(request).await;
    let resp = match conn.response().await {
        Ok(Some(resp)) => resp,
        Ok(None) => return Err("closed without an answer".into()),
        Err(e) => return Err(e.to_string()),
    };
    if resp.status != 400 {
        return Err(format!("status {}: {}", resp.status, resp.text()));
    }
    match conn.after(Duration::from_secs(10)).await {
        After::Closed => Ok(()),
        other => Err(format!("not closed after the 400: {other:?}")),
    }
}

/// Runs every request through [`refused`] and reports all failures at once.
async fn expect_all_refused(gw: &Gateway, requests: Vec<(String, Vec<u8>)>) {
    let mut failures = Vec::new();
    for (what, request) in requests {
        if let Err(e) = refused(gw, &request).await {
            failures.push(format!("{what}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn smuggles(cases: &[&[&str]]) -> Vec<(String, Vec<u8>)> {
    cases
        .iter()
        .map(|l| (format!("{l:?}"), smuggle(l)))
        .collect()
}

async fn gateway() -> (Gateway, Upstream) {
    let up = Upstream::ok().await;
    let gw = Gateway::start_with_upstream(up.addr, "", &[]).await;
    (gw, up)
}

/// `Content-Length` together with any spelling of `Transfer-Encoding`, in
/// either order: 400, closed, and the upstream sees nothing (neither the
/// request nor the one hidden in its body).
#[tokio::test]
async fn content_length_with_transfer_encoding_is_refused() {
    let (gw, up) = gateway().await;
    let cases: &[&[&str]] = &[
        &["Content-Length: {len}", "Transfer-Encoding: chunked"],
        &["Transfer-Encoding: chunked", "Content-Length: {len}"],
        &["Content-Length: {len}", "Transfer-Encoding: xchunked"],
        &["Content-Length: {len}", "Transfer-Encoding:  chunked"],
        &["Content-Length: {len}", "Transfer-Encoding:\tchunked"],
        &[
            "Content-Length: {len}",
            "Transfer-Encoding: chunked, identity",
        ],
        &[
            "Content-Length: {len}",
            "Transfer-Encoding: identity, chunked",
        ],
        &["Content-Length: {len}", "Transfer-Encoding: CHUNKED"],
        &[
            "Content-Length: {len}",
            "Transfer-Encoding: chunked",
            "Transfer-Encoding: chunked",
        ],
        &["Content-Length: 0", "Transfer-Encoding: chunked"],
    ];
    expect_all_refused(&gw, smuggles(cases)).await;
    assert!(up.requests().is_empty(), "forwarded: {:?}", up.requests());
}

/// Obfuscated or duplicated `Transfer-Encoding`, conflicting lengths,
/// obsolete line folding, malformed header lines and methods: 400 and
/// closed, nothing forwarded.
#[tokio::test]
async fn malformed_framing_is_refused() {
    let (gw, up) = gateway().await;
    let cases: &[&[&str]] = &[
        &["Transfer-Encoding: xchunked"],
        &["Transfer-Encoding: chunked, identity"],
        &["Transfer-Encoding: chunked;q=1"],
        &["Transfer-Encoding: gzip"],
        &["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"],
        &["Transfer-Encoding: identity", "Transfer-Encoding: chunked"],
        &["Transfer-Encoding : chunked"],
        &["Transfer-Encoding\t: chunked"],
        &["Transfer-Encoding: x", " chunked"],
        &["X-Folded: a", " Transfer-Encoding: chunked"],
        &["X-Folded: a", "\tb", "Content-Length: {len}"],
        &["Content-Length: 5", "Content-Length: 6"],
        &["Content-Length: {len}", "Content-Length: 5"],
        &["Content-Length: 5, 6"],
        &["Content-Length: +5"],
        &["Content-Length: -1"],
        &["Content-Length: 0x10"],
        &["Content-Length: 1e3"],
        &["Content Length: 5"],
        &["Host: second.example"],
    ];
    let mut requests = smuggles(cases);
    let raw: &[&[u8]] = &[
        b"G@T / HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET\t/ HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\nHost: localhost\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: localhost\r\n\r\n",
        b"POST / HTTP/1.0\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Nul: a\0b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: localhost\r\nBad\x01Name: x\r\n\r\n",
        b"GET /\x7f HTTP/1.1\r\nHost: localhost\r\n\r\n",
    ];
    requests.extend(
        raw.iter()
            .map(|r| (String::from_utf8_lossy(r).into_owned(), r.to_vec())),
    );
    expect_all_refused(&gw, requests).await;
    assert!(up.requests().is_empty(), "forwarded: {:?}", up.requests());
}

/// `Upgrade: h2c`, alone or among other protocols, is refused: never 101,
/// never forwarded.
#[tokio::test]
async fn h2c_upgrade_is_not_honoured() {
    let (gw, up) = gateway().await;
    for upgrade in ["h2c", "H2C", "websocket, h2c", "h2c, websocket", "h2c/1"] {
        let req = format!(
            "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\n\
             Upgrade: {upgrade}\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
        );
        let mut conn = gw.raw().await;
        let resp = conn.roundtrip(req.as_bytes()).await;
        assert_ne!(resp.status, 101, "{upgrade}");
        assert!(resp.header("upgrade").is_none(), "{upgrade}");
        if !upgrade.contains('/') {
            assert_eq!(resp.status, 400, "{upgrade}");
        }
    }
    // The upstream never saw an h2c offer: either nothing, or stripped.
    for seen in up.requests() {
        assert!(
            seen.headers.get_all("upgrade").iter().all(|v| !v
                .as_bytes()
                .to_ascii_lowercase()
                .windows(3)
                .any(|w| w == b"h2c")),
            "{seen:?}"
        );
    }
}

/// Positive control: a well-formed chunked upload is forwarded once with its
/// body, and a pipelined second request on a keep-alive connection is
/// served as itself.
#[tokio::test]
async fn well_formed_chunked_and_pipelined_requests_pass() {
    let (gw, mut up) = gateway().await;
    let mut conn = gw.raw().await;
    conn.send(
        b"POST /first HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n0\r\n\r\n\
          GET /second HTTP/1.1\r\nHost: localhost\r\n\r\n",
    )
    .await
    .unwrap();
    for _ in 0..2 {
        let resp = conn.response().await.unwrap().expect("response");
        assert_eq!(resp.status, 200);
    }
    let first = up.arrival().await;
    assert_eq!(first.target, "/first");
    assert_eq!(first.body.as_deref(), Some(&b"hello"[..]));
    assert_eq!(up.arrival().await.target, "/second");
    assert_eq!(up.requests().len(), 2);
}

/// RFC 9112 3.2: an HTTP/1.1 request without `Host` is a closing 400 with
/// the gateway's JSON error, and is not forwarded. HTTP/1.0 (which predates
/// `Host`) and HTTP/2 (`:authority`, no `Host` header) still pass.
#[tokio::test]
async fn http11_without_host_is_refused() {
    let (gw, mut up) = gateway().await;
    for request in [
        &b"GET /nohost HTTP/1.1\r\n\r\n"[..],
        b"POST /nohost HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi",
    ] {
        let mut conn = gw.raw().await;
        let resp = conn.roundtrip(request).await;
        assert_eq!(resp.status, 400, "{}", resp.text());
        let v = resp.json();
        assert_eq!(v["error"], "bad_request", "{v}");
        assert!(v["message"].as_str().unwrap().contains("Host"), "{v}");
        assert_eq!(conn.after(Duration::from_secs(10)).await, After::Closed);
    }
    assert!(up.requests().is_empty(), "forwarded: {:?}", up.requests());

    let resp = gw.raw().await.roundtrip(b"GET /old HTTP/1.0\r\n\r\n").await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(up.arrival().await.target, "/old");

    let mut sender = gw.h2_sender().await;
    let req = http::Request::get(format!("https://localhost:{}/h2", gw.addr.port()))
        .body(String::new())
        .unwrap();
    assert!(!req.headers().contains_key("host"));
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(up.arrival().await.target, "/h2");
}
