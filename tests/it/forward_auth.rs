//! `/auth/verify` through the real binary: what a proxy's subrequest gets
//! for each policy, the browser redirect, revocation, and refusals of
//! anyone who is not the trusted proxy.

use crate::common;

use common::Gateway;
use common::auth::{ALICE, BOB};
use common::forward_auth::{PUBLIC_URL, error_code, identity_of, start};

/// 200 with exactly the configured identity headers for a signed-in user on
/// an authenticated route; 200 without identity on a public route; 403 for
/// a missing role; 401 with a Bearer challenge when no token comes along.
#[tokio::test]
async fn answers_per_policy() {
    let gw = start().await;
    let alice = gw.creds(ALICE).await;
    let bob = gw.creds(BOB).await;

    let resp = gw.verify("/admin/panel?x=1", Some(&alice)).await;
    assert_eq!(resp.status(), 200);
    let id = identity_of(&resp);
    let names: Vec<&str> = id.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "x-auth-request-email",
            "x-auth-request-roles",
            "x-auth-request-session",
            "x-auth-request-user"
        ]
    );
    let h = resp.headers();
    assert_eq!(h["x-auth-request-user"], "alice");
    assert_eq!(h["x-auth-request-email"], "alice@example.com");
    assert_eq!(h["x-auth-request-roles"], "admin");
    assert_eq!(h["cache-control"], "no-store");

    let resp = gw.verify("/public/page", None).await;
    assert_eq!(resp.status(), 200);
    assert!(identity_of(&resp).is_empty());
    let resp = gw.verify("/public/page", Some(&bob)).await;
    assert_eq!(resp.status(), 200);
    assert!(
        identity_of(&resp).is_empty(),
        "public routes carry no identity"
    );

    let resp = gw.verify("/admin", Some(&bob)).await;
    assert_eq!(resp.status(), 403);
    assert!(identity_of(&resp).is_empty());
    assert_eq!(error_code(resp).await, "forbidden");

    let resp = gw.verify("/anything", None).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer realm=\"portcullis\""
    );
    assert!(resp.headers().get("x-auth-redirect").is_none());
    assert_eq!(error_code(resp).await, "unauthorized");

    let resp = gw.verify("/anything", Some(&bob)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-auth-request-user"], "bob");
    assert_eq!(resp.headers()["x-auth-request-roles"], "");
}

/// The same checks as for proxied requests: a token without its
/// fingerprint cookie, with another user's fingerprint, or of a session
/// that logged out is refused with `error="invalid_token"`.
#[tokio::test]
async fn token_checks_are_the_proxys() {
    let gw = start().await;
    let alice = gw.creds(ALICE).await;
    let bob = gw.creds(BOB).await;
    let proxy = gw.proxy_client();
    let uri = [("x-forwarded-uri", "/x")];
    let bearer = format!("Bearer {}", alice.token);

    let no_fp = gw
        .verify_as(
            &proxy,
            "GET",
            "",
            &[uri[0], ("authorization", bearer.as_str())],
            None,
        )
        .await;
    let wrong_fp = common::forward_auth::Creds {
        fp: bob.fp.clone(),
        ..alice.clone()
    };
    let crossed = gw.verify("/x", Some(&wrong_fp)).await;
    for (what, resp) in [("no fingerprint", no_fp), ("crossed", crossed)] {
        common::auth::assert_refused(resp, what).await;
    }

    assert_eq!(gw.verify("/x", Some(&alice)).await.status(), 200);
    let logout = gw
        .client()
        .post(gw.url("/auth/logout"))
        .bearer_auth(&alice.token)
        .header("cookie", format!("{}={}", common::auth::FP, alice.fp))
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status(), 200);
    common::auth::assert_refused(gw.verify("/x", Some(&alice)).await, "after logout").await;
    assert_eq!(gw.verify("/x", Some(&bob)).await.status(), 200);
}

/// A browser navigation gets 401 plus `X-Auth-Redirect` and `Location`:
/// the login page on the configured public URL with the original path and
/// query as `return_to`; with `?redirect=1` a 302 there. API calls and
/// non-GET methods get no redirect.
#[tokio::test]
async fn browsers_learn_the_login_url() {
    let gw = start().await;
    let proxy = gw.proxy_client();
    let html = ("accept", "text/html,application/xhtml+xml");
    let want = format!("{PUBLIC_URL}/auth/login?return_to=%2Fdocs%2Fa%3Fq%3D1%26r%3D%2F");
    let headers = [("x-forwarded-uri", "/docs//a?q=1&r=/"), html];

    let resp = gw.verify_as(&proxy, "GET", "", &headers, None).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["x-auth-redirect"], want.as_str());
    assert_eq!(resp.headers()["location"], want.as_str());
    assert_eq!(error_code(resp).await, "unauthorized");

    for query in ["?redirect=1", "?redirect=true"] {
        let resp = gw.verify_as(&proxy, "GET", query, &headers, None).await;
        assert_eq!(resp.status(), 302, "{query}");
        assert_eq!(resp.headers()["location"], want.as_str());
    }
    let resp = gw
        .verify_as(&proxy, "GET", "?redirect=0", &headers, None)
        .await;
    assert_eq!(resp.status(), 401);
    let resp = gw
        .verify_as(&proxy, "GET", "?redirect=maybe", &headers, None)
        .await;
    assert_eq!(resp.status(), 400);

    let post = [headers[0], html, ("x-forwarded-method", "POST")];
    for query in ["", "?redirect=1"] {
        let resp = gw.verify_as(&proxy, "GET", query, &post, None).await;
        assert_eq!(resp.status(), 401, "a POST is not a navigation");
        assert!(resp.headers().get("location").is_none());
        assert!(resp.headers().get("x-auth-redirect").is_none());
    }
    let api = gw
        .verify_as(&proxy, "GET", "?redirect=1", &[headers[0]], None)
        .await;
    assert_eq!(api.status(), 401);
    assert!(api.headers().get("location").is_none());
}

/// The subrequest's own method does not matter (nginx sends GET, others
/// may not): HEAD, POST and DELETE to `/auth/verify` from the proxy are
/// answered alike, without the CSRF check an `Origin` would trigger on a
/// state-changing endpoint.
#[tokio::test]
async fn any_subrequest_method() {
    let gw = start().await;
    let alice = gw.creds(ALICE).await;
    let proxy = gw.proxy_client();
    let headers = [
        ("x-forwarded-uri", "/x"),
        ("x-forwarded-method", "GET"),
        ("origin", "https://evil.example"),
    ];
    for method in ["GET", "HEAD", "POST", "DELETE", "OPTIONS"] {
        let resp = gw
            .verify_as(&proxy, method, "", &headers, Some(&alice))
            .await;
        assert_eq!(resp.status(), 200, "{method}");
        assert_eq!(resp.headers()["x-auth-request-user"], "alice", "{method}");
    }
}

/// A path no route covers is 403 (fail closed), not 404 (which nginx would
/// turn into a 500).
#[tokio::test]
async fn unrouted_paths_are_forbidden() {
    let config = r#"
[server]
trusted_proxies = ["127.0.0.2"]

[[routes]]
prefix = "/app"
upstream = "http://{upstream}"
policy = "public"
"#;
    let gw = Gateway::start(config).await;
    assert_eq!(gw.verify("/app/x", None).await.status(), 200);
    let resp = gw.verify("/other", None).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(error_code(resp).await, "no_route");
}

/// With the default `trusted_proxies = []` nobody may ask: 400, and the
/// refusal is logged as a security event.
#[tokio::test]
async fn nobody_is_trusted_by_default() {
    let gw = Gateway::start("").await;
    let resp = gw.verify("/", None).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(error_code(resp).await, "untrusted_peer");
    gw.wait_for_log(&["auth.security.untrusted_forward_auth", "127.0.0.2"])
        .await;
}
