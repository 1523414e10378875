//! Issue 3, attack classes 1-5 and 7 (header) of `cases/attacks.md`, each a
//! table of forged tokens sent through the real gateway with the right
//! fingerprint cookie. Where a case needs a valid signature to prove that
//! the header check (and not the signature) refuses it, it is signed with
//! the gateway's own key read from its key directory.

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::auth::Victim;
use common::jose::{enc, header, hs256, public_forms, rs256};
use portcullis::auth::keys::SigningKey;

/// Control: the forging helpers produce tokens the gateway accepts when
/// nothing is wrong, so every refusal below is the case's doing.
#[tokio::test]
async fn control_reforged_token_is_accepted() {
    let v = Victim::new("").await;
    v.accepted(&v.token, "the real token").await;
    let reforged = v.sign(&v.header.to_string(), &v.claims.to_string());
    v.accepted(&reforged, "re-signed with our key").await;
    let minimal = v.sign(
        &format!(r#"{{"alg":"RS256","kid":"{}"}}"#, v.kid()),
        &v.claims.to_string(),
    );
    v.accepted(&minimal, "header without typ").await;
}

/// Class 1: `alg` none in any spelling, with an empty, the real, or a junk
/// signature, with or without `kid` and `typ`.
#[tokio::test]
async fn class1_unsigned_tokens() {
    let v = Victim::new("").await;
    let payload = enc(v.claims.to_string());
    let real_sig = v.token.rsplit('.').next().unwrap().to_string();
    for alg in ["none", "None", "NONE", "nOnE"] {
        for h in [
            format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"{}"}}"#, v.kid()),
            format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#),
            format!(r#"{{"alg":"{alg}"}}"#),
        ] {
            for sig in ["", real_sig.as_str(), "AAAA"] {
                let token = format!("{}.{payload}.{sig}", enc(&h));
                v.refused(&token, &format!("{h} sig {:.8}", sig)).await;
            }
            v.refused(
                &format!("{}.{payload}", enc(&h)),
                &format!("{h} two segments"),
            )
            .await;
        }
    }
}

/// Class 2: HS256 tokens whose HMAC key is our RSA public key in every form
/// an attacker can derive from the JWKS: PEM (SPKI and PKCS#1, with and
/// without the final newline), DER, the JWK text, and the raw or encoded
/// modulus.
#[tokio::test]
async fn class2_algorithm_confusion() {
    let v = Victim::new("").await;
    let jwks: serde_json::Value = v
        .client
        .get(v.gw.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = &jwks["keys"][0];
    assert_eq!(jwk["kid"], v.kid());
    let b64 = |name: &str| portcullis::auth::b64::decode(jwk[name].as_str().unwrap()).unwrap();
    let forms = public_forms(&b64("n"), &b64("e"));
    let jwk_text = serde_json::to_string(jwk).unwrap();
    let secrets: Vec<(&str, Vec<u8>)> = vec![
        ("SPKI PEM", forms.spki_pem.clone().into_bytes()),
        (
            "SPKI PEM trimmed",
            forms.spki_pem.trim_end().as_bytes().to_vec(),
        ),
        ("PKCS#1 PEM", forms.pkcs1_pem.clone().into_bytes()),
        ("SPKI DER", forms.spki_der.clone()),
        ("PKCS#1 DER", forms.pkcs1_der.clone()),
        ("JWK text", jwk_text.into_bytes()),
        ("JWKS text", jwks.to_string().into_bytes()),
        ("modulus bytes", b64("n")),
        (
            "modulus b64url",
            jwk["n"].as_str().unwrap().as_bytes().to_vec(),
        ),
    ];
    let payload = v.claims.to_string();
    for alg in ["HS256", "hs256", "RS256"] {
        let h = format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"{}"}}"#, v.kid());
        for (what, secret) in &secrets {
            v.refused(
                &hs256(secret, &h, &payload),
                &format!("{alg} keyed with {what}"),
            )
            .await;
        }
    }
}

/// A self-signed certificate for `key`, DER, as an `x5c` entry would hold.
fn certificate_der(key: &SigningKey) -> Vec<u8> {
    let pem = key.to_pkcs8_pem().unwrap();
    let pair = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256).unwrap();
    let params = rcgen::CertificateParams::new(vec!["evil.example".to_string()]).unwrap();
    params.self_signed(&pair).unwrap().der().to_vec()
}

/// Class 3: keys embedded in or pointed to by the header (`jwk`, `jku`,
/// `x5u`, `x5c`) are never trusted and never fetched, whether the token is
/// signed by the attacker's key they describe or even by our own key.
#[tokio::test]
async fn class3_embedded_and_remote_keys() {
    let v = Victim::new("").await;
    let attacker = SigningKey::generate(2048).unwrap();
    let bait = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://127.0.0.1:{}/jwks.json",
        bait.local_addr().unwrap().port()
    );
    let jwk = serde_json::to_string(&attacker.public().to_jwk()).unwrap();
    let x5c = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(certificate_der(&attacker))
    };
    let members = [
        format!(r#""jwk":{jwk}"#),
        format!(r#""jku":"{url}""#),
        format!(r#""x5u":"{url}""#),
        format!(r#""x5c":["{x5c}"]"#),
        format!(r#""jku":"{url}","jwk":{jwk}"#),
    ];
    let payload = v.claims.to_string();
    for extra in &members {
        for (kid, signer, who) in [
            (
                attacker.kid(),
                &attacker,
                "attacker kid, attacker signature",
            ),
            (v.kid(), &attacker, "our kid, attacker signature"),
            (v.kid(), &v.key, "our kid, our signature"),
        ] {
            let token = rs256(signer, &header(kid, extra), &payload);
            v.refused(&token, &format!("{who}: {extra:.20}")).await;
        }
    }
    let fetched = tokio::time::timeout(Duration::from_millis(300), bait.accept()).await;
    assert!(fetched.is_err(), "the gateway fetched a header URL");
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Class 4: a missing, empty, unknown, path-shaped or SQL-shaped `kid` is
/// refused, even with our valid signature; no file appears and the gateway
/// logs neither the text nor a path built from it.
#[tokio::test]
async fn class4_kid_games() {
    let v = Victim::new("").await;
    let attacker = SigningKey::generate(2048).unwrap();
    let payload = v.claims.to_string();
    let before = files(v.gw.dir.path());
    let ours = |h: &str| v.sign(h, &payload);
    let cases = [
        ("missing kid", ours(r#"{"alg":"RS256","typ":"JWT"}"#)),
        ("empty kid", ours(&header("", ""))),
        ("null kid", ours(r#"{"alg":"RS256","kid":null}"#)),
        ("numeric kid", ours(r#"{"alg":"RS256","kid":7}"#)),
        (
            "attacker's kid",
            rs256(&attacker, &header(attacker.kid(), ""), &payload),
        ),
        ("unknown thumbprint", ours(&header(attacker.kid(), ""))),
        (
            "our kid, other case",
            ours(&header(&v.kid().to_ascii_lowercase(), "")),
        ),
        (
            "our kid plus suffix",
            ours(&header(&format!("{}.pem", v.kid()), "")),
        ),
        ("traversal", ours(&header("../../etc/passwd", ""))),
        (
            "deep traversal",
            ours(&header("../../../../../../../../etc/passwd", "")),
        ),
        ("absolute path", ours(&header("/etc/passwd", ""))),
        (
            "key file path",
            ours(&header(&format!("../keys/{}", v.kid()), "")),
        ),
        ("device", ours(&header("/dev/zero", ""))),
        ("SQL", ours(&header("' OR 1=1 --", ""))),
        ("SQL union", ours(&header("x' UNION SELECT 'k", ""))),
        ("URL", ours(&header("https://evil.example/k", ""))),
        ("long kid", ours(&header(&"k".repeat(4000), ""))),
    ];
    for (what, token) in &cases {
        v.refused(token, what).await;
    }
    assert_eq!(files(v.gw.dir.path()), before, "files changed");
    let logs = v.gw.log_text();
    for text in ["etc/passwd", "OR 1=1", "dev/zero", "UNION", "evil.example"] {
        assert!(!logs.contains(text), "logged {text}");
    }
}

/// Class 5: `crit`, whatever it lists, is refused even with our signature.
#[tokio::test]
async fn class5_crit() {
    let v = Victim::new("").await;
    let payload = v.claims.to_string();
    for extra in [
        r#""crit":["exp"]"#,
        r#""crit":["b64"],"b64":false"#,
        r#""crit":["x-unknown"],"x-unknown":1"#,
        r#""crit":[]"#,
        r#""crit":"exp""#,
        r#""crit":null"#,
    ] {
        v.refused(&v.sign(&header(v.kid(), extra), &payload), extra)
            .await;
    }
}

/// Class 7 in the header: repeated members, in either order and escaped,
/// are refused even with our signature.
#[tokio::test]
async fn class7_duplicate_header_members() {
    let v = Victim::new("").await;
    let kid = v.kid();
    let payload = v.claims.to_string();
    for h in [
        format!(r#"{{"alg":"RS256","alg":"none","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"none","alg":"RS256","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"RS256","alg":"RS256","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"RS256","\u0061lg":"HS256","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"RS256","kid":"unknown","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"RS256","typ":"JWT","typ":"JWT","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"RS256","kid":"{kid}","x":{{"a":1,"a":2}}}}"#),
    ] {
        v.refused(&v.sign(&h, &payload), &h).await;
    }
}
