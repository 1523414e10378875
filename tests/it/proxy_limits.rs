//! Limits through the real binary: 431 for oversized heads, 413 for bodies
//! over a route's cap (declared or streamed), slow and idle clients cut off,
//! a connection cap that makes extra clients wait, and broken handshakes;
//! none of which disturbs other clients.

use crate::common;

use std::time::{Duration, Instant};

use common::Gateway;
use common::raw::{self, After};
use common::upstream::Upstream;
use tokio::io::AsyncWriteExt;

/// A request served normally while something else is going on.
async fn served(gw: &Gateway) {
    let resp = gw.client().get(gw.url("/headers")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

/// Heads over `max_header_bytes` (one big header or many) are 431 over
/// HTTP/1.1 and refused over HTTP/2; heads under it pass.
#[tokio::test]
async fn oversized_heads_are_431() {
    let gw = Gateway::start("[limits]\nmax_header_bytes = 8192\nmax_headers = 20\n").await;
    let cases: Vec<(String, Vec<String>, u16)> = vec![
        (
            "6000-byte header".into(),
            vec![format!("X-Big: {}", "a".repeat(6000))],
            200,
        ),
        (
            "9000-byte header".into(),
            vec![format!("X-Big: {}", "a".repeat(9000))],
            431,
        ),
        (
            "64 KiB header".into(),
            vec![format!("X-Big: {}", "a".repeat(65536))],
            431,
        ),
        (
            "10 headers".into(),
            (0..10).map(|i| format!("X-H{i}: v")).collect(),
            200,
        ),
        (
            "30 headers".into(),
            (0..30).map(|i| format!("X-H{i}: v")).collect(),
            431,
        ),
    ];
    for (what, headers, want) in &cases {
        let lines: Vec<&str> = headers.iter().map(String::as_str).collect();
        let mut conn = gw.raw().await;
        let _ = conn.send(&raw::get("/headers", &lines)).await;
        let resp = conn.response().await.unwrap().expect("an answer");
        assert_eq!(resp.status, *want, "{what}");
    }
    let h2 = gw.client_builder().http2_prior_knowledge().build().unwrap();
    let resp = h2
        .get(gw.url("/headers"))
        .header("x-big", "a".repeat(20000))
        .send()
        .await;
    match resp {
        Ok(r) => assert_eq!(r.status(), 431, "HTTP/2 oversized header list"),
        Err(e) => assert!(!e.is_timeout(), "HTTP/2 oversized header list: {e}"),
    }
    // The gateway still serves everyone else.
    served(&gw).await;
}

/// The configured limit, not a built-in one, is the cut-off.
#[tokio::test]
async fn header_limit_follows_configuration() {
    for (limit, size, want) in [
        (16384, 12000, 200),
        (16384, 20000, 431),
        (32768, 30000, 200),
        (32768, 40000, 431),
    ] {
        let gw = Gateway::start(&format!("[limits]\nmax_header_bytes = {limit}\n")).await;
        let big = format!("X-Big: {}", "a".repeat(size));
        let mut conn = gw.raw().await;
        let _ = conn.send(&raw::get("/headers", &[&big])).await;
        let resp = conn.response().await.unwrap().expect("an answer");
        assert_eq!(resp.status, want, "limit {limit}, header of {size} bytes");
    }
}

/// A route with `max_body_bytes = 1024`.
const SMALL_BODIES: &str = r#"
[[routes]]
prefix = "/"
upstream = "http://{upstream}"
policy = "public"
max_body_bytes = 1024
"#;

/// `POST /up` over HTTP/1.1 with the given framing header and body bytes.
fn post(framing: &str, body: &[u8]) -> Vec<u8> {
    let mut req = format!("POST /up HTTP/1.1\r\nHost: localhost\r\n{framing}\r\n\r\n").into_bytes();
    req.extend_from_slice(body);
    req
}

/// `n` bytes as one chunk, optionally with the last-chunk terminator.
fn chunk(n: usize, last: bool) -> Vec<u8> {
    let mut c = format!("{n:x}\r\n").into_bytes();
    c.extend(std::iter::repeat_n(b'x', n));
    c.extend_from_slice(if last { b"\r\n0\r\n\r\n" } else { b"\r\n" });
    c
}

/// Bodies over the route's cap are 413, whether declared by
/// `Content-Length` (refused before anything is read) or streamed chunked
/// over HTTP/1.1 or as HTTP/2 data (refused once the cap is passed); bodies
/// at the cap pass whole, and no over-cap body reaches the upstream whole.
///
/// The HTTP/1.1 uploads stop after the cap is passed and wait for the
/// answer: a client still writing when the gateway closes may see a reset
/// instead of the 413 (see the report on lingering close).
#[tokio::test]
async fn bodies_over_route_cap_are_413() {
    let up = Upstream::ok().await;
    let gw = Gateway::start_with_upstream(up.addr, SMALL_BODIES, &[]).await;
    let h1_cases = [
        ("declared 4096", post("Content-Length: 4096", b""), 413),
        (
            "chunked 1100",
            post("Transfer-Encoding: chunked", &chunk(1100, false)),
            413,
        ),
        (
            "chunked 2x600",
            post(
                "Transfer-Encoding: chunked",
                &[chunk(600, false), chunk(600, false)].concat(),
            ),
            413,
        ),
        (
            "declared 1024",
            post("Content-Length: 1024", &[b'y'; 1024]),
            200,
        ),
        (
            "chunked 1024",
            post("Transfer-Encoding: chunked", &chunk(1024, true)),
            200,
        ),
    ];
    for (what, request, want) in h1_cases {
        let resp = gw.raw().await.roundtrip(&request).await;
        assert_eq!(resp.status, want, "h1 {what}: {}", resp.text());
        if want == 413 {
            assert_eq!(resp.json()["error"], "body_too_large", "h1 {what}");
        }
    }
    let h2 = gw.client_builder().http2_prior_knowledge().build().unwrap();
    let streamed = |n: usize| {
        let chunks = (0..n / 256).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 256]));
        reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
    };
    let h2_cases = [
        ("declared 4096", reqwest::Body::from(vec![b'x'; 4096]), 413),
        ("streamed 64 KiB", streamed(64 * 1024), 413),
        ("declared 1024", reqwest::Body::from(vec![b'y'; 1024]), 200),
        ("streamed 1024", streamed(1024), 200),
    ];
    for (what, body, want) in h2_cases {
        let resp = h2.post(gw.url("/up")).body(body).send().await.unwrap();
        assert_eq!(resp.status(), want, "h2 {what}");
    }
    // Only the bodies within the cap arrived, each complete.
    let complete: Vec<usize> = up
        .requests()
        .iter()
        .filter_map(|s| s.body.as_ref().map(|b| b.len()))
        .collect();
    assert_eq!(complete, vec![1024; 4], "{complete:?}");
}

/// A client dribbling its request head is cut off after
/// `header_read_timeout_ms` while another client is served meanwhile.
#[tokio::test]
async fn slow_header_client_is_cut_off() {
    let gw = Gateway::start("[limits]\nheader_read_timeout_ms = 500\n").await;
    let (mut reader, mut writer) = tokio::io::split(gw.tls_stream().await);
    let started = Instant::now();
    let dribble = tokio::spawn(async move {
        for b in b"GET /headers HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if writer.write_all(&[*b]).await.is_err() || writer.flush().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    served(&gw).await;
    let mut buf = Vec::new();
    let read = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut buf),
    )
    .await;
    let elapsed = started.elapsed();
    assert!(read.is_ok(), "slow client still connected after 10 s");
    assert!(
        elapsed >= Duration::from_millis(400),
        "cut off too early: {elapsed:?}"
    );
    // Well before the head could have been completed (about 18 s).
    assert!(
        elapsed < Duration::from_secs(5),
        "cut off late: {elapsed:?}"
    );
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"), "{buf:?}");
    dribble.abort();
    served(&gw).await;
}

/// A client that opens TCP but never finishes the TLS handshake is dropped
/// after `tls_handshake_timeout_ms`; garbage instead of a ClientHello is
/// dropped at once; neither disturbs a client in the middle of its session.
#[tokio::test]
async fn broken_handshakes_do_not_disturb_others() {
    let gw = Gateway::start("[limits]\ntls_handshake_timeout_ms = 500\n").await;
    let mut established = gw.raw().await;
    let ok = established.roundtrip(&raw::get("/headers", &[])).await;
    assert_eq!(ok.status, 200);
    let mut silent = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let mut garbage = Vec::new();
    for i in 0..20u8 {
        let mut tcp = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
        let junk: &[u8] = match i % 3 {
            0 => b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
            1 => &[0x16, 0x03, 0x01, 0xff, 0xff, 0, 0, 0, 0],
            _ => &[0xde, 0xad, 0xbe, 0xef],
        };
        tcp.write_all(junk).await.unwrap();
        garbage.push(tcp);
    }
    for tcp in garbage {
        let mut conn = raw::RawConn::new(tcp);
        let after = conn.after(Duration::from_secs(10)).await;
        assert!(
            !matches!(after, After::Open),
            "garbage connection kept open"
        );
    }
    // The established session and new clients are unaffected.
    let ok = established.roundtrip(&raw::get("/headers", &[])).await;
    assert_eq!(ok.status, 200);
    served(&gw).await;
    let started = Instant::now();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::io::AsyncReadExt::read(&mut silent, &mut buf),
    )
    .await;
    assert!(read.is_ok(), "silent handshake not dropped after 10 s");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// With `max_connections = 2` a third connection waits (its handshake does
/// not complete) until one of the two closes; the two are served meanwhile.
#[tokio::test]
async fn connection_cap_makes_extra_clients_wait() {
    let gw = Gateway::start("[limits]\nmax_connections = 2\n").await;
    let mut a = gw.raw().await;
    let mut b = gw.raw().await;
    assert_eq!(a.roundtrip(&raw::get("/headers", &[])).await.status, 200);
    assert_eq!(b.roundtrip(&raw::get("/headers", &[])).await.status, 200);
    let third = gw.raw();
    tokio::pin!(third);
    let early = tokio::time::timeout(Duration::from_millis(1500), &mut third).await;
    assert!(
        early.is_err(),
        "a third connection was accepted beyond the cap"
    );
    // The two admitted connections keep working while the third waits.
    assert_eq!(a.roundtrip(&raw::get("/headers", &[])).await.status, 200);
    assert_eq!(b.roundtrip(&raw::get("/headers", &[])).await.status, 200);
    drop(a);
    let mut c = tokio::time::timeout(Duration::from_secs(20), third)
        .await
        .expect("the waiting connection is admitted once one closes");
    assert_eq!(c.roundtrip(&raw::get("/headers", &[])).await.status, 200);
    assert_eq!(b.roundtrip(&raw::get("/headers", &[])).await.status, 200);
}

/// A keep-alive connection with no traffic is closed after
/// `idle_timeout_secs`, not before; a busy one is not.
#[tokio::test]
async fn idle_keep_alive_connection_is_closed() {
    let gw = Gateway::start("[limits]\nidle_timeout_secs = 1\n").await;
    let mut conn = gw.raw().await;
    assert_eq!(conn.roundtrip(&raw::get("/headers", &[])).await.status, 200);
    let idle_from = Instant::now();
    assert_eq!(conn.after(Duration::from_secs(15)).await, After::Closed);
    let idle = idle_from.elapsed();
    assert!(
        idle >= Duration::from_millis(900),
        "closed after only {idle:?}"
    );
    // A request that outlasts the idle timeout is not cut off.
    let mut busy = gw.raw().await;
    let resp = busy.roundtrip(&raw::get("/slow/1800", &[])).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.text(), "slow");
}
