//! The account page in real headless Chromium: two browser profiles signed
//! in as one user; one sees both sessions and signs the other out, which
//! lands on the login page at its next navigation; "all other sessions"
//! and "everywhere" do what they say. A screenshot of the page is kept.

use crate::common;

use common::Gateway;
use common::auth::ALICE;
use common::browser::{self, Browser};
use fantoccini::Locator;

async fn rows(b: &Browser) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    for row in b.client.find_all(Locator::Css("tr.session")).await.unwrap() {
        let current = row.attr("data-current").await.unwrap().as_deref() == Some("true");
        out.push((current, row.text().await.unwrap()));
    }
    out
}

/// Waits (up to 10 s) until the page lists `n` sessions; tolerates the
/// page being replaced meanwhile (a form post and its redirect).
async fn wait_rows(b: &Browser, n: usize) -> Vec<(bool, String)> {
    let mut last = Vec::new();
    for _ in 0..200 {
        let found = b.client.find_all(Locator::Css("tr.session")).await;
        if let Ok(found) = found
            && found.len() == n
        {
            let mut out = Vec::new();
            for row in found {
                let (Ok(current), Ok(text)) = (row.attr("data-current").await, row.text().await)
                else {
                    break;
                };
                out.push((current.as_deref() == Some("true"), text));
            }
            if out.len() == n {
                return out;
            }
            last = out;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the account page does not list {n} sessions: {last:?}");
}

async fn signed_in_browser(gw: &Gateway) -> Browser {
    let b = Browser::start().await;
    b.goto(&gw.url("/auth/account")).await;
    b.wait_path("/auth/login?return_to=%2Fauth%2Faccount").await;
    b.sign_in(ALICE.0, ALICE.1).await;
    b.wait_path("/auth/account").await;
    b
}

/// Two profiles: the account page lists both sessions with browser, OS,
/// IP and "this device" on one; signing the other out takes effect on its
/// next navigation; then "all other sessions" and "everywhere".
#[tokio::test]
async fn account_page_signs_out_another_browser() {
    if !browser::available() {
        return;
    }
    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let (a, b) = tokio::join!(signed_in_browser(&gw), signed_in_browser(&gw));

    a.goto(&gw.url("/auth/account")).await;
    assert_eq!(a.text("#user").await, "alice");
    let listed = rows(&a).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed[0].0 && !listed[1].0, "this device first: {listed:?}");
    for (_, text) in &listed {
        assert!(text.contains("Chrome") && text.contains("Linux"), "{text}");
        assert!(text.contains("127.0.0.1"), "{text}");
    }
    assert!(listed[0].1.contains("This device"));
    a.screenshot("account").await;
    a.client.set_window_size(390, 844).await.unwrap();
    a.screenshot("account-narrow").await;
    a.client.set_window_size(1280, 900).await.unwrap();

    a.click("tr.session[data-current='false'] button").await;
    let left = wait_rows(&a, 1).await;
    assert!(left[0].0, "this device is the one left");
    b.goto(&gw.url("/")).await;
    b.wait_path("/auth/login").await;

    // B signs in again; A signs out every other session.
    b.sign_in(ALICE.0, ALICE.1).await;
    a.client.refresh().await.unwrap();
    wait_rows(&a, 2).await;
    a.click("#sign-out-others").await;
    assert!(wait_rows(&a, 1).await[0].0);
    b.goto(&gw.url("/")).await;
    b.wait_path("/auth/login").await;
    a.goto(&gw.url("/")).await;
    assert_eq!(a.text("#user").await, "alice", "A itself stays signed in");

    // Everywhere: A lands on the login page too.
    a.goto(&gw.url("/auth/account")).await;
    a.click("#sign-out-everywhere").await;
    a.wait_path("/auth/login?signed_out=1").await;
    a.goto(&gw.url("/auth/account")).await;
    a.wait_path("/auth/login?return_to=%2Fauth%2Faccount").await;
    tokio::join!(a.close(), b.close());
}
