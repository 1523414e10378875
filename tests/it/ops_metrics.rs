//! `/metrics` through the real binary: a login that fails, one that
//! succeeds, a refresh and a proxied request, then a scrape parsed as
//! OpenMetrics text with the expected series and increments.

use crate::common;

use common::Gateway;
use common::ops::{PASSWORD, PROTECTED, Samples, USER, set_cookies};

/// A signed-in client's credentials.
struct Signed {
    token: String,
    cookies: std::collections::HashMap<String, String>,
}

/// Signs in as [`USER`].
async fn sign_in(gw: &Gateway) -> Signed {
    let resp = gw.login_response(USER, PASSWORD).await;
    assert_eq!(resp.status(), 200);
    let cookies = set_cookies(&resp);
    let body: serde_json::Value = resp.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap().to_string();
    Signed { token, cookies }
}

/// Runs the flow whose effects the scrape must show: one failed and one
/// successful login, a refresh and an authenticated proxied request.
async fn flow(gw: &Gateway) -> Signed {
    assert_eq!(
        gw.login_response(USER, "not the password at all")
            .await
            .status(),
        401
    );
    let signed = sign_in(gw).await;
    let rt = &signed.cookies["__Host-portcullis-rt"];
    let refreshed = gw
        .client()
        .post(gw.url("/auth/refresh"))
        .header("cookie", format!("__Host-portcullis-rt={rt}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    let fp = &signed.cookies["__Host-portcullis-fp"];
    let proxied = gw
        .client()
        .get(gw.url(PROTECTED))
        .bearer_auth(&signed.token)
        .header("cookie", format!("__Host-portcullis-fp={fp}"))
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 200);
    signed
}

/// A series (name, labels) and the increment a flow must cause.
type Increment = (&'static str, &'static [(&'static str, &'static str)], f64);

/// The counters a flow moves, with the increment it must cause.
const INCREMENTS: &[Increment] = &[
    ("auth_login_attempts_total", &[("status", "success")], 1.0),
    ("auth_login_attempts_total", &[("status", "failure")], 1.0),
    (
        "auth_requests_total",
        &[("endpoint", "login"), ("status", "200")],
        1.0,
    ),
    (
        "auth_requests_total",
        &[("endpoint", "login"), ("status", "401")],
        1.0,
    ),
    (
        "auth_requests_total",
        &[("endpoint", "refresh"), ("status", "200")],
        1.0,
    ),
    (
        "auth_requests_total",
        &[("endpoint", "verify"), ("status", "200")],
        1.0,
    ),
    ("auth_token_refreshes_total", &[("status", "success")], 1.0),
    ("auth_token_refreshes_total", &[("status", "reused")], 0.0),
    ("auth_token_reuse_detections_total", &[], 0.0),
    (
        "auth_request_duration_seconds_count",
        &[("endpoint", "login")],
        2.0,
    ),
    (
        "auth_request_duration_seconds_count",
        &[("endpoint", "verify")],
        1.0,
    ),
    (
        "auth_password_hash_duration_seconds_count",
        &[("op", "verify")],
        2.0,
    ),
    ("auth_jwt_sign_duration_seconds_count", &[], 2.0),
    ("auth_jwt_verify_duration_seconds_count", &[], 1.0),
    (
        "portcullis_upstream_responses_total",
        &[("route", PROTECTED), ("status", "200")],
        1.0,
    ),
    (
        "portcullis_upstream_duration_seconds_count",
        &[("route", PROTECTED)],
        1.0,
    ),
];

/// Two scrapes around a flow: every expected series is present, counters
/// moved by exactly the flow's amounts, histograms have buckets, the gauges
/// make sense, and no user name, token, session id or address is a label.
#[tokio::test]
async fn scrape_after_a_flow() {
    let gw = Gateway::start_with_user("").await;
    let (content_type, before) = gw.scrape().await;
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let before = Samples::parse(&before);
    let signed = flow(&gw).await;
    let _held_open = gw.tls_stream().await;
    let (_, text) = gw.scrape().await;
    let after = Samples::parse(&text);
    for (name, labels, delta) in INCREMENTS {
        let now = after
            .get(name, labels)
            .unwrap_or_else(|| panic!("{name}{labels:?} missing from:\n{text}"));
        assert_eq!(
            now - before.or_zero(name, labels),
            *delta,
            "{name}{labels:?}"
        );
    }
    assert_histograms(&text, &after);
    assert!(after.get("portcullis_open_connections", &[]).unwrap() >= 1.0);
    assert!(after.get("auth_active_sessions", &[]).unwrap() >= 0.0);
    let days = after
        .get("portcullis_tls_certificate_expiry_days", &[])
        .unwrap();
    assert!(
        (89.0..=90.1).contains(&days),
        "certificate expiry {days} days"
    );
    for secret in [USER, signed.token.as_str(), "127.0.0.1"] {
        assert!(!text.contains(secret), "{secret} appears in the scrape");
    }
    for value in signed.cookies.values() {
        assert!(
            !text.contains(value.as_str()),
            "a cookie value appears in the scrape"
        );
    }
}

/// Every duration series is a typed histogram with `le` buckets up to
/// `+Inf` whose last bucket equals the count.
fn assert_histograms(text: &str, after: &Samples) {
    for name in [
        "auth_request_duration_seconds",
        "auth_password_hash_duration_seconds",
        "auth_jwt_sign_duration_seconds",
        "auth_jwt_verify_duration_seconds",
        "portcullis_upstream_duration_seconds",
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} histogram\n")),
            "{name} type"
        );
        let buckets = text
            .lines()
            .filter(|l| l.starts_with(&format!("{name}_bucket{{")))
            .count();
        assert!(buckets > 10, "{name}: {buckets} bucket lines");
    }
    let login = [("endpoint", "login")];
    let inf = [("endpoint", "login"), ("le", "+Inf")];
    assert_eq!(
        after.get("auth_request_duration_seconds_bucket", &inf),
        after.get("auth_request_duration_seconds_count", &login),
    );
    assert!(text.ends_with("# EOF\n"));
}
