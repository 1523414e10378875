//! Project Wycheproof RSASSA-PKCS1-v1_5 vectors through portcullis' own RS256
//! types (`tests/fixtures/wycheproof/`, Apache-2.0, see its LICENSE).

use crate::common;

use common::{fixture, hex, string, trim};
use portcullis::auth::keys::{Jwk, KeyError, PublicKey, SigningKey};
use rsa::BoxedUint;
use rsa::pkcs8::EncodePrivateKey as _;

/// The group's public key, read from its `keyJwk` with the non-thumbprint
/// `kid` ("none") removed; it must equal the key built from the hex
/// `publicKey` and the `kid`-ful JWK must be refused.
fn group_key(group: &serde_json::Value) -> PublicKey {
    let mut jwk: Jwk = serde_json::from_value(group["keyJwk"].clone()).unwrap();
    assert!(matches!(
        PublicKey::from_jwk(&jwk),
        Err(KeyError::KidNotThumbprint)
    ));
    jwk.kid = None;
    let key = PublicKey::from_jwk(&jwk).unwrap();
    let n = hex(string(&group["publicKey"], "modulus"));
    let e = hex(string(&group["publicKey"], "publicExponent"));
    assert_eq!(PublicKey::from_components(trim(&n), trim(&e)).unwrap(), key);
    key
}

/// Every `rsa_signature_2048_sha256` case: all `valid` signatures verify and
/// all `invalid` ones are refused. The one `acceptable` case (tcId 8,
/// `MissingNull`: a DigestInfo without the NULL parameters) is refused: the
/// verifier (aws-lc) accepts only the exact DER encoding, which is what a
/// strict RS256 verifier should do, and this test pins that behaviour.
#[test]
fn wycheproof_rsa_signature_2048_sha256() {
    let file = fixture("wycheproof/rsa_signature_2048_sha256_test.json");
    let mut seen = (0, 0, 0);
    for group in file["testGroups"].as_array().unwrap() {
        assert_eq!(string(group, "sha"), "SHA-256");
        let key = group_key(group);
        assert_eq!(key.bits(), 2048);
        for case in group["tests"].as_array().unwrap() {
            let id = &case["tcId"];
            let accepted = key.verify(&hex(string(case, "msg")), &hex(string(case, "sig")));
            match string(case, "result") {
                "valid" => (assert!(accepted, "tcId {id} must verify"), seen.0 += 1),
                "invalid" => (assert!(!accepted, "tcId {id} must be refused"), seen.1 += 1),
                "acceptable" => (assert!(!accepted, "tcId {id} is refused"), seen.2 += 1),
                other => panic!("tcId {id}: unknown result {other}"),
            };
        }
    }
    assert_eq!(seen, (9, 249, 1), "(valid, invalid, acceptable) cases run");
    assert_eq!(
        seen.0 + seen.1 + seen.2,
        file["numberOfTests"].as_u64().unwrap() as usize
    );
}

/// Builds the group's private key from its JWK components with the `rsa`
/// crate, for the groups that have one. The e = 3 groups have unbalanced
/// primes (1364 and 684 bits), hence the wide-prime constructor.
fn key_from_jwk(jwk: &serde_json::Value) -> SigningKey {
    let int = |name| {
        BoxedUint::from_be_slice_vartime(&portcullis::auth::b64::decode(string(jwk, name)).unwrap())
    };
    let key = rsa::PrivateKey::from_components_with_wide_primes(
        int("n"),
        int("e"),
        int("d"),
        vec![int("p"), int("q")],
    )
    .unwrap();
    SigningKey::from_pkcs8_der(key.to_pkcs8_der().unwrap().as_bytes()).unwrap()
}

/// Every `rsa_pkcs1_2048_sig_gen` case. `SigningKey` signs only RS256, so:
/// each group's PKCS#8 key loads and has the group's modulus and exponent;
/// every SHA-256 case (valid, and the `acceptable` e = 3 ones) is reproduced
/// byte for byte; where the group has a JWK private key, the same key rebuilt
/// from its components via `rsa` reproduces them too. The 33 cases with other
/// hashes (SHA-1/224/384/512) cannot be produced by an RS256 signer and are
/// counted, not signed.
#[test]
fn wycheproof_rsa_pkcs1_2048_sig_gen() {
    let file = fixture("wycheproof/rsa_pkcs1_2048_sig_gen_test.json");
    let (mut signed, mut other_hash) = (0, 0);
    for group in file["testGroups"].as_array().unwrap() {
        let key = SigningKey::from_pkcs8_der(&hex(string(group, "privateKeyPkcs8"))).unwrap();
        let private = &group["privateKey"];
        assert_eq!(key.public().n(), trim(&hex(string(private, "modulus"))));
        assert_eq!(
            key.public().e(),
            trim(&hex(string(private, "publicExponent")))
        );
        let rebuilt = group.get("privateKeyJwk").map(key_from_jwk);
        if let Some(rebuilt) = &rebuilt {
            assert_eq!(rebuilt.kid(), key.kid());
        }
        for case in group["tests"].as_array().unwrap() {
            if string(group, "sha") != "SHA-256" {
                other_hash += 1;
                continue;
            }
            let (msg, expected) = (hex(string(case, "msg")), hex(string(case, "sig")));
            assert_eq!(key.sign(&msg).unwrap(), expected, "tcId {}", case["tcId"]);
            if let Some(rebuilt) = &rebuilt {
                assert_eq!(
                    rebuilt.sign(&msg).unwrap(),
                    expected,
                    "tcId {}",
                    case["tcId"]
                );
            }
            assert!(key.public().verify(&msg, &expected));
            signed += 1;
        }
    }
    assert_eq!((signed, other_hash), (10, 33));
    assert_eq!(
        signed + other_hash,
        file["numberOfTests"].as_u64().unwrap() as usize
    );
}
