//! The key ring: what the gateway signs with and what it accepts.

use std::collections::HashMap;
use std::sync::Arc;

use super::{PublicKey, SigningKey};

/// The active signing key plus every public key whose tokens may still be
/// alive (retired keys within their grace period). Cheap to share behind an
/// `Arc` and to replace whole on rotation.
#[derive(Debug, Clone)]
pub struct KeyRing {
    active: Arc<SigningKey>,
    /// Verification keys in JWKS order: the active key first.
    keys: Vec<Arc<PublicKey>>,
    by_kid: HashMap<String, Arc<PublicKey>>,
    /// Retired keys: until when (Unix seconds) they verify.
    until: HashMap<String, u64>,
}

impl KeyRing {
    /// A ring signing with `active` and also verifying `retired`, each until
    /// the Unix time paired with it (in the order given; a retired key equal
    /// to the active one, or repeated, is kept once).
    pub fn new(
        active: Arc<SigningKey>,
        retired: impl IntoIterator<Item = (Arc<PublicKey>, u64)>,
    ) -> Self {
        let mut keys = vec![Arc::clone(active.public())];
        let mut by_kid = HashMap::new();
        let mut until = HashMap::new();
        by_kid.insert(active.kid().to_owned(), Arc::clone(active.public()));
        for (key, deadline) in retired {
            if !by_kid.contains_key(key.kid()) {
                by_kid.insert(key.kid().to_owned(), Arc::clone(&key));
                until.insert(key.kid().to_owned(), deadline);
                keys.push(key);
            }
        }
        Self {
            active,
            keys,
            by_kid,
            until,
        }
    }

    /// The key new tokens are signed with.
    pub fn active(&self) -> &Arc<SigningKey> {
        &self.active
    }

    /// The verification key named `kid`, if this ring holds it. The `kid` is
    /// only compared, never used to build a path or query.
    pub fn get(&self, kid: &str) -> Option<Arc<PublicKey>> {
        self.by_kid.get(kid).cloned()
    }

    /// Every verification key, the active one first.
    pub fn keys(&self) -> &[Arc<PublicKey>] {
        &self.keys
    }

    /// Until when (Unix seconds) a retired key verifies; `None` for the
    /// active key, which verifies as long as it is active, and unknown kids.
    pub fn retired_until(&self, kid: &str) -> Option<u64> {
        self.until.get(kid).copied()
    }

    /// The JWKS document `{"keys":[...]}` of every verifiable key.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<_> = self.keys.iter().map(|key| key.to_jwk()).collect();
        serde_json::json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keys::parse_jwks;
    use crate::auth::keys::test_key;

    fn active() -> Arc<SigningKey> {
        let pem = test_key().to_pkcs8_pem().unwrap();
        Arc::new(SigningKey::from_pkcs8_pem(&pem).unwrap())
    }

    /// The active key is found by kid; an unknown kid is not.
    #[test]
    fn lookup() {
        let ring = KeyRing::new(active(), []);
        let kid = ring.active().kid().to_owned();
        assert_eq!(ring.get(&kid).as_deref(), Some(&**ring.active().public()));
        assert!(ring.get("unknown").is_none());
        assert!(ring.get("").is_none());
    }

    /// A retired key duplicating the active one is kept once; the JWKS lists
    /// each key once and parses back under the strict JWKS rules.
    #[test]
    fn jwks_lists_each_key_once() {
        let active = active();
        let ring = KeyRing::new(Arc::clone(&active), [(Arc::clone(active.public()), 9)]);
        assert_eq!(ring.keys().len(), 1);
        assert_eq!(ring.retired_until(active.kid()), None);
        let text = ring.jwks().to_string();
        let parsed = parse_jwks(&text).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].kid(), active.kid());
        assert_eq!(ring.jwks()["keys"][0]["alg"], "RS256");
    }
}
