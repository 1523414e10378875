//! Routing and upstream failures through the real binary: longest prefix on
//! segment boundaries, 404 for no route, 405 with `Allow`, 401 or a login
//! redirect on protected routes, and 502/504 without upstream detail.

use crate::common;

use std::time::{Duration, Instant};

use common::Gateway;
use common::upstream::{Reply, Upstream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn named(name: &'static str) -> Upstream {
    Upstream::start(move |_| Reply {
        body: name.as_bytes().to_vec(),
        ..Reply::default()
    })
    .await
}

/// The longest matching prefix wins, on segment boundaries, whatever the
/// order of the routes; the policy of the winning route applies.
#[tokio::test]
async fn longest_prefix_wins() {
    let (a, b) = (named("A").await, named("B").await);
    let config = format!(
        r#"
[[routes]]
prefix = "/api/v1/open"
upstream = "http://{b}"
policy = "public"

[[routes]]
prefix = "/api"
upstream = "http://{b}"
policy = "public"

[[routes]]
prefix = "/"
upstream = "http://{a}"
policy = "public"

[[routes]]
prefix = "/api/v1"
upstream = "http://{a}"
policy = "authenticated"
"#,
        a = a.addr,
        b = b.addr
    );
    let gw = Gateway::start_with_upstream(a.addr, &config, &[]).await;
    let client = gw.client();
    let cases = [
        ("/", "A"),
        ("/x", "A"),
        ("/apix", "A"),
        ("/API", "A"),
        ("/api", "B"),
        ("/api/", "B"),
        ("/api/x", "B"),
        ("/api/v1", "401"),
        ("/api/v1/", "401"),
        ("/api/v1/x", "401"),
        ("/api/v1/openx", "401"),
        ("/api/v1/open", "B"),
        ("/api/v1/open/x", "B"),
        ("/api/v1x", "B"),
        ("/api/v1/open/../x", "401"),
        ("/api/v1?x=/api/v1/open", "401"),
    ];
    for (path, want) in cases {
        let resp = client.get(gw.url(path)).send().await.unwrap();
        let got = match resp.status().as_u16() {
            200 => resp.text().await.unwrap(),
            s => s.to_string(),
        };
        assert_eq!(got, want, "{path}");
    }
}

/// No matching route is a 404 JSON answer from the gateway.
#[tokio::test]
async fn no_route_is_404_json() {
    let gw = Gateway::start(
        "[[routes]]\nprefix = \"/app\"\nupstream = \"http://{upstream}\"\npolicy = \"public\"\n",
    )
    .await;
    for path in ["/", "/other", "/application", "/ap", "/App/headers"] {
        let resp = gw.client().get(gw.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        assert_eq!(resp.headers()["content-type"], "application/json");
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"], "not_found", "{path}");
    }
    let resp = gw.client().get(gw.url("/app/x")).send().await.unwrap();
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "not found", "the example app's own 404");
}

/// A route limited to some methods answers others 405 with `Allow`.
#[tokio::test]
async fn disallowed_method_is_405_with_allow() {
    let gw = Gateway::start(
        r#"
[[routes]]
prefix = "/"
upstream = "http://{upstream}"
policy = "public"
methods = ["GET"]

[[routes]]
prefix = "/echo"
upstream = "http://{upstream}"
policy = "public"
methods = ["post", "PUT"]
"#,
    )
    .await;
    let c = gw.client();
    let cases = [
        (reqwest::Method::GET, "/headers", 200, None),
        (reqwest::Method::POST, "/headers", 405, Some("GET")),
        (reqwest::Method::DELETE, "/x", 405, Some("GET")),
        (reqwest::Method::POST, "/echo", 200, None),
        (reqwest::Method::GET, "/echo", 405, Some("POST, PUT")),
    ];
    for (method, path, status, allow) in cases {
        let resp = c
            .request(method.clone(), gw.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{method} {path}");
        let got = resp
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_string());
        assert_eq!(got.as_deref(), allow, "{method} {path}");
        if status == 405 {
            let body: serde_json::Value = resp.json().await.unwrap();
            assert_eq!(body["error"], "method_not_allowed");
        }
    }
}

/// Without a valid token an authenticated route answers API clients 401
/// JSON with a Bearer challenge, and browsers a 303 to the login page with
/// a relative return path, never built from `Host`.
#[tokio::test]
async fn authenticated_route_without_token() {
    let gw = Gateway::start(
        "[[routes]]\nprefix = \"/\"\nupstream = \"http://{upstream}\"\npolicy = \"authenticated\"\n",
    )
    .await;
    let c = gw.client();
    let resp = c.get(gw.url("/headers")).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer realm=\"portcullis\""
    );
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized");

    let resp = c
        .get(gw.url("/headers"))
        .bearer_auth("not.a.token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let challenge = resp.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");

    let resp = c
        .get(gw.url("/a/b?x=1&y=/z"))
        .header("accept", "text/html,application/xhtml+xml")
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let location = resp.headers()["location"].to_str().unwrap();
    let query = location
        .strip_prefix("/auth/login?return_to=")
        .unwrap_or_else(|| panic!("not a relative login redirect: {location}"));
    let decoded: String = form_urlencoded::parse(format!("r={query}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap();
    assert_eq!(decoded, "/a/b?x=1&y=/z");

    // Non-navigations get the 401 even with an HTML Accept.
    let resp = c
        .post(gw.url("/echo"))
        .header("accept", "text/html")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

/// The JSON body of a failure leaks nothing about the upstream.
async fn assert_no_detail(resp: reqwest::Response, upstream: std::net::SocketAddr, code: &str) {
    assert_eq!(resp.headers()["content-type"], "application/json");
    let text = resp.text().await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"], code, "{text}");
    let lower = text.to_ascii_lowercase();
    for leak in [
        upstream.port().to_string().as_str(),
        "127.0.0.1",
        "refused",
        "os error",
        "connect",
        "tcp",
        "hyper",
        "closed",
    ] {
        assert!(!lower.contains(leak), "{leak:?} leaked: {text}");
    }
}

/// Upstream refused or talking nonsense is 502; slower than
/// `response_timeout_ms` (500 ms against a 10 s answer) is 504; in each case a small JSON body without
/// upstream detail.
#[tokio::test]
async fn upstream_failures_are_502_and_504() {
    let down = common::unused_addr();
    let gw = Gateway::start_with_upstream(down, "", &[]).await;
    let resp = gw.client().get(gw.url("/headers")).send().await.unwrap();
    assert_eq!(resp.status(), 502);
    assert_no_detail(resp, down, "upstream_unavailable").await;

    let broken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let broken_addr = broken.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = broken.accept().await {
            let mut buf = [0u8; 1024];
            let _ = tcp.read(&mut buf).await;
            let _ = tcp.write_all(b"NOT HTTP AT ALL\r\n\r\n").await;
        }
    });
    let gw = Gateway::start_with_upstream(broken_addr, "", &[]).await;
    let resp = gw.client().get(gw.url("/headers")).send().await.unwrap();
    assert_eq!(resp.status(), 502);
    assert_no_detail(resp, broken_addr, "upstream_unavailable").await;

    let gw = Gateway::start("[upstream]\nresponse_timeout_ms = 500\n").await;
    let started = Instant::now();
    let resp = gw.client().get(gw.url("/slow/10000")).send().await.unwrap();
    assert_eq!(resp.status(), 504);
    // Answered at the 500 ms timeout, long before the upstream would.
    let took = started.elapsed();
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert_no_detail(resp, gw.upstream, "upstream_timeout").await;
    // A fast request on the same gateway is unaffected.
    let resp = gw.client().get(gw.url("/slow/10")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

/// Upstream statuses pass through unchanged, as proxied answers.
#[tokio::test]
async fn upstream_statuses_pass_through() {
    let gw = Gateway::start("").await;
    for code in [200u16, 201, 204, 302, 404, 418, 500, 502, 503, 504] {
        let resp = gw
            .client()
            .get(gw.url(&format!("/status/{code}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), code);
        assert_ne!(
            resp.headers().get("cache-control").map(|v| v.as_bytes()),
            Some(&b"no-store"[..]),
            "{code} is the upstream's answer, not the gateway's"
        );
    }
}
