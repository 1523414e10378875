//! Issue 3, login through the real binary: the JSON answer, the fingerprint
//! cookie, the token's header and claims against the JWKS, indistinguishable
//! failures (status, body and time) and 400s for bad bodies. The HTML form
//! flow is in `auth_form.rs`.

use crate::common;

use std::time::{Duration, Instant};

use common::Gateway;
use common::auth::{ALICE, BOB, FP, set_cookie_line, set_cookie_value};
use common::jose::split;
use portcullis::auth::b64;
use sha2::{Digest, Sha256};

/// JSON login: 200 with exactly `access_token`, `token_type` `Bearer` and
/// `expires_in` 900, and a `__Host-` fingerprint cookie with every hardening
/// attribute and no `Domain`.
#[tokio::test]
async fn json_login_answer_and_cookie() {
    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let resp = gw
        .client()
        .post(gw.url("/auth/login"))
        .json(&serde_json::json!({"username": "alice", "password": ALICE.1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    let line = set_cookie_line(&resp, FP).expect("fingerprint cookie");
    let value = set_cookie_value(&resp, FP).unwrap();
    assert_eq!(b64::decode(&value).map(|b| b.len()), Some(32), "{line}");
    let attrs: Vec<String> = line
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    for want in ["httponly", "secure", "samesite=strict", "path=/"] {
        assert!(attrs.iter().any(|a| a == want), "{want} missing: {line}");
    }
    assert!(!attrs.iter().any(|a| a.starts_with("domain")), "{line}");
    let body: serde_json::Value = resp.json().await.unwrap();
    let obj = body.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["access_token", "expires_in", "token_type"]);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
}

/// The token's header is exactly `{"alg":"RS256","typ":"JWT","kid":…}`, the
/// kid is in the JWKS (with the public members only), the claims are the
/// documented ones with `exp - iat` the configured lifetime and `fpt` the
/// SHA-256 of the cookie, and nothing sensitive is in the payload.
#[tokio::test]
async fn token_header_claims_and_jwks() {
    let gw = Gateway::start_with_users("[auth]\naccess_token_ttl_secs = 600", &[ALICE]).await;
    let client = gw.client();
    let (token, fp) = gw.login(&client, "alice", ALICE.1).await;
    let raw_header = b64::decode(token.split('.').next().unwrap()).unwrap();
    let (header, claims, _) = split(&token);
    let kid = header["kid"].as_str().unwrap();
    assert_eq!(
        String::from_utf8(raw_header).unwrap(),
        format!(r#"{{"alg":"RS256","typ":"JWT","kid":"{kid}"}}"#)
    );
    let jwks = common::auth::jwks(&gw).await;
    let keys = jwks["keys"].as_array().unwrap();
    let jwk = keys.iter().find(|k| k["kid"] == kid).expect("kid in JWKS");
    let mut members: Vec<&str> = jwk
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    members.sort();
    assert_eq!(members, ["alg", "e", "kid", "kty", "n", "use"]);
    assert_eq!(
        (&jwk["kty"], &jwk["alg"], &jwk["use"]),
        (&"RSA".into(), &"RS256".into(), &"sig".into())
    );

    let mut names: Vec<&str> = claims
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "aud", "exp", "fpt", "iat", "iss", "jti", "roles", "sid", "sub"
        ]
    );
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["roles"], serde_json::json!(["admin"]));
    assert_eq!(claims["aud"], "portcullis");
    assert!(claims["iss"].as_str().unwrap().starts_with("https://"));
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    assert_eq!(exp - iat, 600);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(iat.abs_diff(now) < 120, "iat {iat} vs now {now}");
    assert_eq!(claims["fpt"], b64::encode(Sha256::digest(fp.as_bytes())));
    for id in ["sid", "jti"] {
        assert!(claims[id].as_str().unwrap().len() >= 16, "{id}");
    }
    let text = claims.to_string();
    for secret in [ALICE.1, "pbkdf2", "alice@example.com", &fp] {
        assert!(!text.contains(secret), "payload leaks {secret}");
    }
}

/// POSTs a JSON login and returns status, body and the time it took.
async fn attempt(
    gw: &Gateway,
    client: &reqwest::Client,
    user: &str,
    pass: &str,
) -> (u16, String, Duration) {
    let started = Instant::now();
    let resp = client
        .post(gw.url("/auth/login"))
        .json(&serde_json::json!({"username": user, "password": pass}))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    assert!(
        resp.headers().get("set-cookie").is_none(),
        "{user}: cookie on failure"
    );
    (status, resp.text().await.unwrap(), started.elapsed())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Unknown user, wrong password and disabled user get the same status and
/// the same body, and an unknown user costs a password hash too.
#[tokio::test]
async fn failures_are_indistinguishable() {
    let gw = Gateway::start_with_disabled("", &[ALICE, BOB], &["bob"]).await;
    let client = gw.client();
    // Warm up: the dummy hash and connections.
    attempt(&gw, &client, "nobody", "whatever-password-1").await;
    let mut samples: [Vec<Duration>; 3] = Default::default();
    let mut answers = std::collections::BTreeSet::new();
    for _ in 0..5 {
        for (i, (user, pass)) in [
            ("nobody", "whatever-password-1"),
            ("alice", "wrong-password-123"),
            ("bob", BOB.1),
        ]
        .into_iter()
        .enumerate()
        {
            let (status, body, took) = attempt(&gw, &client, user, pass).await;
            answers.insert((status, body));
            samples[i].push(took);
        }
    }
    assert_eq!(answers.len(), 1, "answers differ: {answers:?}");
    let (status, body) = answers.into_iter().next().unwrap();
    assert_eq!(status, 401);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "invalid_credentials");
    let [unknown, wrong, disabled] = samples.map(median);
    // Generous bounds (medians of interleaved samples): a skipped hash is
    // orders of magnitude faster than a real one.
    assert!(
        unknown * 2 >= wrong,
        "unknown {unknown:?} vs wrong {wrong:?}"
    );
    assert!(
        disabled * 2 >= wrong,
        "disabled {disabled:?} vs wrong {wrong:?}"
    );
    assert!(
        wrong * 3 >= unknown,
        "unknown {unknown:?} vs wrong {wrong:?}"
    );
}

/// Bad bodies get 400 JSON naming the field at fault (form posts get the
/// login page with the problem), and never echo the password.
#[tokio::test]
async fn bad_bodies_are_400_naming_the_problem() {
    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let client = gw.client();
    let secret = "Echo-Me-Not-s3cret";
    let json = |u: &str, p: &str| serde_json::json!({"username": u, "password": p}).to_string();
    let cases: Vec<(&str, Option<&str>, String, &str)> = vec![
        (
            "text/plain",
            Some("text/plain"),
            json("alice", secret),
            "content-type",
        ),
        (
            "no content type",
            None,
            json("alice", secret),
            "content-type",
        ),
        (
            "malformed JSON",
            Some("application/json"),
            format!(r#"{{"username":"alice","password":"{secret}""#),
            "body",
        ),
        (
            "JSON array",
            Some("application/json"),
            format!(r#"["alice","{secret}"]"#),
            "body",
        ),
        (
            "repeated member",
            Some("application/json"),
            format!(r#"{{"username":"bob","username":"alice","password":"{secret}"}}"#),
            "body",
        ),
        (
            "wrong type",
            Some("application/json"),
            format!(r#"{{"username":7,"password":"{secret}"}}"#),
            "body",
        ),
        (
            "missing password",
            Some("application/json"),
            r#"{"username":"alice"}"#.into(),
            "password",
        ),
        (
            "missing username",
            Some("application/json"),
            format!(r#"{{"password":"{secret}"}}"#),
            "username",
        ),
        (
            "empty username",
            Some("application/json"),
            json("", secret),
            "username",
        ),
        (
            "65-char username",
            Some("application/json"),
            json(&"a".repeat(65), secret),
            "username",
        ),
        (
            "username with space",
            Some("application/json"),
            json("al ice", secret),
            "username",
        ),
        (
            "1025-byte password",
            Some("application/json"),
            json(
                "alice",
                &format!("{secret}{}", "x".repeat(1025 - secret.len())),
            ),
            "password",
        ),
        (
            "form missing password",
            Some("application/x-www-form-urlencoded"),
            "username=alice".into(),
            "password",
        ),
        (
            "form repeated field",
            Some("application/x-www-form-urlencoded"),
            format!("username=alice&password={secret}&password={secret}"),
            "body",
        ),
    ];
    for (what, ct, body, field) in cases {
        let mut req = client.post(gw.url("/auth/login")).body(body);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 400, "{what}");
        let ctype = resp.headers()["content-type"].to_str().unwrap().to_string();
        let text = resp.text().await.unwrap();
        assert!(!text.contains(secret), "{what}: password echoed: {text}");
        if ct == Some("application/x-www-form-urlencoded") {
            // Browsers posting the form get the login page back, with the problem.
            assert!(ctype.starts_with("text/html"), "{what}: {ctype}");
            assert!(text.contains("role=\"alert\""), "{what}: {text}");
            assert!(
                text.contains("<form method=\"post\" action=\"/auth/login\">"),
                "{what}"
            );
            continue;
        }
        assert!(ctype.starts_with("application/json"), "{what}: {ctype}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"], "invalid_request", "{what}: {v}");
        assert_eq!(v["field"], field, "{what}: {v}");
        assert!(!v["message"].as_str().unwrap().is_empty(), "{what}");
    }
    // A password of exactly 1024 bytes is not a 400 (just wrong).
    let (status, text, _) = attempt(&gw, &client, "alice", &"y".repeat(1024)).await;
    assert_eq!(status, 401, "{text}");
}

/// A body over the 16 KiB cap is 413 at once: announced by `Content-Length`
/// (the body never sent: no waiting for it), as JSON for JSON clients and as
/// the login page for a form post; a chunked body that grows past the cap is
/// 413 as well.
#[tokio::test]
async fn oversized_bodies_are_413_at_once() {
    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let cap = portcullis::auth::login::MAX_BODY;
    let head = |ct: &str, framing: &str| {
        format!(
            "POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: {ct}\r\n{framing}\r\n"
        )
    };
    let declared = format!("Content-Length: {}\r\n", cap + 1);

    let started = Instant::now();
    let mut conn = gw.raw().await;
    let resp = conn
        .roundtrip(head("application/json", &declared).as_bytes())
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "waited {:?} for a body that was never sent",
        started.elapsed()
    );
    assert_eq!(resp.status, 413, "{}", resp.text());
    assert_eq!(resp.json()["error"], "body_too_large", "{}", resp.text());
    assert!(resp.text().contains(&cap.to_string()), "{}", resp.text());

    let form = "application/x-www-form-urlencoded";
    let resp = gw
        .raw()
        .await
        .roundtrip(head(form, &declared).as_bytes())
        .await;
    assert_eq!(resp.status, 413);
    assert!(
        resp.header("content-type")
            .unwrap_or("")
            .starts_with("text/html")
    );
    assert!(resp.text().contains("too large"), "{}", resp.text());

    let mut chunked = head("application/json", "Transfer-Encoding: chunked\r\n").into_bytes();
    let chunk = "x".repeat(4096);
    for _ in 0..=cap / chunk.len() {
        chunked.extend_from_slice(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes());
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let resp = gw.raw().await.roundtrip(&chunked).await;
    assert_eq!(resp.status, 413, "{}", resp.text());
    assert_eq!(resp.json()["error"], "body_too_large");

    // At the cap exactly, the body is read and judged on its content.
    let padded = format!(
        r#"{{"username":"alice","password":"x","pad":"{}"}}"#,
        "p".repeat(cap - 44)
    );
    assert_eq!(padded.len(), cap);
    let resp = gw
        .client()
        .post(gw.url("/auth/login"))
        .header("content-type", "application/json")
        .body(padded)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}
