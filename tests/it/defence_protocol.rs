//! Classes 17, 21 and 22 of `cases/attacks.md` beyond `auth_form.rs`,
//! `proxy_hygiene.rs` and `auth_websocket.rs`:
//!
//! - 17: more open-redirect spellings (triple slashes, dot segments before
//!   `//`, escapes of every separator, schemes with odd case or white
//!   space, overlong UTF-8, Unicode white space), through the login page and
//!   the form post;
//! - 21: smuggling shapes that are not all refused outright (odd chunk
//!   sizes, extensions, bare line feeds, a body after `Content-Length: 0`)
//!   must never let a hidden request for a protected path reach the
//!   upstream: the gateway either refuses the framing or sees the hidden
//!   request as a request and authenticates it;
//! - 22: upgrades in every spelling, to protected paths or through a
//!   traversal, are refused before any switch and never reach the upstream;
//! - and method overrides that would carry a `DELETE` through a `GET`-only
//!   route.

use crate::common;

use std::time::Duration;

use common::Gateway;
use common::auth::{ALICE, FP, post_form};
use common::upstream::Upstream;

/// Off-origin return paths not already in `auth_form.rs`.
const OFF_ORIGIN: &[&str] = &[
    "///evil.example",
    "////evil.example",
    "/.//evil.example",
    "/./../evil.example",
    "/x/..//evil.example",
    "/%2e/%2fevil.example",
    "/%2E%2E%2F%2Fevil.example",
    "/\\/evil.example",
    "/%5C%5Cevil.example",
    "/%5c/evil.example",
    "\\/evil.example",
    "/%c0%af/evil.example",
    "/%e0%80%af/evil.example",
    "/%E3%80%80/evil.example",
    "/%C2%A0/evil.example",
    "/%20/evil.example",
    "/%0a/evil.example",
    "/%00/evil.example",
    " //evil.example",
    "\t//evil.example",
    "//\tevil.example",
    "https:evil.example",
    "https:/evil.example",
    "https:\\\\evil.example",
    "/https://evil.example",
    "jAvAsCrIpT:alert(1)",
    "java%0ascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:x",
    "//evil.example%2F@localhost",
    "/%2F%2F%2Fevil.example",
    "/%25%32%46/evil.example",
];

/// Class 17: every spelling becomes `/`, in the login page's hidden field
/// and in the form login's redirect.
#[tokio::test]
async fn open_redirect_spellings_become_root() {
    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let client = gw.client();
    let hidden = r#"<input type="hidden" name="return_to" value="/">"#;
    let mut failures = Vec::new();
    for ret in OFF_ORIGIN {
        let q = common::auth::form(&[("return_to", ret)]);
        let page = client
            .get(gw.url(&format!("/auth/login?{q}")))
            .send()
            .await
            .unwrap();
        let html = page.text().await.unwrap();
        if !html.contains(hidden) || html.contains("evil") {
            failures.push(format!("page {ret:?}"));
        }
        let form = [
            ("username", "alice"),
            ("password", ALICE.1),
            ("return_to", ret),
        ];
        let resp = post_form(&gw, &client, &form).await;
        let location = resp
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        if resp.status() != 303 || location.as_deref() != Some("/") {
            failures.push(format!("form {ret:?}: {} {location:?}", resp.status()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for ok in [
        "/@evil.example",
        "/a?next=//evil.example",
        "/a#//evil.example",
    ] {
        let form = [
            ("username", "alice"),
            ("password", ALICE.1),
            ("return_to", ok),
        ];
        let resp = post_form(&gw, &client, &form).await;
        assert_eq!(resp.headers()["location"], ok, "same-origin {ok} kept");
    }
}

/// The hidden request: a protected path, without credentials.
const HIDDEN: &str = "GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// A chunked `POST /public/t` whose body hides [`HIDDEN`] after the given
/// chunk framing.
fn chunked(framing: &str) -> Vec<u8> {
    format!(
        "POST /public/t HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n{framing}{HIDDEN}"
    )
    .into_bytes()
}

/// Class 21 where the gateway re-frames instead of refusing: whatever the
/// answers (400 for bad framing, 401 for the hidden request seen as one,
/// 200 for the public post), the upstream never receives `/smuggled`, and
/// the gateway serves the next connection normally.
#[tokio::test]
async fn hidden_requests_never_reach_the_upstream() {
    let up = Upstream::ok().await;
    let routes = "[[routes]]\nprefix = \"/\"\nupstream = \"http://{upstream}\"\n\n[[routes]]\nprefix = \"/public\"\nupstream = \"http://{upstream}\"\npolicy = \"public\"\n";
    let gw = Gateway::start_with_upstream(up.addr, routes, &[]).await;
    let mut requests: Vec<Vec<u8>> = [
        "5\r\nhello\r\n0\r\n\r\n",
        "5 \r\nhello\r\n0\r\n\r\n",
        "5;ext=1\r\nhello\r\n0\r\n\r\n",
        "5;\r\nhello\r\n0\r\n\r\n",
        "0x5\r\nhello\r\n0\r\n\r\n",
        "+5\r\nhello\r\n0\r\n\r\n",
        "-5\r\nhello\r\n0\r\n\r\n",
        "5\nhello\n0\n\n",
        "5\r\nhelloXX\r\n0\r\n\r\n",
        "ffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        "0\r\nX-Trailer: a\r\n\r\n",
        "0\r\n\r\n",
        "00000000000000000000000\r\n\r\n",
    ]
    .into_iter()
    .map(chunked)
    .collect();
    requests.push(
        b"POST /public/t HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\n"
            .to_vec(),
    );
    requests.push(
        b"POST /public/t HTTP/1.1\r\nHost: localhost\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"
            .to_vec(),
    );
    requests.push(
        b"POST /public/t HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhelloGET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"
            .to_vec(),
    );
    let exchanges = requests.iter().map(|request| async {
        let mut conn = gw.raw().await;
        let _ = conn.send(request).await;
        // Read whatever comes back until the gateway closes or goes quiet.
        while let Ok(Ok(Some(_))) =
            tokio::time::timeout(Duration::from_secs(3), conn.response()).await
        {}
    });
    futures_util::future::join_all(exchanges).await;
    let targets: Vec<_> = up.requests().into_iter().map(|s| s.target).collect();
    assert!(
        targets.iter().all(|t| t == "/public/t"),
        "a hidden request was forwarded: {targets:?}"
    );
    let resp = gw
        .raw()
        .await
        .roundtrip(&common::raw::get("/public/after", &[]))
        .await;
    assert_eq!(resp.status, 200);
}

/// Class 22: upgrade requests in every spelling to protected paths,
/// without or with bad credentials, are answered 400 or 401 (never 101)
/// and never reach the upstream.
#[tokio::test]
async fn upgrades_are_authenticated_first() {
    let up = Upstream::ok().await;
    let gw = {
        let dir = tempfile::tempdir().expect("tempdir");
        common::auth::write_users(&dir.path().join("users.toml"), &[ALICE], &[]);
        let routes = common::auth::routes(up.addr);
        Gateway::start_in(dir, up.addr, &routes, &[])
    };
    let (token, _) = gw.login(&gw.client(), ALICE.0, ALICE.1).await;
    let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13";
    let origin = format!("Origin: {}", gw.origin());
    let shapes = [
        "Upgrade: websocket\r\nConnection: Upgrade",
        "Upgrade: WebSocket\r\nConnection: upgrade",
        "Upgrade: websocket\r\nConnection: keep-alive, Upgrade",
        "Upgrade: websocket, foo/2\r\nConnection: Upgrade",
        "Upgrade: foo\r\nConnection: Upgrade",
        "upgrade: websocket\r\nconnection: UPGRADE",
    ];
    let credentials = [
        String::new(),
        format!("Authorization: Bearer {token}"),
        format!("Authorization: Bearer {token}\r\nCookie: {FP}=wrong"),
        "Authorization: Bearer a.b.c".to_string(),
    ];
    let mut failures = Vec::new();
    for path in [
        "/ws",
        "/admin/ws",
        "/public/../ws",
        "/public/%2e%2e/admin/ws",
    ] {
        for shape in shapes {
            for cred in &credentials {
                let request = format!(
                    "GET {path} HTTP/1.1\r\nHost: localhost\r\n{origin}\r\n{shape}\r\n{key}\r\n{cred}\r\n\r\n"
                )
                .replace("\r\n\r\n\r\n", "\r\n\r\n");
                let mut conn = gw.raw().await;
                let _ = conn.send(request.as_bytes()).await;
                let status = conn.response().await.ok().flatten().map(|r| r.status);
                if !matches!(status, Some(400 | 401)) {
                    failures.push(format!("{path} {shape:?} {cred:.20}: {status:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(up.requests().is_empty(), "an upgrade reached the upstream");
}

/// A route restricted to `GET` cannot be reached with a method override
/// (`X-HTTP-Method-Override` and friends, `?_method=`) that the upstream's
/// framework would honour as `DELETE`; a plain `GET` passes.
#[tokio::test]
async fn method_overrides_cannot_pass_a_method_restriction() {
    let up = Upstream::ok().await;
    let routes = "[[routes]]\nprefix = \"/\"\nupstream = \"http://{upstream}\"\npolicy = \"public\"\nmethods = [\"GET\"]\n";
    let gw = Gateway::start_with_upstream(up.addr, routes, &[]).await;
    let client = gw.client();
    for (header, query) in [
        (Some(("X-HTTP-Method-Override", "DELETE")), ""),
        (Some(("X-HTTP-Method", "put")), ""),
        (Some(("X-Method-Override", "PATCH")), ""),
        (Some(("X-HTTP-Method-Override", "GET, DELETE")), ""),
        (None, "?_method=DELETE"),
        (None, "?x=1&_METHOD=post"),
    ] {
        let mut req = client.get(gw.url(&format!("/items/1{query}")));
        if let Some((name, value)) = header {
            req = req.header(name, value);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 405, "{header:?} {query}");
        assert_eq!(resp.headers()["allow"], "GET");
    }
    assert!(up.requests().is_empty(), "an override reached the upstream");
    let ok = client
        .get(gw.url("/items/1?_method=GET"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}
