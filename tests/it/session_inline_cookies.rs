//! Browser mode: once a request has been refreshed inline, the refresh
//! token the browser held is used up, so every answer to that request must
//! carry the rotated cookies, whatever its status. Otherwise the browser
//! replays the used token later and, after the grace window, is taken for
//! a thief: its session is revoked (through the real binary).

use crate::common;

use std::time::{Duration, Instant};

use common::Gateway;
use common::auth::{ALICE, BOB};
use common::flows::{delete_session, outlast_grace, sid_of};
use common::session::{Jar, set_cookie};
use portcullis::auth::cookie_names::{ACCESS, FINGERPRINT, REFRESH};

/// Access tokens live 2 s without leeway; a one-second grace window.
const CONFIG: &str =
    "[auth]\naccess_token_ttl_secs = 2\nleeway_secs = 0\n[session]\nreuse_grace_secs = 1";

async fn gateway() -> Gateway {
    Gateway::start_with_users(CONFIG, &[ALICE, BOB]).await
}

/// Waits until the 2-second access tokens issued so far have expired.
async fn outlast_access_tokens() {
    tokio::time::sleep(Duration::from_millis(3200)).await;
}

/// `GET path` as a browser with `jar`.
async fn navigate(gw: &Gateway, path: &str, jar: &Jar) -> reqwest::Response {
    gw.client()
        .get(gw.url(path))
        .header("accept", "text/html")
        .header("cookie", jar.header())
        .send()
        .await
        .expect("request")
}

/// Checks `resp` rotated all three cookies of `jar`; returns the browser's
/// jar after it.
fn rotated(what: &str, jar: &Jar, resp: &reqwest::Response) -> Jar {
    let lines = common::session::set_cookies(resp.headers());
    for name in [FINGERPRINT, ACCESS, REFRESH] {
        let line = set_cookie(&lines, name);
        assert!(!line.clears(), "{what}: {name} cleared");
        assert_ne!(Some(line.value.as_str()), jar.get(name), "{what}: {name}");
    }
    let mut next = jar.clone();
    next.update(resp.headers());
    next
}

/// After the grace window, the browser's cookies still work and nobody was
/// taken for a thief; returns the browser's jar after that request.
async fn still_signed_in(gw: &Gateway, jar: &Jar, user: &str, since: Instant) -> Jar {
    outlast_grace(since, 1).await;
    let resp = navigate(gw, "/headers", jar).await;
    assert_eq!(resp.status(), 200, "the browser is still signed in");
    let mut next = jar.clone();
    next.update(resp.headers());
    let body: serde_json::Value = resp.json().await.expect("JSON");
    assert_eq!(body["headers"]["x-auth-request-user"], user);
    assert!(
        !gw.log_text().contains("auth.token.reuse"),
        "false theft alarm"
    );
    next
}

/// A 403 (missing role) after an inline refresh carries the rotated cookies.
#[tokio::test]
async fn forbidden_after_inline_refresh_carries_the_cookies() {
    let gw = gateway().await;
    let bob = gw.sign_in(BOB).await;
    outlast_access_tokens().await;
    let resp = navigate(&gw, "/admin/headers", &bob.jar).await;
    let at = Instant::now();
    assert_eq!(resp.status(), 403);
    let jar = rotated("403", &bob.jar, &resp);
    still_signed_in(&gw, &jar, "bob", at).await;
}

/// An upstream error after an inline refresh carries the rotated cookies.
#[tokio::test]
async fn upstream_error_after_inline_refresh_carries_the_cookies() {
    let gw = gateway().await;
    let s = gw.sign_in(ALICE).await;
    outlast_access_tokens().await;
    let resp = navigate(&gw, "/status/500", &s.jar).await;
    let at = Instant::now();
    assert_eq!(resp.status(), 500);
    let jar = rotated("500", &s.jar, &resp);
    still_signed_in(&gw, &jar, "alice", at).await;
}

/// The sessions API after an inline refresh: the list and a revocation
/// both carry the rotated cookies.
#[tokio::test]
async fn sessions_api_after_inline_refresh_carries_the_cookies() {
    let gw = gateway().await;
    let laptop = gw.sign_in_as(ALICE, "laptop").await;
    let phone = gw.sign_in_as(ALICE, "phone").await;
    let phone_id = sid_of(&gw, &phone).await;
    outlast_access_tokens().await;

    let resp = gw
        .client()
        .get(gw.url("/auth/sessions"))
        .header("cookie", laptop.jar.header())
        .send()
        .await
        .expect("list");
    assert_eq!(resp.status(), 200);
    let jar = rotated("list", &laptop.jar, &resp);
    let jar = still_signed_in(&gw, &jar, "alice", Instant::now()).await;

    outlast_access_tokens().await;
    let resp = delete_session(&gw, &jar, &phone_id, &gw.origin()).await;
    let at = Instant::now();
    assert_eq!(resp.status(), 204);
    let jar = rotated("delete", &jar, &resp);
    still_signed_in(&gw, &jar, "alice", at).await;
}
