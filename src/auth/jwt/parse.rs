//! Structural checks of a compact JWS, and signature verification.

use std::fmt;

use super::header::Header;
use super::{Claims, JwtError, Validation};
use crate::auth::b64;
use crate::auth::keys::PublicKey;

/// A token that passed the structural checks; its signature and claims are
/// not verified yet. `Debug` shows only the `kid`.
pub struct Unverified<'a> {
    header: Header,
    signing_input: &'a str,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

/// Checks everything that needs no key (see the module documentation),
/// refusing a token longer than `max_len` before looking at it.
pub fn parse(token: &str, max_len: usize) -> Result<Unverified<'_>, JwtError> {
    if token.len() > max_len {
        return Err(JwtError::TooLarge);
    }
    let mut segments = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(JwtError::Malformed("not three segments"));
    };
    let header = decode_segment(header, "header")?;
    let header = Header::from_json(&header)?;
    let payload_bytes = decode_segment(payload, "payload")?;
    if signature.is_empty() {
        return Err(JwtError::MissingSignature);
    }
    let signature_bytes = decode_segment(signature, "signature")?;
    Ok(Unverified {
        header,
        signing_input: &token[..token.len() - signature.len() - 1],
        payload: payload_bytes,
        signature: signature_bytes,
    })
}

fn decode_segment(text: &str, what: &'static str) -> Result<Vec<u8>, JwtError> {
    if text.is_empty() {
        return Err(JwtError::Malformed(what));
    }
    b64::decode(text).ok_or(JwtError::Malformed(what))
}

impl Unverified<'_> {
    /// The `kid` to resolve the verification key with.
    pub fn kid(&self) -> &str {
        &self.header.kid
    }

    /// The checked header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Checks only the signature, with `key`, which must be the key the header
    /// names. The claims are neither read nor checked: use
    /// [`Unverified::verify`] to authenticate a request.
    pub fn verify_signature(&self, key: &PublicKey) -> Result<(), JwtError> {
        if key.kid() != self.kid() {
            return Err(JwtError::WrongKey);
        }
        if !key.verify(self.signing_input.as_bytes(), &self.signature) {
            return Err(JwtError::BadSignature);
        }
        Ok(())
    }

    /// Checks the signature, then reads the claims and checks them against
    /// `validation` at `now_unix`.
    pub fn verify(
        &self,
        key: &PublicKey,
        validation: &Validation,
        now_unix: u64,
    ) -> Result<Claims, JwtError> {
        self.verify_signature(key)?;
        let claims = Claims::from_json(&self.payload)?;
        validation.check(&claims, now_unix)?;
        Ok(claims)
    }
}

impl fmt::Debug for Unverified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unverified")
            .field("kid", &self.header.kid)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::jwt::tests::{NOW, claims, err, forge, header_with, payload, validation};
    use crate::auth::jwt::{DEFAULT_MAX_TOKEN_LEN, encode};
    use crate::auth::keys::{test_key, test_keys};

    const MAX: usize = DEFAULT_MAX_TOKEN_LEN;

    /// A correctly signed token with a minimal header parses and verifies.
    #[test]
    fn forged_baseline_verifies() {
        let token = forge(&header_with(""), &payload());
        let unverified = parse(&token, MAX).unwrap();
        assert!(
            unverified
                .verify(test_key().public(), &validation(), NOW)
                .is_ok()
        );
        let with_typ = forge(&header_with(r#","typ":"JWT""#), &payload());
        assert!(parse(&with_typ, MAX).is_ok());
    }

    /// Class 8: an oversized token is refused by length alone; a megabyte of
    /// dots with no cap at all is refused as malformed.
    #[test]
    fn size_cap_first() {
        let dots = ".".repeat(1 << 20);
        assert_eq!(err(&dots), JwtError::TooLarge);
        assert_eq!(
            parse(&dots, usize::MAX).unwrap_err(),
            JwtError::Malformed("not three segments")
        );
        let token = encode(&claims(), test_key()).unwrap();
        assert_eq!(
            parse(&token, token.len() - 1).unwrap_err(),
            JwtError::TooLarge
        );
        assert!(parse(&token, token.len()).is_ok());
    }

    /// Class 9: padding, the standard alphabet, whitespace and non-canonical
    /// trailing bits in any segment are refused.
    #[test]
    fn non_canonical_base64url() {
        let token = encode(&claims(), test_key()).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        for i in 0..3 {
            for suffix in ["=", "==", " ", "\n", "+", "/"] {
                let mut bad: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
                bad[i].push_str(suffix);
                assert!(
                    matches!(err(&bad.join(".")), JwtError::Malformed(_)),
                    "{i} {suffix:?}"
                );
            }
        }
        // A 256-byte signature is 342 characters, whose last carries 4 spare
        // bits: flipping one of them spells the same bytes non-canonically.
        let sig = parts[2];
        let last = sig.chars().last().unwrap();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let index = alphabet.find(last).unwrap();
        let twin = alphabet.chars().nth(index ^ 1).unwrap();
        let bad = format!("{}.{}.{}{twin}", parts[0], parts[1], &sig[..sig.len() - 1]);
        assert!(matches!(err(&bad), JwtError::Malformed(_)));
    }

    /// Class 10 and segment structure: stripped, missing and extra segments.
    #[test]
    fn segment_structure() {
        let token = encode(&claims(), test_key()).unwrap();
        let (input, _) = token.rsplit_once('.').unwrap();
        let (h, p) = input.split_once('.').unwrap();
        assert_eq!(err(&format!("{input}.")), JwtError::MissingSignature);
        assert!(matches!(err(input), JwtError::Malformed(_)));
        assert!(matches!(err(&format!("{token}.")), JwtError::Malformed(_)));
        assert!(matches!(
            err(&format!("{token}.{p}")),
            JwtError::Malformed(_)
        ));
        assert!(matches!(err(&format!(".{p}.x")), JwtError::Malformed(_)));
        assert!(matches!(err(&format!("{h}..x")), JwtError::Malformed(_)));
        assert!(matches!(err(""), JwtError::Malformed(_)));
        assert!(matches!(err("a.b.c"), JwtError::Malformed(_)));
    }

    /// Signatures from another key, truncated or altered fail; a key other
    /// than the one named by kid is refused before any signature check.
    #[test]
    fn signature_checks() {
        let [ours, other, ..] = test_keys() else {
            unreachable!()
        };
        let token = encode(&claims(), ours).unwrap();
        let parsed = parse(&token, MAX).unwrap();
        assert_eq!(
            parsed.verify_signature(other.public()),
            Err(JwtError::WrongKey)
        );
        let (input, _) = token.rsplit_once('.').unwrap();
        let foreign = other.sign(input.as_bytes()).unwrap();
        let short = &foreign[..foreign.len() - 1];
        for sig in [&foreign[..], short, &[0u8; 256][..]] {
            let forged = format!("{input}.{}", b64::encode(sig));
            let parsed = parse(&forged, MAX).unwrap();
            assert_eq!(
                parsed.verify(ours.public(), &validation(), NOW),
                Err(JwtError::BadSignature)
            );
        }
    }

    proptest::proptest! {
        /// Arbitrary text, and dot-joined arbitrary segments, never panic and
        /// never parse unless they are three canonical segments.
        #[test]
        fn never_panics(text in ".{0,600}", a in "[A-Za-z0-9_=+/-]{0,80}", b in "[A-Za-z0-9_-]{0,80}") {
            let _ = parse(&text, MAX);
            let token = format!("{a}.{b}.{a}");
            if parse(&token, MAX).is_ok() {
                proptest::prop_assert!(b64::decode(&a).is_some() && b64::decode(&b).is_some());
            }
        }
    }

    /// Debug of an unverified token shows the kid, not the token.
    #[test]
    fn debug_hides_token() {
        let token = encode(&claims(), test_key()).unwrap();
        let text = format!("{:?}", parse(&token, MAX).unwrap());
        assert!(text.contains(test_key().kid()));
        assert!(!text.contains(token.split('.').nth(1).unwrap()));
    }
}
