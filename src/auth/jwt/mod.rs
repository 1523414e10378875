//! Strict RS256 JSON Web Tokens.
//!
//! Issuing: [`encode`] writes the header `{"alg":"RS256","typ":"JWT","kid":…}`.
//!
//! Verifying is split so that the caller can resolve the key asynchronously
//! (key ring, then the shared store for a peer's `kid`):
//! 1. [`parse`]: size cap before anything else, exactly three segments, strict
//!    canonical base64url, a header without duplicate members whose `alg` is
//!    exactly `RS256`, `typ` absent or `JWT`, no `crit`, no embedded or remote
//!    key (`jwk`, `jku`, `x5u`, `x5c`, `x5t`, `x5t#S256`), a `kid` of 1 to 128
//!    visible ASCII characters, and a non-empty signature.
//! 2. [`Unverified::kid`]: look the key up; nothing is derived from the text
//!    but a map lookup.
//! 3. [`Unverified::verify`]: the signature first, then the payload (no
//!    duplicate members), then `iss`, `aud`, `exp`, `nbf`, `iat` with a leeway
//!    of at most [`MAX_LEEWAY_SECS`].
//!
//! No error carries token text; [`JwtError::reason`] is a stable label for
//! logs and metrics.

mod claims;
mod header;
mod parse;

pub use claims::{Audience, Claims, MAX_LEEWAY_SECS, Validation};
pub use header::Header;
pub use parse::{Unverified, parse};

use crate::auth::b64;
use crate::auth::keys::SigningKey;

/// A sensible cap for [`parse`]: far above any token portcullis issues, far
/// below anything that costs memory or time.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;

/// Why a token was refused (or could not be issued).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Longer than the caller's cap; nothing else was looked at.
    #[error("token too large")]
    TooLarge,
    /// Not three canonical base64url segments, or a header that is not a JSON object.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header's `alg` is not exactly `RS256`.
    #[error("algorithm not allowed")]
    BadAlgorithm,
    /// The header's `typ` is present and not exactly `JWT`.
    #[error("token type not allowed")]
    BadType,
    /// The header has `crit`.
    #[error("critical header parameters are not supported")]
    Crit,
    /// The header embeds or points to a key (`jwk`, `jku`, `x5u`, `x5c`, `x5t`).
    #[error("header carries an embedded or remote key")]
    UntrustedKeyHeader,
    /// The header has no `kid`, or an empty one.
    #[error("missing kid")]
    MissingKid,
    /// The `kid` is not a string of 1 to 128 visible ASCII characters.
    #[error("invalid kid")]
    BadKid,
    /// No key is known under the `kid` (returned by callers that resolve keys).
    #[error("unknown kid")]
    UnknownKid,
    /// The key given to verify is not the one the header names.
    #[error("verification key does not match kid")]
    WrongKey,
    /// The signature segment is empty.
    #[error("missing signature")]
    MissingSignature,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// The header or payload repeats a JSON member.
    #[error("duplicate JSON member")]
    DuplicateMember,
    /// The payload is not a JSON object with the required, well-typed claims.
    #[error("invalid claims")]
    InvalidClaims,
    /// `exp` has passed (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("token issued in the future")]
    IssuedInFuture,
    /// `iss` is not ours.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` does not name us.
    #[error("wrong audience")]
    WrongAudience,
    /// Issuing failed (serialisation or signing).
    #[error("token could not be issued")]
    Issue,
}

impl JwtError {
    /// A stable snake_case label for metrics and structured logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::Malformed(_) => "malformed",
            Self::BadAlgorithm => "bad_algorithm",
            Self::BadType => "bad_type",
            Self::Crit => "crit",
            Self::UntrustedKeyHeader => "untrusted_key_header",
            Self::MissingKid => "missing_kid",
            Self::BadKid => "bad_kid",
            Self::UnknownKid => "unknown_kid",
            Self::WrongKey => "wrong_key",
            Self::MissingSignature => "missing_signature",
            Self::BadSignature => "bad_signature",
            Self::DuplicateMember => "duplicate_member",
            Self::InvalidClaims => "invalid_claims",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::Issue => "issue",
        }
    }
}

/// Issues a token for `claims` signed by `key`, with the header
/// `{"alg":"RS256","typ":"JWT","kid":"<key's kid>"}`.
pub fn encode(claims: &Claims, key: &SigningKey) -> Result<String, JwtError> {
    let header = Header {
        alg: "RS256".to_owned(),
        typ: Some("JWT".to_owned()),
        kid: key.kid().to_owned(),
    };
    let header = serde_json::to_vec(&header).map_err(|_| JwtError::Issue)?;
    let payload = serde_json::to_vec(claims).map_err(|_| JwtError::Issue)?;
    let mut token = format!("{}.{}", b64::encode(header), b64::encode(payload));
    let signature = key.sign(token.as_bytes()).map_err(|_| JwtError::Issue)?;
    token.push('.');
    token.push_str(&b64::encode(signature));
    Ok(token)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::auth::keys::test_key;

    /// Claims valid at [`NOW`] for [`validation`].
    pub(crate) fn claims() -> Claims {
        Claims {
            iss: "https://auth.example".to_owned(),
            sub: "user-1".to_owned(),
            aud: Audience::One("app".to_owned()),
            sid: "session-1".to_owned(),
            jti: "jti-1".to_owned(),
            iat: NOW,
            exp: NOW + 900,
            nbf: None,
            fpt: Some("fpt".to_owned()),
            roles: vec!["admin".to_owned()],
        }
    }

    /// The test clock.
    pub(crate) const NOW: u64 = 1_700_000_000;

    /// Our issuer and audience with a 30 s leeway.
    pub(crate) fn validation() -> Validation {
        Validation::new("https://auth.example", "app", 30)
    }

    /// Signs `header.payload` (raw JSON texts) with the test key: a token that
    /// is signed correctly whatever its header says.
    /// The test claims as JSON.
    pub(crate) fn payload() -> String {
        serde_json::to_string(&claims()).unwrap()
    }

    /// A header with the test key's kid plus `extra` members.
    pub(crate) fn header_with(extra: &str) -> String {
        format!(
            r#"{{"alg":"RS256","kid":"{}"{extra}}}"#,
            crate::auth::keys::test_key().kid()
        )
    }

    /// The error `parse` gives for `token`.
    pub(crate) fn err(token: &str) -> JwtError {
        parse(token, DEFAULT_MAX_TOKEN_LEN).unwrap_err()
    }

    pub(crate) fn forge(header: &str, payload: &str) -> String {
        let input = format!("{}.{}", b64::encode(header), b64::encode(payload));
        let sig = test_key().sign(input.as_bytes()).unwrap();
        format!("{input}.{}", b64::encode(sig))
    }

    /// Issue, parse and verify give back the claims.
    #[test]
    fn round_trip() {
        let key = test_key();
        let token = encode(&claims(), key).unwrap();
        let unverified = parse(&token, DEFAULT_MAX_TOKEN_LEN).unwrap();
        assert_eq!(unverified.kid(), key.kid());
        let got = unverified.verify(key.public(), &validation(), NOW).unwrap();
        assert_eq!(got, claims());
    }

    /// The header is exactly `{"alg":"RS256","typ":"JWT","kid":"…"}` and
    /// `aud` is written as a string.
    #[test]
    fn issued_header_and_aud_shape() {
        let key = test_key();
        let token = encode(&claims(), key).unwrap();
        let mut parts = token.split('.');
        let header = b64::decode(parts.next().unwrap()).unwrap();
        let expected = format!(r#"{{"alg":"RS256","typ":"JWT","kid":"{}"}}"#, key.kid());
        assert_eq!(String::from_utf8(header).unwrap(), expected);
        let payload: serde_json::Value =
            serde_json::from_slice(&b64::decode(parts.next().unwrap()).unwrap()).unwrap();
        assert_eq!(payload["aud"], "app");
        assert!(payload.get("nbf").is_none());
    }

    /// Reasons are distinct, so metrics can tell failures apart.
    #[test]
    fn reasons_are_distinct() {
        let all = [
            JwtError::TooLarge,
            JwtError::Malformed("x"),
            JwtError::BadAlgorithm,
            JwtError::BadType,
            JwtError::Crit,
            JwtError::UntrustedKeyHeader,
            JwtError::MissingKid,
            JwtError::BadKid,
            JwtError::UnknownKid,
            JwtError::WrongKey,
            JwtError::MissingSignature,
            JwtError::BadSignature,
            JwtError::DuplicateMember,
            JwtError::InvalidClaims,
            JwtError::Expired,
            JwtError::NotYetValid,
            JwtError::IssuedInFuture,
            JwtError::WrongIssuer,
            JwtError::WrongAudience,
            JwtError::Issue,
        ];
        let reasons: std::collections::HashSet<_> = all.iter().map(JwtError::reason).collect();
        assert_eq!(reasons.len(), all.len());
    }
}
