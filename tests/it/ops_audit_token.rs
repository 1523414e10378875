//! `portcullis audit token`: a token minted by the running gateway passes
//! (and verifies against its JWKS); the attack tokens of
//! ../shared/cases/attacks.md (classes 1, 3, 5, 6, 7, 9, 10) are each
//! reported with the right finding and exit 1.

use serde_json::json;

use crate::common::audit::{Audited, audit_json, audit_token_stdin};
use crate::common::auth::{Victim, jwks};
use crate::common::cli;
use crate::common::jose::{enc, with_claim};

/// A gateway, a logged-in token, and its JWKS written to a file.
async fn setup() -> (Victim, tempfile::TempDir, String) {
    let v = Victim::new("").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, jwks(&v.gw).await.to_string()).expect("write jwks");
    let path = path.to_str().expect("utf-8").to_owned();
    (v, dir, path)
}

/// The gateway's own token passes every check; with `--jwks` of the running
/// gateway (URL with --insecure or --cacert, or a file) its signature verifies.
#[tokio::test]
async fn minted_token_passes_and_verifies() {
    let (v, _dir, jwks_file) = setup().await;
    let a = audit_json(&["audit", "token", &v.token]);
    assert_eq!(a.code, 0, "{:#}", a.report);
    assert_eq!(a.ids("fail"), Vec::<String>::new());
    assert_eq!(a.result("JWT-014"), "skipped");

    let url = v.gw.url("/.well-known/jwks.json");
    let cert = v.gw.path("cert.pem");
    let cert = cert.to_str().unwrap();
    for extra in [
        vec!["--jwks", url.as_str(), "--insecure"],
        vec!["--jwks", url.as_str(), "--cacert", cert],
        vec!["--jwks", jwks_file.as_str()],
    ] {
        let mut args = vec!["audit", "token", v.token.as_str()];
        args.extend(extra.iter().copied());
        let a = audit_json(&args);
        assert_eq!(a.code, 0, "{extra:?}: {:#}", a.report);
        assert_eq!(a.result("JWT-014"), "pass", "{extra:?}");
    }
    // The token on stdin.
    let a = Audited::from_output(audit_token_stdin(
        &format!("{}\n", v.token),
        &["--jwks", &jwks_file],
    ));
    assert_eq!((a.code, a.result("JWT-014")), (0, "pass"));

    // Without trusting the self-signed certificate the fetch is refused (exit 2).
    let out = cli(&["audit", "token", &v.token, "--jwks", &url], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--jwks"));
}

/// Asserts that auditing `token` exits 1 with `id` failing, with and
/// without the JWKS, where the strict verifier must refuse it too.
fn refused(token: &str, id: &str, jwks_file: &str, what: &str) -> Audited {
    let a = flagged(token, id, what);
    let with = audit_json(&["audit", "token", token, "--jwks", jwks_file]);
    assert_eq!(with.code, 1, "{what}");
    assert_eq!(with.result("JWT-014"), "fail", "{what}: {:#}", with.report);
    a
}

/// Asserts that auditing `token` exits 1 with `id` failing.
fn flagged(token: &str, id: &str, what: &str) -> Audited {
    let a = audit_json(&["audit", "token", token]);
    assert_eq!(a.code, 1, "{what}: {:#}", a.report);
    assert_eq!(a.result(id), "fail", "{what}: {:#}", a.report);
    a
}

/// Classes 1, 3, 5, 7, 9 and 10: header and encoding attacks.
#[tokio::test]
async fn header_and_encoding_attacks() {
    let (v, _dir, jwks_file) = setup().await;
    let payload = v.claims.to_string();
    let kid = v.kid().to_owned();
    let (h, p, _) = {
        let parts: Vec<&str> = v.token.split('.').collect();
        (
            parts[0].to_owned(),
            parts[1].to_owned(),
            parts[2].to_owned(),
        )
    };

    // Class 1: alg none in any spelling, empty signature.
    for alg in ["none", "None", "NONE", "nOnE"] {
        let t = format!(
            "{}.{}.",
            enc(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#)),
            enc(&payload)
        );
        let a = refused(&t, "JWT-004", &jwks_file, alg);
        assert!(
            a.check("JWT-004")["detail"]
                .as_str()
                .unwrap()
                .contains("unsigned")
        );
        assert_eq!(a.result("JWT-008"), "fail");
    }
    // Class 3: embedded or remote keys, validly signed with our own key.
    for member in [
        r#""jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"}"#,
        r#""jku":"https://evil.example/jwks.json""#,
        r#""x5u":"https://evil.example/cert.pem""#,
        r#""x5c":["MIIB"]"#,
    ] {
        let header = format!(r#"{{"alg":"RS256","typ":"JWT","kid":"{kid}",{member}}}"#);
        refused(&v.sign(&header, &payload), "JWT-006", &jwks_file, member);
    }
    // Class 5: crit.
    let header = format!(r#"{{"alg":"RS256","typ":"JWT","kid":"{kid}","crit":["exp"]}}"#);
    refused(&v.sign(&header, &payload), "JWT-005", &jwks_file, "crit");
    // Class 7: duplicate members in the header and in the payload.
    let dup_header = format!(r#"{{"alg":"RS256","typ":"JWT","kid":"{kid}","alg":"none"}}"#);
    let a = refused(
        &v.sign(&dup_header, &payload),
        "JWT-003",
        &jwks_file,
        "dup header",
    );
    assert!(
        a.check("JWT-003")["detail"]
            .as_str()
            .unwrap()
            .contains("header")
    );
    let header = format!(r#"{{"alg":"RS256","typ":"JWT","kid":"{kid}"}}"#);
    let dup_payload = payload.replacen('{', r#"{"sub":"admin","#, 1);
    // Its signature is genuine: only the duplicate check (and the gateway's
    // claim parser, which `audit token` does not run) can catch it.
    flagged(&v.sign(&header, &dup_payload), "JWT-003", "dup payload");
    // Class 9: padding on a segment.
    let padded = format!("{h}=.{p}.{}", v.token.split('.').nth(2).unwrap());
    refused(&padded, "JWT-002", &jwks_file, "padding");
    // Class 10: signature stripping.
    for stripped in [format!("{h}.{p}."), format!("{h}.{p}")] {
        refused(&stripped, "JWT-008", &jwks_file, &stripped);
    }
}

/// Class 6 (claims) and the token policy: expired or missing `exp`, `nbf`
/// in the future, a long lifetime, sensitive claims, no `fpt`, no `kid`.
#[tokio::test]
async fn claim_attacks_and_policy() {
    let (v, _dir, jwks_file) = setup().await;
    let kid = v.kid().to_owned();
    let header = format!(r#"{{"alg":"RS256","typ":"JWT","kid":"{kid}"}}"#);
    let now = v.claims["iat"].as_u64().unwrap();
    let cases = [
        (
            with_claim(&v.claims, "exp", Some(json!(now - 120))),
            "JWT-009",
            "expired",
        ),
        (with_claim(&v.claims, "exp", None), "JWT-009", "no exp"),
        (
            with_claim(&v.claims, "nbf", Some(json!(now + 3600))),
            "JWT-011",
            "nbf future",
        ),
        (
            with_claim(&v.claims, "iat", Some(json!(now + 3600))),
            "JWT-011",
            "iat future",
        ),
        (
            with_claim(&v.claims, "exp", Some(json!(now + 86_400))),
            "JWT-010",
            "one day",
        ),
        (
            with_claim(&v.claims, "email", Some(json!("alice@example.com"))),
            "JWT-012",
            "email",
        ),
        (with_claim(&v.claims, "fpt", None), "JWT-013", "no fpt"),
    ];
    for (payload, id, what) in cases {
        let t = v.sign(&header, &payload);
        let a = audit_json(&["audit", "token", &t]);
        assert_eq!(a.code, 1, "{what}: {:#}", a.report);
        assert_eq!(a.result(id), "fail", "{what}: {:#}", a.report);
        assert!(
            !a.report.to_string().contains("alice@example.com"),
            "claim value printed"
        );
    }
    let no_kid = v.sign(r#"{"alg":"RS256","typ":"JWT"}"#, &v.claims.to_string());
    refused(&no_kid, "JWT-007", &jwks_file, "no kid");
}

/// Malformed input is a report (exit 1), not a crash; an empty token is a
/// usage error (exit 2).
#[test]
fn malformed_tokens_are_reported() {
    for junk in ["garbage", "a.b.c.d", "%%%.###.!!!", "...."] {
        let a = audit_json(&["audit", "token", junk]);
        assert_eq!(a.code, 1, "{junk}");
        assert_eq!(a.result("JWT-001"), "fail", "{junk}");
    }
    let out = audit_token_stdin("", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWT: empty token"));
}
