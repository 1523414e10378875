//! Path attack classes 11 and 12 of `cases/attacks.md`, variants beyond
//! the table of `proxy_paths.rs` (which holds the listed examples, dot and
//! slash encodings, `;` parameters, NUL, double encoding and the first
//! overlong forms): more overlong UTF-8, Unicode look-alikes of `.` `/` `\`
//! that NFKC or Windows best-fit mapping turn into traversal, dot segments
//! Windows trims, parameter and slash combinations, and query or fragment
//! tricks, over HTTP/1.1 and HTTP/2. With `/` authenticated and `/public`
//! public, each is 400 or 401 and the upstream receives nothing.

use crate::common;

use common::Gateway;
use common::raw;
use common::upstream::Upstream;

/// `/` authenticated, `/public` public and `/admin` with a role.
const ROUTES: &str = r#"
[[routes]]
prefix = "/"
upstream = "http://{upstream}"
policy = "authenticated"

[[routes]]
prefix = "/public"
upstream = "http://{upstream}"
policy = "public"

[[routes]]
prefix = "/admin"
upstream = "http://{upstream}"
policy = "authenticated"
roles = ["admin"]
"#;

/// Targets that try to reach a protected path through `/public`.
const TRAVERSALS: &[&str] = &[
    // Overlong and invalid UTF-8 for `.`, `/`, `\`.
    "/public/%c0%2e%c0%2e/admin",
    "/public/..%c0%afadmin",
    "/public/..%e0%80%afadmin",
    "/public/..%f0%80%80%afadmin",
    "/public/..%c1%9cadmin",
    "/public/..%c1%1cadmin",
    "/public/%c0%ae./admin",
    "/public/..%ff/admin",
    "/public/..%80/admin",
    // Unicode look-alikes (NFKC, best fit).
    "/public/%ef%bc%8e%ef%bc%8e/admin",
    "/public/..%ef%bc%8fadmin",
    "/public/%ef%bc%8e%ef%bc%8e%ef%bc%8fadmin",
    "/public/..%e2%88%95admin",
    "/public/..%e2%81%84admin",
    "/public/..%ef%bc%bcadmin",
    "/public/..%ef%b9%a8admin",
    "/public/%e2%80%a5/admin",
    "/public/%e2%80%a4%e2%80%a4/admin",
    "/public/%ef%b9%92%ef%b9%92/admin",
    "/public/%e3%80%82%e3%80%82/admin",
    "/public/%ef%bc%85%32%65%ef%bc%85%32%65/admin",
    // Dot segments Windows trims.
    "/public/.../admin",
    "/public/..../admin",
    "/public/..%20/admin",
    "/public/.%20./admin",
    "/public/%20../admin",
    "/public/..%2e/admin",
    "/public/.%2e%2e/admin",
    // IIS-style and other escapes.
    "/public/%u002e%u002e/admin",
    "/public/%%32%65%%32%65/admin",
    "/public/%25%32%65%25%32%65/admin",
    "/public/%252e%252e%252fadmin",
    "/public/%2e%2e%252fadmin",
    // Parameters, slashes and NUL around dot segments.
    "/public/..;jsessionid=x/admin",
    "/public/..%3bx/admin",
    "/public/.%2e;/admin",
    "/public/%2e%2e%00/admin",
    "/public/..%0d/admin",
    "/public/..%0a/admin",
    "/public/..%7f/admin",
    "/public/../admin/",
    "/public/..//admin",
    "/public/..///admin",
    "/public//..//admin",
    "/public%2f..%2fadmin",
    "/public%2F%2E%2E%2Fadmin",
    "/public/%2e%2e%2f%2e%2e%2fadmin",
    "/public/x/../../admin",
    "/public/./../../admin",
    "/public\\..\\admin",
    "/public/..\\/admin",
    "/%2fpublic/../admin",
    "//public/../admin",
];

/// Query and fragment confusion: the public pattern appears only after the
/// path, or an encoded `?`/`#` hides the real path.
const QUERY_TRICKS: &[&str] = &[
    "/admin?/public",
    "/admin?%2Fpublic",
    "/admin?x=1#/public",
    "/admin#?/public",
    "/admin/?/public/..",
    "/admin%3f/public",
    "/admin%3F/public",
    "/admin%23/public",
    "/admin?public",
    "/admin?&/public/",
    "/admin?/public/../admin",
    "/x?y=/public",
];

/// Every target over HTTP/1.1: 400 or 401.
async fn over_h1(gw: &Gateway, targets: &[&str]) -> Vec<String> {
    let mut failures = Vec::new();
    for target in targets {
        let mut conn = gw.raw().await;
        let _ = conn.send(&raw::get(target, &[])).await;
        let status = conn.response().await.ok().flatten().map(|r| r.status);
        if !matches!(status, Some(400 | 401)) {
            failures.push(format!("h1 {target}: {status:?}"));
        }
    }
    failures
}

/// Every target `http::Uri` can carry, over HTTP/2 verbatim: 400, 401 or
/// a reset stream.
async fn over_h2(gw: &Gateway, targets: &[&str]) -> Vec<String> {
    let authority = format!("https://localhost:{}", gw.addr.port());
    let mut failures = Vec::new();
    for target in targets {
        let Ok(req) = http::Request::get(format!("{authority}{target}")).body(String::new()) else {
            continue;
        };
        let mut sender = gw.h2_sender().await;
        match sender.send_request(req).await {
            Ok(resp) if matches!(resp.status().as_u16(), 400 | 401) => {}
            Ok(resp) => failures.push(format!("h2 {target}: {}", resp.status())),
            Err(e) if e.is_canceled() => failures.push(format!("h2 {target}: {e}")),
            Err(_) => {}
        }
    }
    failures
}

/// Class 11: no spelling of a protected path passes the public rule, over
/// either protocol, and nothing reaches the upstream.
#[tokio::test]
async fn traversal_variants_never_pass_the_public_rule() {
    let up = Upstream::ok().await;
    let gw = Gateway::start_with_upstream(up.addr, ROUTES, &[]).await;
    let mut failures = over_h1(&gw, TRAVERSALS).await;
    failures.extend(over_h2(&gw, TRAVERSALS).await);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let seen: Vec<_> = up.requests().into_iter().map(|s| s.target).collect();
    assert!(seen.is_empty(), "forwarded: {seen:?}");
}

/// Class 12: matching uses the path only; a public pattern in the query or
/// after an encoded `?` or `#` never makes a protected path public.
#[tokio::test]
async fn query_and_fragment_never_take_part_in_matching() {
    let up = Upstream::ok().await;
    let gw = Gateway::start_with_upstream(up.addr, ROUTES, &[]).await;
    let mut failures = over_h1(&gw, QUERY_TRICKS).await;
    failures.extend(over_h2(&gw, QUERY_TRICKS).await);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(up.requests().is_empty(), "forwarded");
}

/// The other direction: a public path whose query or escapes mention a
/// protected one is served as the public path it is, and the upstream
/// receives exactly the normalized path with the query untouched.
#[tokio::test]
async fn public_paths_stay_what_they_are() {
    let mut up = Upstream::ok().await;
    let gw = Gateway::start_with_upstream(up.addr, ROUTES, &[]).await;
    for (sent, want) in [
        ("/public?/admin", "/public?/admin"),
        ("/public/x?next=/../admin", "/public/x?next=/../admin"),
        ("/public/a.b/c.", "/public/a.b/c."),
        ("/public/.x/..y", "/public/.x/..y"),
        ("/public/caf%C3%A9", "/public/caf%C3%A9"),
        ("/public/%E2%82%AC", "/public/%E2%82%AC"),
        ("/admin/../public/x", "/public/x"),
    ] {
        let resp = gw.raw().await.roundtrip(&raw::get(sent, &[])).await;
        assert_eq!(resp.status, 200, "{sent}: {}", resp.text());
        assert_eq!(up.arrival().await.target, want, "{sent}");
    }
}
