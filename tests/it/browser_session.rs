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
    let first = b.client.window().await.unwrap();
    let second = b.client.new_window(true).await.unwrap().handle;
    b.client.switch_to_window(second.clone()).await.unwrap();
    b.goto(&gw.url("/?tab=2")).await;
    outlast_access_tokens().await;

    // Start both navigations without waiting for either to load.
    let go = |path: &str| format!("setTimeout(() => location.assign({path:?}), 0); return 1;");
    b.client
        .execute(&go("/?tab=2&again=1"), vec![])
        .await
        .unwrap();
    b.client.switch_to_window(first.clone()).await.unwrap();
    b.client
        .execute(&go("/?tab=1&again=1"), vec![])
        .await
        .unwrap();

    for (tab, handle) in [(1, first), (2, second)] {
        b.client.switch_to_window(handle).await.unwrap();
        b.wait_path(&format!("/?tab={tab}&again=1")).await;
        assert_eq!(b.text("#user").await, "alice", "tab {tab} signed in");
    }
    let refreshes = gw
        .log_text()
        .lines()
        .filter(|l| l.contains("auth.token.reuse"))
        .count();
    assert_eq!(refreshes, 0, "no reuse detected");
    // What the browser kept still works once the next token expires.
    outlast_access_tokens().await;
    b.goto(&gw.url("/?tab=1&later=1")).await;
    assert_eq!(b.text("#user").await, "alice", "still signed in later");
    b.close().await;
}
