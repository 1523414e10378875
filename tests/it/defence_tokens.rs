//! Token attack classes 1-10 of `cases/attacks.md`: variants beyond the
//! ones in `auth_attacks_header.rs` and `auth_attacks_claims.rs`, each a
//! table sent through the real gateway with the victim's fingerprint.
//!
//! Where each class is covered (this file adds the second column):
//!
//! | class | auth_attacks_* | here |
//! |---|---|---|
//! | 1 `none` | four spellings × three signatures, two segments | every other `alg` spelling and type, missing `alg` |
//! | 2 confusion | HS256 keyed with PEM, DER, JWK, modulus | HS384/HS512, no `kid`, PS256 |
//! | 3 header keys | `jwk`, `jku`, `x5u`, `x5c` | `x5t`, `x5t#S256`, odd values, no fetch |
//! | 4 `kid` | missing, unknown, path, SQL, long | control bytes, injection, types, a burst of unknown kids |
//! | 5 `crit` | six shapes | escaped name, other shapes |
//! | 6 claims | times, `iss`, `aud` | types: floats, strings, negatives, arrays |
//! | 7 duplicates | header and payload | escaped names, nested objects |
//! | 8 size | 1 MiB of dots, 12 KiB signed | in the cookie, over HTTP/2, many headers |
//! | 9 base64url | padding, alphabet, spare bits | white space, escapes, junk |
//! | 10 stripping | `h.p.`, `h.p`, swaps | nested JWT, JWE, JSON serialization, token in the query or other headers |

use crate::common;

use std::time::{Duration, Instant};

use common::auth::{FP, Victim, assert_refused};
use common::jose::{enc, header, hs256, public_forms, rs256};
use portcullis::auth::keys::SigningKey;
use serde_json::{Value, json};

/// A header text with `alg` set to the JSON `alg` (or without it) and our kid.
fn with_alg(kid: &str, alg: Option<&Value>) -> String {
    match alg {
        Some(a) => format!(r#"{{"alg":{a},"typ":"JWT","kid":"{kid}"}}"#),
        None => format!(r#"{{"typ":"JWT","kid":"{kid}"}}"#),
    }
}

/// Classes 1 and 2: any `alg` but exactly `"RS256"` is refused even over
/// our own valid signature: near spellings, other algorithms, other JSON
/// types, and none at all. An escaped spelling of `RS256` is `RS256`.
#[tokio::test]
async fn alg_must_be_exactly_rs256() {
    let v = Victim::new("").await;
    let payload = v.claims.to_string();
    let mut algs: Vec<Option<Value>> = [
        "none ",
        " none",
        "none\u{0}",
        "NoNe",
        "nonE",
        "",
        "RS256 ",
        " RS256",
        "rs256",
        "Rs256",
        "RS256\u{0}",
        "RS 256",
        "RS256\n",
        "RS2560",
        "RS25",
        "PS256",
        "RS384",
        "RS512",
        "ES256",
        "EdDSA",
        "HS256",
        "HS384",
        "HS512",
        "dir",
        "RSA-OAEP",
        "RS256,none",
    ]
    .iter()
    .map(|s| Some(json!(s)))
    .collect();
    algs.extend(
        [
            json!(null),
            json!(256),
            json!(true),
            json!(["RS256"]),
            json!({"alg": "RS256"}),
        ]
        .map(Some),
    );
    algs.push(None);
    for alg in &algs {
        let token = v.sign(&with_alg(v.kid(), alg.as_ref()), &payload);
        v.refused(&token, &format!("alg {alg:?}")).await;
    }
    let escaped = format!(r#"{{"alg":"\u0052S256","kid":"{}"}}"#, v.kid());
    v.accepted(&v.sign(&escaped, &payload), "escaped RS256")
        .await;
}

/// Class 2 beyond HS256: HS384 and HS512 keyed with the PEM and DER public
/// key, with and without `kid`.
#[tokio::test]
async fn hmac_with_the_public_key_in_every_size() {
    let v = Victim::new("").await;
    let jwks = common::auth::jwks(&v.gw).await;
    let jwk = &jwks["keys"][0];
    let b64 = |name: &str| portcullis::auth::b64::decode(jwk[name].as_str().unwrap()).unwrap();
    let forms = public_forms(&b64("n"), &b64("e"));
    let payload = v.claims.to_string();
    let input = |h: &str| common::jose::input(h, &payload);
    for (name, alg) in [
        ("HS384", aws_lc_rs::hmac::HMAC_SHA384),
        ("HS512", aws_lc_rs::hmac::HMAC_SHA512),
    ] {
        for h in [
            format!(r#"{{"alg":"{name}","typ":"JWT","kid":"{}"}}"#, v.kid()),
            format!(r#"{{"alg":"{name}","typ":"JWT"}}"#),
        ] {
            for secret in [
                forms.spki_pem.as_bytes(),
                forms.spki_der.as_slice(),
                forms.pkcs1_der.as_slice(),
            ] {
                let key = aws_lc_rs::hmac::Key::new(alg, secret);
                let tag = aws_lc_rs::hmac::sign(&key, input(&h).as_bytes());
                let token = format!("{}.{}", input(&h), enc(tag.as_ref()));
                v.refused(&token, &format!("{h} keyed with the public key"))
                    .await;
            }
        }
    }
    let h = r#"{"alg":"HS256","typ":"JWT"}"#;
    v.refused(
        &hs256(forms.spki_pem.as_bytes(), h, &payload),
        "HS256 without kid",
    )
    .await;
}

/// Class 3 beyond the four: `x5t`, `x5t#S256`, and key members with odd
/// values, signed by an attacker (and by us) are refused; no URL in them is
/// ever fetched.
#[tokio::test]
async fn every_key_header_is_refused_and_nothing_is_fetched() {
    let v = Victim::new("").await;
    let attacker = SigningKey::generate(2048).unwrap();
    let bait = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = bait.local_addr().unwrap().port();
    let members = [
        r#""x5t":"dGh1bWJwcmludA""#.to_string(),
        r#""x5t#S256":"dGh1bWJwcmludA""#.to_string(),
        format!(r#""jku":"http://127.0.0.1:{port}/jwks.json""#),
        format!(r#""x5u":"http://127.0.0.1:{port}/cert.pem""#),
        r#""jku":"file:///etc/passwd""#.to_string(),
        r#""jwk":"not an object""#.to_string(),
        r#""jwk":null"#.to_string(),
        r#""x5c":[]"#.to_string(),
        format!(r#""j\u006bu":"http://127.0.0.1:{port}/escaped""#),
    ];
    let payload = v.claims.to_string();
    for extra in &members {
        for (signer, kid) in [
            (&attacker, attacker.kid()),
            (&attacker, v.kid()),
            (&v.key, v.kid()),
        ] {
            let token = rs256(signer, &header(kid, extra), &payload);
            v.refused(&token, &format!("{extra} signed by {kid:.8}"))
                .await;
        }
    }
    let fetched = tokio::time::timeout(Duration::from_millis(300), bait.accept()).await;
    assert!(fetched.is_err(), "the gateway fetched a header URL");
}

/// Class 4 beyond the table: a `kid` with control bytes, header or log
/// injection, look-alikes of ours, or of another JSON type is refused over
/// our own signature, and none of its text reaches the logs. A burst of
/// unknown kids is answered promptly and changes nothing.
#[tokio::test]
async fn kid_injection_types_and_bursts() {
    let v = Victim::new("").await;
    let payload = v.claims.to_string();
    let kid = v.kid().to_string();
    let strings = [
        format!("{kid}\u{0}"),
        format!(" {kid}"),
        format!("{kid} "),
        format!("{kid}\n"),
        format!("{kid}\r\nX-Injected: 1"),
        "k\tid".to_string(),
        "ключ".to_string(),
        "${jndi:ldap://127.0.0.1/x}".to_string(),
        "%2e%2e%2fkeys".to_string(),
        "..\\..\\keys".to_string(),
        "*".to_string(),
        "k".repeat(129),
    ];
    for k in &strings {
        let h = format!(r#"{{"alg":"RS256","kid":{}}}"#, json!(k));
        v.refused(&v.sign(&h, &payload), &format!("kid {k:?}"))
            .await;
    }
    for k in [
        json!([kid]),
        json!({ "kid": kid }),
        json!(false),
        json!(1.5),
    ] {
        let h = format!(r#"{{"alg":"RS256","kid":{k}}}"#);
        v.refused(&v.sign(&h, &payload), &format!("kid {k}")).await;
    }
    let logs = v.gw.log_text();
    for text in ["X-Injected", "jndi", "ключ"] {
        assert!(!logs.contains(text), "logged {text}");
    }
    let started = Instant::now();
    for i in 0..200 {
        let token = v.sign(&header(&format!("unknown-{i:04}"), ""), &payload);
        let resp = v.send(&token).await;
        assert_eq!(resp.status(), 401, "unknown kid {i}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    v.accepted(&v.token, "real token after the burst").await;
}

/// Class 5: `crit` under an escaped name and in every JSON shape is
/// refused over our own signature.
#[tokio::test]
async fn crit_in_every_shape() {
    let v = Victim::new("").await;
    let payload = v.claims.to_string();
    for extra in [
        r#""\u0063rit":["exp"]"#,
        r#""crit":[""]"#,
        r#""crit":["kid"]"#,
        r#""crit":["alg","kid","typ"]"#,
        r#""crit":{}"#,
        r#""crit":0"#,
        r#""crit":false"#,
        r#""crit":[["exp"]]"#,
    ] {
        v.refused(&v.sign(&header(v.kid(), extra), &payload), extra)
            .await;
    }
}

/// Class 6 by type: times as floats, strings, negatives, huge numbers,
/// booleans or arrays; `iss`, `aud`, `sub`, `sid`, `roles` of the wrong
/// type; `iat` missing. All refused over our own signature.
#[tokio::test]
async fn claims_of_the_wrong_type() {
    let v = Victim::new("").await;
    let now = v.claims["iat"].as_u64().unwrap();
    let aud = v.claims["aud"].clone();
    let h = v.header.to_string();
    let cases: Vec<(&str, Option<Value>)> = vec![
        ("exp", Some(json!(1e10))),
        ("exp", Some(json!((now + 900) as f64 + 0.5))),
        ("exp", Some(json!(-1))),
        ("exp", Some(json!(1.8e19))),
        ("exp", Some(json!(f64::MAX))),
        ("exp", Some(json!(true))),
        ("exp", Some(json!([now + 900]))),
        ("exp", Some(json!({"at": now + 900}))),
        ("nbf", Some(json!((now - 10).to_string()))),
        ("nbf", Some(json!(-5))),
        ("iat", None),
        ("iat", Some(json!(null))),
        ("iat", Some(json!(now.to_string()))),
        ("iss", Some(json!(null))),
        ("iss", Some(json!(1))),
        ("aud", Some(json!({ "aud": aud }))),
        ("aud", Some(json!([aud, 1]))),
        ("aud", Some(json!([null, aud]))),
        ("aud", Some(json!(null))),
        ("sub", Some(json!(1))),
        ("sub", Some(json!(["alice"]))),
        ("sid", Some(json!(null))),
        ("roles", Some(json!("admin"))),
        ("roles", Some(json!([["admin"]]))),
        ("fpt", None),
        ("fpt", Some(json!(null))),
    ];
    for (name, value) in cases {
        let what = format!("{name} = {value:?}");
        v.refused(&v.sign(&h, &v.claims_with(name, value)), &what)
            .await;
    }
}

/// Class 7 with escapes and nesting: a member repeated under another
/// spelling of its name, or inside a nested object, is refused.
#[tokio::test]
async fn duplicates_under_escapes_and_nesting() {
    let v = Victim::new("").await;
    let kid = v.kid();
    let payload = v.claims.to_string();
    for h in [
        format!(r#"{{"alg":"RS256","\u0061\u006c\u0067":"none","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"RS256","kid":"{kid}","k\u0069d":"{kid}"}}"#),
        format!(r#"{{"alg":"RS256","kid":"{kid}","typ":"JWT","\u0074yp":"JOSE"}}"#),
        format!(r#"{{"alg":"RS256","kid":"{kid}","ext":[{{"a":1,"\u0061":2}}]}}"#),
    ] {
        v.refused(&v.sign(&h, &payload), &h).await;
    }
    let body = &payload[1..];
    let h = v.header.to_string();
    for dup in [
        r#""s\u0075b":"admin","#,
        r#""\u0073\u0075\u0062":"alice","#,
        r#""ext":{"x":{"y":1,"y":2}},"#,
        r#""ext":[{"k":1,"k":1}],"#,
    ] {
        v.refused(&v.sign(&h, &format!("{{{dup}{body}")), dup).await;
    }
}

/// Class 8 elsewhere: a huge token in the access cookie, over HTTP/2, or in
/// repeated `Authorization` headers is refused promptly (401, or 431 when
/// past the header limit), and the gateway stays healthy.
#[tokio::test]
async fn oversized_tokens_anywhere() {
    let v = Victim::new("").await;
    let started = Instant::now();
    let dots = ".".repeat(12 * 1024);
    let resp = v
        .client
        .get(v.gw.url("/headers"))
        .header(
            "cookie",
            format!("{FP}={}; {}={dots}", v.fp, common::auth::AT),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "12 KiB access cookie");
    let h2 =
        v.gw.client_builder()
            .http2_prior_knowledge()
            .build()
            .unwrap();
    match h2
        .get(v.gw.url("/headers"))
        .header("authorization", format!("Bearer {}", ".".repeat(1 << 20)))
        .send()
        .await
    {
        Ok(resp) => assert!(
            matches!(resp.status().as_u16(), 401 | 431),
            "{}",
            resp.status()
        ),
        Err(e) => assert!(!e.is_timeout(), "{e}"),
    }
    for copies in [2, 3, 50] {
        let mut many = v
            .client
            .get(v.gw.url("/headers"))
            .header("cookie", format!("{FP}={}", v.fp));
        for _ in 0..copies {
            many = many.header("authorization", format!("Bearer {}", v.token));
        }
        let resp = many.send().await.unwrap();
        // Fifty copies no longer fit the header limit: 431 before parsing.
        if resp.status() == 431 && copies == 50 {
            continue;
        }
        assert_refused(resp, &format!("{copies} Authorization headers")).await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    v.accepted(&v.token, "healthy afterwards").await;
}

/// Class 9: white space, percent escapes, a standard-alphabet character or
/// junk inside a segment of the real token is refused.
#[tokio::test]
async fn base64url_noise() {
    let v = Victim::new("").await;
    let parts: Vec<&str> = v.token.split('.').collect();
    for i in 0..3 {
        let seg = parts[i];
        let mid = seg.len() / 2;
        for noisy in [
            format!("{}\t{}", &seg[..mid], &seg[mid..]),
            format!("{seg}%3D"),
            format!("{seg}%3d%3d"),
            format!("{}+{}", &seg[..mid], &seg[mid + 1..]),
            format!("{}/{}", &seg[..mid], &seg[mid + 1..]),
            format!("{}={}", &seg[..mid], &seg[mid..]),
            format!("{}!{}", &seg[..mid], &seg[mid + 1..]),
            format!("{seg}A"),
            seg[..seg.len() - 1].to_string(),
        ] {
            let mut bad: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
            bad[i] = noisy;
            let what = format!("segment {i}: {:.24}", bad[i]);
            v.refused(&bad.join("."), &what).await;
        }
    }
}

/// Class 10 and token placement: a nested JWT, JWE-shaped and JSON
/// serializations, signatures from a `none` or another header, and the
/// real token anywhere but `Authorization: Bearer` or the access cookie
/// (query, other headers, other schemes) never authenticate.
#[tokio::test]
async fn stripped_nested_and_misplaced_tokens() {
    let v = Victim::new("").await;
    let parts: Vec<&str> = v.token.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    let nested = v.sign(
        &format!(r#"{{"alg":"RS256","cty":"JWT","kid":"{}"}}"#, v.kid()),
        &v.token,
    );
    let json_serialization = json!({
        "payload": p, "signatures": [{ "protected": h, "signature": s }]
    })
    .to_string();
    let none_header = enc(r#"{"alg":"none","typ":"JWT"}"#);
    let tokens = [
        ("nested JWT", nested),
        ("JWE shape", format!("{h}.{p}.{s}.{s}.{s}")),
        ("JWE with empty key", format!("{h}..{p}.{s}.{s}")),
        ("JSON serialization", json_serialization),
        (
            "none header, real signature",
            format!("{none_header}.{p}.{s}"),
        ),
        ("h.p.=", format!("{h}.{p}.=")),
        ("h.p.AA", format!("{h}.{p}.AA")),
        ("h..", format!("{h}..")),
        ("..", "..".to_string()),
        ("...", "...".to_string()),
        ("p.h.s", format!("{p}.{h}.{s}")),
    ];
    for (what, token) in &tokens {
        v.refused(token, what).await;
    }
    let client = &v.client;
    let cookie = format!("{FP}={}", v.fp);
    let t = &v.token;
    let misplaced = [
        (format!("/headers?access_token={t}"), None),
        (format!("/headers?token={t}"), None),
        (format!("/headers?jwt={t}&id_token={t}"), None),
        ("/headers".to_string(), Some(("x-access-token", t.clone()))),
        ("/headers".to_string(), Some(("x-auth-token", t.clone()))),
        (
            "/headers".to_string(),
            Some(("x-forwarded-access-token", t.clone())),
        ),
        (
            "/headers".to_string(),
            Some(("authorization", format!("Token {t}"))),
        ),
        (
            "/headers".to_string(),
            Some(("authorization", format!("JWT {t}"))),
        ),
        (
            "/headers".to_string(),
            Some(("authorization", format!("Bearer  {t}"))),
        ),
        (
            "/headers".to_string(),
            Some(("authorization", format!("Bearer {t},Bearer {t}"))),
        ),
        (
            "/headers".to_string(),
            Some(("authorization", format!("Bearer\t{t}"))),
        ),
        (
            "/headers".to_string(),
            Some(("authorization", format!("Basic {t}"))),
        ),
        ("/headers".to_string(), Some(("authorization", t.clone()))),
    ];
    for (path, extra) in misplaced {
        let mut req = client.get(v.gw.url(&path)).header("cookie", &cookie);
        if let Some((name, value)) = &extra {
            req = req.header(*name, value);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{path} {extra:?}");
        let body: Value = resp.json().await.unwrap();
        assert!(
            body.get("headers").is_none(),
            "{path} {extra:?} reached the upstream"
        );
    }
    let elsewhere = client
        .get(v.gw.url("/headers"))
        .header("cookie", format!("{cookie}; access_token={t}; jwt={t}"))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 401, "token in another cookie");
}
