//! Header attack classes 13-16 of `cases/attacks.md` beyond
//! `proxy_headers.rs`, `auth_verify.rs` and `session_refresh.rs`:
//!
//! - 13: identity headers hidden in chunked trailers, removed through
//!   `Connection` (a hop-by-hop trick against the gateway's own headers),
//!   repeated, or spelled like a configured custom header;
//! - 14: forwarded headers from an untrusted client never steer a decision
//!   (the per-IP login limit), a trusted proxy's chain is read from the
//!   right, and IPv6 clients are counted per /64;
//! - 15: redirects, the login page and token issuers ignore `Host`,
//!   `X-Forwarded-Host`, `Forwarded` and absolute-form targets;
//! - 16: the access cookie or the refresh cookie twice (inline refresh,
//!   logout) is refused, never first-wins or last-wins, and consumes nothing.

use crate::common;

use common::Gateway;
use common::auth::{ALICE, AT, FP, routes, write_users};
use common::raw;
use common::session::Jar;
use common::upstream::Upstream;
use portcullis::auth::cookie_names::REFRESH;

const PUBLIC_URL: &str = "[server]\npublic_url = \"https://gateway.example.test\"\n";

/// A gateway with alice and the auth routes in front of `up`, plus `extra`.
fn gateway(up: &Upstream, extra: &str) -> Gateway {
    let dir = tempfile::tempdir().expect("tempdir");
    write_users(&dir.path().join("users.toml"), &[ALICE], &[]);
    Gateway::start_in(dir, up.addr, &format!("{}\n{extra}", routes(up.addr)), &[])
}

/// Class 13: identity in chunked trailers never arrives; a `Connection`
/// header naming the identity or forwarded headers cannot remove the
/// gateway's own; repeated or custom-named identity headers arrive exactly
/// once, with the gateway's value.
#[tokio::test]
async fn identity_cannot_be_smuggled_or_removed() {
    let mut up = Upstream::ok().await;
    let extra = "[identity]\nuser_header = \"My-User\"\n";
    let gw = gateway(&up, extra);
    let (token, fp) = gw.login(&gw.client(), ALICE.0, ALICE.1).await;
    let auth = format!("Authorization: Bearer {token}");
    let cookie = format!("Cookie: {FP}={fp}");

    let trailer = "POST /public/t HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nTrailer: X-Auth-Request-User\r\n\r\n3\r\nabc\r\n0\r\nX-Auth-Request-User: admin\r\nMy-User: admin\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n";
    let resp = gw.raw().await.roundtrip(trailer.as_bytes()).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    let seen = up.arrival().await;
    assert!(seen.headers.get("x-auth-request-user").is_none());
    assert!(seen.headers.get("my-user").is_none());
    assert_eq!(seen.headers["x-forwarded-for"], "127.0.0.1");

    let cases: &[&[&str]] = &[
        &["Connection: My-User, X-Auth-Request-Roles, X-Forwarded-For, X-Auth-Request-Session"],
        &["Connection: keep-alive", "Connection: my-user"],
        &["My-User: admin", "My-User: root"],
        &["my_user: admin", "MY.USER: admin", "My-USER: admin"],
        &["X-Auth-Request-User: admin", "X-Auth-Request-User: admin"],
        &["X-Auth-Request-Roles: admin", "x_auth_request_roles: root"],
    ];
    for lines in cases {
        let mut all = vec![auth.as_str(), cookie.as_str()];
        all.extend_from_slice(lines);
        let resp = gw.raw().await.roundtrip(&raw::get("/x", &all)).await;
        assert_eq!(resp.status, 200, "{lines:?}");
        let h = up.arrival().await.headers;
        let users: Vec<_> = h.get_all("my-user").iter().collect();
        assert_eq!(users, ["alice"], "{lines:?}");
        assert_eq!(
            h.get_all("x-auth-request-roles").iter().collect::<Vec<_>>(),
            ["admin"]
        );
        assert!(h.get("x-auth-request-session").is_some(), "{lines:?}");
        assert_eq!(h["x-forwarded-for"], "127.0.0.1", "{lines:?}");
        for (name, _) in &h {
            let n = name.as_str().replace(['_', '.'], "-");
            let identity = n == "my-user" || n.starts_with("x-auth-");
            assert!(!identity || name.as_str() == n, "{lines:?}: {name}");
        }
    }
}

/// One JSON login attempt for `user` with extra header lines; the status.
async fn login_status(gw: &Gateway, user: &str, headers: &[(&str, String)]) -> u16 {
    let mut req = gw
        .client()
        .post(gw.url("/auth/login"))
        .json(&serde_json::json!({ "username": user, "password": "wrong-password-1" }));
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    req.send().await.unwrap().status().as_u16()
}

/// Class 14 in decisions: from an untrusted peer, rotating `X-Forwarded-For`,
/// `X-Real-IP` or `Forwarded` does not escape the per-IP login limit; from
/// a trusted proxy the client is the rightmost untrusted entry, so spoofed
/// entries to its left change nothing; IPv6 clients share a /64 budget.
#[tokio::test]
async fn forwarded_headers_never_escape_the_ip_limit() {
    let up = Upstream::ok().await;
    let limit = "[rate_limit]\nlogin_per_ip = 3\nlogin_per_account = 1000\n";
    let gw = gateway(&up, limit);
    let mut statuses = Vec::new();
    for i in 0..5 {
        let spoof = vec![
            ("x-forwarded-for", format!("10.0.0.{i}")),
            ("x-real-ip", format!("10.1.0.{i}")),
            ("forwarded", format!("for=10.2.0.{i}")),
            ("true-client-ip", format!("10.3.0.{i}")),
        ];
        statuses.push(login_status(&gw, &format!("user{i}"), &spoof).await);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429], "untrusted peer");

    let trusted = format!("{limit}[server]\ntrusted_proxies = [\"127.0.0.1/32\"]\n");
    let gw = gateway(&up, &trusted);
    let mut statuses = Vec::new();
    for i in 0..5 {
        let chain = vec![("x-forwarded-for", format!("10.9.{i}.1, 203.0.113.50"))];
        statuses.push(login_status(&gw, "bob", &chain).await);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429], "spoofed left entries");
    let other = vec![("x-forwarded-for", "203.0.113.51".to_string())];
    assert_eq!(
        login_status(&gw, "bob", &other).await,
        401,
        "another client"
    );

    let mut statuses = Vec::new();
    for i in 0..5 {
        let v6 = vec![("x-forwarded-for", format!("2001:db8:7:7:{i:x}::1"))];
        statuses.push(login_status(&gw, "carol", &v6).await);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429], "one /64");
    let next = vec![("x-forwarded-for", "2001:db8:7:8::1".to_string())];
    assert_eq!(login_status(&gw, "carol", &next).await, 401, "another /64");
}

/// Class 15: a hostile `Host`, `X-Forwarded-Host`, `X-Forwarded-Proto`,
/// `Forwarded` or absolute-form target never appears in the login redirect,
/// the login page, the token issuer or the upstream's `Host`, from a client
/// or from a trusted proxy.
#[tokio::test]
async fn absolute_urls_come_from_configuration() {
    let mut up = Upstream::ok().await;
    for extra in [
        PUBLIC_URL.to_string(),
        format!("{PUBLIC_URL}trusted_proxies = [\"127.0.0.1/32\"]\n"),
    ] {
        let gw = gateway(&up, &extra);
        let hostile = [
            "Host: evil.example",
            "X-Forwarded-Host: evil.example",
            "X-Forwarded-Proto: http",
            "Forwarded: host=evil.example;proto=http",
            "X-Original-Host: evil.example",
            "Accept: text/html",
        ];
        for target in [
            "/dashboard",
            "https://evil.example/dashboard",
            "/auth/login?return_to=/x",
        ] {
            let resp = gw.raw().await.roundtrip(&raw::get(target, &hostile)).await;
            let location = resp.header("location").unwrap_or("");
            assert!(
                !location.contains("evil") && !resp.text().contains("evil"),
                "{target}"
            );
            assert!(!location.contains("http:"), "{target}: {location}");
            if resp.status == 303 {
                assert!(location.starts_with("/auth/login?return_to="), "{location}");
            } else {
                assert_eq!(resp.status, 200, "{target}");
            }
        }
        let login = format!(
            "POST /auth/login HTTP/1.1\r\nHost: evil.example\r\nX-Forwarded-Host: evil.example\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
            r#"{"username":"alice","password":"password-alice-123"}"#.len(),
            r#"{"username":"alice","password":"password-alice-123"}"#
        );
        let resp = gw.raw().await.roundtrip(login.as_bytes()).await;
        assert_eq!(resp.status, 200, "{}", resp.text());
        let token = resp.json()["access_token"].as_str().unwrap().to_string();
        let (_, claims, _) = common::jose::split(&token);
        assert_eq!(claims["iss"], "https://gateway.example.test");
        let fp = resp
            .headers
            .iter()
            .find_map(|(n, v)| (n == "set-cookie" && v.starts_with(FP)).then(|| v.clone()))
            .unwrap();
        let fp = fp.split(';').next().unwrap().to_string();
        let auth = format!("Authorization: Bearer {token}");
        let cookie = format!("Cookie: {fp}");
        let lines = [&hostile[..5], &[auth.as_str(), cookie.as_str()]].concat();
        let resp = gw.raw().await.roundtrip(&raw::get("/x", &lines)).await;
        assert_eq!(resp.status, 200);
        assert_eq!(up.arrival().await.headers["host"], "gateway.example.test");
    }
}

/// Class 16 for the other two cookies: the access cookie twice is refused;
/// the refresh cookie twice neither refreshes inline nor logs out, and the
/// token is not consumed (it still works alone afterwards).
#[tokio::test]
async fn duplicate_access_and_refresh_cookies_are_refused() {
    let up = Upstream::ok().await;
    let gw = gateway(&up, "");
    let s = gw.sign_in(ALICE).await;
    let other = gw.sign_in(ALICE).await;
    let (at, fp, rt) = (s.jar.at(), s.jar.fp(), s.jar.rt());
    let get = |cookie: String| {
        gw.client()
            .get(gw.url("/x"))
            .header("cookie", cookie)
            .send()
    };
    for (what, cookie) in [
        ("access twice", format!("{FP}={fp}; {AT}={at}; {AT}={at}")),
        (
            "access, other access",
            format!("{FP}={fp}; {AT}={at}; {AT}={}", other.jar.at()),
        ),
        (
            "other access first",
            format!("{FP}={fp}; {AT}={}; {AT}={at}", other.jar.at()),
        ),
        (
            "access padded",
            format!("{FP}={fp}; {AT}={at};  {AT} ={at}"),
        ),
        (
            "refresh twice",
            format!("{FP}={fp}; {REFRESH}={rt}; {REFRESH}={rt}"),
        ),
        (
            "refresh, other refresh",
            format!("{REFRESH}={rt}; {REFRESH}={}", other.jar.rt()),
        ),
        (
            "garbage refresh first",
            format!("{REFRESH}=x.y; {REFRESH}={rt}"),
        ),
    ] {
        let resp = get(cookie).await.unwrap();
        assert_eq!(resp.status(), 401, "{what}");
        assert!(
            resp.headers().get("set-cookie").is_none(),
            "{what}: cookies issued"
        );
    }
    let twice = Jar::default().with(FP, fp).with(REFRESH, rt);
    let logout = gw
        .client()
        .post(gw.url("/auth/logout"))
        .header("origin", gw.origin())
        .header("cookie", format!("{}; {REFRESH}={rt}", twice.header()))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 401, "logout with the refresh cookie twice");
    let alone = s.jar.only(&[FP, REFRESH]);
    let resp = gw
        .client()
        .get(gw.url("/x"))
        .header("cookie", alone.header())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the refresh token was not consumed");
}
