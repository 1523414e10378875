//! Attack classes 11-14 of `cases/attacks.md` against `/auth/verify`,
//! table-driven through the real binary: forwarded headers from untrusted
//! peers, path and query tricks in `X-Forwarded-Uri`, method confusion,
//! host confusion, and identity headers a client tries to slip in.

use crate::common;

use common::auth::{ALICE, BOB};
use common::forward_auth::{Creds, PUBLIC_URL, error_code, identity_of, start};

/// Request headers of one case, repeats kept.
type Headers<'a> = &'a [(&'a str, &'a str)];

/// Header sets a client (not the trusted proxy) sends to make `/auth/verify`
/// believe a public path, a harmless method, another host, or that it is
/// the proxy itself. Every one is 400 `untrusted_peer`, with or without a
/// valid token, and never carries identity.
const UNTRUSTED: &[&[(&str, &str)]] = &[
    &[],
    &[("x-forwarded-uri", "/public/x")],
    &[
        ("X-Forwarded-Uri", "/public/x"),
        ("x-forwarded-method", "GET"),
    ],
    &[("x-original-uri", "/public/x")],
    &[("x-original-method", "GET"), ("x-original-uri", "/public/")],
    &[("x_forwarded_uri", "/public/x")],
    &[("x.forwarded.uri", "/public/x")],
    &[("x-original-url", "/public/x")],
    &[("x-rewrite-url", "/public/x")],
    &[("x-forwarded-host", "app.example")],
    &[
        ("x-forwarded-for", "127.0.0.2"),
        ("x-forwarded-uri", "/public/"),
    ],
    &[("x-real-ip", "127.0.0.2"), ("x-forwarded-uri", "/public/")],
    &[
        ("forwarded", "for=127.0.0.2;host=app.example"),
        ("x-forwarded-uri", "/public/"),
    ],
    &[
        ("x-forwarded-proto", "https"),
        ("x-forwarded-uri", "/public/"),
    ],
    &[
        ("x-auth-request-user", "alice"),
        ("x-forwarded-uri", "/admin"),
    ],
];

/// Class 14: only the configured proxy is believed; everybody else is
/// refused outright whatever it claims, and that is logged.
#[tokio::test]
async fn untrusted_peers_are_refused() {
    let gw = start().await;
    let alice = gw.creds(ALICE).await;
    let client = gw.client();
    for headers in UNTRUSTED {
        for creds in [None, Some(&alice)] {
            let resp = gw.verify_as(&client, "GET", "", headers, creds).await;
            assert_eq!(resp.status(), 400, "{headers:?} token={}", creds.is_some());
            assert!(identity_of(&resp).is_empty(), "{headers:?}");
            assert_eq!(error_code(resp).await, "untrusted_peer", "{headers:?}");
        }
    }
    gw.wait_for_log(&["auth.security.untrusted_forward_auth", "127.0.0.1"])
        .await;
}

/// Classes 11 and 12: forwarded targets that try to reach `/` or `/admin`
/// through the public rule: traversal in every spelling, encoded
/// separators, double encoding, overlong UTF-8, parameters, query and
/// fragment tricks. Without a token each is 400 or 401, never 200.
const PATH_ATTACKS: &[&str] = &[
    "/public/../admin",
    "/public/..%2Fadmin",
    "/public/..%2fadmin",
    "/public/%2e%2e/admin",
    "/public/%2E%2E/admin",
    "/public/.%2e/admin",
    "/public/%2e./admin",
    "/public/./../admin",
    "/public/x/../../admin",
    "/public//../admin",
    "/public/..",
    "/public/.",
    "/./public/../admin",
    "/public/..;/admin",
    "/public/.;/admin",
    "/public;x/../admin",
    "/public%3B/../admin",
    "/public%2Fadmin",
    "/public%5Cadmin",
    "/public/..%5Cadmin",
    "/public\\..\\admin",
    "/public/%00/../admin",
    "/public/%252e%252e/admin",
    "/public/%252fadmin",
    "/public/%c0%ae%c0%ae/admin",
    "/public/%zz",
    "/public/%",
    "/public/..%09/admin",
    "/admin?x=/public/",
    "/admin?/public",
    "/admin%3F/public",
    "/admin%23/public",
    "/admin#/public",
    "/admin/public",
    "/PUBLIC/x",
    "/publicx",
    "public/x",
    "*",
    "https://app.example/public/",
    "//app.example/public/../admin",
];

#[tokio::test]
async fn path_tricks_never_reach_the_public_rule() {
    let gw = start().await;
    for uri in PATH_ATTACKS {
        let resp = gw.verify(uri, None).await;
        assert!(
            matches!(resp.status().as_u16(), 400 | 401),
            "{uri}: {}",
            resp.status()
        );
        assert!(identity_of(&resp).is_empty(), "{uri}");
    }
}

/// Spellings of `/admin` (traversal in and out of it, encodings) with a
/// token that lacks the role: each is 400 or 403, never 200.
const ADMIN_SPELLINGS: &[&str] = &[
    "/admin",
    "//admin",
    "/%61dmin",
    "/%61%64%6d%69%6e/",
    "/admin/",
    "/admin?/public",
    "/public/../admin",
    "/public/..%2Fadmin",
    "/public/%2e%2e/admin",
    "/x/../admin",
    "/admin/./x",
    "/admin/x/..",
    "/admin/..;/public",
    "/public/..;/admin",
    "/admin;x",
    "/admin%2F",
    "/admin%5C..%5Cpublic",
];

#[tokio::test]
async fn admin_spellings_need_the_role() {
    let gw = start().await;
    let bob = gw.creds(BOB).await;
    let alice = gw.creds(ALICE).await;
    for uri in ADMIN_SPELLINGS {
        let resp = gw.verify(uri, Some(&bob)).await;
        assert!(
            matches!(resp.status().as_u16(), 400 | 403),
            "{uri} as bob: {}",
            resp.status()
        );
        assert!(identity_of(&resp).is_empty(), "{uri}");
        // The same spelling with the role is either refused as malformed
        // or allowed: the role, not the spelling, decides.
        let status = gw.verify(uri, Some(&alice)).await.status().as_u16();
        assert!(matches!(status, 200 | 400), "{uri} as alice: {status}");
    }
}

/// The policy is applied to exactly the normalized path: spellings that
/// normalize unambiguously get the verdict of what they normalize to, and
/// the query never takes part.
#[tokio::test]
async fn verdict_of_the_normalized_path() {
    let gw = start().await;
    let bob = gw.creds(BOB).await;
    let cases: &[(&str, Option<&Creds>, u16)] = &[
        ("/public", None, 200),
        ("/public/", None, 200),
        ("//public///x", None, 200),
        ("/public/%61%62c", None, 200),
        ("/public?next=/admin", None, 200),
        ("/public/x?../../admin", None, 200),
        ("/%70ublic/x", None, 200),
        ("/admin", None, 401),
        ("//admin", None, 401),
        ("/%61dmin", None, 401),
        ("/admin/", Some(&bob), 403),
        ("//admin//x", Some(&bob), 403),
        ("/%61dmin", Some(&bob), 403),
        ("/admin?role=admin", Some(&bob), 403),
        ("/administrator", Some(&bob), 200),
        ("/other?/public", None, 401),
    ];
    for (uri, creds, want) in cases {
        let resp = gw.verify(uri, *creds).await;
        assert_eq!(resp.status().as_u16(), *want, "{uri}");
    }
}

/// Method confusion: the forwarded method decides the route's method check,
/// exactly as sent (no case folding, no lists, one value); CONNECT and
/// TRACE are never allowed; the two spellings must agree; without a
/// forwarded method the subrequest's own is used.
#[tokio::test]
async fn method_confusion() {
    let gw = start().await;
    let alice = gw.creds(ALICE).await;
    let proxy = gw.proxy_client();
    let u = |p| ("x-forwarded-uri", p);
    let m = |v| ("x-forwarded-method", v);
    let o = |v| ("x-original-method", v);
    let cases: &[(&str, Headers, u16)] = &[
        ("GET", &[u("/api/read"), m("GET")], 200),
        ("GET", &[u("/api/read"), m("POST")], 403),
        ("GET", &[u("/api/read"), m("DELETE")], 403),
        ("GET", &[u("/api/read"), m("get")], 403),
        ("GET", &[u("/api/read"), m("Get")], 403),
        ("GET", &[u("/api/read"), m("HEAD")], 403),
        ("GET", &[u("/api/read"), m("GET,POST")], 400),
        ("GET", &[u("/api/read"), m("GET POST")], 400),
        ("GET", &[u("/api/read"), m("GET"), m("POST")], 400),
        ("GET", &[u("/api/read"), m("POST"), m("GET")], 400),
        ("GET", &[u("/api/read"), m("GET"), o("POST")], 400),
        ("GET", &[u("/api/read"), m("GET"), o("GET")], 200),
        ("GET", &[u("/api/read"), o("GET")], 200),
        ("GET", &[u("/api/read"), o("PUT")], 403),
        ("POST", &[u("/api/read")], 403),
        ("POST", &[u("/api/read"), m("GET")], 200),
        ("GET", &[u("/x"), m("TRACE")], 403),
        ("GET", &[u("/x"), m("CONNECT")], 403),
        ("GET", &[u("/x"), m("PROPFIND")], 200),
        ("GET", &[u("/hook"), m("POST")], 200),
        ("GET", &[u("/hook"), m("GET")], 403),
        ("GET", &[u("/hook")], 403),
        ("POST", &[u("/hook")], 200),
        ("GET", &[u("/public/x"), m("")], 400),
    ];
    for (own, headers, want) in cases {
        let resp = gw.verify_as(&proxy, own, "", headers, Some(&alice)).await;
        assert_eq!(resp.status().as_u16(), *want, "{own} {headers:?}");
        if *want != 200 {
            assert!(identity_of(&resp).is_empty(), "{headers:?}");
        }
    }
}

/// Host confusion (classes 14 and 15): `X-Forwarded-Host` and `Host`
/// decide nothing and build nothing: the login URL always comes from the
/// configured public URL; a malformed, repeated or userinfo-carrying
/// forwarded host is refused.
#[tokio::test]
async fn host_confusion() {
    let gw = start().await;
    let proxy = gw.proxy_client();
    let want = format!("{PUBLIC_URL}/auth/login?return_to=%2Fadmin");
    let html = ("accept", "text/html");
    let hosts: &[&[(&str, &str)]] = &[
        &[("x-forwarded-host", "evil.example")],
        &[("x-forwarded-host", "evil.example:443")],
        &[("x-forwarded-host", "app.example")],
        &[("host", "evil.example")],
        &[
            ("host", "evil.example"),
            ("x-forwarded-host", "evil.example"),
        ],
        &[("x-forwarded-proto", "http"), ("x-forwarded-port", "80")],
        &[("forwarded", "host=evil.example;proto=http")],
        &[("x-original-host", "evil.example")],
    ];
    for extra in hosts {
        let mut headers = vec![("x-forwarded-uri", "/admin"), html];
        headers.extend_from_slice(extra);
        for query in ["", "?redirect=1"] {
            let resp = gw.verify_as(&proxy, "GET", query, &headers, None).await;
            assert!(matches!(resp.status().as_u16(), 401 | 302), "{extra:?}");
            assert_eq!(resp.headers()["location"], want.as_str(), "{extra:?}");
        }
    }
    let bad: &[&[(&str, &str)]] = &[
        &[("x-forwarded-host", "user@evil.example")],
        &[("x-forwarded-host", "app.example@evil.example")],
        &[("x-forwarded-host", "evil.example/path")],
        &[("x-forwarded-host", "evil.example?x")],
        &[("x-forwarded-host", "")],
        &[("x-forwarded-host", "a b")],
        &[
            ("x-forwarded-host", "app.example"),
            ("x-forwarded-host", "evil.example"),
        ],
    ];
    for extra in bad {
        let mut headers = vec![("x-forwarded-uri", "/public/x")];
        headers.extend_from_slice(extra);
        let resp = gw.verify_as(&proxy, "GET", "", &headers, None).await;
        assert_eq!(resp.status(), 400, "{extra:?}");
        assert_eq!(error_code(resp).await, "bad_forwarded_request", "{extra:?}");
    }
}

/// Header ambiguity from the trusted proxy: the target under two names that
/// disagree, or twice under one, is refused whichever comes first, so a
/// client header the proxy passes along cannot win over the proxy's own.
#[tokio::test]
async fn ambiguous_targets_are_refused() {
    let gw = start().await;
    let proxy = gw.proxy_client();
    let f = |p| ("x-forwarded-uri", p);
    let o = |p| ("x-original-uri", p);
    let cases: &[&[(&str, &str)]] = &[
        &[f("/admin"), o("/public/x")],
        &[o("/public/x"), f("/admin")],
        &[f("/public/x"), o("/admin")],
        &[f("/admin"), f("/public/x")],
        &[f("/public/x"), f("/admin")],
        &[o("/public/x"), o("/public/x")],
        &[f("/public/x"), o("/public/x/")],
        &[("x-forwarded-method", "GET")],
        &[("x-forwarded-host", "app.example")],
    ];
    for headers in cases {
        let resp = gw.verify_as(&proxy, "GET", "", headers, None).await;
        assert_eq!(resp.status(), 400, "{headers:?}");
        assert_eq!(
            error_code(resp).await,
            "bad_forwarded_request",
            "{headers:?}"
        );
    }
    let agree = gw
        .verify_as(&proxy, "GET", "", &[f("/public/x"), o("/public/x")], None)
        .await;
    assert_eq!(agree.status(), 200);
}

/// Class 13: identity headers the client sent, in any spelling, are never
/// echoed: a public route answers without identity, an authenticated one
/// with the token's identity only, and claimed roles grant nothing.
#[tokio::test]
async fn client_identity_is_never_echoed() {
    let gw = start().await;
    let bob = gw.creds(BOB).await;
    let proxy = gw.proxy_client();
    let spoof: &[(&str, &str)] = &[
        ("x-auth-request-user", "alice"),
        ("X_Auth_Request_User", "alice"),
        ("x.auth.request.user", "alice"),
        ("x-auth-request-email", "alice@example.com"),
        ("x-auth-request-roles", "admin"),
        ("X-AUTH-REQUEST-ROLES", "admin"),
        ("x-auth-request-session", "stolen"),
        ("x-forwarded-user", "alice"),
        ("x-remote-user", "alice"),
        ("remote-user", "alice"),
    ];
    for (name, value) in spoof {
        let public = [("x-forwarded-uri", "/public/x"), (*name, *value)];
        let resp = gw.verify_as(&proxy, "GET", "", &public, None).await;
        assert_eq!(resp.status(), 200, "{name}");
        assert!(
            identity_of(&resp).is_empty(),
            "{name}: {:?}",
            identity_of(&resp)
        );

        let private = [("x-forwarded-uri", "/x"), (*name, *value)];
        let resp = gw.verify_as(&proxy, "GET", "", &private, None).await;
        assert_eq!(resp.status(), 401, "{name} claims a user without a token");

        let resp = gw.verify_as(&proxy, "GET", "", &private, Some(&bob)).await;
        assert_eq!(resp.status(), 200);
        let id = identity_of(&resp);
        assert!(
            id.contains(&("x-auth-request-user".into(), "bob".into())),
            "{id:?}"
        );
        assert!(
            id.contains(&("x-auth-request-roles".into(), "".into())),
            "{id:?}"
        );
        assert_eq!(id.len(), 4, "{name}: {id:?}");

        let admin = [("x-forwarded-uri", "/admin"), (*name, *value)];
        let resp = gw.verify_as(&proxy, "GET", "", &admin, Some(&bob)).await;
        assert_eq!(resp.status(), 403, "{name} grants no role");
    }
}
