//! Class 20, revocation and long connections, through the real binary: a
//! WebSocket tunnel opened with a session is closed by the gateway when
//! that session is revoked (logout, revoking it from another session, or a
//! revocation published by another instance over Redis), while the tunnels
//! of other sessions stay open.

use crate::common;

use std::time::Duration;

use common::Gateway;
use common::auth::ALICE;
use common::flows::{delete_session, sid_of};
use common::redis_util::{Prefix, SHARED_URL};
use common::session::{Login, merged};
use futures_util::{SinkExt as _, StreamExt as _};
use portcullis::auth::cookie_names::{ACCESS, FINGERPRINT};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

/// A WebSocket over the gateway's TLS.
type Ws =
    tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

/// How long a revoked session's tunnel may stay open (generous: the close
/// itself is immediate).
const CLOSE_WITHIN: Duration = Duration::from_secs(10);

/// Opens `/ws` as a browser holding `s`'s access and fingerprint cookies;
/// checks the app greets the user.
async fn open(gw: &Gateway, s: &Login) -> Ws {
    let mut req = "wss://localhost/ws".into_client_request().expect("request");
    let cookie = s.jar.only(&[FINGERPRINT, ACCESS]).header();
    req.headers_mut()
        .insert("cookie", cookie.parse().expect("cookie"));
    let (mut ws, resp) = tokio_tungstenite::client_async(req, gw.tls_stream().await)
        .await
        .expect("handshake");
    assert_eq!(resp.status(), 101);
    assert_eq!(next_text(&mut ws).await.as_deref(), Some("alice"));
    ws
}

/// The next text message, or `None` if the connection ended (closed,
/// reset, or a close frame) within [`CLOSE_WITHIN`]; panics on silence.
async fn next_text(ws: &mut Ws) -> Option<String> {
    let next = tokio::time::timeout(CLOSE_WITHIN, ws.next()).await;
    match next.expect("the connection neither answered nor closed") {
        Some(Ok(Message::Text(t))) => Some(t.to_string()),
        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => None,
        Some(Ok(other)) => panic!("unexpected {other:?}"),
    }
}

/// The tunnel is open: a message comes back.
async fn assert_open(ws: &mut Ws, what: &str) {
    ws.send(Message::text(what)).await.expect("send");
    assert_eq!(next_text(ws).await.as_deref(), Some(what), "{what}");
}

/// The tunnel is closed: the gateway ended it (a send may still be
/// buffered locally, but nothing comes back).
async fn assert_closed(ws: &mut Ws, what: &str) {
    let _ = ws.send(Message::text("anyone there?")).await;
    assert_eq!(
        next_text(ws).await,
        None,
        "{what}: the tunnel must be closed"
    );
}

/// Logout closes that session's open WebSocket; another session's stays
/// open until it, too, is revoked (here from a third session through
/// `DELETE /auth/sessions/{id}`).
#[tokio::test]
async fn revoking_a_session_closes_its_websocket() {
    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let a = gw.sign_in_as(ALICE, "tab-a").await;
    let b = gw.sign_in_as(ALICE, "tab-b").await;
    let c = gw.sign_in_as(ALICE, "tab-c").await;
    let mut ws_a = open(&gw, &a).await;
    let mut ws_b = open(&gw, &b).await;
    assert_open(&mut ws_a, "a before").await;
    assert_open(&mut ws_b, "b before").await;

    assert_eq!(gw.post_with("/auth/logout", &a.jar).await.status(), 200);
    assert_closed(&mut ws_a, "logged-out session").await;
    assert_open(&mut ws_b, "b after a's logout").await;
    gw.wait_for_log(&["tunnel closed", "revoked"]).await;

    let b_id = sid_of(&gw, &b).await;
    let resp = delete_session(&gw, &c.jar, &b_id, &gw.origin()).await;
    assert_eq!(resp.status(), 204);
    assert_closed(&mut ws_b, "session revoked from another one").await;

    let mut ws_c = open(&gw, &c).await;
    assert_open(&mut ws_c, "c is unaffected").await;
}

/// A revocation made by another instance reaches this one over Redis
/// pub/sub: the tunnel closes and the token is refused, with no request
/// to this instance in between.
#[tokio::test]
async fn revocation_published_by_another_instance_closes_the_websocket() {
    let prefix = Prefix::new(SHARED_URL);
    let config = merged(&[&prefix.config(1000)]);
    let gw = Gateway::start_with_users(&config, &[ALICE]).await;
    let s = gw.sign_in(ALICE).await;
    let keep = gw.sign_in(ALICE).await;
    let sid = sid_of(&gw, &s).await;
    let mut ws = open(&gw, &s).await;
    let mut ws_keep = open(&gw, &keep).await;
    assert_open(&mut ws, "before").await;

    // What another instance's logout sends (after revoking in the store).
    let client = redis::Client::open(SHARED_URL).expect("url");
    let mut conn = client.get_connection().expect("connect");
    let deadline = std::time::Instant::now() + CLOSE_WITHIN;
    loop {
        let receivers: u64 = redis::cmd("PUBLISH")
            .arg(format!("{}:revocations", prefix.name))
            .arg(&sid)
            .query(&mut conn)
            .expect("publish");
        if receivers >= 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "nobody subscribed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    assert_closed(&mut ws, "revoked elsewhere").await;
    assert_eq!(gw.whoami(&s).await, Err(reqwest::StatusCode::UNAUTHORIZED));
    assert_open(&mut ws_keep, "other session").await;
}
