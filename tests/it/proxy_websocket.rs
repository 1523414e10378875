//! WebSocket upgrades through the real binary: a public route tunnels to the
//! example app's echo over wss, and a protected route refuses the upgrade
//! before anything reaches the upstream (class 22).

use crate::common;

use common::Gateway;
use common::upstream::Upstream;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// Routes: `/ws` public (the echo), everything else authenticated.
const ROUTES: &str = r#"
[[routes]]
prefix = "/"
upstream = "http://{upstream}"
policy = "authenticated"

[[routes]]
prefix = "/ws"
upstream = "http://{upstream}"
policy = "public"
"#;

/// Text and binary messages echo back through the tunnel; the first message
/// shows the upstream saw no identity; a client-sent identity header on the
/// handshake does not get through either.
#[tokio::test]
async fn websocket_echo_through_gateway() {
    let gw = Gateway::start(ROUTES).await;
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        gw.url("/ws").replace("https://", "wss://"),
    )
    .unwrap();
    req.headers_mut()
        .insert("x-auth-request-user", "admin".parse().unwrap());
    let (mut ws, resp) = tokio_tungstenite::client_async(req, gw.tls_stream().await)
        .await
        .expect("websocket handshake through the gateway");
    assert_eq!(resp.status(), 101);
    assert!(
        resp.headers().contains_key("sec-websocket-accept"),
        "{resp:?}"
    );
    let first = ws.next().await.expect("first message").unwrap();
    assert_eq!(first, Message::text("anonymous"));
    for i in 0..20 {
        let text = format!("message {i}: {}", "x".repeat(i * 1000));
        ws.send(Message::text(text.clone())).await.unwrap();
        assert_eq!(ws.next().await.unwrap().unwrap(), Message::text(text));
    }
    let binary: Vec<u8> = (0..=255u8).cycle().take(200_000).collect();
    ws.send(Message::binary(binary.clone())).await.unwrap();
    assert_eq!(ws.next().await.unwrap().unwrap(), Message::binary(binary));
    ws.close(None).await.unwrap();
    // The closing handshake completes through the tunnel.
    match ws.next().await {
        Some(Ok(Message::Close(_))) | None => {}
        Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {}
        other => panic!("expected the close reply, got {other:?}"),
    }
}

/// Several tunnels at once stay independent.
#[tokio::test]
async fn concurrent_tunnels_do_not_mix() {
    let gw = Gateway::start(ROUTES).await;
    let url = gw.url("/ws").replace("https://", "wss://");
    let mut tasks = Vec::new();
    for n in 0..5 {
        let stream = gw.tls_stream().await;
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
            assert_eq!(
                ws.next().await.unwrap().unwrap(),
                Message::text("anonymous")
            );
            for i in 0..50 {
                let text = format!("client {n} message {i}");
                ws.send(Message::text(text.clone())).await.unwrap();
                assert_eq!(ws.next().await.unwrap().unwrap(), Message::text(text));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// An upgrade to a protected path without a token is answered 401 by the
/// gateway; the upstream never sees the handshake.
#[tokio::test]
async fn upgrade_to_protected_route_is_refused_first() {
    let up = Upstream::ok().await;
    let gw = Gateway::start_with_upstream(up.addr, ROUTES, &[]).await;
    let url = gw.url("/private/ws").replace("https://", "wss://");
    match tokio_tungstenite::client_async(url, gw.tls_stream().await).await {
        Err(WsError::Http(resp)) => assert_eq!(resp.status(), 401),
        other => panic!("expected a 401 refusal, got {other:?}"),
    }
    assert!(up.requests().is_empty(), "{:?}", up.requests());
}
