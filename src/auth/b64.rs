//! Strict base64url (RFC 4648 §5 alphabet, no padding) for JOSE segments, JWK
//! members, cookies and opaque tokens.
//!
//! Decoding accepts exactly one spelling per byte string: padding `=`, the
//! standard alphabet's `+` and `/`, whitespace, an impossible length and
//! non-zero trailing bits are all refused, so two different texts never decode
//! to the same bytes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Encodes bytes as base64url without padding.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes canonical base64url without padding; `None` for any other text.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    // URL_SAFE_NO_PAD requires no padding and refuses non-zero trailing bits
    // (base64's `decode_allow_trailing_bits` defaults to false); the tests
    // below pin both properties.
    URL_SAFE_NO_PAD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Round-trips every length from 0 to 64 bytes.
    #[test]
    fn round_trip() {
        for len in 0..=64u8 {
            let bytes: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(decode(&encode(&bytes)), Some(bytes));
        }
    }

    /// Decodes the RFC 4648 §10 vectors written in the URL-safe alphabet.
    #[test]
    fn known_vectors() {
        assert_eq!(decode("").as_deref(), Some(&b""[..]));
        assert_eq!(decode("Zm9vYmFy").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(decode("Zm9vYg").as_deref(), Some(&b"foob"[..]));
        assert_eq!(decode("-_8").as_deref(), Some(&[0xfb, 0xff][..]));
    }

    /// Refuses padding, the standard alphabet, whitespace and bad lengths.
    #[test]
    fn refuses_non_canonical_spellings() {
        for bad in [
            "Zm9vYg==", "Zm9vYg=", "Zm9v=", "+_8", "-/8", "Zm9v Yg", " Zm9v", "Zm9v\n", "Zm9vY",
            "Zm9\tv", "Zm9v.",
        ] {
            assert_eq!(decode(bad), None, "{bad:?} must be refused");
        }
    }

    /// Refuses non-zero trailing bits: `Zm9vYh` would also decode to `foob`.
    #[test]
    fn refuses_trailing_bits() {
        assert_eq!(decode("Zm9vYg").as_deref(), Some(&b"foob"[..]));
        assert_eq!(decode("Zm9vYh"), None);
        assert_eq!(decode("Zm9vYmE"), Some(b"fooba".to_vec()));
        assert_eq!(decode("Zm9vYmF"), None);
    }
}
