//! `portcullis audit headers URL`: the running gateway's answers pass; the
//! bare example upstream, which sets no security header, fails naming them.

use crate::common::Gateway;
use crate::common::audit::audit_json;

/// The gateway's login page (an `/auth/*` answer) passes every header check,
/// with the certificate trusted by file or by `--insecure`.
#[tokio::test(flavor = "multi_thread")]
async fn gateway_passes() {
    let gw = Gateway::start("").await;
    let url = gw.url("/auth/login");
    let cert = gw.path("cert.pem");
    for trust in [vec!["--cacert", cert.to_str().unwrap()], vec!["--insecure"]] {
        let mut args = vec!["audit", "headers", url.as_str()];
        args.extend(trust.iter().copied());
        let a = audit_json(&args);
        assert_eq!(a.code, 0, "{trust:?}: {:#}", a.report);
        for id in [
            "HDR-001", "HDR-002", "HDR-003", "HDR-004", "HDR-005", "HDR-006", "HDR-008",
        ] {
            assert_eq!(a.result(id), "pass", "{id}: {:#}", a.report);
        }
        assert!(a.report["subject"].as_str().unwrap().contains("HTTP 200"));
    }
    // A proxied page of the example app gains the headers too.
    let a = audit_json(&["audit", "headers", &gw.url("/"), "--insecure"]);
    assert_eq!(a.code, 0, "{:#}", a.report);
    assert_eq!(a.result("HDR-006"), "skipped");
    // Only the head is read: a large page is judged like any other.
    let a = audit_json(&["audit", "headers", &gw.url("/bytes/5000000"), "--insecure"]);
    assert_eq!(a.code, 0, "{:#}", a.report);
}

/// The example app alone lacks the headers: exit 1, each one named.
#[tokio::test(flavor = "multi_thread")]
async fn bare_upstream_fails() {
    let (upstream, stop) = crate::common::example_app().await;
    let a = audit_json(&["audit", "headers", &format!("http://{upstream}/")]);
    assert_eq!(a.code, 1, "{:#}", a.report);
    for (id, needle) in [
        ("HDR-001", "Strict-Transport-Security missing"),
        ("HDR-002", "X-Content-Type-Options missing"),
        ("HDR-003", "neither X-Frame-Options nor CSP frame-ancestors"),
        ("HDR-004", "Referrer-Policy missing"),
        ("HDR-005", "Content-Security-Policy missing"),
    ] {
        assert_eq!(a.result(id), "fail", "{id}");
        let detail = a.check(id)["detail"].as_str().unwrap();
        assert!(detail.contains(needle), "{id}: {detail}");
    }
    stop.cancel();
}

/// An unreachable URL or a bad one is a clear error with exit 2.
#[test]
fn unreachable_url_exits_2() {
    let addr = crate::common::unused_addr();
    for url in [format!("http://{addr}/"), "ftp://example.com/".to_owned()] {
        let out = crate::common::cli(&["audit", "headers", &url], &[]);
        assert_eq!(out.status.code(), Some(2), "{url}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(&url), "{url}");
    }
}
