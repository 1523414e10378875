//! Request ids: keep a well-formed incoming `X-Request-Id`, else make one.

use http::{HeaderMap, HeaderValue};

/// The header carrying the request id.
pub const HEADER: &str = "x-request-id";

/// The request's id: the client's if well formed (1-64 of `[A-Za-z0-9._-]`),
/// otherwise a fresh random one.
pub fn assign(headers: &HeaderMap) -> HeaderValue {
    headers
        .get(HEADER)
        .filter(|v| well_formed(v.as_bytes()))
        .cloned()
        .unwrap_or_else(generate)
}

fn well_formed(v: &[u8]) -> bool {
    (1..=64).contains(&v.len())
        && v.iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A new random id of 32 hex digits.
pub fn generate() -> HeaderValue {
    let raw = rand::random::<u128>().to_be_bytes();
    let mut hex = [0u8; 32];
    base16ct::lower::encode(&raw, &mut hex)
        .ok()
        .and_then(|id| HeaderValue::from_bytes(id).ok())
        .unwrap_or_else(|| HeaderValue::from_static("unknown"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Good ids are kept; malformed or oversized ones are replaced.
    #[test]
    fn keeps_only_well_formed_ids() {
        let cases = [
            ("abc-123_x.y", true),
            ("", false),
            ("a b", false),
            ("<script>", false),
        ];
        for (v, kept) in cases {
            let mut h = HeaderMap::new();
            h.insert(HEADER, HeaderValue::from_str(v).unwrap());
            assert_eq!(assign(&h) == v, kept, "{v:?}");
        }
        let mut h = HeaderMap::new();
        h.insert(HEADER, HeaderValue::from_str(&"a".repeat(65)).unwrap());
        assert_eq!(assign(&h).len(), 32);
    }

    /// Fresh ids are 32 lowercase hex digits and differ.
    #[test]
    fn generates_hex_ids() {
        let (a, b) = (generate(), generate());
        assert_eq!(a.len(), 32);
        assert!(
            a.as_bytes()
                .iter()
                .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
        );
        assert_ne!(a, b);
    }
}
