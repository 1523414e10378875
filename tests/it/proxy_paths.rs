//! The normalization table through the real binary (classes 11 and 12):
//! with `/` authenticated and `/public` public, no spelling of a protected
//! path gets through the public rule, the query never takes part in
//! matching, and the upstream receives exactly the normalized path.

use crate::common;

use common::Gateway;
use common::raw;
use common::upstream::Upstream;

/// `/` authenticated, `/public` public, both to the same upstream.
const ROUTES: &str = r#"
[[routes]]
prefix = "/"
upstream = "http://{upstream}"
policy = "authenticated"

[[routes]]
prefix = "/public"
upstream = "http://{upstream}"
policy = "public"
"#;

/// Request targets that try to reach a protected path through `/public`
/// (or smuggle `/public` in the query). Each must be 400 or 401.
const ATTACKS: &[&str] = &[
    "/public/../admin",
    "/public/..%2Fadmin",
    "/public/..%2fadmin",
    "/public/%2e%2e/admin",
    "/public/%2E%2E/admin",
    "/public/.%2e/admin",
    "/public/%2e./admin",
    "/public/%2e/../admin",
    "/public//../admin",
    "/public/./../admin",
    "/public/x/../../admin",
    "/public/../public/../admin",
    "/./public/../admin",
    "/public/..",
    "/public/..;/admin",
    "/public/.;/../admin",
    "/public;x/../admin",
    "/public;/../admin",
    "/public%3B/../admin",
    "/public%2Fadmin",
    "/public%2fadmin",
    "/public%5Cadmin",
    "/public/..%5Cadmin",
    "/public\\..\\admin",
    "/public/..\\admin",
    "/public/%00",
    "/public/%00/../../admin",
    "/public/..%00/admin",
    "/public/%zz",
    "/public/%2",
    "/public/%",
    "/public/%252e%252e/admin",
    "/public/%c0%ae%c0%ae/admin",
    "/public/%e0%80%ae%e0%80%ae/admin",
    "/public/%2e%2e%2fadmin",
    "/public/%2e%2e%5cadmin",
    "/public/..%09/admin",
    "/PUBLIC/x",
    "/admin?x=/public/",
    "/admin?/public",
    "/admin?/public/../public",
    "/admin%3F/public",
    "/admin%23/public",
    "/admin/public",
    "/admin#/public",
    "https://localhost/public/../admin",
];

/// 400 or 401 for every attack, over HTTP/1.1, and the upstream receives
/// nothing at all.
#[tokio::test]
async fn protected_paths_never_pass_the_public_rule() {
    let up = Upstream::ok().await;
    let gw = Gateway::start_with_upstream(up.addr, ROUTES, &[]).await;
    for target in ATTACKS {
        let mut conn = gw.raw().await;
        conn.send(&raw::get(target, &[])).await.unwrap();
        let resp = conn.response().await.unwrap();
        let status = resp.as_ref().map(|r| r.status);
        assert!(
            matches!(status, Some(400 | 401)),
            "{target}: got {status:?} {}",
            resp.map(|r| r.text()).unwrap_or_default()
        );
    }
    assert!(up.requests().is_empty(), "forwarded: {:?}", targets(&up));
}

/// The same table over HTTP/2, whose `:path` is taken verbatim.
#[tokio::test]
async fn protected_paths_never_pass_the_public_rule_over_h2() {
    let up = Upstream::ok().await;
    let gw = Gateway::start_with_upstream(up.addr, ROUTES, &[]).await;
    let authority = format!("https://localhost:{}", gw.addr.port());
    let mut tried = 0;
    for target in ATTACKS {
        let uri = match target.starts_with('/') {
            true => format!("{authority}{target}"),
            false => target.to_string(),
        };
        // Targets `http::Uri` itself refuses cannot be sent over h2.
        let Ok(req) = http::Request::get(uri.as_str()).body(String::new()) else {
            continue;
        };
        tried += 1;
        let mut sender = gw.h2_sender().await;
        match sender.send_request(req).await {
            Ok(resp) => assert!(
                matches!(resp.status().as_u16(), 400 | 401),
                "{target}: {}",
                resp.status()
            ),
            // A stream reset by the server's HTTP/2 layer is a refusal too.
            Err(e) => assert!(!e.is_canceled(), "{target}: {e}"),
        }
    }
    assert!(
        tried > ATTACKS.len() / 2,
        "only {tried} targets were sendable"
    );
    assert!(up.requests().is_empty(), "forwarded: {:?}", targets(&up));
}

fn targets(up: &Upstream) -> Vec<String> {
    up.requests().into_iter().map(|s| s.target).collect()
}

/// Requests that are fine reach the upstream with exactly the normalized
/// path and the query untouched.
#[tokio::test]
async fn upstream_receives_the_normalized_path() {
    let mut up = Upstream::ok().await;
    let gw = Gateway::start_with_upstream(up.addr, ROUTES, &[]).await;
    let cases = [
        ("/public/a/./b//c", "/public/a/b/c"),
        ("//public///x", "/public/x"),
        ("/public/x/../y", "/public/y"),
        ("/other/../public/z", "/public/z"),
        ("/public/%61%62c", "/public/abc"),
        ("/public/x/%7Euser", "/public/x/~user"),
        ("/public/a%3ab", "/public/a%3Ab"),
        ("/public/a%20b", "/public/a%20b"),
        ("/public", "/public"),
        ("/public/", "/public/"),
        ("/public/x/.", "/public/x/"),
        ("/public/q?x=/../admin&y=%2F", "/public/q?x=/../admin&y=%2F"),
        ("/public?", "/public?"),
    ];
    for (sent, want) in cases {
        let resp = gw.raw().await.roundtrip(&raw::get(sent, &[])).await;
        assert_eq!(resp.status, 200, "{sent}: {}", resp.text());
        assert_eq!(up.arrival().await.target, want, "{sent}");
    }
}

/// The example app's `/headers` reports exactly the normalized path and the
/// verbatim query it was sent.
#[tokio::test]
async fn example_app_sees_normalized_path() {
    let gw = Gateway::start("").await;
    let cases = [
        ("/x/../headers", "/headers", None),
        ("/%68eaders", "/headers", None),
        ("//headers?a=/../b", "/headers", Some("a=/../b")),
        ("/./headers/.././headers?q=%2F", "/headers", Some("q=%2F")),
    ];
    for (sent, path, query) in cases {
        let resp = gw.raw().await.roundtrip(&raw::get(sent, &[])).await;
        assert_eq!(resp.status, 200, "{sent}: {}", resp.text());
        let body = resp.json();
        assert_eq!(body["path"], path, "{sent}");
        assert_eq!(body["query"].as_str(), query, "{sent}");
    }
}

/// With `reject_path_params = false`, `;` parameters that would make a
/// servlet upstream pick another route are still refused.
#[tokio::test]
async fn path_parameters_allowed_but_never_ambiguous() {
    let up = Upstream::ok().await;
    let config = format!("[server]\nreject_path_params = false\n{ROUTES}");
    let gw = Gateway::start_with_upstream(up.addr, &config, &[]).await;
    for target in [
        "/public;x/../admin",
        "/public;jsessionid=1/x",
        "/admin/..;/public/x",
        "/admin;x/..;/public",
        "/public/..;/admin",
    ] {
        let resp = gw.raw().await.roundtrip(&raw::get(target, &[])).await;
        assert!(
            matches!(resp.status, 400 | 401),
            "{target}: {}",
            resp.status
        );
    }
    assert!(up.requests().is_empty(), "forwarded: {:?}", targets(&up));
    let resp = gw
        .raw()
        .await
        .roundtrip(&raw::get("/public/a;v=1", &[]))
        .await;
    assert_eq!(
        resp.status, 200,
        "a parameter inside the public route is fine"
    );
}
