//! Issue 3, verification on protected routes through the real binary: what
//! the upstream receives (identity headers set by the gateway only, attack
//! class 13; no gateway cookie or token), the fingerprint binding (missing,
//! wrong, duplicated: class 16), browser-mode cookies, roles, and users who
//! were disabled or removed after their token was issued.

use crate::common;

use common::Gateway;
use common::auth::{ALICE, AT, BOB, FP, assert_reached, assert_refused, set_disabled};
use common::jose::split;

/// A valid token and fingerprint reach the upstream with the identity
/// headers; the upstream sees neither the token nor the gateway's cookies,
/// but keeps the app's own cookies.
#[tokio::test]
async fn identity_reaches_upstream() {
    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let client = gw.client();
    let (token, fp) = gw.login(&client, "alice", ALICE.1).await;
    let sid = split(&token).1["sid"].as_str().unwrap().to_string();
    let resp = client
        .get(gw.url("/headers"))
        .bearer_auth(&token)
        .header("cookie", format!("theme=dark; {FP}={fp}; lang=en"))
        .send()
        .await
        .unwrap();
    let h = assert_reached(resp, "alice", "bearer").await;
    assert_eq!(h["x-auth-request-email"], "alice@example.com");
    assert_eq!(h["x-auth-request-roles"], "admin");
    assert_eq!(h["x-auth-request-session"], sid.as_str());
    assert!(h.get("authorization").is_none(), "token forwarded: {h}");
    assert_eq!(h["cookie"], "theme=dark; lang=en");
    let text = h.to_string();
    assert!(!text.contains(&fp) && !text.contains(&token), "{text}");
}

/// Browser mode: the access cookie and the fingerprint cookie alone
/// authenticate, and neither is forwarded.
#[tokio::test]
async fn browser_mode_access_cookie() {
    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let client = gw.client();
    let (token, fp) = gw.login(&client, "alice", ALICE.1).await;
    let resp = client
        .get(gw.url("/headers"))
        .header("cookie", format!("{AT}={token}; {FP}={fp}"))
        .send()
        .await
        .unwrap();
    let h = assert_reached(resp, "alice", "access cookie").await;
    assert!(h.get("cookie").is_none(), "{h}");
    // The same token in both places is one token; two different ones are not.
    let (other, other_fp) = gw.login(&client, "alice", ALICE.1).await;
    let both = client
        .get(gw.url("/headers"))
        .bearer_auth(&other)
        .header("cookie", format!("{AT}={token}; {FP}={other_fp}"))
        .send()
        .await
        .unwrap();
    assert_refused(both, "bearer and a different access cookie").await;
}

/// Class 13: identity headers sent by the client, in any spelling of case,
/// `_` and `.`, never reach the upstream; only the gateway's values do, and
/// on a public route none at all.
#[tokio::test]
async fn client_identity_headers_are_replaced() {
    let gw = Gateway::start_with_users("", &[BOB]).await;
    let client = gw.client();
    let (token, fp) = gw.login(&client, "bob", BOB.1).await;
    let spoofed = [
        ("X-Auth-Request-User", "admin"),
        ("x_auth_request_user", "admin"),
        ("X.Auth.Request.User", "admin"),
        ("X-AUTH-REQUEST-ROLES", "admin"),
        ("x-auth-request-email", "admin@evil.example"),
        ("X_Auth_Request_Session", "stolen"),
        ("X-Auth-Request-Groups", "admin"),
        ("X-Auth-User", "admin"),
    ];
    let public = Gateway::start("").await;
    for (gw, user) in [(&gw, Some("bob")), (&public, None)] {
        let mut req = gw
            .client()
            .get(gw.url("/headers"))
            .bearer_auth(&token)
            .header("cookie", format!("{FP}={fp}"));
        for (name, value) in spoofed {
            req = req.header(name, value);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let body: serde_json::Value = resp.json().await.unwrap();
        let mut identity: Vec<(String, String)> = body["headers"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.replace(['_', '.'], "-").starts_with("x-auth"))
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("<many>").to_string()))
            .collect();
        identity.sort();
        let text = body.to_string();
        assert!(
            !text.contains("evil.example") && !text.contains("stolen"),
            "{text}"
        );
        match user {
            Some(user) => {
                let names: Vec<&str> = identity.iter().map(|(k, _)| k.as_str()).collect();
                assert_eq!(
                    names,
                    [
                        "x-auth-request-email",
                        "x-auth-request-roles",
                        "x-auth-request-session",
                        "x-auth-request-user"
                    ],
                    "{identity:?}"
                );
                assert_eq!(identity[0].1, "bob@example.com");
                assert_eq!(identity[1].1, "", "bob has no role");
                assert_eq!(identity[3].1, user);
            }
            None => assert!(identity.is_empty(), "public route: {identity:?}"),
        }
    }
}

/// The fingerprint binds the token: without it, with another login's, with
/// an empty or altered one, or with it twice (class 16, in one `Cookie`
/// header or across two), the request is refused and the event logged.
#[tokio::test]
async fn fingerprint_is_required_and_unique() {
    let gw = Gateway::start_with_users("", &[ALICE, BOB]).await;
    let client = gw.client();
    let (token, fp) = gw.login(&client, "alice", ALICE.1).await;
    let (_, other_fp) = gw.login(&client, "alice", ALICE.1).await;
    let (_, bob_fp) = gw.login(&client, "bob", BOB.1).await;
    let mut flipped = fp.clone().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("no cookie", vec![]),
        ("other cookie only", vec!["theme=dark".into()]),
        (
            "another login's fingerprint",
            vec![format!("{FP}={other_fp}")],
        ),
        ("bob's fingerprint", vec![format!("{FP}={bob_fp}")]),
        ("empty fingerprint", vec![format!("{FP}=")]),
        ("altered fingerprint", vec![format!("{FP}={flipped}")]),
        (
            "fpt as cookie",
            vec![format!("{FP}={}", split(&token).1["fpt"].as_str().unwrap())],
        ),
        (
            "case-changed name",
            vec![format!("__host-portcullis-fp={fp}")],
        ),
        ("twice in one header", vec![format!("{FP}={fp}; {FP}={fp}")]),
        (
            "right then wrong",
            vec![format!("{FP}={fp}; {FP}={other_fp}")],
        ),
        (
            "wrong then right",
            vec![format!("{FP}={other_fp}; {FP}={fp}")],
        ),
        (
            "across two headers",
            vec![format!("{FP}={fp}"), format!("{FP}={fp}")],
        ),
        (
            "two headers, one wrong",
            vec![format!("{FP}={other_fp}"), format!("a=b; {FP}={fp}")],
        ),
    ];
    for (what, cookies) in cases {
        let mut req = client.get(gw.url("/headers")).bearer_auth(&token);
        for c in cookies {
            req = req.header("cookie", c);
        }
        assert_refused(req.send().await.unwrap(), what).await;
    }
    assert!(gw.log_text().contains("auth.security.fingerprint_mismatch"));
    // The control: the same token with its own fingerprint passes.
    let ok = gw.get_with(&client, "/headers", &token, Some(&fp)).await;
    assert_reached(ok, "alice", "control").await;
}

/// A route's roles: a user without one gets 403 (not the upstream), a user
/// with one passes; authentication still comes first.
#[tokio::test]
async fn route_roles() {
    let gw = Gateway::start_with_users("", &[ALICE, BOB]).await;
    let client = gw.client();
    let (bob, bob_fp) = gw.login(&client, "bob", BOB.1).await;
    let resp = gw.get_with(&client, "/admin", &bob, Some(&bob_fp)).await;
    assert_eq!(resp.status(), 403);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "forbidden");
    let (alice, alice_fp) = gw.login(&client, "alice", ALICE.1).await;
    let ok = client
        .get(gw.url("/admin/page"))
        .bearer_auth(&alice)
        .header("cookie", format!("{FP}={alice_fp}"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let html = ok.text().await.unwrap();
    assert!(html.contains(r#"<dd id="user">alice</dd>"#), "{html}");
    assert!(
        html.contains(r#"<code id="path">/admin/page</code>"#),
        "{html}"
    );
    let anon = client.get(gw.url("/admin")).send().await.unwrap();
    assert_eq!(anon.status(), 401);
    let bad = gw.get_with(&client, "/admin", &alice, None).await;
    assert_refused(bad, "admin without fingerprint").await;
}

/// A token whose user is disabled, or removed from the users file, after it
/// was issued is refused once the gateway has the new users (after a
/// restart, which keeps the signing keys).
#[tokio::test]
async fn disabled_or_removed_user_is_refused() {
    let mut gw = Gateway::start_with_users("", &[ALICE, BOB]).await;
    let client = gw.client();
    let (alice, alice_fp) = gw.login(&client, "alice", ALICE.1).await;
    let (bob, bob_fp) = gw.login(&client, "bob", BOB.1).await;
    let users = gw.path("users.toml");
    set_disabled(&users, &["alice"]);
    let text = std::fs::read_to_string(&users).unwrap();
    let mut doc: toml_edit::DocumentMut = text.parse().unwrap();
    doc["users"]
        .as_array_of_tables_mut()
        .unwrap()
        .retain(|u| u["username"].as_str() != Some("bob"));
    std::fs::write(&users, doc.to_string()).unwrap();
    gw.restart().await;
    let client = gw.client();
    let resp = gw
        .get_with(&client, "/headers", &alice, Some(&alice_fp))
        .await;
    assert_refused(resp, "disabled user").await;
    let resp = gw.get_with(&client, "/headers", &bob, Some(&bob_fp)).await;
    assert_refused(resp, "removed user").await;
}

/// Control for the test above: after a plain restart, the same tokens still
/// pass, so the refusal above is the users file's doing.
#[tokio::test]
async fn tokens_survive_a_restart() {
    let mut gw = Gateway::start_with_users("", &[ALICE]).await;
    let (token, fp) = gw.login(&gw.client(), "alice", ALICE.1).await;
    gw.restart().await;
    let resp = gw
        .get_with(&gw.client(), "/headers", &token, Some(&fp))
        .await;
    assert_reached(resp, "alice", "after restart").await;
}
