//! The cluster's public keys: each instance publishes the JWKs of its own
//! ring under `P:{jwks}:k:KID` (a string with a TTL) and indexes the kid in
//! `P:{jwks}:index` (scored by expiry), so peers can fetch one key by kid
//! or list them all without SCAN. Every key shares the `{jwks}` hash tag,
//! so the publishing script and the MGET stay in one Cluster slot.
//!
//! This module only moves text: the caller parses each JWK strictly (see
//! [`crate::auth::keys::parse_jwk`]) and checks it is the key its kid names.

use super::{RedisStore, scripts};
use crate::auth::keys::is_thumbprint_shaped;
use crate::session::StoreError;

/// At most this many published keys are read for the JWKS union (about
/// 100 instances each with an active and a retiring key), so a flooded
/// index cannot make one read unbounded.
pub const MAX_PUBLISHED: usize = 256;

/// One public key as stored: its kid, its JWK text and how many seconds it
/// stays published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedKey {
    /// The RFC 7638 thumbprint the key is stored under.
    pub kid: String,
    /// The JWK, JSON.
    pub jwk: String,
    /// Seconds until it expires (at least 1).
    pub ttl_secs: u64,
}

impl RedisStore {
    /// Publishes `keys` (one script, atomic) for at least their TTLs; `now`
    /// dates the index entries. A kid that is not thumbprint-shaped is
    /// refused with [`StoreError::Corrupt`] before anything is written.
    pub async fn publish_keys(&self, keys: &[PublishedKey], now: u64) -> Result<(), StoreError> {
        if keys.iter().any(|k| !is_thumbprint_shaped(&k.kid)) {
            return Err(StoreError::Corrupt("a published kid is malformed".into()));
        }
        if keys.is_empty() {
            return Ok(());
        }
        let mut inv = scripts::PUBLISH_KEYS.prepare_invoke();
        inv.key(self.keys.jwk_index()).arg(now);
        for k in keys {
            inv.key(self.keys.jwk(&k.kid))
                .arg(&k.kid)
                .arg(&k.jwk)
                .arg(k.ttl_secs.max(1));
        }
        self.script::<u64>(inv).await.map(drop)
    }

    /// The key published under `kid`, if any: one round trip (GET and TTL
    /// pipelined). A malformed kid is `None` without a round trip; so is a
    /// stored value without an expiry (portcullis never writes one).
    pub async fn published_key(&self, kid: &str) -> Result<Option<PublishedKey>, StoreError> {
        if !is_thumbprint_shaped(kid) {
            return Ok(None);
        }
        let key = self.keys.jwk(kid);
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(&key).cmd("TTL").arg(&key);
        let (jwk, ttl): (Option<String>, i64) = self.pipeline(pipe).await?;
        Ok(match (jwk, u64::try_from(ttl)) {
            (Some(jwk), Ok(ttl)) if ttl > 0 => Some(PublishedKey {
                kid: kid.to_owned(),
                jwk,
                ttl_secs: ttl,
            }),
            _ => None,
        })
    }

    /// Every key published and not expired at `now` (at most
    /// [`MAX_PUBLISHED`], the longest-lived first): the index, then one
    /// MGET.
    pub async fn published_keys(&self, now: u64) -> Result<Vec<PublishedKey>, StoreError> {
        let mut range = redis::cmd("ZRANGE");
        range
            .arg(self.keys.jwk_index())
            .arg("+inf")
            .arg(format!("({now}"))
            .arg("BYSCORE")
            .arg("REV")
            .arg("LIMIT")
            .arg(0)
            .arg(MAX_PUBLISHED)
            .arg("WITHSCORES");
        let indexed: Vec<(String, f64)> = self.query(range).await?;
        let indexed: Vec<(String, u64)> = indexed
            .into_iter()
            .filter(|(kid, _)| is_thumbprint_shaped(kid))
            .map(|(kid, until)| (kid, (until as u64).saturating_sub(now).max(1)))
            .collect();
        if indexed.is_empty() {
            return Ok(Vec::new());
        }
        let mut mget = redis::cmd("MGET");
        for (kid, _) in &indexed {
            mget.arg(self.keys.jwk(kid));
        }
        let values: Vec<Option<String>> = self.query(mget).await?;
        Ok(indexed
            .into_iter()
            .zip(values)
            .filter_map(|((kid, ttl_secs), jwk)| jwk.map(|jwk| PublishedKey { kid, jwk, ttl_secs }))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::auth::keys::thumbprint;
    use crate::session::RedisSettings;

    const NOW: u64 = 1_900_000_000;

    async fn store() -> (RedisStore, String) {
        let prefix = format!("pc-test-{:016x}", rand::random::<u64>());
        let store = RedisStore::connect(RedisSettings {
            topology: crate::session::RedisTopology::Standalone {
                url: "redis://127.0.0.1:6379".into(),
            },
            key_prefix: prefix.clone(),
            timeout: Duration::from_secs(2),
        })
        .await
        .expect("Redis at 127.0.0.1:6379 must be running");
        (store, prefix)
    }

    async fn clean(store: &RedisStore, prefix: &str) {
        let mut del = redis::cmd("DEL");
        del.arg(format!("{prefix}:{{jwks}}:index"));
        for kid in [kid("a"), kid("b")] {
            del.arg(format!("{prefix}:{{jwks}}:k:{kid}"));
        }
        store.query::<()>(del).await.expect("del");
    }

    fn kid(seed: &str) -> String {
        thumbprint(seed, "AQAB")
    }

    fn key(seed: &str, ttl_secs: u64) -> PublishedKey {
        PublishedKey {
            kid: kid(seed),
            jwk: format!(r#"{{"seed":"{seed}"}}"#),
            ttl_secs,
        }
    }

    /// Published keys are found by kid with their TTL and listed until
    /// their expiry; a malformed kid is never looked up or written.
    #[tokio::test]
    async fn publish_fetch_and_list() {
        let (store, prefix) = store().await;
        store
            .publish_keys(&[key("a", 600), key("b", 60)], NOW)
            .await
            .unwrap();
        let a = store.published_key(&kid("a")).await.unwrap().unwrap();
        assert_eq!(
            (a.jwk.as_str(), a.kid.as_str()),
            (key("a", 0).jwk.as_str(), kid("a").as_str())
        );
        assert!((590..=600).contains(&a.ttl_secs), "{}", a.ttl_secs);
        assert_eq!(store.published_key(&kid("c")).await.unwrap(), None);
        assert_eq!(store.published_key("../x").await.unwrap(), None);

        let all = store.published_keys(NOW).await.unwrap();
        let kids: Vec<&str> = all.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(kids, [kid("a"), kid("b")], "longest-lived first");
        let later = store.published_keys(NOW + 60).await.unwrap();
        assert_eq!(later.len(), 1, "b's index entry has expired at NOW+60");
        assert_eq!(later[0].ttl_secs, 540);

        let bad = PublishedKey {
            kid: "not-a-kid".into(),
            ..key("a", 1)
        };
        assert!(matches!(
            store.publish_keys(&[bad], NOW).await,
            Err(StoreError::Corrupt(_))
        ));
        clean(&store, &prefix).await;
    }

    /// A second publication with a shorter TTL (another instance sharing
    /// the key directory) does not shorten the first one's.
    #[tokio::test]
    async fn publication_never_shortens() {
        let (store, prefix) = store().await;
        store.publish_keys(&[key("a", 600)], NOW).await.unwrap();
        store.publish_keys(&[key("a", 5)], NOW).await.unwrap();
        let a = store.published_key(&kid("a")).await.unwrap().unwrap();
        assert!(a.ttl_secs > 500, "{}", a.ttl_secs);
        assert_eq!(store.published_keys(NOW + 100).await.unwrap().len(), 1);
        clean(&store, &prefix).await;
    }
}
