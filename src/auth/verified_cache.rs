//! A bounded cache of tokens that passed strict verification, so a client
//! that sends the same access token on every request pays for the RSA
//! signature check once.
//!
//! Keyed by the SHA-256 of the whole token text: a hit means the exact same
//! bytes were verified before, so nothing an attacker sends can reach cached
//! claims without being byte-identical to a token that passed. An entry never
//! outlives the token's `exp` (moka's per-entry expiry, and a check against
//! the gateway's clock on every hit), and is only served while the key that
//! signed it is still in the ring. What can change during a token's life is
//! not cached: the caller checks revocation, the fingerprint cookie and the
//! user on every request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::sync::Cache;
use sha2::{Digest, Sha256};

use super::jwt::Claims;

/// The SHA-256 of a token's text.
type TokenHash = [u8; 32];

/// Claims of a token that passed every check of [`super::jwt`].
#[derive(Debug)]
pub struct Verified {
    /// The verified claims.
    pub claims: Arc<Claims>,
    /// The `kid` of the key whose signature was checked.
    kid: String,
    /// Time left until `exp` when the entry was made.
    ttl: Duration,
}

/// Expires each entry when its token expires.
struct UntilExp;

impl Expiry<TokenHash, Arc<Verified>> for UntilExp {
    fn expire_after_create(
        &self,
        _key: &TokenHash,
        value: &Arc<Verified>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Verified tokens by the hash of their text, bounded in number.
#[derive(Clone)]
pub struct VerifiedCache {
    entries: Cache<TokenHash, Arc<Verified>>,
}

impl std::fmt::Debug for VerifiedCache {
    // Entries hold claims (user and session ids): only the count is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedCache")
            .field("entries", &self.entries.entry_count())
            .finish_non_exhaustive()
    }
}

impl VerifiedCache {
    /// A cache of at most `capacity` tokens.
    pub fn new(capacity: u64) -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(capacity)
                .expire_after(UntilExp)
                .build(),
        }
    }

    /// The claims of `token` when it was verified before, has not reached
    /// its `exp` at `now`, and its key `kid` still satisfies `key_known`.
    pub fn get(
        &self,
        token: &str,
        now: u64,
        key_known: impl FnOnce(&str) -> bool,
    ) -> Option<Arc<Claims>> {
        let hash = hash(token);
        let hit = self.entries.get(&hash)?;
        if now >= hit.claims.exp || !key_known(&hit.kid) {
            self.entries.invalidate(&hash);
            return None;
        }
        Some(hit.claims.clone())
    }

    /// Records that `token`, signed by `kid`, verified to `claims` at `now`.
    /// A token already at or past its `exp` is not kept.
    pub fn insert(&self, token: &str, kid: &str, claims: Arc<Claims>, now: u64) {
        let Some(left) = claims.exp.checked_sub(now).filter(|s| *s > 0) else {
            return;
        };
        let entry = Verified {
            claims,
            kid: kid.to_string(),
            ttl: Duration::from_secs(left),
        };
        self.entries.insert(hash(token), Arc::new(entry));
    }

    /// The number of entries (approximate until pending work is run).
    pub fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::jwt::Audience;

    const NOW: u64 = 1_700_000_000;

    fn claims(exp: u64) -> Arc<Claims> {
        Arc::new(Claims {
            iss: "https://gw.example".into(),
            sub: "alice".into(),
            aud: Audience::One("portcullis".into()),
            sid: "sid-1".into(),
            jti: "jti-1".into(),
            iat: NOW,
            exp,
            nbf: None,
            fpt: Some("fpt".into()),
            roles: vec!["user".into()],
        })
    }

    /// A cached token comes back with the very claims that were verified.
    #[test]
    fn hit_returns_the_same_claims() {
        let cache = VerifiedCache::new(100);
        let c = claims(NOW + 900);
        cache.insert("a.b.c", "kid1", c.clone(), NOW);
        let hit = cache.get("a.b.c", NOW + 1, |_| true).expect("hit");
        assert!(Arc::ptr_eq(&hit, &c));
    }

    /// At or after `exp` the entry is never served, and it is dropped.
    #[test]
    fn expired_token_is_never_served() {
        let cache = VerifiedCache::new(100);
        cache.insert("a.b.c", "kid1", claims(NOW + 10), NOW);
        assert!(cache.get("a.b.c", NOW + 9, |_| true).is_some());
        assert!(cache.get("a.b.c", NOW + 10, |_| true).is_none());
        assert!(cache.get("a.b.c", NOW + 9, |_| true).is_none(), "dropped");
    }

    /// A token already expired when verified (inside the leeway) is not kept.
    #[test]
    fn expired_token_is_not_cached() {
        let cache = VerifiedCache::new(100);
        cache.insert("a.b.c", "kid1", claims(NOW), NOW);
        cache.insert("d.e.f", "kid1", claims(NOW - 5), NOW);
        assert!(cache.is_empty());
    }

    /// moka is told to drop the entry when the time left until `exp` has
    /// passed, so memory is freed even if nobody asks for the token again.
    #[test]
    fn entry_lifetime_is_the_token_lifetime() {
        let cache = VerifiedCache::new(100);
        cache.insert("a.b.c", "kid1", claims(NOW + 1), NOW);
        assert_eq!(cache.len(), 1);
        let entry = cache.entries.get(&hash("a.b.c")).unwrap();
        assert_eq!(entry.ttl, Duration::from_secs(1));
    }

    /// A different token, even one differing in a single byte, misses.
    #[test]
    fn different_token_misses() {
        let cache = VerifiedCache::new(100);
        cache.insert("header.payload.sig", "kid1", claims(NOW + 900), NOW);
        assert!(cache.get("header.payload.sih", NOW, |_| true).is_none());
        assert!(cache.get("other.token.text", NOW, |_| true).is_none());
    }

    /// An entry whose signing key left the ring is not served.
    #[test]
    fn removed_key_invalidates() {
        let cache = VerifiedCache::new(100);
        cache.insert("a.b.c", "kid1", claims(NOW + 900), NOW);
        assert!(cache.get("a.b.c", NOW, |kid| kid == "kid2").is_none());
        assert!(cache.get("a.b.c", NOW, |_| true).is_none(), "dropped");
    }

    /// The cache holds no more than its capacity.
    #[test]
    fn bounded() {
        let cache = VerifiedCache::new(10);
        for i in 0..200 {
            cache.insert(&format!("t{i}"), "kid1", claims(NOW + 900), NOW);
        }
        assert!(cache.len() <= 10, "{}", cache.len());
    }
}
