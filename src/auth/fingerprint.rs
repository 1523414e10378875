//! The fingerprint cookie that binds an access token to the browser it was
//! issued to (OWASP "token sidejacking"): the cookie holds a random value, the
//! token's `fpt` claim holds its SHA-256, and a stolen token alone is useless.

use rand::Rng as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use crate::auth::b64;

/// Random bytes in a fingerprint.
const FINGERPRINT_BYTES: usize = 32;

/// A new fingerprint: `(raw_cookie_value, fpt)`, where the raw value is 32
/// bytes from rand's OS-seeded CSPRNG in base64url and `fpt` is [`hash`] of it.
pub fn generate() -> (String, String) {
    let mut bytes = [0u8; FINGERPRINT_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    let raw = b64::encode(bytes);
    let fpt = hash(&raw);
    (raw, fpt)
}

/// The `fpt` claim for a cookie value: base64url(SHA-256(raw as bytes)).
pub fn hash(raw: &str) -> String {
    b64::encode(Sha256::digest(raw.as_bytes()))
}

/// True when `raw` hashes to `fpt`, compared in constant time.
pub fn matches(raw: &str, fpt: &str) -> bool {
    hash(raw).as_bytes().ct_eq(fpt.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A generated pair matches; the raw value is 43 base64url characters.
    #[test]
    fn generated_pair_matches() {
        let (raw, fpt) = generate();
        assert_eq!(raw.len(), 43);
        assert_eq!(b64::decode(&raw).map(|b| b.len()), Some(32));
        assert!(matches(&raw, &fpt));
    }

    /// Two fingerprints differ.
    #[test]
    fn generated_values_differ() {
        assert_ne!(generate().0, generate().0);
    }

    /// The hash is SHA-256 of the cookie text (FIPS 180-2 "abc" vector).
    #[test]
    fn hash_vector() {
        assert_eq!(hash("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    }

    /// A different cookie, a truncated or empty fpt, and the raw value itself
    /// used as fpt do not match.
    #[test]
    fn mismatches() {
        let (raw, fpt) = generate();
        let (other, _) = generate();
        assert!(!matches(&other, &fpt));
        assert!(!matches(&raw, &fpt[..42]));
        assert!(!matches(&raw, ""));
        assert!(!matches(&raw, &raw));
    }
}
