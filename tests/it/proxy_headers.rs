//! Header rewriting through the real binary: hop-by-hop headers both ways,
//! identity spoofing in every spelling (class 13), forwarded-header trust
//! (class 14), the gateway's own cookies, security headers and software
//! banners.

use crate::common;

use common::Gateway;
use common::raw::{self, RawResponse};
use common::upstream::{Reply, Upstream};

const PUBLIC_URL: &str = "[server]\npublic_url = \"https://gateway.example.test\"\n";

/// `GET /headers` over a raw connection with the given header lines; the
/// example app's view of the request.
async fn upstream_view(gw: &Gateway, headers: &[&str]) -> serde_json::Value {
    let resp = gw
        .raw()
        .await
        .roundtrip(&raw::get("/headers", headers))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()["headers"].clone()
}

/// A header name as frameworks may read it: lowercase, `_` and `.` as `-`.
fn canonical(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// Hop-by-hop headers, fixed and `Connection`-listed, never reach the
/// upstream; an ordinary header does.
#[tokio::test]
async fn hop_by_hop_request_headers_are_dropped() {
    let gw = Gateway::start("").await;
    let seen = upstream_view(
        &gw,
        &[
            "Connection: keep-alive, X-Custom-Hop, x-other-hop",
            "X-Custom-Hop: secret",
            "X-Other-Hop: secret",
            "Keep-Alive: timeout=5",
            "TE: trailers",
            "Trailer: X-Foo",
            "Proxy-Authorization: Basic Zm9vOmJhcg==",
            "Proxy-Connection: keep-alive",
            "Upgrade: websocket",
            "X-Kept: yes",
        ],
    )
    .await;
    for gone in [
        "x-custom-hop",
        "x-other-hop",
        "keep-alive",
        "te",
        "trailer",
        "proxy-authorization",
        "proxy-connection",
        "upgrade",
    ] {
        assert!(
            seen.get(gone).is_none(),
            "{gone} reached the upstream: {seen}"
        );
    }
    if let Some(c) = seen.get("connection") {
        assert!(
            !c.to_string().to_ascii_lowercase().contains("hop"),
            "{seen}"
        );
    }
    assert_eq!(seen["x-kept"], "yes");
}

/// Every spelling of an identity or forwarding header is stripped; the
/// upstream sees only what the gateway sets.
#[tokio::test]
async fn identity_spoofing_never_reaches_upstream() {
    let gw = Gateway::start(PUBLIC_URL).await;
    let spoofs = [
        "X-Auth-Request-User: spoof",
        "x-auth-request-user: spoof",
        "x_auth_request_user: spoof",
        "X.Auth.Request.User: spoof",
        "X_Auth-Request.User: spoof",
        "X-AUTH-REQUEST-EMAIL: spoof@evil.example",
        "X-Auth-Request-Roles: spoof",
        "X-Auth-Request-Session: spoof",
        "X-Auth-Request-Groups: spoof",
        "X-Auth-Anything: spoof",
        "X-Forwarded-User: spoof",
        "X_Forwarded_Email: spoof",
        "X-Forwarded-Access-Token: spoof",
        "x_forwarded_for: spoof",
        "Forwarded: for=spoof;host=spoof",
        "X-Real-IP: spoof",
        "X_Real_Ip: spoof",
        "X-Remote-User: spoof",
        "Remote-User: spoof",
        "X-Original-URI: /spoof",
    ];
    for spoof in spoofs {
        let seen = upstream_view(&gw, &[spoof, spoof]).await;
        let text = seen.to_string();
        assert!(
            !text.contains("spoof"),
            "{spoof:?} reached the upstream: {text}"
        );
        for (name, _) in seen.as_object().unwrap() {
            let n = canonical(name);
            assert!(
                !n.starts_with("x-auth-")
                    && !["forwarded", "x-real-ip", "x-remote-user", "remote-user"]
                        .contains(&n.as_str()),
                "{spoof:?}: upstream saw {name}"
            );
        }
    }
    // The same over HTTP/2, where names arrive lowercase.
    let h2 = gw.client_builder().http2_prior_knowledge().build().unwrap();
    let resp = h2
        .get(gw.url("/headers"))
        .header("x-auth-request-user", "spoof")
        .header("x_auth_request_user", "spoof")
        .header("x.auth.request.email", "spoof")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(!body.to_string().contains("spoof"), "{body}");
}

/// From an untrusted client `X-Forwarded-For/-Proto/-Host` are replaced
/// (not appended to) and `Host` is the configured origin; from a trusted
/// proxy the chain is appended to and its proto and host kept, while
/// identity headers are still stripped.
#[tokio::test]
async fn forwarded_headers_replaced_unless_peer_trusted() {
    let sent = [
        "X-Forwarded-For: 203.0.113.7, 198.51.100.1",
        "X-Forwarded-Proto: http",
        "X-Forwarded-Host: evil.example",
        "X-Auth-Request-User: spoof",
        "X-Forwarded-User: spoof",
        "X-Request-Id: abc-123",
    ];
    let trusted = format!("{PUBLIC_URL}trusted_proxies = [\"127.0.0.1/32\"]\n");
    // (config, X-Forwarded-For, -Proto, -Host) the upstream must see.
    let cases = [
        (
            PUBLIC_URL.to_string(),
            "127.0.0.1",
            "https",
            "gateway.example.test",
        ),
        (
            trusted,
            "203.0.113.7, 198.51.100.1, 127.0.0.1",
            "http",
            "evil.example",
        ),
    ];
    for (config, xff, proto, host) in cases {
        let gw = Gateway::start(&config).await;
        let mut conn = gw.raw().await;
        let resp = conn
            .roundtrip(&raw::get(
                "/headers",
                &[&sent[..], &["Host: evil.example"]].concat(),
            ))
            .await;
        let seen = &resp.json()["headers"];
        assert_eq!(seen["x-forwarded-for"], xff, "{config}");
        assert_eq!(seen["x-forwarded-proto"], proto, "{config}");
        assert_eq!(seen["x-forwarded-host"], host, "{config}");
        assert_eq!(seen["host"], "gateway.example.test", "{config}");
        assert!(!seen.to_string().contains("spoof"), "{config}: {seen}");
        // A well-formed request id is kept, passed on and echoed.
        assert_eq!(seen["x-request-id"], "abc-123");
        assert_eq!(resp.header("x-request-id"), Some("abc-123"));
    }
}

/// The gateway's own cookies never reach the upstream, in one `Cookie`
/// header or several; other cookies do, in order.
#[tokio::test]
async fn gateway_cookies_are_removed() {
    let gw = Gateway::start("").await;
    let cases: &[(&[&str], Option<&str>)] = &[
        (
            &[
                "Cookie: a=1; __Host-portcullis-fp=x; b=2; __Host-portcullis-at=y; __Host-portcullis-rt=z",
            ],
            Some("a=1; b=2"),
        ),
        (
            &[
                "Cookie: __Host-portcullis-fp=x; a=1",
                "Cookie: __Host-portcullis-rt=z; b=2",
            ],
            Some("a=1; b=2"),
        ),
        (
            &["Cookie: __Host-portcullis-fp=1; __Host-portcullis-fp=2; __Host-portcullis-at=y"],
            None,
        ),
        (
            &["Cookie: session=abc; theme=dark"],
            Some("session=abc; theme=dark"),
        ),
    ];
    for (headers, want) in cases {
        let seen = upstream_view(&gw, headers).await;
        assert!(
            !seen.to_string().contains("portcullis"),
            "{headers:?}: {seen}"
        );
        match want {
            Some(w) => assert_eq!(seen["cookie"], *w, "{headers:?}"),
            None => assert!(seen.get("cookie").is_none(), "{headers:?}: {seen}"),
        }
    }
}

/// The default security headers, exactly.
fn assert_security_headers(resp: &RawResponse, what: &str) {
    assert_eq!(
        resp.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains"),
        "{what}"
    );
    assert_eq!(
        resp.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(resp.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(
        resp.header("referrer-policy"),
        Some("strict-origin-when-cross-origin"),
        "{what}"
    );
    let csp = resp.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("default-src 'self'"), "{what}: CSP {csp:?}");
    assert!(resp.header("server").is_none(), "{what}");
}

/// Security headers sit on proxied answers and on the gateway's own;
/// `Cache-Control: no-store` only on its own.
#[tokio::test]
async fn security_headers_on_proxied_and_own_responses() {
    let gw = Gateway::start("").await;
    let mut conn = gw.raw().await;
    let proxied = conn.roundtrip(&raw::get("/headers", &[])).await;
    assert_eq!(proxied.status, 200);
    assert_security_headers(&proxied, "proxied");
    assert_ne!(proxied.header("cache-control"), Some("no-store"));
    for target in [
        "/.well-known/jwks.json",
        "/auth/login",
        "/a%2Fb",
        "/auth/nothing",
    ] {
        let own = gw.raw().await.roundtrip(&raw::get(target, &[])).await;
        assert_security_headers(&own, target);
        assert_eq!(own.header("cache-control"), Some("no-store"), "{target}");
    }
}

/// An upstream's own CSP and frame options are kept unless
/// `override_upstream = true`; its software banners and hop-by-hop headers
/// are removed either way.
#[tokio::test]
async fn upstream_headers_kept_or_overridden() {
    let up = Upstream::start(|_| Reply {
        headers: vec![
            (
                "content-security-policy",
                "default-src 'none'; upstream-own",
            ),
            ("x-frame-options", "SAMEORIGIN"),
            ("server", "Apache/2.4.1 (Unix)"),
            ("x-powered-by", "PHP/5.6.40"),
            ("x-aspnet-version", "4.0.30319"),
            ("connection", "x-up-hop"),
            ("x-up-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("proxy-authenticate", "Basic"),
            ("x-app", "kept"),
        ],
        body: b"hello".to_vec(),
        ..Reply::default()
    })
    .await;
    for (overrides, csp, frame) in [
        (false, "default-src 'none'; upstream-own", "SAMEORIGIN"),
        (true, "default-src 'self'", "DENY"),
    ] {
        let config = format!("[headers]\noverride_upstream = {overrides}\n");
        let gw = Gateway::start_with_upstream(up.addr, &config, &[]).await;
        let resp = gw.raw().await.roundtrip(&raw::get("/page", &[])).await;
        assert_eq!(resp.status, 200);
        assert_eq!(resp.text(), "hello");
        let got = resp.header("content-security-policy").unwrap_or_default();
        assert!(got.starts_with(csp), "override {overrides}: CSP {got:?}");
        assert_eq!(
            resp.header("x-frame-options"),
            Some(frame),
            "override {overrides}"
        );
        for gone in [
            "server",
            "x-powered-by",
            "x-aspnet-version",
            "x-up-hop",
            "keep-alive",
            "proxy-authenticate",
        ] {
            assert!(
                resp.header(gone).is_none(),
                "override {overrides}: {gone} passed"
            );
        }
        assert_eq!(resp.header("x-app"), Some("kept"));
        assert!(resp.header("strict-transport-security").is_some());
    }
}

/// Configured values replace the defaults, and `""` turns a header off.
#[tokio::test]
async fn configured_security_headers_apply() {
    let gw = Gateway::start(
        "[headers]\ncontent_security_policy = \"default-src 'none'\"\nframe_options = \"\"\n",
    )
    .await;
    for target in ["/headers", "/.well-known/jwks.json"] {
        let resp = gw.raw().await.roundtrip(&raw::get(target, &[])).await;
        assert_eq!(
            resp.header("content-security-policy"),
            Some("default-src 'none'"),
            "{target}"
        );
        assert!(resp.header("x-frame-options").is_none(), "{target}");
        assert_eq!(
            resp.header("x-content-type-options"),
            Some("nosniff"),
            "{target}"
        );
    }
}
