//! Wycheproof PBKDF2-HMAC-SHA256 vectors (tcId 1 and 2 are RFC 7914 §11)
//! run through `portcullis::auth::password::pbkdf2_sha256`, the wrapper our
//! PHC hashes are computed with.

use std::time::{Duration, Instant};

use portcullis::auth::password::pbkdf2_sha256;
use serde::Deserialize;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/wycheproof/pbkdf2_hmacsha256_test.json"
);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    algorithm: String,
    number_of_tests: usize,
    test_groups: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    tests: Vec<Case>,
}

#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Case {
    tc_id: u32,
    comment: String,
    password: String,
    salt: String,
    iteration_count: u32,
    dk_len: usize,
    dk: String,
    result: String,
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// Runs one case; returns whether the derived key equals `dk`.
fn derive_matches(case: &Case) -> bool {
    let mut out = vec![0u8; case.dk_len];
    pbkdf2_sha256(
        &hex(&case.password),
        &hex(&case.salt),
        case.iteration_count,
        &mut out,
    );
    out == hex(&case.dk)
}

/// Checks every Wycheproof case against its `result`: `valid` must match,
/// `invalid` must not, `acceptable` may do either. Slow cases are reported.
#[test]
fn wycheproof_pbkdf2_hmacsha256() {
    let text = std::fs::read_to_string(VECTORS).expect("read vectors");
    let file: File = serde_json::from_str(&text).expect("parse vectors");
    assert_eq!(file.algorithm, "PBKDF2-HMACSHA256");
    let cases: Vec<&Case> = file.test_groups.iter().flat_map(|g| &g.tests).collect();
    assert_eq!(cases.len(), file.number_of_tests);
    let started = Instant::now();
    for case in &cases {
        let one = Instant::now();
        let matches = derive_matches(case);
        let took = one.elapsed();
        match case.result.as_str() {
            "valid" => assert!(
                matches,
                "tcId {} ({}) should match",
                case.tc_id, case.comment
            ),
            "invalid" => assert!(!matches, "tcId {} should not match", case.tc_id),
            "acceptable" => {}
            other => panic!("tcId {}: unknown result {other:?}", case.tc_id),
        }
        if took > Duration::from_millis(500) {
            eprintln!(
                "tcId {}: {} iterations took {took:?}",
                case.tc_id, case.iteration_count
            );
        }
    }
    eprintln!("{} cases in {:?}", cases.len(), started.elapsed());
}

/// Checks the two RFC 7914 §11 vectors are tcId 1 and 2 and pass, and
/// that a one-bit change of the expected key is caught.
#[test]
fn rfc7914_vectors_present() {
    let text = std::fs::read_to_string(VECTORS).expect("read vectors");
    let file: File = serde_json::from_str(&text).expect("parse vectors");
    let rfc: Vec<&Case> = file
        .test_groups
        .iter()
        .flat_map(|g| &g.tests)
        .filter(|c| c.comment == "RFC 7914")
        .collect();
    let ids: Vec<u32> = rfc.iter().map(|c| c.tc_id).collect();
    assert_eq!(ids, [1, 2]);
    assert_eq!(
        (rfc[0].iteration_count, rfc[1].iteration_count),
        (1, 80_000)
    );
    assert!(rfc.iter().all(|c| derive_matches(c)));
    let mut corrupted = hex(&rfc[0].dk);
    corrupted[0] ^= 1;
    let flipped = Case {
        dk: corrupted.iter().map(|b| format!("{b:02x}")).collect(),
        ..rfc[0].clone()
    };
    assert!(!derive_matches(&flipped));
}
