//! Refresh tokens: `<session id>.<32 random bytes, base64url>`. The session
//! id is a public selector (it keeps every key of one session in one Redis
//! Cluster slot); the random part is the secret. Only the SHA-256 of the
//! whole token is ever stored.

use sha2::{Digest, Sha256};

use super::RefreshHash;
use crate::auth::b64;

/// Longest refresh cookie value accepted.
const MAX_LEN: usize = 128;

/// A refresh token as the client holds it. Never logged.
pub struct RefreshToken(String);

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshToken(***)")
    }
}

impl RefreshToken {
    /// A fresh token for `session_id`.
    pub fn generate(session_id: &str) -> Self {
        Self(format!(
            "{session_id}.{}",
            b64::encode(rand::random::<[u8; 32]>())
        ))
    }

    /// Parses a cookie value; `None` unless it has the exact shape we issue.
    pub fn parse(value: &str) -> Option<Self> {
        if value.len() > MAX_LEN {
            return None;
        }
        let (sid, secret) = value.split_once('.')?;
        let sid_ok = b64::decode(sid).is_some_and(|b| b.len() == 16);
        let secret_ok = b64::decode(secret).is_some_and(|b| b.len() == 32);
        (sid_ok && secret_ok).then(|| Self(value.to_string()))
    }

    /// The session this token claims to belong to.
    pub fn session_id(&self) -> &str {
        self.0.split_once('.').map(|(sid, _)| sid).unwrap_or("")
    }

    /// What the store keeps: base64url(SHA-256(token)).
    pub fn hash(&self) -> RefreshHash {
        RefreshHash {
            session_id: self.session_id().to_string(),
            hash: b64::encode(Sha256::digest(self.0.as_bytes())),
        }
    }

    /// The cookie value.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Generated tokens parse back, hash stably, and carry their session id.
    #[test]
    fn round_trip() {
        let sid = b64::encode([7u8; 16]);
        let t = RefreshToken::generate(&sid);
        let parsed = RefreshToken::parse(t.expose()).unwrap();
        assert_eq!(parsed.session_id(), sid);
        assert_eq!(parsed.hash(), t.hash());
        assert_ne!(RefreshToken::generate(&sid).hash(), t.hash());
        assert_eq!(format!("{t:?}"), "RefreshToken(***)");
    }

    /// Anything not of the issued shape is refused.
    #[test]
    fn refuses_malformed() {
        let sid = b64::encode([7u8; 16]);
        let secret = b64::encode([1u8; 32]);
        for bad in [
            String::new(),
            sid.clone(),
            format!("{sid}."),
            format!(".{secret}"),
            format!("{sid}.{secret}="),
            format!("{sid}.{secret}.x"),
            format!("{}.{secret}", b64::encode([7u8; 15])),
            format!("{sid}.{}", "A".repeat(200)),
        ] {
            assert!(RefreshToken::parse(&bad).is_none(), "{bad:?}");
        }
    }
}
