//! Signing keys: RS256 private keys, public keys and JWKs, the key ring the
//! gateway signs and verifies with, and the key directory on disk.
//!
//! - [`SigningKey`]: an RSA private key held parsed by aws-lc-rs; signs RS256.
//! - [`PublicKey`]: a validated RSA public key (2048 to 8192 bits, odd
//!   exponent ≥ 3, no ROCA fingerprint) kept pre-parsed for fast verification.
//! - [`Jwk`], [`parse_jwks`], [`parse_jwk`]: the JSON form, read strictly.
//! - [`KeyRing`]: the active signing key plus every key still verifiable.
//! - [`KeyDir`]: `<kid>.pem` files (0600) and `keyring.json` in a 0700
//!   directory; generation, rotation, pruning.
//! - [`shared::SharedKeys`]: with the Redis store, this instance's public
//!   keys published for its peers and theirs found by `kid`.
//!
//! A `kid` is always the RFC 7638 thumbprint of the public key ([`thumbprint`]):
//! it names exactly one key, and a JWK whose `kid` is anything else is refused.

mod dir;
mod jwk;
mod public;
mod ring;
pub mod shared;
mod signing;
mod state;

use std::path::PathBuf;

pub use dir::KeyDir;
pub use jwk::{Jwk, parse_jwk, parse_jwks};
pub use public::{MAX_RSA_BITS, MIN_RSA_BITS, PublicKey};
pub use ring::KeyRing;
pub use signing::SigningKey;
pub use state::{KeyInfo, KeyStatus};

#[cfg(test)]
pub(crate) use signing::tests::{test_key, test_keys};

use crate::auth::b64;
use sha2::{Digest, Sha256};

/// Everything that can go wrong with keys, JWKs and the key directory.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Key generation was asked for a size other than 2048, 3072 or 4096 bits.
    #[error("unsupported RSA key size {0} bits (use 2048, 3072 or 4096)")]
    UnsupportedSize(usize),
    /// The random generator or the prime search failed.
    #[error("RSA key generation failed")]
    Generation,
    /// The text holds no PKCS#8 `PRIVATE KEY` PEM block.
    #[error("not a PKCS#8 PEM private key (expected a `BEGIN PRIVATE KEY` block)")]
    InvalidPem,
    /// aws-lc-rs refused the private key.
    #[error("private key rejected: {0}")]
    InvalidPrivateKey(&'static str),
    /// The private key could not be serialised.
    #[error("private key could not be encoded")]
    Encoding,
    /// The signing operation failed.
    #[error("signing failed")]
    Signing,
    /// The RSA public key is not acceptable (size, exponent, known weakness).
    #[error("RSA public key rejected: {0}")]
    WeakKey(&'static str),
    /// A JWK member is missing.
    #[error("JWK is missing `{0}`")]
    MissingMember(&'static str),
    /// A JWK member is not canonical base64url.
    #[error("JWK member `{0}` is not canonical base64url")]
    BadEncoding(&'static str),
    /// The JWK is not an RSA key.
    #[error("JWK `kty` is not \"RSA\"")]
    NotRsa,
    /// The JWK (or a key in the set) carries private key material.
    #[error("JWK carries private key material")]
    PrivateMaterial,
    /// The JWK's `use` is not `sig`.
    #[error("JWK `use` is not \"sig\"")]
    WrongUse,
    /// The JWK's `key_ops` does not contain `verify`.
    #[error("JWK `key_ops` does not allow \"verify\"")]
    WrongKeyOps,
    /// The JWK's `alg` is present and not `RS256`.
    #[error("JWK `alg` is not \"RS256\"")]
    WrongAlgorithm,
    /// The JWK's `kid` is not the RFC 7638 thumbprint of its key.
    #[error("JWK `kid` is not the RFC 7638 thumbprint of the key")]
    KidNotThumbprint,
    /// Two keys of a set share a `kid`.
    #[error("JWK set has two keys with the same `kid`")]
    DuplicateKid,
    /// The JWK set is not `{"keys":[...]}` of objects, or repeats a member.
    #[error("invalid JWK set: {0}")]
    InvalidJwks(&'static str),
    /// A file system operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A key file or the key directory is open to group or others.
    #[error(
        "{} is accessible by group or others (mode {mode:o}); fix with `chmod {fix} {}`",
        path.display(),
        path.display()
    )]
    InsecurePermissions {
        /// The file or directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// The mode to set (`600` for files, `700` for the directory).
        fix: &'static str,
    },
    /// `keyring.json` is unreadable or inconsistent.
    #[error("{}: invalid key directory state: {reason}", path.display())]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// A key file holds a different key than its name says.
    #[error("{} does not hold the key its name says", path.display())]
    KidMismatch {
        /// The key file.
        path: PathBuf,
    },
    /// The key directory has keys but none is active.
    #[error("the key directory has no active key")]
    NoActiveKey,
}

/// The RFC 7638 JWK thumbprint of an RSA key: base64url(SHA-256) of
/// `{"e":"<e>","kty":"RSA","n":"<n>"}`, where `n_b64url` and `e_b64url` are the
/// canonical base64url members of the JWK (no leading zero octets).
pub fn thumbprint(n_b64url: &str, e_b64url: &str) -> String {
    // json! escapes anything odd and, with or without serde_json's
    // `preserve_order`, writes the members in this (lexicographic) order
    // with no whitespace, which is exactly the RFC 7638 canonical form.
    let canonical = serde_json::json!({ "e": e_b64url, "kty": "RSA", "n": n_b64url }).to_string();
    b64::encode(Sha256::digest(canonical.as_bytes()))
}

/// True when `kid` has the shape of a thumbprint: 43 base64url characters.
/// Used before a `kid` names a file, so no path can be built from other text.
pub(crate) fn is_thumbprint_shaped(kid: &str) -> bool {
    kid.len() == 43 && b64::decode(kid).is_some_and(|digest| digest.len() == 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7517 A.1 RSA key, as used in RFC 7638 §3.1.
    const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

    /// The RFC 7638 §3.1 example thumbprint.
    #[test]
    fn rfc7638_thumbprint() {
        assert_eq!(
            thumbprint(RFC7638_N, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    /// Thumbprints are thumbprint-shaped; paths and short strings are not.
    #[test]
    fn thumbprint_shape() {
        assert!(is_thumbprint_shaped(&thumbprint(RFC7638_N, "AQAB")));
        for bad in [
            "",
            "../../etc/passwd",
            "a",
            &"A".repeat(44),
            &"/".repeat(43),
        ] {
            assert!(!is_thumbprint_shaped(bad), "{bad}");
        }
    }

    /// The permission error tells the operator the command that fixes it.
    #[test]
    fn permission_error_names_the_fix() {
        let err = KeyError::InsecurePermissions {
            path: PathBuf::from("/keys/k.pem"),
            mode: 0o644,
            fix: "600",
        };
        assert_eq!(
            err.to_string(),
            "/keys/k.pem is accessible by group or others (mode 644); fix with `chmod 600 /keys/k.pem`"
        );
    }
}
