//! CORS through the real binary: preflights are answered by the gateway and
//! never forwarded, they authorize nothing (the actual request is
//! authenticated as usual), only configured origins are named, the
//! upstream's own CORS headers never leak to other origins, `Vary: Origin`
//! is always there, and with `[cors]` unset nothing changes.

use crate::common;

use common::Gateway;
use common::auth::{ALICE, FP, routes, write_users};
use common::upstream::{Reply, Upstream};
use reqwest::Method;

const APP: &str = "https://app.example";

const CORS: &str = r#"
[cors]
allowed_origins = ["https://App.example:443/"]
allowed_methods = ["GET", "POST", "PUT"]
allowed_headers = ["Authorization", "Content-Type", "X-Requested-With"]
expose_headers = ["X-Total"]
allow_credentials = true
max_age_secs = 321
"#;

/// An upstream that records everything and answers with its own, too
/// generous, CORS headers.
async fn generous_upstream() -> Upstream {
    Upstream::start(|_| Reply {
        headers: vec![
            ("access-control-allow-origin", "*"),
            ("access-control-allow-credentials", "true"),
            ("content-type", "application/json"),
        ],
        body: b"{}".to_vec(),
        ..Reply::default()
    })
    .await
}

/// A gateway with alice and the auth routes in front of `up`, plus `extra`.
fn gateway(up: &Upstream, extra: &str) -> Gateway {
    let dir = tempfile::tempdir().expect("tempdir");
    write_users(&dir.path().join("users.toml"), &[ALICE], &[]);
    Gateway::start_in(dir, up.addr, &format!("{}\n{extra}", routes(up.addr)), &[])
}

/// The `Access-Control-*` headers of a response.
fn cors_headers(resp: &reqwest::Response) -> Vec<String> {
    resp.headers()
        .keys()
        .map(|k| k.as_str().to_string())
        .filter(|k| k.starts_with("access-control-"))
        .collect()
}

/// True when some `Vary` value lists `Origin`.
fn varies_on_origin(resp: &reqwest::Response) -> bool {
    resp.headers()
        .get_all("vary")
        .iter()
        .any(|v| v.to_str().unwrap().to_ascii_lowercase().contains("origin"))
}

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).map(|v| v.to_str().unwrap())
}

/// A preflight `OPTIONS {path}` with the given header pairs.
async fn preflight(gw: &Gateway, path: &str, pairs: &[(&str, &str)]) -> reqwest::Response {
    let mut req = gw.client().request(Method::OPTIONS, gw.url(path));
    for (k, v) in pairs {
        req = req.header(*k, *v);
    }
    req.send().await.expect("preflight")
}

/// Allowed preflights get 204 with the policy, on protected, public, own
/// and unrouted paths alike, even when they carry a valid token; refused
/// ones get 403 and no `Access-Control-*` header; no preflight ever
/// reaches the upstream.
#[tokio::test]
async fn preflights_are_answered_by_the_gateway() {
    let up = generous_upstream().await;
    let gw = gateway(&up, CORS);
    let (token, fp) = gw.login(&gw.client(), ALICE.0, ALICE.1).await;
    let bearer = format!("Bearer {token}");
    let cookie = format!("{FP}={fp}");
    let asks = [
        ("origin", APP),
        ("access-control-request-method", "PUT"),
        (
            "access-control-request-headers",
            "authorization,Content-Type",
        ),
    ];
    let with_token = [
        &asks[..],
        &[
            ("authorization", bearer.as_str()),
            ("cookie", cookie.as_str()),
        ][..],
    ]
    .concat();
    for path in [
        "/headers",
        "/public/x",
        "/admin/x",
        "/auth/login",
        "/nowhere/x",
    ] {
        for pairs in [&asks[..], &with_token[..]] {
            let resp = preflight(&gw, path, pairs).await;
            let what = format!("{path} token={}", pairs.len() > 3);
            assert_eq!(resp.status(), 204, "{what}");
            assert_eq!(
                header(&resp, "access-control-allow-origin"),
                Some(APP),
                "{what}"
            );
            assert_eq!(
                header(&resp, "access-control-allow-methods"),
                Some("GET, POST, PUT")
            );
            assert_eq!(
                header(&resp, "access-control-allow-headers"),
                Some("authorization, content-type, x-requested-with")
            );
            assert_eq!(header(&resp, "access-control-max-age"), Some("321"));
            assert_eq!(
                header(&resp, "access-control-allow-credentials"),
                Some("true")
            );
            assert!(varies_on_origin(&resp), "{what}");
        }
    }
    let refused: &[&[(&str, &str)]] = &[
        &[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "GET"),
        ],
        &[("origin", "null"), ("access-control-request-method", "GET")],
        &[
            ("origin", "https://app.example/"),
            ("access-control-request-method", "GET"),
        ],
        &[
            ("origin", "https://APP.example"),
            ("access-control-request-method", "GET"),
        ],
        &[
            ("origin", "http://app.example"),
            ("access-control-request-method", "GET"),
        ],
        &[
            ("origin", "https://app.example:443"),
            ("access-control-request-method", "GET"),
        ],
        &[
            ("origin", "https://app.example.evil.example"),
            ("access-control-request-method", "GET"),
        ],
        &[
            ("origin", "https://evil.app.example"),
            ("access-control-request-method", "GET"),
        ],
        &[("origin", APP), ("access-control-request-method", "DELETE")],
        &[("origin", APP), ("access-control-request-method", "get")],
        &[
            ("origin", APP),
            ("access-control-request-method", "GET"),
            (
                "access-control-request-headers",
                "content-type, x-auth-request-user",
            ),
        ],
        &[
            ("origin", APP),
            ("origin", "https://evil.example"),
            ("access-control-request-method", "GET"),
        ],
    ];
    for pairs in refused {
        let resp = preflight(&gw, "/public/x", pairs).await;
        assert_eq!(resp.status(), 403, "{pairs:?}");
        assert_eq!(cors_headers(&resp), Vec::<String>::new(), "{pairs:?}");
        assert!(varies_on_origin(&resp), "{pairs:?}");
    }
    assert!(
        up.requests().iter().all(|s| s.method != "OPTIONS"),
        "a preflight was forwarded"
    );
}

/// The actual request after a preflight is authenticated as any other: 401
/// without a token (readable by the allowed origin), 200 with one; identity
/// headers come only from the gateway. The upstream's `*` never reaches
/// another origin, and `Vary: Origin` is on every answer.
#[tokio::test]
async fn actual_requests_are_authenticated_and_named_exactly() {
    let mut up = generous_upstream().await;
    let gw = gateway(&up, CORS);
    let client = gw.client();
    let (token, fp) = gw.login(&client, ALICE.0, ALICE.1).await;

    for method in [Method::GET, Method::PUT, Method::OPTIONS] {
        let resp = client
            .request(method.clone(), gw.url("/headers"))
            .header("origin", APP)
            .header("x-auth-request-user", "admin")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{method} without a token");
        assert_eq!(header(&resp, "access-control-allow-origin"), Some(APP));
        assert!(varies_on_origin(&resp));
    }
    assert!(
        up.requests().is_empty(),
        "unauthenticated request forwarded"
    );

    let resp = client
        .get(gw.url("/headers"))
        .header("origin", APP)
        .bearer_auth(&token)
        .header("cookie", format!("{FP}={fp}"))
        .header("x-auth-request-user", "admin")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(&resp, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        header(&resp, "access-control-expose-headers"),
        Some("x-total")
    );
    assert!(varies_on_origin(&resp));
    let seen = up.arrival().await;
    assert_eq!(seen.headers["x-auth-request-user"], "alice");
    assert_eq!(
        seen.headers.get_all("x-auth-request-user").iter().count(),
        1
    );

    for origin in [None, Some("https://evil.example"), Some("null")] {
        let mut req = client.get(gw.url("/public/x"));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200, "{origin:?}");
        assert_eq!(cors_headers(&resp), Vec::<String>::new(), "{origin:?}");
        assert!(varies_on_origin(&resp), "{origin:?}");
        up.arrival().await;
    }
}

/// Configured origins pass the CSRF check of the gateway's own endpoints
/// (a same-site app can sign in and out); other origins still do not.
#[tokio::test]
async fn allowed_origins_pass_the_csrf_check() {
    let up = generous_upstream().await;
    let gw = gateway(&up, CORS);
    let login = |origin: &'static str| {
        gw.client()
            .post(gw.url("/auth/login"))
            .header("origin", origin)
            .json(&serde_json::json!({ "username": ALICE.0, "password": ALICE.1 }))
            .send()
    };
    let ok = login(APP).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(header(&ok, "access-control-allow-origin"), Some(APP));
    let evil = login("https://evil.example").await.unwrap();
    assert_eq!(evil.status(), 403);
    assert_eq!(cors_headers(&evil), Vec::<String>::new());
}

/// Without `[cors]` the gateway stays out of it: the upstream's own CORS
/// headers pass, an `OPTIONS` to a public route is forwarded like any
/// request, and to a protected one it needs a token like any request.
#[tokio::test]
async fn without_configuration_upstreams_answer_for_themselves() {
    let up = generous_upstream().await;
    let gw = gateway(&up, "");
    let pairs = [("origin", APP), ("access-control-request-method", "GET")];
    let resp = preflight(&gw, "/public/x", &pairs).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "access-control-allow-origin"), Some("*"));
    assert!(!varies_on_origin(&resp));
    assert_eq!(up.requests().len(), 1);
    assert_eq!(up.requests()[0].method, "OPTIONS");
    let resp = preflight(&gw, "/headers", &pairs).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(up.requests().len(), 1, "protected OPTIONS forwarded");
}

/// Wildcards, `null`, paths and bad methods in `[cors]` stop start-up, each
/// error naming its key.
#[tokio::test]
async fn bad_cors_configuration_is_refused() {
    let up = Upstream::ok().await;
    let failure = Gateway::try_start_with_upstream(
        up.addr,
        r#"
[cors]
allowed_origins = ["*", "https://ok.example", "null", "https://a.example/path"]
allowed_methods = ["TRACE"]
allowed_headers = ["*"]
max_age_secs = 100000
"#,
        &[],
    )
    .err()
    .expect("start-up refused");
    for key in [
        "cors.allowed_origins[0]",
        "cors.allowed_origins[2]",
        "cors.allowed_origins[3]",
        "cors.allowed_methods[0]",
        "cors.allowed_headers[0]",
        "cors.max_age_secs",
    ] {
        assert!(
            failure.logs.contains(key),
            "{key} not named:\n{}",
            failure.logs
        );
    }
    assert!(!failure.logs.contains("cors.allowed_origins[1]"));
}
