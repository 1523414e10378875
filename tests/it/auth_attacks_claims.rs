//! Issue 3, attack classes 6-10 of `cases/attacks.md` through the real
//! gateway: bad claims under our own valid signature (so the claim check is
//! what refuses them), duplicate payload members, oversized tokens and
//! headers, non-canonical base64url, stripped and swapped signatures.

use crate::common;

use std::time::{Duration, Instant};

use common::auth::{ALICE, Victim};
use common::jose::enc;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Class 6: missing or expired `exp`, `nbf` or `iat` beyond the leeway (30
/// s), a wrong or missing `iss`, an `aud` that does not name us; and the
/// accepted side: `aud` as an array containing us, times within the leeway.
#[tokio::test]
async fn class6_claims() {
    let v = Victim::new("").await;
    let now = v.claims["iat"].as_u64().unwrap();
    let aud = v.claims["aud"].clone();
    let iss = v.claims["iss"].as_str().unwrap().to_string();
    let h = v.header.to_string();
    let refused: Vec<(&str, Option<Value>)> = vec![
        ("exp", None),
        ("exp", Some(json!(now - 3600))),
        ("exp", Some(json!(now - 120))),
        ("exp", Some(json!(now - 30))),
        ("exp", Some(json!(0))),
        ("exp", Some(json!((now + 900).to_string()))),
        ("exp", Some(json!(null))),
        ("nbf", Some(json!(now + 600))),
        ("nbf", Some(json!(now + 120))),
        ("iat", Some(json!(now + 600))),
        ("iat", Some(json!(now + 120))),
        ("iss", None),
        ("iss", Some(json!("https://evil.example"))),
        ("iss", Some(json!(format!("{iss}/")))),
        ("iss", Some(json!([iss.clone()]))),
        ("aud", None),
        ("aud", Some(json!("other"))),
        ("aud", Some(json!(["other", "another"]))),
        ("aud", Some(json!([]))),
        ("aud", Some(json!([aud.as_str().unwrap().to_uppercase()]))),
        ("aud", Some(json!([[aud.clone()]]))),
        ("sub", None),
        ("sid", None),
    ];
    for (name, value) in refused {
        let what = format!("{name} = {value:?}");
        v.refused(&v.sign(&h, &v.claims_with(name, value)), &what)
            .await;
    }
    let accepted: Vec<(&str, Option<Value>)> = vec![
        ("aud", Some(json!(["other", aud.clone()]))),
        ("aud", Some(json!([aud.clone()]))),
        ("nbf", Some(json!(now - 10))),
        ("nbf", Some(json!(now + 10))),
        ("iat", Some(json!(now + 10))),
        ("exp", Some(json!(now + 60))),
    ];
    for (name, value) in accepted {
        let what = format!("{name} = {value:?}");
        v.accepted(&v.sign(&h, &v.claims_with(name, value)), &what)
            .await;
    }
}

/// Class 7 in the payload: a repeated member (in either order, or escaped)
/// is refused even with our signature, whichever value would win.
#[tokio::test]
async fn class7_duplicate_payload_members() {
    let v = Victim::new("").await;
    let h = v.header.to_string();
    let text = v.claims.to_string();
    let body = &text[1..];
    for dup in [
        r#""sub":"admin","#.to_string(),
        r#""sub":"alice","#.to_string(),
        r#""\u0073ub":"admin","#.to_string(),
        r#""roles":["admin","root"],"#.to_string(),
        format!(r#""exp":{},"#, u32::MAX),
        r#""aud":"other","#.to_string(),
        r#""fpt":"AAAA","#.to_string(),
    ] {
        v.refused(&v.sign(&h, &format!("{{{dup}{body}")), &dup)
            .await;
        let appended = format!(
            "{},{}}}",
            &text[..text.len() - 1],
            dup.trim_end_matches(',')
        );
        v.refused(&v.sign(&h, &appended), &format!("{dup} last"))
            .await;
    }
}

/// Sends a raw HTTP/1.1 request with a huge `Authorization` header; returns
/// the status the gateway answered with, if it answered before closing.
async fn raw_huge_authorization(v: &Victim, value_len: usize) -> Option<u16> {
    let stream = v.gw.tls_stream().await;
    let (mut rd, mut wr) = tokio::io::split(stream);
    let head = "GET /headers HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ";
    let writer = tokio::spawn(async move {
        let dots = vec![b'.'; value_len];
        let _ = wr.write_all(head.as_bytes()).await;
        let _ = wr.write_all(&dots).await;
        let _ = wr.write_all(b"\r\n\r\n").await;
        let _ = wr.flush().await;
        wr
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match rd.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
        if answer.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    writer.abort();
    let text = String::from_utf8_lossy(&answer);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
}

/// Class 8: a megabyte of dots in `Authorization` is refused (431, or 401,
/// or the connection closed) within seconds, a validly signed token over the
/// size cap is refused before parsing, and the gateway stays healthy.
#[tokio::test]
async fn class8_size() {
    let v = Victim::new("").await;
    let started = Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(20), raw_huge_authorization(&v, 1 << 20))
        .await
        .expect("answered or closed in time");
    assert!(
        matches!(status, None | Some(401 | 431)),
        "status {status:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // Under the header limit, over the token cap (8 KiB): 401 by length.
    let small = tokio::time::timeout(Duration::from_secs(20), raw_huge_authorization(&v, 9000))
        .await
        .unwrap();
    assert_eq!(small, Some(401));
    let padded = v.claims_with("pad", Some(json!("p".repeat(9000))));
    let big = v.sign(&v.header.to_string(), &padded);
    assert!(big.len() > 8192 && big.len() < 14_000);
    v.refused(&big, "validly signed 12 KiB token").await;
    let at_cap = v.claims_with("pad", Some(json!("p".repeat(4000))));
    v.accepted(&v.sign(&v.header.to_string(), &at_cap), "5 KiB token")
        .await;
    assert!(v.gw.log_text().contains("token too large"));
    v.accepted(&v.token, "healthy afterwards").await;
    let (token, fp) = v.gw.login(&v.client, ALICE.0, ALICE.1).await;
    let resp =
        v.gw.get_with(&v.client, "/headers", &token, Some(&fp))
            .await;
    assert_eq!(resp.status(), 200);
}

/// Class 9: padding or the standard alphabet in any segment of an otherwise
/// valid token is refused.
#[tokio::test]
async fn class9_non_canonical_base64url() {
    let v = Victim::new("").await;
    let parts: Vec<&str> = v.token.split('.').collect();
    for i in 0..3 {
        for pad in ["=", "==", "==="] {
            let mut bad: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
            bad[i].push_str(pad);
            v.refused(&bad.join("."), &format!("segment {i} + {pad}"))
                .await;
        }
        let std_alphabet = parts[i].replace('-', "+").replace('_', "/");
        if std_alphabet != parts[i] {
            let mut bad: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
            bad[i] = std_alphabet;
            v.refused(&bad.join("."), &format!("segment {i} standard alphabet"))
                .await;
        }
    }
    // A 342-character signature's last character carries 4 spare bits.
    let sig = parts[2];
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = alphabet.find(sig.chars().last().unwrap()).unwrap();
    let twin = alphabet.chars().nth(last ^ 1).unwrap();
    let token = format!("{}.{}.{}{twin}", parts[0], parts[1], &sig[..sig.len() - 1]);
    v.refused(&token, "non-zero trailing bits").await;
}

/// Class 10 and tampering: stripped, truncated, junk or another token's
/// signature, and a payload changed under the original signature.
#[tokio::test]
async fn class10_signature_stripping_and_tampering() {
    let v = Victim::new("").await;
    let (other, _) = v.gw.login(&v.client, ALICE.0, ALICE.1).await;
    let parts: Vec<&str> = v.token.split('.').collect();
    let (h, p, sig) = (parts[0], parts[1], parts[2]);
    let other_sig = other.rsplit('.').next().unwrap();
    let bob = enc(v.claims_with("sub", Some(json!("bob"))));
    let admin = enc(v.claims_with("roles", Some(json!(["admin", "root"]))));
    let later = enc(v.claims_with("exp", Some(json!(u32::MAX))));
    let cases = [
        ("h.p.", format!("{h}.{p}.")),
        ("h.p", format!("{h}.{p}")),
        ("h.p..", format!("{h}.{p}..")),
        ("h.p.s.", format!("{h}.{p}.{sig}.")),
        (".p.s", format!(".{p}.{sig}")),
        ("h..s", format!("{h}..{sig}")),
        (
            "truncated signature",
            format!("{h}.{p}.{}", &sig[..sig.len() - 4]),
        ),
        ("junk signature", format!("{h}.{p}.{}", enc([0u8; 256]))),
        ("another token's signature", format!("{h}.{p}.{other_sig}")),
        ("sub changed", format!("{h}.{bob}.{sig}")),
        ("roles changed", format!("{h}.{admin}.{sig}")),
        ("exp changed", format!("{h}.{later}.{sig}")),
        ("not a JWT", "not-a-token".to_string()),
    ];
    for (what, token) in &cases {
        v.refused(token, what).await;
    }
}
