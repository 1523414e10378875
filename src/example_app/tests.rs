//! End-to-end tests: a real listener on `127.0.0.1:0`, real clients.

use std::net::SocketAddr;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::{BoxError, PatternBody, bind, spawn_local};

type TestBody = UnsyncBoxBody<Bytes, BoxError>;

/// Sends `req` and collects the answer.
async fn send(req: Request<TestBody>) -> (StatusCode, HeaderMap, Bytes) {
    let client = Client::builder(TokioExecutor::new()).build_http::<TestBody>();
    let response = client.request(req).await.unwrap();
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

/// A request with a fixed body and extra headers.
fn request(method: Method, url: String, headers: &[(&str, &str)], body: &str) -> Request<TestBody> {
    let mut builder = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let body = Full::new(Bytes::copy_from_slice(body.as_bytes()));
    builder
        .body(body.map_err(BoxError::from).boxed_unsync())
        .unwrap()
}

/// GETs `path` with extra headers.
async fn get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Bytes) {
    send(request(
        Method::GET,
        format!("http://{addr}{path}"),
        headers,
        "",
    ))
    .await
}

/// The body as UTF-8.
fn text(body: &Bytes) -> &str {
    std::str::from_utf8(body).unwrap()
}

/// `/headers` lists custom and repeated headers, the method and the raw path and query.
#[tokio::test]
async fn headers_lists_what_was_received() {
    let (addr, shutdown) = spawn_local().await.unwrap();
    let headers = [("x-custom", "hello"), ("x-twice", "a"), ("x-twice", "b")];
    let (status, response_headers, body) = get(addr, "/headers?b=%2F&a=1", &headers).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(response_headers[header::CONTENT_TYPE], "application/json");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["headers"]["x-custom"], "hello");
    assert_eq!(json["headers"]["x-twice"], serde_json::json!(["a", "b"]));
    assert_eq!(json["headers"]["host"], addr.to_string());
    assert_eq!(json["method"], "GET");
    assert_eq!(json["path"], "/headers");
    assert_eq!(json["query"], "b=%2F&a=1");
    shutdown.cancel();
}

/// `/echo` returns the body and Content-Type it was sent.
#[tokio::test]
async fn echo_returns_body_and_content_type() {
    let (addr, shutdown) = spawn_local().await.unwrap();
    let url = format!("http://{addr}/echo");
    let form = "message=%3Cb%3Ehi%3C%2Fb%3E";
    let content_type = ("content-type", "application/x-www-form-urlencoded");
    let (status, headers, body) = send(request(Method::POST, url, &[content_type], form)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], content_type.1);
    assert_eq!(body, form);
    shutdown.cancel();
}

/// A large streamed upload comes back byte for byte without being collected first.
#[tokio::test]
async fn echo_streams_large_bodies() {
    let (addr, shutdown) = spawn_local().await.unwrap();
    let len: u64 = 32 * 1024 * 1024;
    let upload = PatternBody { remaining: len }
        .map_err(BoxError::from)
        .boxed_unsync();
    let req = Request::post(format!("http://{addr}/echo"))
        .body(upload)
        .unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http::<TestBody>();
    let mut body = client.request(req).await.unwrap().into_body();
    let mut seen: u64 = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            assert!(
                data.iter()
                    .enumerate()
                    .all(|(i, b)| *b == ((seen + i as u64) % 256) as u8)
            );
            seen += data.len() as u64;
        }
    }
    assert_eq!(seen, len);
    shutdown.cancel();
}

/// `/bytes/{n}` sends exactly n pattern bytes with a Content-Length; too many is a 400.
#[tokio::test]
async fn bytes_sends_n_bytes() {
    let (addr, shutdown) = spawn_local().await.unwrap();
    let n = 200_000;
    let (status, headers, body) = get(addr, &format!("/bytes/{n}"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/octet-stream");
    assert_eq!(headers[header::CONTENT_LENGTH], n.to_string().as_str());
    assert_eq!(body.len(), n);
    assert!(body.iter().enumerate().all(|(i, b)| *b == (i % 256) as u8));
    assert_eq!(get(addr, "/bytes/0", &[]).await.2.len(), 0);
    assert_eq!(
        get(addr, "/bytes/2147483649", &[]).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(get(addr, "/bytes/x", &[]).await.0, StatusCode::BAD_REQUEST);
    shutdown.cancel();
}

/// `/status/{code}` answers that status; `/slow/{ms}` answers "slow".
#[tokio::test]
async fn status_and_slow() {
    let (addr, shutdown) = spawn_local().await.unwrap();
    assert_eq!(
        get(addr, "/status/418", &[]).await.0,
        StatusCode::IM_A_TEAPOT
    );
    assert_eq!(
        get(addr, "/status/204", &[]).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        get(addr, "/status/99", &[]).await.0,
        StatusCode::BAD_REQUEST
    );
    let (status, _, body) = get(addr, "/slow/1", &[]).await;
    assert_eq!((status, text(&body)), (StatusCode::OK, "slow"));
    assert_eq!(
        get(addr, "/slow/600001", &[]).await.0,
        StatusCode::BAD_REQUEST
    );
    shutdown.cancel();
}

/// Unknown paths are a JSON 404 unless the client wants HTML; other methods too.
#[tokio::test]
async fn unknown_paths_are_404_json() {
    let (addr, shutdown) = spawn_local().await.unwrap();
    let (status, headers, body) = get(addr, "/nope", &[("accept", "application/json")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(text(&body), r#"{"error":"not found"}"#);
    let url = format!("http://{addr}/");
    let (status, _, _) = send(request(Method::DELETE, url, &[], "")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let html = [("accept", "text/html,*/*;q=0.8")];
    let (status, headers, body) = get(addr, "/dashboard", &html).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(text(&body).contains(r#"<code id="path">/dashboard</code>"#));
    shutdown.cancel();
}

/// The page shows the identity headers HTML-escaped, "anonymous" when absent,
/// and carries the echo form and account links without any script or style.
#[tokio::test]
async fn page_escapes_identity() {
    let (addr, shutdown) = spawn_local().await.unwrap();
    let user = ("x-auth-request-user", "<script>alert(1)</script>");
    let (status, _, body) = get(addr, "/", &[user, ("x-auth-request-roles", "a&b")]).await;
    assert_eq!(status, StatusCode::OK);
    let page = text(&body);
    assert!(page.contains("<title>Legacy app</title>"));
    assert!(page.contains(r#"<dd id="user">&lt;script&gt;alert(1)&lt;/script&gt;</dd>"#));
    assert!(page.contains(r#"<dd id="roles">a&amp;b</dd>"#));
    assert!(page.contains(r#"<dd id="email">anonymous</dd>"#));
    assert!(page.contains(r#"<form method="post" action="/message">"#));
    assert!(page.contains(r#"name="message""#));
    assert!(page.contains(r#"<a href="/auth/logout">Sign out</a>"#));
    assert!(page.contains(r#"<a href="/auth/account">Your sessions</a>"#));
    for forbidden in ["<script", "<style", "style=", "http://", "https://"] {
        assert!(!page.contains(forbidden), "page contains {forbidden}");
    }
    shutdown.cancel();
}

/// `/ws` first sends the user, then echoes text and binary messages.
#[tokio::test]
async fn websocket_echoes_after_identity() {
    let (addr, shutdown) = spawn_local().await.unwrap();
    let mut req = format!("ws://{addr}/ws").into_client_request().unwrap();
    let user = HeaderValue::from_static("alice");
    req.headers_mut().insert("x-auth-request-user", user);
    let (mut socket, _) = connect_async(req).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::text("alice")
    );
    socket.send(Message::text("hello")).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::text("hello")
    );
    socket.send(Message::binary(vec![0, 1, 255])).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::binary(vec![0, 1, 255])
    );
    socket.close(None).await.unwrap();

    let (mut anonymous, _) = connect_async(format!("ws://{addr}/ws")).await.unwrap();
    assert_eq!(
        anonymous.next().await.unwrap().unwrap(),
        Message::text("anonymous")
    );
    shutdown.cancel();
    // Shutdown closes open WebSockets.
    assert!(matches!(
        anonymous.next().await,
        Some(Ok(Message::Close(_))) | None
    ));
}

/// A plain GET to `/ws` is a 400, not a hang.
#[tokio::test]
async fn websocket_requires_handshake() {
    let (addr, shutdown) = spawn_local().await.unwrap();
    assert_eq!(get(addr, "/ws", &[]).await.0, StatusCode::BAD_REQUEST);
    shutdown.cancel();
}

/// Cancelling the token makes `serve` return and the port stop accepting.
#[tokio::test]
async fn serve_stops_on_cancel() {
    let app = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = app.local_addr();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let serving = tokio::spawn(app.serve(shutdown.clone()));
    assert_eq!(get(addr, "/status/200", &[]).await.0, StatusCode::OK);
    shutdown.cancel();
    serving.await.unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// `POST /message` shows the submitted `message` field, escaped, with the user.
#[tokio::test]
async fn message_page_shows_the_form_field() {
    let (addr, shutdown) = spawn_local().await.unwrap();
    let (status, headers, body) = send(request(
        Method::POST,
        format!("http://{addr}/message"),
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-auth-request-user", "alice"),
        ],
        "message=hello+%3Cb%3Eworld%3C%2Fb%3E&other=1",
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let page = text(&body);
    assert!(page.contains(r#"<pre id="received">hello &lt;b&gt;world&lt;/b&gt;</pre>"#));
    assert!(page.contains(r#"<strong id="user">alice</strong>"#));
    shutdown.cancel();
}
