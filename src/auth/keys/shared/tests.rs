use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use super::*;
use crate::auth::keys::{SigningKey, test_keys, thumbprint};
use crate::clock::{Clock as _, ManualClock};

const NOW: u64 = 1_900_000_000;
const GRACE: u64 = 930;

/// Published keys in memory (JWK text and expiry), expiring on the test's
/// clock, counting the round trips a Redis would see.
#[derive(Debug)]
struct Fake {
    clock: Arc<ManualClock>,
    keys: Mutex<HashMap<String, (String, u64)>>,
    fetches: AtomicU32,
    fetch_alls: AtomicU32,
    down: AtomicBool,
}

impl Fake {
    fn check_up(&self) -> Result<(), StoreError> {
        match self.down.load(Ordering::SeqCst) {
            true => Err(StoreError::Unavailable("down".into())),
            false => Ok(()),
        }
    }

    fn put(&self, kid: &str, jwk: String, ttl_secs: u64) {
        let until = self.clock.unix() + ttl_secs;
        self.keys
            .lock()
            .unwrap()
            .insert(kid.to_owned(), (jwk, until));
    }

    /// The live keys, as Redis would answer at the clock's time.
    fn live(&self) -> Vec<PublishedKey> {
        let now = self.clock.unix();
        let keys = self.keys.lock().unwrap();
        keys.iter()
            .filter(|(_, (_, until))| *until > now)
            .map(|(kid, (jwk, until))| PublishedKey {
                kid: kid.clone(),
                jwk: jwk.clone(),
                ttl_secs: until - now,
            })
            .collect()
    }
}

impl KeySource for Arc<Fake> {
    async fn publish(&self, keys: &[PublishedKey], _now: u64) -> Result<(), StoreError> {
        self.check_up()?;
        for k in keys {
            self.put(&k.kid, k.jwk.clone(), k.ttl_secs);
        }
        Ok(())
    }

    async fn fetch(&self, kid: &str) -> Result<Option<PublishedKey>, StoreError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        // Let concurrent callers pile up on the same look-up.
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.check_up()?;
        Ok(self.live().into_iter().find(|k| k.kid == kid))
    }

    async fn fetch_all(&self, _now: u64) -> Result<Vec<PublishedKey>, StoreError> {
        self.fetch_alls.fetch_add(1, Ordering::SeqCst);
        self.check_up()?;
        Ok(self.live())
    }
}

struct Setup {
    fake: Arc<Fake>,
    clock: Arc<ManualClock>,
    metrics: Arc<Metrics>,
    keys: SharedKeys<Arc<Fake>>,
}

fn setup() -> Setup {
    let clock = Arc::new(ManualClock::at_unix(NOW));
    let fake = Arc::new(Fake {
        clock: clock.clone(),
        keys: Mutex::default(),
        fetches: AtomicU32::default(),
        fetch_alls: AtomicU32::default(),
        down: AtomicBool::default(),
    });
    let metrics = Arc::new(Metrics::new(["/"], clock.clone()));
    let keys = SharedKeys::new(fake.clone(), clock.clone(), GRACE, metrics.clone());
    Setup {
        fake,
        clock,
        metrics,
        keys,
    }
}

impl Setup {
    fn fetches(&self) -> u32 {
        self.fake.fetches.load(Ordering::SeqCst)
    }

    fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    fn lookups(&self, result: &str) -> String {
        let text = self.metrics.encode().unwrap();
        let series = format!("auth_key_lookups_total{{result=\"{result}\"}} ");
        let line = text.lines().find(|l| l.starts_with(&series));
        line.map(|l| l[series.len()..].to_owned())
            .unwrap_or_default()
    }
}

fn jwk_text(key: &SigningKey) -> String {
    serde_json::to_string(&key.public().to_jwk()).unwrap()
}

/// A thumbprint-shaped kid no key has.
fn made_up_kid(i: usize) -> String {
    thumbprint(&format!("made-up-{i}"), "AQAB")
}

/// A peer's published key is found with one look-up, then from the cache
/// until its published expiry; then it is looked up again (and, expired,
/// cached as a miss until republished).
#[tokio::test]
async fn peer_key_found_once_then_cached_until_expiry() {
    let s = setup();
    let peer = &test_keys()[1];
    s.fake.put(peer.kid(), jwk_text(peer), 100);
    for _ in 0..3 {
        let found = s.keys.find(peer.kid()).await.expect("found");
        assert_eq!(found.kid(), peer.kid());
    }
    assert_eq!(s.fetches(), 1);
    assert_eq!(s.lookups("found"), "1");
    s.advance(99);
    assert!(s.keys.find(peer.kid()).await.is_some());
    assert_eq!(s.fetches(), 1);
    s.advance(1);
    assert!(
        s.keys.find(peer.kid()).await.is_none(),
        "expired everywhere"
    );
    s.fake.put(peer.kid(), jwk_text(peer), 100);
    assert!(
        s.keys.find(peer.kid()).await.is_none(),
        "the miss is cached"
    );
    s.advance(MISS_TTL_SECS);
    assert!(s.keys.find(peer.kid()).await.is_some(), "republished");
    assert_eq!(s.fetches(), 3);
}

/// An unknown kid costs one look-up per miss period, however often it
/// comes, and many concurrent requests for one new kid share one look-up.
#[tokio::test]
async fn misses_are_cached_briefly_and_coalesced() {
    let s = setup();
    let kid = made_up_kid(0);
    let finds = (0..50).map(|_| s.keys.find(&kid));
    let found = futures_util::future::join_all(finds).await;
    assert!(found.iter().all(Option::is_none));
    assert_eq!(s.fetches(), 1, "concurrent look-ups coalesce");
    for _ in 0..10 {
        assert!(s.keys.find(&kid).await.is_none());
    }
    s.advance(MISS_TTL_SECS - 1);
    assert!(s.keys.find(&kid).await.is_none());
    assert_eq!(s.fetches(), 1);
    assert_eq!(s.lookups("missing"), "1");
    s.advance(1);
    assert!(s.keys.find(&kid).await.is_none());
    assert_eq!(s.fetches(), 2, "asked again after the miss period");
}

/// A flood of different made-up kids costs at most the window's budget;
/// the rest are refused unasked, and the next window has a fresh budget.
#[tokio::test]
async fn a_flood_of_made_up_kids_is_bounded() {
    let s = setup();
    for i in 0..200 {
        assert!(s.keys.find(&made_up_kid(i)).await.is_none());
    }
    assert_eq!(s.fetches(), LOOKUPS_PER_WINDOW);
    assert_eq!(
        s.lookups("throttled"),
        (200 - LOOKUPS_PER_WINDOW).to_string()
    );
    s.advance(LOOKUP_WINDOW_SECS);
    for i in 200..400 {
        s.keys.find(&made_up_kid(i)).await;
    }
    assert_eq!(s.fetches(), 2 * LOOKUPS_PER_WINDOW);
}

/// With the budget spent, a real peer's key is still found through the
/// list of published keys (one read), and made-up kids cost no more reads
/// within the period.
#[tokio::test]
async fn a_peer_key_is_found_during_a_flood() {
    let s = setup();
    for i in 0..LOOKUPS_PER_WINDOW as usize {
        s.keys.find(&made_up_kid(i)).await;
    }
    let peer = &test_keys()[1];
    s.fake.put(peer.kid(), jwk_text(peer), 100);
    assert!(s.keys.find(peer.kid()).await.is_some());
    assert_eq!(s.fetches(), LOOKUPS_PER_WINDOW, "no look-up of its own");
    for i in 100..200 {
        assert!(s.keys.find(&made_up_kid(i)).await.is_none());
    }
    assert_eq!(s.fake.fetch_alls.load(Ordering::SeqCst), 1);
}

/// Kids that are not thumbprints are refused without a look-up.
#[tokio::test]
async fn malformed_kids_are_never_looked_up() {
    let s = setup();
    for kid in [
        "",
        "kid",
        "../../etc/passwd",
        &"A".repeat(44),
        &"%".repeat(43),
    ] {
        assert!(s.keys.find(kid).await.is_none());
    }
    assert_eq!(s.fetches(), 0);
}

/// What Redis holds must pass the JWK rules and be the key its kid names:
/// another key under a kid, private material or junk is refused (and
/// cached as a miss).
#[tokio::test]
async fn published_values_are_checked_strictly() {
    let s = setup();
    let [a, b, ..] = test_keys() else {
        unreachable!()
    };
    s.fake.put(a.kid(), jwk_text(b), 100);
    let mut private: serde_json::Value = serde_json::from_str(&jwk_text(b)).unwrap();
    private["d"] = "AQAB".into();
    s.fake.put(b.kid(), private.to_string(), 100);
    let junk = made_up_kid(1);
    s.fake
        .put(&junk, "{\"kty\":\"RSA\",\"kty\":\"RSA\"}".into(), 100);
    for kid in [a.kid(), b.kid(), &junk] {
        assert!(s.keys.find(kid).await.is_none(), "{kid}");
        assert!(s.keys.find(kid).await.is_none(), "{kid}");
    }
    assert_eq!(s.fetches(), 3);
    assert_eq!(s.lookups("invalid"), "3");
    assert!(s.keys.cluster_keys().await.is_empty());
}

/// When Redis does not answer nothing is cached: the next request after it
/// returns finds the key at once.
#[tokio::test]
async fn failures_are_not_cached() {
    let s = setup();
    let peer = &test_keys()[1];
    s.fake.put(peer.kid(), jwk_text(peer), 100);
    s.fake.down.store(true, Ordering::SeqCst);
    assert!(s.keys.find(peer.kid()).await.is_none());
    assert_eq!(s.lookups("unavailable"), "1");
    s.fake.down.store(false, Ordering::SeqCst);
    assert!(s.keys.find(peer.kid()).await.is_some());
}

/// The ring is published with the active key for the token lifetime plus
/// two periods and a retired key until its last token expires; another
/// instance lists both, reads once per period and finds them without a
/// look-up of their own.
#[tokio::test]
async fn publish_then_list_from_another_instance() {
    let s = setup();
    let [old, new, ..] = test_keys() else {
        unreachable!()
    };
    let ring = KeyRing::new(
        Arc::new(SigningKey::from_pkcs8_pem(&new.to_pkcs8_pem().unwrap()).unwrap()),
        [(Arc::clone(old.public()), NOW + 30)],
    );
    s.keys.publish(&ring).await.unwrap();
    let stored = s.fake.keys.lock().unwrap().clone();
    assert_eq!(stored[new.kid()].1, NOW + GRACE + 120);
    assert_eq!(stored[old.kid()].1, NOW + 30);

    let metrics = Arc::new(Metrics::new(["/"], s.clock.clone()));
    let peer = SharedKeys::new(s.fake.clone(), s.clock.clone(), GRACE, metrics);
    let mut kids: Vec<String> = peer
        .cluster_keys()
        .await
        .iter()
        .map(|k| k.kid().to_owned())
        .collect();
    kids.sort();
    let mut want = vec![old.kid().to_owned(), new.kid().to_owned()];
    want.sort();
    assert_eq!(kids, want);
    peer.cluster_keys().await;
    assert_eq!(s.fake.fetch_alls.load(Ordering::SeqCst), 1);
    assert!(peer.find(new.kid()).await.is_some());
    assert_eq!(s.fetches(), 0, "listed keys need no look-up");
    s.advance(30);
    let left = peer.cluster_keys().await;
    assert_eq!(left.len(), 1, "the retired key expired from the union");
    assert_eq!(left[0].kid(), new.kid());
}
