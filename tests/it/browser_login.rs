//! In a real headless Chromium, through the real binary in front of the
//! example app: the login page (a failed attempt, then returning to the
//! page asked for), the cookies as Chromium keeps them, the stylesheet
//! under the gateway's own CSP, and the sign-out link's confirmation.

use crate::common;

use common::Gateway;
use common::auth::ALICE;
use common::browser::{self, Browser};
use fantoccini::Locator;
use portcullis::auth::cookie_names::{ACCESS, FINGERPRINT, REFRESH};

/// A protected page → the login page → a wrong password (generic error,
/// username kept) → the right one → the page asked for, showing the user;
/// every cookie the gateway set is one Chromium accepted, with the
/// `__Host-` rules; the page is styled by the gateway's own stylesheet
/// under its CSP; screenshots of the login page for people to look at.
#[tokio::test]
async fn login_returns_to_the_page_asked_for() {
    if !browser::available() {
        return;
    }
    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let page = gw.client().get(gw.url("/auth/login")).send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let b = Browser::start().await;
    b.goto(&gw.url("/reports/q3?year=2026")).await;
    b.wait_path("/auth/login?return_to=").await;
    assert_eq!(b.text("h1").await, "Sign in");
    styled_under_csp(&b).await;
    b.screenshot("login").await;

    b.fill("#username", "alice").await;
    b.fill("#password", "not-her-password").await;
    b.click("button[type=submit]").await;
    let error = b.text("#error").await;
    assert!(
        error.starts_with("Invalid username or password."),
        "{error}"
    );
    let kept = b.client.find(Locator::Id("username")).await.unwrap();
    assert_eq!(kept.prop("value").await.unwrap().as_deref(), Some("alice"));
    b.screenshot("login-failed").await;

    b.sign_in(ALICE.0, ALICE.1).await;
    assert_eq!(b.path().await, "/reports/q3?year=2026");
    assert_eq!(b.text("#user").await, "alice");
    cookies_follow_the_prefix_rules(&b).await;
    b.close().await;
}

/// The gateway's stylesheet applied (the CSP allowed it) and the page has
/// no inline style or script for a CSP to refuse.
async fn styled_under_csp(b: &Browser) {
    let main = b.client.find(Locator::Css("main")).await.unwrap();
    assert_eq!(
        main.css_value("border-top-left-radius").await.unwrap(),
        "12px"
    );
    let html = b.client.source().await.unwrap();
    for inline in ["<script", "<style", "style=\"", "onclick"] {
        assert!(!html.contains(inline), "{inline} on the login page");
    }
}

/// Chromium kept all three session cookies: `__Host-` names with `Secure`,
/// `Path=/` and no `Domain` (Chromium drops any that break the rules),
/// HttpOnly (no script can read them) and SameSite=Strict.
async fn cookies_follow_the_prefix_rules(b: &Browser) {
    let cookies = b.client.get_all_cookies().await.unwrap();
    for name in [FINGERPRINT, ACCESS, REFRESH] {
        let c = cookies
            .iter()
            .find(|c| c.name() == name)
            .unwrap_or_else(|| panic!("Chromium did not keep {name}: {cookies:?}"));
        assert_eq!(c.secure(), Some(true), "{name}");
        assert_eq!(c.http_only(), Some(true), "{name}");
        assert_eq!(c.path(), Some("/"), "{name}");
        // fantoccini does not re-export the `cookie` crate's enum.
        assert_eq!(format!("{:?}", c.same_site()), "Some(Strict)", "{name}");
        let domain = c.domain().unwrap_or("localhost");
        assert_eq!(domain, "localhost", "{name}: host-only, no Domain");
    }
    let script_view = b
        .client
        .execute("return document.cookie", vec![])
        .await
        .unwrap();
    assert_eq!(script_view, "", "HttpOnly cookies are invisible to scripts");
}

/// A cross-site `<img src=/auth/logout>` signs nobody out; the app's "Sign
/// out" link shows a confirmation, and its button signs out: the login
/// page says so, the cookies are gone, and the app asks for a login again.
#[tokio::test]
async fn sign_out_link_asks_first() {
    if !browser::available() {
        return;
    }
    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let b = Browser::start().await;
    b.goto(&gw.url("/")).await;
    b.sign_in(ALICE.0, ALICE.1).await;

    let img = format!(
        "<!doctype html><title>elsewhere</title><img id=\"x\" src=\"{}\" alt=\"\">",
        gw.url("/auth/logout")
    );
    let (site, stop) = browser::other_site(img).await;
    b.goto(&format!("http://{site}/")).await;
    b.goto(&gw.url("/")).await;
    assert_eq!(
        b.text("#user").await,
        "alice",
        "the image signed no one out"
    );
    stop.cancel();

    b.click("a[href='/auth/logout']").await;
    b.wait_path("/auth/logout").await;
    assert_eq!(b.text("h1").await, "Sign out?");
    b.screenshot("sign-out").await;
    b.click("#sign-out").await;
    b.wait_path("/auth/login?signed_out=1").await;
    assert_eq!(b.text("#notice").await, "You have signed out.");
    let left: Vec<_> = b.client.get_all_cookies().await.unwrap();
    assert!(
        left.iter()
            .all(|c| !c.name().starts_with("__Host-portcullis")),
        "cookies cleared: {left:?}"
    );
    b.goto(&gw.url("/")).await;
    b.wait_path("/auth/login").await;
    b.close().await;
}

/// A form login refused by the rate limit is the login page saying in
/// plain words how long to wait (429 with `Retry-After`), the username kept.
#[tokio::test]
async fn rate_limit_is_told_in_plain_words() {
    if !browser::available() {
        return;
    }
    let gw = Gateway::start_with_users("[rate_limit]\nlogin_per_account = 1", &[ALICE]).await;
    let b = Browser::start().await;
    b.goto(&gw.url("/auth/login")).await;
    b.fill("#username", "alice").await;
    b.fill("#password", "wrong-password-1").await;
    b.click("button[type=submit]").await;
    assert!(
        b.text("#error")
            .await
            .starts_with("Invalid username or password.")
    );
    b.fill("#password", "wrong-password-2").await;
    b.click("button[type=submit]").await;
    b.wait_text("#error", "Too many sign-in attempts. Please wait ")
        .await;
    let kept = b.client.find(Locator::Id("username")).await.unwrap();
    assert_eq!(kept.prop("value").await.unwrap().as_deref(), Some("alice"));
    b.screenshot("login-rate-limited").await;
    b.close().await;

    let resp = gw
        .client()
        .post(gw.url("/auth/login"))
        .header("origin", format!("https://localhost:{}", gw.addr.port()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=alice&password=whatever-it-is")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Too many sign-in attempts.")
    );
}
