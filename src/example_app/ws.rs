//! `GET /ws`: a WebSocket echo that first says who the gateway says the user is.

use futures_util::{SinkExt, StreamExt};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Message, Role};
use tokio_util::sync::CancellationToken;

use super::{ResponseBody, bad_request, empty, header_text};

/// Answers a WebSocket handshake with 101 and echoes on the upgraded
/// connection until the client closes it or `shutdown` is cancelled.
pub(super) fn upgrade(
    req: Request<Incoming>,
    shutdown: CancellationToken,
) -> Response<ResponseBody> {
    let Some(accept) = accept_key(&req) else {
        return bad_request("expected a WebSocket handshake (HTTP/1.1 GET, version 13)");
    };
    let user = header_text(
        req.headers(),
        &HeaderName::from_static("x-auth-request-user"),
    )
    .unwrap_or_else(|| "anonymous".into());
    tokio::spawn(async move {
        match hyper::upgrade::on(req).await {
            Ok(upgraded) => echo(upgraded, user, shutdown).await,
            Err(err) => tracing::debug!(error = %err, "example app: websocket upgrade failed"),
        }
    });
    let mut response = Response::new(empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    response
}

/// The `Sec-WebSocket-Accept` value, if `req` is a valid handshake.
fn accept_key(req: &Request<Incoming>) -> Option<HeaderValue> {
    let headers = req.headers();
    let is_handshake = req.method() == Method::GET
        && req.version() == Version::HTTP_11
        && has_token(headers, &header::UPGRADE, "websocket")
        && has_token(headers, &header::CONNECTION, "upgrade")
        && headers.get(header::SEC_WEBSOCKET_VERSION)? == "13";
    let key = headers.get(header::SEC_WEBSOCKET_KEY)?;
    is_handshake
        .then(|| HeaderValue::from_str(&derive_accept_key(key.as_bytes())).ok())
        .flatten()
}

/// Whether a comma-separated header lists `token` (case-insensitively).
fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

/// Sends `user`, then echoes text and binary messages back.
///
/// Pings and the closing handshake are answered by tungstenite itself.
async fn echo(upgraded: Upgraded, user: String, shutdown: CancellationToken) {
    let io = TokioIo::new(upgraded);
    let mut socket = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
    if socket.send(Message::text(user)).await.is_err() {
        return;
    }
    loop {
        let message = tokio::select! {
            () = shutdown.cancelled() => {
                // The app is stopping: say so; the peer may already be gone.
                let _ = socket.close(None).await;
                return;
            }
            message = socket.next() => message,
        };
        match message {
            Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                if socket.send(message).await.is_err() {
                    return;
                }
            }
            // Keep reading after a Close so tungstenite sends the reply.
            Some(Ok(_)) => {}
            Some(Err(err)) => {
                tracing::debug!(error = %err, "example app: websocket error");
                return;
            }
            None => return,
        }
    }
}
