//! Issue 3, browser login through the real binary: the HTML form flow (303
//! to a safe `return_to` with cookies, then the landing page), the failure
//! page, the login page without script, and open-redirect attempts (attack
//! class 17) in both the form post and the login page.

use crate::common;

use common::Gateway;
use common::auth::{ALICE, AT, FP, post_form, set_cookie_line, set_cookie_value};

/// A form login redirects (303) to the given relative `return_to` with the
/// fingerprint and access cookies, and the redirected page shows the user.
#[tokio::test]
async fn form_login_redirects_and_lands() {
    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let client = gw.client();
    let resp = post_form(
        &gw,
        &client,
        &[
            ("username", "alice"),
            ("password", ALICE.1),
            ("return_to", "/dashboard?x=1"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/dashboard?x=1");
    let fp = set_cookie_value(&resp, FP).expect("fingerprint cookie");
    let at = set_cookie_value(&resp, AT).expect("access cookie");
    let at_line = set_cookie_line(&resp, AT).unwrap().to_ascii_lowercase();
    for want in ["httponly", "secure", "samesite=strict", "path=/"] {
        assert!(
            at_line.split(';').any(|a| a.trim() == want),
            "{want}: {at_line}"
        );
    }
    let page = client
        .get(gw.url("/dashboard?x=1"))
        .header("accept", "text/html")
        .header("cookie", format!("{FP}={fp}; {AT}={at}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<dd id="user">alice</dd>"#), "{html}");
    assert!(html.contains(r#"<dd id="roles">admin</dd>"#), "{html}");
    assert!(
        html.contains(r#"<code id="path">/dashboard</code>"#),
        "{html}"
    );
}

/// A failed form login is a 401 HTML page that keeps the username, shows a
/// generic error, and is the same for an unknown user; the password is never
/// in it.
#[tokio::test]
async fn form_login_failure_page() {
    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let client = gw.client();
    let mut pages = Vec::new();
    for user in ["alice", "mallory"] {
        let resp = post_form(
            &gw,
            &client,
            &[
                ("username", user),
                ("password", "Wrong-Pa55word-x"),
                ("return_to", "/x"),
            ],
        )
        .await;
        assert_eq!(resp.status(), 401, "{user}");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(resp.headers().get("set-cookie").is_none());
        let html = resp.text().await.unwrap();
        assert!(
            html.contains(&format!(
                r#"autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="64" value="{user}""#
            )),
            "{html}"
        );
        assert!(html.contains("Invalid username or password."), "{html}");
        assert!(html.contains(r#"name="return_to" value="/x""#), "{html}");
        assert!(!html.contains("Wrong-Pa55word-x"), "password echoed");
        pages.push(html.replace(user, "USER"));
    }
    assert_eq!(pages[0], pages[1], "unknown user and wrong password differ");
}

/// `GET /auth/login` is an HTML page whose form posts to the login endpoint
/// without any script.
#[tokio::test]
async fn login_page_works_without_js() {
    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let resp = gw
        .client()
        .get(gw.url("/auth/login?return_to=/a%3Fb"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = resp.text().await.unwrap();
    for want in [
        r#"<form method="post" action="/auth/login">"#,
        r#"<input type="hidden" name="return_to" value="/a?b">"#,
        r#"name="username""#,
        r#"name="password" type="password""#,
        r#"type="submit">Sign in</button>"#,
    ] {
        assert!(html.contains(want), "{want} missing: {html}");
    }
    assert!(!html.to_ascii_lowercase().contains("<script"), "{html}");
}

/// Open-redirect attempts that every browser would resolve off-origin (or
/// that inject a header): each form login still succeeds, to exactly `/`.
const OFF_ORIGIN: &[&str] = &[
    "//evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "/%2F%2Fevil.example",
    "/%2f/evil.example",
    "/%5Cevil",
    "/%5cevil.example",
    "%2F%2Fevil",
    "https://evil.example",
    "HTTPS://evil.example",
    "//evil.example@good",
    "javascript:alert(1)",
    "/%09/evil",
    "/\t/evil.example",
    "/%0d%0aLocation:%20https://evil.example",
    "/\r\nSet-Cookie: x=1",
    "/%252F%252Fevil.example",
    "/..//evil.example",
    "/%2e%2e//evil.example",
    "evil.example",
    "",
];

/// Class 17 through the form post: the redirect is exactly `/` for every
/// off-origin `return_to`, and a same-origin one is kept.
#[tokio::test]
async fn form_login_never_redirects_off_origin() {
    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let client = gw.client();
    for ret in OFF_ORIGIN {
        let resp = post_form(
            &gw,
            &client,
            &[
                ("username", "alice"),
                ("password", ALICE.1),
                ("return_to", ret),
            ],
        )
        .await;
        assert_eq!(resp.status(), 303, "{ret:?}");
        assert_eq!(resp.headers()["location"], "/", "{ret:?}");
        assert_eq!(resp.headers().get_all("location").iter().count(), 1);
        assert!(
            resp.headers().get("x").is_none(),
            "{ret:?}: header injected"
        );
    }
    let resp = post_form(
        &gw,
        &client,
        &[
            ("username", "alice"),
            ("password", ALICE.1),
            ("return_to", "/a/b?c=%2F%2Fd"),
        ],
    )
    .await;
    assert_eq!(resp.headers()["location"], "/a/b?c=%2F%2Fd");
}

/// Class 17 through the login page: the hidden `return_to` of the form is
/// `/` for every off-origin value, and a failed form login keeps it `/`.
#[tokio::test]
async fn login_page_sanitizes_return_to() {
    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let client = gw.client();
    let hidden = r#"<input type="hidden" name="return_to" value="/">"#;
    for ret in OFF_ORIGIN {
        let q = common::auth::form(&[("return_to", ret)]);
        let resp = client
            .get(gw.url(&format!("/auth/login?{q}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{ret:?}");
        let html = resp.text().await.unwrap();
        assert!(html.contains(hidden), "{ret:?}: {html}");
        assert!(!html.contains("evil"), "{ret:?}: {html}");
    }
    let resp = post_form(
        &gw,
        &client,
        &[
            ("username", "alice"),
            ("password", "Wrong-Pa55word"),
            ("return_to", "//evil.example/"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 401);
    let html = resp.text().await.unwrap();
    assert!(html.contains(hidden) && !html.contains("evil"), "{html}");
}

/// An unauthenticated browser navigation is sent to the login page with its
/// own path as a relative, encoded `return_to`; an off-origin-looking path
/// cannot become one.
#[tokio::test]
async fn browser_redirect_to_login() {
    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let client = gw.client();
    for (path, location) in [
        (
            "/dashboard?x=1&y=2",
            "/auth/login?return_to=%2Fdashboard%3Fx%3D1%26y%3D2",
        ),
        ("/admin", "/auth/login?return_to=%2Fadmin"),
        (
            "//evil.example/x",
            "/auth/login?return_to=%2Fevil.example%2Fx",
        ),
    ] {
        let resp = client
            .get(gw.url(path))
            .header("accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303, "{path}");
        assert_eq!(resp.headers()["location"], location, "{path}");
    }
    let api = client.get(gw.url("/dashboard")).send().await.unwrap();
    assert_eq!(api.status(), 401);
    let challenge = api.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
}

/// A form login the same-origin check refuses (a browser on another address
/// of the gateway than `public_url`, or another site) is the login page with
/// 403 and a plain-words message naming where to sign in; no session is
/// made. A JSON client gets JSON 403 as before.
#[tokio::test]
async fn cross_origin_form_login_is_a_403_page() {
    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let client = gw.client();
    let wrong_address = format!("https://127.0.0.1:{}", gw.addr.port());
    for origin in [wrong_address.as_str(), "https://evil.example"] {
        let resp = client
            .post(gw.url("/auth/login"))
            .header("origin", origin)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(common::auth::form(&[
                ("username", "alice"),
                ("password", ALICE.1),
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{origin}");
        let ctype = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ctype.starts_with("text/html"), "{origin}: {ctype}");
        assert!(set_cookie_value(&resp, AT).is_none(), "{origin}: signed in");
        let html = resp.text().await.unwrap();
        assert!(html.contains("role=\"alert\""), "{html}");
        assert!(
            html.contains("sent from another site or address")
                && html.contains("https://localhost")
                && html.contains("/auth/login and sign in there"),
            "{html}"
        );
        assert!(!html.contains(ALICE.1), "password echoed");
    }
    let resp = client
        .post(gw.url("/auth/login"))
        .header("origin", "https://evil.example")
        .json(&serde_json::json!({ "username": "alice", "password": ALICE.1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let v: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(v["error"], "cross_origin", "{v}");
    gw.wait_for_log(&["auth.security.csrf"]).await;
}
