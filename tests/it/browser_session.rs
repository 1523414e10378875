//! Sessions in a real headless Chromium with 2-second access tokens: a
//! form posted after expiry reaches the app with its body (inline
//! refresh), a link from another site needs no new login, and two tabs
//! refreshing at the same moment both stay signed in.

use crate::common;

use std::time::Duration;

use common::Gateway;
use common::auth::ALICE;
use common::browser::{self, Browser};
use portcullis::auth::cookie_names::{ACCESS, REFRESH};

/// Access tokens live 2 s, with no leeway.
const SHORT_TOKENS: &str = "[auth]\naccess_token_ttl_secs = 2\nleeway_secs = 0";

async fn outlast_access_tokens() {
    tokio::time::sleep(Duration::from_millis(3200)).await;
}

/// A signed-in browser on `/` of a gateway with short tokens.
async fn signed_in() -> (Gateway, Browser) {
    let gw = Gateway::start_with_users(SHORT_TOKENS, &[ALICE]).await;
    let b = Browser::start().await;
    b.goto(&gw.url("/")).await;
    b.sign_in(ALICE.0, ALICE.1).await;
    assert_eq!(b.text("#user").await, "alice");
    (gw, b)
}

/// Inline refreshes logged from log line `from` until the first answer to
/// `path` was logged: the refreshes of requests sent before any answer
/// came back (later ones, such as the favicon's, do not count).
fn refreshes_before_first_answer(gw: &Gateway, from: usize, path: &str) -> usize {
    let logs = gw.logs.lock().unwrap();
    let answered = format!("\"path\":\"{path}\"");
    logs[from..]
        .iter()
        .take_while(|l| !(l.contains("portcullis::access") && l.contains(&answered)))
        .filter(|l| l.contains("\"auth.token.refresh\""))
        .count()
}

async fn cookie(b: &Browser, name: &str) -> Option<String> {
    let all = b.client.get_all_cookies().await.unwrap();
    all.iter()
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// The user fills the app's form, the access token expires meanwhile, and
/// the POST still arrives upstream with its body; the user stays signed in.
#[tokio::test]
async fn form_post_after_expiry_is_refreshed_inline() {
    if !browser::available() {
        return;
    }
    let (gw, b) = signed_in().await;
    let refresh_before = cookie(&b, REFRESH).await.expect("refresh cookie");
    b.fill("#message", "typed while the token expired").await;
    outlast_access_tokens().await;
    assert_eq!(cookie(&b, ACCESS).await, None, "the access cookie expired");
    b.click("form[action='/message'] button[type=submit]").await;
    b.wait_path("/message").await;
    assert_eq!(b.text("#received").await, "typed while the token expired");
    assert_eq!(b.text("#user").await, "alice");
    let refresh_after = cookie(&b, REFRESH).await.expect("refresh cookie");
    assert_ne!(refresh_before, refresh_after, "rotated inline");
    assert!(cookie(&b, ACCESS).await.is_some(), "a new access cookie");
    b.goto(&gw.url("/")).await;
    assert_eq!(b.text("#user").await, "alice", "still signed in");
    b.close().await;
}

/// A link on another site to a protected page: the `SameSite=Strict`
/// cookies stay behind on that navigation, the gateway's reload page
/// brings them along, and the user lands on the page, signed in.
#[tokio::test]
async fn link_from_another_site_needs_no_new_login() {
    if !browser::available() {
        return;
    }
    let (gw, b) = signed_in().await;
    let target = gw.url("/inbox?from=mail");
    let html = format!(
        "<!doctype html><title>elsewhere</title><a id=\"go\" href=\"{target}\">open the app</a>"
    );
    let (site, stop) = browser::other_site(html).await;
    b.goto(&format!("http://{site}/")).await;
    b.click("#go").await;
    b.wait_path("/inbox?from=mail").await;
    assert_eq!(b.text("#user").await, "alice", "no new login");
    assert_eq!(b.text("#path").await, "/inbox");
    // The cross-site navigation came without cookies and got the reload
    // page; the reload came with them and reached the app.
    let inbox = gw
        .log_text()
        .lines()
        .filter(|l| l.contains("portcullis::access") && l.contains("\"path\":\"/inbox\""))
        .count();
    assert_eq!(inbox, 2, "the reload page, then the app");
    stop.cancel();

    // The same after the access token expired: reload, then inline refresh.
    outlast_access_tokens().await;
    let (site, stop) = browser::other_site(format!(
        "<!doctype html><title>elsewhere</title><a id=\"go\" href=\"{}\">again</a>",
        gw.url("/later")
    ))
    .await;
    b.goto(&format!("http://{site}/")).await;
    b.click("#go").await;
    b.wait_path("/later").await;
    assert_eq!(b.text("#user").await, "alice", "no new login after expiry");
    stop.cancel();
    b.close().await;
}

/// Two tabs with an expired access token navigate at the same moment:
/// both refresh with the same refresh token, neither is signed out, and
/// the cookies the browser ends up with keep working.
#[tokio::test]
async fn two_tabs_refreshing_at_once_stay_signed_in() {
    if !browser::available() {
        return;
    }
    let (gw, b) = signed_in().await;
    // Tab 1 opens tab 2 under a name, so it can later navigate it.
    let first = b.client.window().await.unwrap();
    b.client
        .execute("window.open('/?tab=2', 'second'); return 1;", vec![])
        .await
        .unwrap();
    let handles = b.client.windows().await.unwrap();
    let second = handles
        .into_iter()
        .find(|h| *h != first)
        .expect("a second tab");
    b.client.switch_to_window(second.clone()).await.unwrap();
    b.wait_path("/?tab=2").await;
    assert_eq!(b.text("#user").await, "alice");
    b.client.switch_to_window(first.clone()).await.unwrap();
    outlast_access_tokens().await;

    // Both navigations start in one script turn: tab 1 navigates tab 2 by
    // its name, then itself. The app answers them slowly, so neither tab
    // has the other's new cookies when its request leaves.
    let before = gw.logs.lock().unwrap().len();
    b.client
        .execute(
            "window.open('/slow/800?tab=2', 'second'); location.assign('/slow/800?tab=1'); return 1;",
            vec![],
        )
        .await
        .unwrap();
    for (tab, handle) in [(1, &first), (2, &second)] {
        b.client.switch_to_window(handle.clone()).await.unwrap();
        b.wait_path(&format!("/slow/800?tab={tab}")).await;
        assert_eq!(b.text("body").await, "slow", "tab {tab} reached the app");
    }
    assert_eq!(b.client.windows().await.unwrap().len(), 2, "no third tab");
    let raced = refreshes_before_first_answer(&gw, before, "/slow/800");
    assert_eq!(raced, 2, "both tabs refreshed with the same refresh token");
    for (tab, handle) in [(1, &first), (2, &second)] {
        b.client.switch_to_window(handle.clone()).await.unwrap();
        b.goto(&gw.url(&format!("/?tab={tab}&again=1"))).await;
        assert_eq!(b.text("#user").await, "alice", "tab {tab} signed in");
    }
    assert!(
        !gw.log_text().contains("auth.token.reuse"),
        "no reuse detected"
    );
    // What the browser kept still works once the next token expires.
    outlast_access_tokens().await;
    b.goto(&gw.url("/?tab=1&later=1")).await;
    assert_eq!(b.text("#user").await, "alice", "still signed in later");
    b.close().await;
}
