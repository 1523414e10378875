//! Issue 3, attack class 22 through the real binary: a WebSocket upgrade to a
//! protected path is authenticated before anything is upgraded, and the
//! upstream learns the user from the gateway's identity header only.

use crate::common;

use common::Gateway;
use common::auth::{ALICE, AT, FP};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::{Error, Message};

/// A WebSocket over the gateway's TLS.
type Ws =
    tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

/// A WebSocket handshake to `/ws` with `headers`; the status of the answer
/// and, after a 101, the socket.
async fn handshake(gw: &Gateway, headers: &[(&str, String)]) -> (u16, Option<Ws>) {
    let mut req = "wss://localhost/ws".into_client_request().unwrap();
    for (name, value) in headers {
        let name = http::HeaderName::from_bytes(name.as_bytes()).expect("header name");
        req.headers_mut()
            .append(name, value.parse().expect("header value"));
    }
    match tokio_tungstenite::client_async(req, gw.tls_stream().await).await {
        Ok((ws, resp)) => (resp.status().as_u16(), Some(ws)),
        Err(Error::Http(resp)) => (resp.status().as_u16(), None),
        Err(e) => panic!("handshake failed: {e}"),
    }
}

/// The first text message of `ws`.
async fn first_text(
    ws: &mut (impl futures_util::Stream<Item = Result<Message, Error>> + Unpin),
) -> String {
    match ws.next().await.expect("a message").expect("no error") {
        Message::Text(t) => t.to_string(),
        other => panic!("unexpected {other:?}"),
    }
}

/// Without a valid token and fingerprint, the upgrade is answered 401 and
/// never switched; with them it is switched and the app greets the user.
#[tokio::test]
async fn upgrade_requires_authentication() {
    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let client = gw.client();
    let (token, fp) = gw.login(&client, ALICE.0, ALICE.1).await;
    let (_, other_fp) = gw.login(&client, ALICE.0, ALICE.1).await;
    let none = format!(
        "{}.{}.",
        common::jose::enc(r#"{"alg":"none"}"#),
        token.split('.').nth(1).unwrap()
    );
    let bearer = |t: &str| ("authorization", format!("Bearer {t}"));
    let cookie = |c: String| ("cookie", c);
    let refused: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("nothing", vec![]),
        (
            "spoofed identity",
            vec![("x-auth-request-user", "alice".into())],
        ),
        ("token without fingerprint", vec![bearer(&token)]),
        (
            "wrong fingerprint",
            vec![bearer(&token), cookie(format!("{FP}={other_fp}"))],
        ),
        (
            "two fingerprints",
            vec![bearer(&token), cookie(format!("{FP}={fp}; {FP}={fp}"))],
        ),
        (
            "alg none",
            vec![bearer(&none), cookie(format!("{FP}={fp}"))],
        ),
        (
            "cookie token without fingerprint",
            vec![cookie(format!("{AT}={token}"))],
        ),
    ];
    for (what, headers) in refused {
        let (status, ws) = handshake(&gw, &headers).await;
        assert!(ws.is_none(), "{what}: upgraded");
        assert_eq!(status, 401, "{what}");
    }
    // A browser-looking handshake goes to the login page instead, unupgraded.
    let (status, ws) = handshake(&gw, &[("accept", "text/html".into())]).await;
    assert!(ws.is_none() && status == 303, "browser handshake: {status}");
    let (status, ws) = handshake(&gw, &[bearer(&token), cookie(format!("{FP}={fp}"))]).await;
    assert_eq!(status, 101);
    let mut ws = ws.unwrap();
    assert_eq!(first_text(&mut ws).await, "alice");
    ws.send(Message::text("ping me")).await.unwrap();
    assert_eq!(first_text(&mut ws).await, "ping me");
    // Browsers cannot set Authorization on a WebSocket: cookies suffice.
    let (status, ws) = handshake(&gw, &[cookie(format!("{AT}={token}; {FP}={fp}"))]).await;
    assert_eq!(status, 101);
    assert_eq!(first_text(&mut ws.unwrap()).await, "alice");
}

/// A client-sent identity header does not reach the upstream through an
/// upgrade on a public route, nor replace the gateway's on a protected one.
#[tokio::test]
async fn upgrade_identity_is_the_gateways() {
    let public = Gateway::start("").await;
    let spoof = [
        ("X-Auth-Request-User", "admin".to_string()),
        ("X_Auth_Request_User", "admin".to_string()),
    ];
    let (status, ws) = handshake(&public, &spoof).await;
    assert_eq!(status, 101);
    assert_eq!(first_text(&mut ws.unwrap()).await, "anonymous");

    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let (token, fp) = gw.login(&gw.client(), ALICE.0, ALICE.1).await;
    let mut headers = spoof.to_vec();
    headers.push(("authorization", format!("Bearer {token}")));
    headers.push(("cookie", format!("{FP}={fp}")));
    let (status, ws) = handshake(&gw, &headers).await;
    assert_eq!(status, 101);
    assert_eq!(first_text(&mut ws.unwrap()).await, "alice");
}
