use super::*;
use crate::audit::report::Outcome;
use crate::auth::jwt::tests::{NOW, claims};
use crate::auth::keys::{test_key, test_keys};

fn result(checks: &[Check], id: &str) -> Outcome {
    checks.iter().find(|c| c.id == id).unwrap().result
}

fn failing(checks: &[Check]) -> Vec<&'static str> {
    checks
        .iter()
        .filter(|c| c.result == Outcome::Fail)
        .map(|c| c.id)
        .collect()
}

fn forge(header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64::encode(header), b64::encode(payload));
    let sig = test_key().sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64::encode(sig))
}

/// A token the product issues passes everything, and verifies with its key.
#[test]
fn issued_token_passes() {
    let token = jwt::encode(&claims(), test_key()).unwrap();
    let keys = [test_key().public().as_ref().clone()];
    let checks = audit(&token, NOW + 10, Some(&keys));
    assert!(failing(&checks).is_empty(), "{checks:#?}");
    assert_eq!(result(&checks, "JWT-014"), Outcome::Pass);
    assert_eq!(
        result(&audit(&token, NOW, None), "JWT-014"),
        Outcome::Skipped
    );
}

/// With another key set the signature check fails, naming the missing kid.
#[test]
fn wrong_jwks_fails() {
    let token = jwt::encode(&claims(), test_key()).unwrap();
    let other = [test_keys()[1].public().as_ref().clone()];
    let checks = audit(&token, NOW, Some(&other));
    assert_eq!(failing(&checks), vec!["JWT-014"]);
}

/// alg none with an empty signature: unsigned and stripped.
#[test]
fn alg_none() {
    let p = serde_json::to_string(&claims()).unwrap();
    for alg in ["none", "None", "nOnE"] {
        let token = format!(
            "{}.{}.",
            b64::encode(format!(r#"{{"alg":"{alg}"}}"#)),
            b64::encode(&p)
        );
        let f = failing(&audit(&token, NOW, None));
        assert!(
            f.contains(&"JWT-004") && f.contains(&"JWT-008") && f.contains(&"JWT-007"),
            "{f:?}"
        );
    }
}

/// Padding, duplicates, crit, embedded keys, sensitive claims and a long
/// lifetime are each reported by their own check.
#[test]
fn each_problem_has_its_check() {
    let kid = test_key().kid();
    let good = serde_json::to_string(&claims()).unwrap();
    let h = |extra: &str| format!(r#"{{"alg":"RS256","kid":"{kid}"{extra}}}"#);
    let padded = {
        let t = forge(&h(""), &format!("{good} "));
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        parts[1].push('=');
        parts.join(".")
    };
    let mut long = claims();
    long.exp = long.iat + 3600;
    let cases = [
        (padded, "JWT-002"),
        (
            forge(r#"{"alg":"RS256","alg":"none","kid":"k"}"#, &good),
            "JWT-003",
        ),
        (forge(&h(r#","crit":["x"]"#), &good), "JWT-005"),
        (forge(&h(r#","jku":"https://evil""#), &good), "JWT-006"),
        (
            forge(&h(""), &good.replacen('{', r#"{"email":"a@b.c","#, 1)),
            "JWT-012",
        ),
        (
            forge(&h(""), &serde_json::to_string(&long).unwrap()),
            "JWT-010",
        ),
        (
            forge(&h(""), &good.replace(r#""fpt":"fpt","#, "")),
            "JWT-013",
        ),
    ];
    for (token, id) in cases {
        let checks = audit(&token, NOW, None);
        assert_eq!(result(&checks, id), Outcome::Fail, "{id}: {checks:#?}");
    }
}

/// Expired, missing exp and future nbf are claim failures.
#[test]
fn claim_times() {
    let kid = test_key().kid();
    let h = format!(r#"{{"alg":"RS256","kid":"{kid}"}}"#);
    let c = claims();
    let expired = forge(&h, &serde_json::to_string(&c).unwrap());
    assert_eq!(
        result(&audit(&expired, c.exp + 1, None), "JWT-009"),
        Outcome::Fail
    );
    let no_exp = serde_json::to_string(&c)
        .unwrap()
        .replace(&format!(r#","exp":{}"#, c.exp), "");
    assert_eq!(
        result(&audit(&forge(&h, &no_exp), NOW, None), "JWT-009"),
        Outcome::Fail
    );
    let mut future = c.clone();
    future.nbf = Some(NOW + 3600);
    let t = forge(&h, &serde_json::to_string(&future).unwrap());
    assert_eq!(result(&audit(&t, NOW, None), "JWT-011"), Outcome::Fail);
}

/// Garbage is a report, not a panic.
#[test]
fn garbage_is_reported() {
    for junk in [
        "",
        "abc",
        "a.b",
        "....",
        "%%%.@@@.!!!",
        "eyJhbGciOiJub25lIn0",
    ] {
        let checks = audit(junk, NOW, None);
        assert_eq!(result(&checks, "JWT-001"), Outcome::Fail, "{junk:?}");
    }
}
