//! The JWT parser and verifier on hostile input.
//!
//! The first byte picks the shape: a raw compact token (which must never
//! verify, since nobody without our key can sign), or a header and payload
//! JSON pair (split at the first 0xFF byte) that we sign ourselves, so the
//! fuzzer reaches the header rules, the duplicate-member checks and the claim
//! validation behind a good signature.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use portcullis::auth::b64;
use portcullis::auth::jwt::{DEFAULT_MAX_TOKEN_LEN, Validation, parse};
use portcullis::auth::keys::SigningKey;

const NOW: u64 = 1_800_000_000;

static KEY: LazyLock<SigningKey> = LazyLock::new(|| SigningKey::generate(2048).expect("key"));
static VALIDATION: LazyLock<Validation> =
    LazyLock::new(|| Validation::new("https://gw.example", "https://gw.example", 30));

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        let Ok(token) = std::str::from_utf8(rest) else {
            return;
        };
        if let Ok(unverified) = parse(token, DEFAULT_MAX_TOKEN_LEN) {
            let _ = unverified.kid();
            // A token we did not sign must never verify.
            assert!(unverified.verify(KEY.public(), &VALIDATION, NOW).is_err());
        }
        return;
    }
    let split = rest.iter().position(|&b| b == 0xFF).unwrap_or(rest.len());
    let (header, payload) = (&rest[..split], rest.get(split + 1..).unwrap_or(&[]));
    let signing_input = format!("{}.{}", b64::encode(header), b64::encode(payload));
    let signature = KEY.sign(signing_input.as_bytes()).expect("sign");
    let token = format!("{signing_input}.{}", b64::encode(signature));
    let Ok(unverified) = parse(&token, usize::MAX) else {
        return;
    };
    assert_eq!(unverified.header().alg, "RS256");
    if let Ok(claims) = unverified.verify(KEY.public(), &VALIDATION, NOW) {
        // Whatever was accepted satisfies the rules it was checked against.
        assert!(claims.exp + 60 > NOW);
        assert_eq!(claims.iss, VALIDATION.issuer);
        assert!(claims.aud.contains(&VALIDATION.audience));
        assert!(claims.nbf.is_none_or(|nbf| nbf <= NOW + 60));
    }
});
