//! Key layout (documented in the parent module) and the session ⇄
//! Redis-hash codec.

use crate::session::{Session, StoreError};

/// Builds every key under one prefix.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys under `prefix` (already validated by the caller).
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// The session hash.
    pub fn session(&self, sid: &str) -> String {
        format!("{}:{{s:{sid}}}:session", self.prefix)
    }

    /// One refresh-token record.
    pub fn token(&self, sid: &str, hash: &str) -> String {
        format!("{}{hash}", self.token_prefix(sid))
    }

    /// What a token key starts with (scripts append the hash).
    pub fn token_prefix(&self, sid: &str) -> String {
        format!("{}:{{s:{sid}}}:rt:", self.prefix)
    }

    /// The set of the session's token hashes.
    pub fn tokens(&self, sid: &str) -> String {
        format!("{}:{{s:{sid}}}:tokens", self.prefix)
    }

    /// The user's session index.
    pub fn user(&self, user: &str) -> String {
        format!("{}:u:{user}", self.prefix)
    }

    /// Sessions by absolute expiry (what `purge_expired` visits).
    pub fn expiries(&self) -> String {
        format!("{}:expiries", self.prefix)
    }

    /// Revocations by time.
    pub fn revoked(&self) -> String {
        format!("{}:revoked", self.prefix)
    }

    /// One rate-limit counter.
    pub fn counter(&self, key: &str) -> String {
        format!("{}:c:{key}", self.prefix)
    }

    /// One published public key (a JWK), by its RFC 7638 `kid`.
    pub fn jwk(&self, kid: &str) -> String {
        format!("{}:{{jwks}}:k:{kid}", self.prefix)
    }

    /// The published kids scored by expiry, to list them without SCAN.
    pub fn jwk_index(&self) -> String {
        format!("{}:{{jwks}}:index", self.prefix)
    }

    /// The revocation pub/sub channel.
    pub fn channel(&self) -> String {
        format!("{}:revocations", self.prefix)
    }
}

/// True if `prefix` is usable: non-empty, printable ASCII without spaces or
/// braces (a brace would change the Cluster hash tag of every key).
pub(super) fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.len() <= 64
        && prefix
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}')
}

/// The session as HSET field/value pairs.
pub(super) fn session_fields(s: &Session) -> Vec<(&'static str, String)> {
    vec![
        ("id", s.id.clone()),
        ("user", s.user.clone()),
        ("family", s.family.clone()),
        ("user_agent", s.user_agent.clone()),
        ("ip", s.ip.clone()),
        ("created", s.created.to_string()),
        ("last_used", s.last_used.to_string()),
        ("expires_at", s.expires_at.to_string()),
        ("idle_timeout_secs", s.idle_timeout_secs.to_string()),
        ("revoked", if s.revoked { "1" } else { "0" }.to_owned()),
    ]
}

/// A session from HGETALL's flat field/value list; `None` if empty.
pub(super) fn session_from_flat(flat: Vec<String>) -> Result<Option<Session>, StoreError> {
    if flat.is_empty() {
        return Ok(None);
    }
    let mut map = std::collections::HashMap::new();
    let mut items = flat.into_iter();
    while let (Some(k), Some(v)) = (items.next(), items.next()) {
        map.insert(k, v);
    }
    let mut text = |name: &str| {
        map.remove(name)
            .ok_or_else(|| StoreError::Corrupt(format!("session hash lacks {name}")))
    };
    let number = |v: String| {
        v.parse::<u64>()
            .map_err(|_| StoreError::Corrupt("session hash has a bad number".into()))
    };
    Ok(Some(Session {
        id: text("id")?,
        user: text("user")?,
        family: text("family")?,
        user_agent: text("user_agent")?,
        ip: text("ip")?,
        created: number(text("created")?)?,
        last_used: number(text("last_used")?)?,
        expires_at: number(text("expires_at")?)?,
        idle_timeout_secs: number(text("idle_timeout_secs")?)?,
        revoked: text("revoked")? == "1",
    }))
}

/// Seconds until `expires_at`, at least 1 and at most about 13 months, for
/// EXPIRE (relative, so the caller's clock rules, not the server's).
pub(super) fn ttl_until(expires_at: u64, now: u64) -> u64 {
    const MAX_TTL: u64 = 400 * 86_400;
    expires_at.saturating_sub(now).clamp(1, MAX_TTL)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Session {
        Session {
            id: "sid".into(),
            user: "alice".into(),
            family: "fam".into(),
            user_agent: "UA with spaces".into(),
            ip: "192.0.2.1".into(),
            created: 10,
            last_used: 11,
            expires_at: 99,
            idle_timeout_secs: 30,
            revoked: true,
        }
    }

    /// A session survives the trip through hash fields unchanged.
    #[test]
    fn session_round_trips_through_fields() {
        let flat = session_fields(&sample())
            .into_iter()
            .flat_map(|(k, v)| [k.to_owned(), v])
            .collect();
        assert_eq!(session_from_flat(flat).unwrap(), Some(sample()));
    }

    /// A hash missing a field or holding a non-number is Corrupt, not a panic.
    #[test]
    fn damaged_hash_is_corrupt() {
        let missing = vec!["id".to_owned(), "x".to_owned()];
        assert!(matches!(
            session_from_flat(missing),
            Err(StoreError::Corrupt(_))
        ));
        let mut flat: Vec<String> = session_fields(&sample())
            .into_iter()
            .flat_map(|(k, v)| [k.to_owned(), v])
            .collect();
        flat[11] = "soon".into(); // the value of "created"
        assert!(matches!(
            session_from_flat(flat),
            Err(StoreError::Corrupt(_))
        ));
        assert_eq!(session_from_flat(Vec::new()).unwrap(), None);
    }

    /// Every key of one session shares the `{s:SID}` hash tag, the public
    /// keys share `{jwks}`; braces in a prefix are refused.
    #[test]
    fn session_keys_share_one_hash_tag() {
        let k = Keys::new("pc");
        for key in [k.session("abc"), k.token("abc", "h"), k.tokens("abc")] {
            assert!(key.starts_with("pc:{s:abc}:"), "{key}");
        }
        let (jwk, index) = (k.jwk("kid"), k.jwk_index());
        assert!(jwk.starts_with("pc:{jwks}:") && index.starts_with("pc:{jwks}:"));
        assert!(valid_prefix("pc-test_1"));
        assert!(!valid_prefix("p{x}"));
        assert!(!valid_prefix(""));
        assert!(!valid_prefix("a b"));
    }

    /// TTLs are never zero (EXPIRE 0 deletes) and never unbounded.
    #[test]
    fn ttl_is_clamped() {
        assert_eq!(ttl_until(100, 100), 1);
        assert_eq!(ttl_until(50, 100), 1);
        assert_eq!(ttl_until(160, 100), 60);
        assert_eq!(ttl_until(u64::MAX, 0), 400 * 86_400);
    }
}
