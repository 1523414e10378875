//! Browser mode through the real binary: a request whose access cookie has
//! expired while the session lives is refreshed inline (a POST keeps its
//! body) and answers with rotated cookies; without a refresh cookie it goes
//! to the login page; a cross-site navigation gets a same-site reload page.

use crate::common;

use std::time::{Duration, Instant};

use common::Gateway;
use common::auth::ALICE;
use common::session::{Jar, Login, set_cookie, set_cookies};
use portcullis::auth::cookie_names::{ACCESS, FINGERPRINT, REFRESH};

/// Access tokens live 2 s, with no leeway.
const SHORT_TOKENS: &str = "[auth]\naccess_token_ttl_secs = 2\nleeway_secs = 0";

async fn gateway() -> Gateway {
    Gateway::start_with_users(SHORT_TOKENS, &[ALICE]).await
}

/// Waits until the 2-second access tokens issued so far have expired.
async fn outlast_access_tokens() {
    tokio::time::sleep(Duration::from_millis(3200)).await;
}

/// `GET path` as a browser holding `jar` (HTML navigation).
async fn navigate(gw: &Gateway, path: &str, jar: &Jar, site: &str) -> reqwest::Response {
    let mut req = gw
        .client()
        .get(gw.url(path))
        .header("accept", "text/html,application/xhtml+xml")
        .header("sec-fetch-site", site)
        .header("sec-fetch-mode", "navigate");
    if jar != &Jar::default() {
        req = req.header("cookie", jar.header());
    }
    req.send().await.expect("request")
}

/// Who `/headers` says the browser holding `jar` is (cookies only).
async fn user_by_cookies(gw: &Gateway, jar: &Jar) -> Option<String> {
    let resp = navigate(gw, "/headers", jar, "same-origin").await;
    if resp.status() != 200 {
        return None;
    }
    let body: serde_json::Value = resp.json().await.expect("JSON");
    body["headers"]["x-auth-request-user"]
        .as_str()
        .map(str::to_string)
}

/// POSTs a form to `/echo` with `jar` after the access token expired; checks
/// the inline refresh: 200, the body reached the upstream, all three
/// cookies rotated, and the new cookies work.
async fn post_form_after_expiry(gw: &Gateway, jar: &Jar) {
    let form = "title=half-filled&body=a+long+text+the+user+typed";
    let sent = Instant::now();
    let resp = gw
        .client()
        .post(gw.url("/echo"))
        .header("origin", gw.origin())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", jar.header())
        .body(form)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200, "inline refresh, not a login redirect");
    let h = resp.headers().clone();
    assert_eq!(
        resp.text().await.expect("body"),
        form,
        "the body got through"
    );
    let lines = set_cookies(&h);
    let mut fresh = Jar::default();
    for name in [FINGERPRINT, ACCESS, REFRESH] {
        let line = set_cookie(&lines, name);
        assert!(!line.clears() && line.has("HttpOnly") && line.has("Secure"));
        fresh = fresh.with(name, &line.value);
    }
    assert_ne!(
        fresh.get(REFRESH),
        jar.get(REFRESH),
        "refresh cookie rotated"
    );
    // The new access token lives 2 s counted in whole seconds: it is surely
    // valid for 1 s after the request was sent; judge it only then.
    let api = Login {
        access_token: fresh.at().to_string(),
        jar: fresh.clone(),
        set_cookies: lines,
    };
    let verdict = gw.whoami(&api).await;
    if sent.elapsed() < Duration::from_millis(1000) {
        assert_eq!(verdict, Ok("alice".into()), "the new access token works");
    }
    // The new cookies keep the browser signed in (inline again if needed).
    assert_eq!(user_by_cookies(gw, &fresh).await.as_deref(), Some("alice"));
}

/// Expired access cookie, all three cookies sent: the POST reaches the
/// upstream with its body and the response carries rotated cookies.
#[tokio::test]
async fn expired_access_cookie_is_refreshed_inline_with_all_cookies() {
    let gw = gateway().await;
    let s = gw.sign_in(ALICE).await;
    outlast_access_tokens().await;
    assert_eq!(
        user_by_cookies(&gw, &s.jar.only(&[FINGERPRINT, ACCESS])).await,
        None
    );
    post_form_after_expiry(&gw, &s.jar).await;
    gw.wait_for_log(&["auth.token.refresh\""]).await;
}

/// The fingerprint and access cookies' Max-Age has passed, so the browser
/// sends only the refresh cookie: still refreshed inline.
#[tokio::test]
async fn only_the_refresh_cookie_left_is_refreshed_inline() {
    let gw = gateway().await;
    let s = gw.sign_in(ALICE).await;
    for name in [FINGERPRINT, ACCESS] {
        assert_eq!(set_cookie(&s.set_cookies, name).max_age(), Some(2));
    }
    outlast_access_tokens().await;
    post_form_after_expiry(&gw, &s.jar.only(&[REFRESH])).await;
}

/// An expired access cookie and no refresh cookie: an HTML navigation is
/// sent to the login page (303, relative, returning here); an API call is
/// 401.
#[tokio::test]
async fn expired_access_cookie_without_refresh_cookie_goes_to_login() {
    let gw = gateway().await;
    let s = gw.sign_in(ALICE).await;
    outlast_access_tokens().await;
    let stale = s.jar.only(&[FINGERPRINT, ACCESS]);
    let resp = navigate(&gw, "/headers?tab=2", &stale, "same-origin").await;
    assert_eq!(resp.status(), 303);
    let location = resp.headers()["location"].to_str().unwrap();
    assert_eq!(location, "/auth/login?return_to=%2Fheaders%3Ftab%3D2");
    assert!(resp.headers().get("set-cookie").is_none());
    let api = gw.api_get(&s.access_token, &s.jar).await;
    assert_eq!(api.status(), 401);
    // Even cross-site: a stale cookie of ours came along, so no reload page.
    let resp = navigate(&gw, "/headers", &stale, "cross-site").await;
    assert_eq!(resp.status(), 303);
}

/// A top-level navigation from another site carries no SameSite=Strict
/// cookie: the gateway answers 200 with a page that reloads the same URL
/// from its own origin (no login redirect). The same request marked
/// same-origin, with no cookie, goes to the login page.
#[tokio::test]
async fn cross_site_navigation_gets_a_same_site_reload_page() {
    let gw = gateway().await;
    let resp = navigate(&gw, "/headers?from=mail", &Jar::default(), "cross-site").await;
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(resp.headers().get("location").is_none());
    let html = resp.text().await.expect("body");
    assert!(
        html.contains("<meta http-equiv=\"refresh\" content=\"0;url=/headers?from=mail\">"),
        "{html}"
    );

    let resp = navigate(&gw, "/headers?from=mail", &Jar::default(), "same-origin").await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers()["location"],
        "/auth/login?return_to=%2Fheaders%3Ffrom%3Dmail"
    );

    // The reload, same-site with the session's cookies, gets through.
    let s = gw.sign_in(ALICE).await;
    let resp = navigate(&gw, "/headers?from=mail", &s.jar, "same-origin").await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.expect("JSON");
    assert_eq!(body["headers"]["x-auth-request-user"], "alice");
}
