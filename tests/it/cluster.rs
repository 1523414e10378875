//! Several gateway processes on one Redis (DESIGN deployment 4): each signs
//! with its own key and verifies the others' through the keys they publish
//! in Redis; sessions and revocations are shared. Every instance shares an
//! issuer (as behind one load balancer) and a random key prefix.

use crate::common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Gateway;
use common::auth::{ALICE, BOB, jwks};
use common::jose;
use common::ops::Samples;
use common::redis_util::{Prefix, RedisServer, SHARED_URL};
use common::session::{Jar, Login, merged, set_cookies};
use portcullis::auth::keys::parse_jwks;
use portcullis::auth::keys::shared::{LOOKUP_WINDOW_SECS, LOOKUPS_PER_WINDOW, VIEW_FRESH_SECS};
use reqwest::StatusCode;

const UNAUTHORIZED: Result<String, StatusCode> = Err(StatusCode::UNAUTHORIZED);

/// `n` gateways with alice and bob on `prefix`, sharing one issuer.
async fn instances(prefix: &Prefix, n: usize, extra: &str) -> Vec<Gateway> {
    let shared = "[auth]\nissuer = \"https://cluster.portcullis.test\"\n";
    let config = merged(&[&prefix.config(1000), shared, extra]);
    let mut all = Vec::new();
    for _ in 0..n {
        all.push(Gateway::start_with_users(&config, &[ALICE, BOB]).await);
    }
    all
}

/// The kid in a token's header.
fn kid_of(token: &str) -> String {
    let (header, _, _) = jose::split(token);
    header["kid"].as_str().expect("kid").to_owned()
}

/// The kids of a gateway's JWKS, read with the strict JWKS parser.
async fn jwks_kids(gw: &Gateway) -> BTreeSet<String> {
    let doc = jwks(gw).await.to_string();
    let keys = parse_jwks(&doc).expect("the JWKS passes the strict rules");
    keys.iter().map(|k| k.kid().to_owned()).collect()
}

/// Waits up to 10 s until every gateway's JWKS lists exactly `want`.
async fn await_jwks(gws: &[Gateway], want: &BTreeSet<String>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    for gw in gws {
        loop {
            let got = jwks_kids(gw).await;
            if &got == want {
                break;
            }
            assert!(Instant::now() < deadline, "JWKS {got:?}, want {want:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Login on A, refresh on B, logout on C: each instance accepts the
/// others' tokens, and after the logout the old access tokens (A's and
/// B's) are refused on every instance on the next request, and the refresh
/// token everywhere.
#[tokio::test]
async fn login_refresh_logout_across_three_instances() {
    let prefix = Prefix::new(SHARED_URL);
    let gws = instances(&prefix, 3, "").await;
    let (a, b, c) = (&gws[0], &gws[1], &gws[2]);
    let kids: BTreeSet<String> = [a, b, c]
        .iter()
        .map(|g| g.signing_key().kid().to_owned())
        .collect();
    assert_eq!(kids.len(), 3, "each instance has a key of its own");

    let s0 = a.sign_in(ALICE).await;
    assert_eq!(kid_of(&s0.access_token), a.signing_key().kid());
    let s1 = b.refresh(&s0.jar).await;
    assert_eq!(kid_of(&s1.access_token), b.signing_key().kid());
    let bob = c.sign_in(BOB).await;
    for gw in &gws {
        assert_eq!(gw.whoami(&s0).await, Ok("alice".into()), "A's token");
        assert_eq!(gw.whoami(&s1).await, Ok("alice".into()), "B's token");
        assert_eq!(gw.whoami(&bob).await, Ok("bob".into()), "C's token");
    }

    let resp = c.post_with("/auth/logout", &s1.jar).await;
    assert_eq!(resp.status(), 200);
    for gw in &gws {
        assert_eq!(
            gw.whoami(&s1).await,
            UNAUTHORIZED,
            "B's token on {}",
            gw.addr
        );
        assert_eq!(
            gw.whoami(&s0).await,
            UNAUTHORIZED,
            "A's token on {}",
            gw.addr
        );
        assert_eq!(gw.refresh_raw(&s1.jar).await.status(), 401);
        assert_eq!(gw.whoami(&bob).await, Ok("bob".into()), "another session");
    }
}

/// `portcullis keys rotate` on A, then SIGHUP: A's new tokens carry the
/// new kid and are verified by B and C; A's old tokens still pass
/// everywhere; every instance's JWKS lists the same union: both of A's
/// keys, B's and C's.
#[tokio::test]
async fn key_rotated_on_one_instance_is_verified_by_the_others() {
    let prefix = Prefix::new(SHARED_URL);
    let gws = instances(&prefix, 3, "").await;
    let (a, b, c) = (&gws[0], &gws[1], &gws[2]);
    let old_kid = a.signing_key().kid().to_owned();
    let mut union: BTreeSet<String> = gws
        .iter()
        .map(|g| g.signing_key().kid().to_owned())
        .collect();
    await_jwks(&gws, &union).await;
    let before = a.sign_in(ALICE).await;

    let config = a.config_path();
    let out = common::cli(
        &["keys", "rotate", "--config", config.to_str().unwrap()],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new_kid = a.signing_key().kid().to_owned();
    assert_ne!(new_kid, old_kid);
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &a.pid().to_string()])
        .status()
        .expect("kill");
    assert!(hup.success());
    a.wait_for_log(&["reload.keys"]).await;

    let after = a.sign_in(ALICE).await;
    assert_eq!(kid_of(&after.access_token), new_kid);
    for gw in [b, c, a] {
        assert_eq!(gw.whoami(&after).await, Ok("alice".into()), "new key");
        assert_eq!(gw.whoami(&before).await, Ok("alice".into()), "retiring key");
    }
    union.insert(new_kid);
    await_jwks(&gws, &union).await;
}

/// 50 concurrent refreshes of one refresh token, alternating between two
/// instances: all answer 200 with distinct successors, no reuse is
/// detected, and every successor's access token passes on both instances
/// and its refresh token rotates in turn.
#[tokio::test]
async fn concurrent_refreshes_across_two_instances_keep_the_user_signed_in() {
    let prefix = Prefix::new(SHARED_URL);
    let gws: Vec<Arc<Gateway>> = instances(&prefix, 2, "[session]\nreuse_grace_secs = 10")
        .await
        .into_iter()
        .map(Arc::new)
        .collect();
    let s0 = gws[0].sign_in(ALICE).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (gw, jar) = (gws[i % 2].clone(), s0.jar.clone());
            tokio::spawn(async move { gw.refresh_raw(&jar).await })
        })
        .collect();
    let mut successors = Vec::new();
    for resp in futures_util::future::join_all(tasks).await {
        let resp = resp.expect("task");
        assert_eq!(resp.status(), 200, "every concurrent refresh succeeds");
        let h = resp.headers().clone();
        let body: serde_json::Value = resp.json().await.expect("JSON");
        successors.push(Login {
            access_token: body["access_token"].as_str().expect("token").into(),
            jar: Jar::from_headers(&h),
            set_cookies: set_cookies(&h),
        });
    }
    let distinct: BTreeSet<_> = successors.iter().map(|s| s.jar.rt().to_string()).collect();
    assert_eq!(distinct.len(), 50, "each caller gets its own successor");
    for (i, s) in successors.iter().enumerate() {
        let (this, other) = (&gws[i % 2], &gws[(i + 1) % 2]);
        assert_eq!(other.whoami(s).await, Ok("alice".into()));
        let next = this.refresh(&s.jar).await;
        assert_eq!(other.whoami(&next).await, Ok("alice".into()));
    }
    for gw in &gws {
        assert!(!gw.log_text().contains("auth.token.reuse"));
    }
}

/// `INFO commandstats` calls of one command on a private Redis.
fn calls(redis: &RedisServer, command: &str) -> u64 {
    let client = redis::Client::open(redis.url()).expect("url");
    let mut conn = client
        .get_connection_with_timeout(Duration::from_secs(2))
        .expect("connect");
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut conn)
        .expect("INFO");
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next()?.parse().ok())
        .unwrap_or(0)
}

/// A made-up kid, thumbprint-shaped (43 base64url characters).
fn made_up_kid() -> String {
    jose::enc(rand::random::<[u8; 32]>())
}

/// Tokens naming made-up kids (300 different ones, then one kid 50 times)
/// are refused, and cost at most the look-up budget per window in Redis
/// GETs and one key list per period (counted by the server itself, and by
/// the gateway's metric); a peer's real token still passes afterwards.
#[tokio::test]
async fn made_up_kid_flood_costs_bounded_lookups() {
    let redis = RedisServer::start();
    let prefix = Prefix::new(&redis.url());
    let gws = instances(&prefix, 2, "").await;
    let (a, b) = (&gws[0], &gws[1]);
    let victim = a.sign_in(ALICE).await;
    let (_, claims, _) = jose::split(&victim.access_token);
    let forger = &a.signing_key();
    let forged = |kid: &str| jose::rs256(forger, &jose::header(kid, ""), &claims.to_string());
    let (gets_before, lists_before) = (calls(&redis, "get"), calls(&redis, "zrange"));
    let started = Instant::now();

    let mut kids: Vec<String> = (0..300).map(|_| made_up_kid()).collect();
    kids.extend(std::iter::repeat_n(made_up_kid(), 50));
    for batch in kids.chunks(25) {
        let sends = batch.iter().map(|kid| {
            let login = Login {
                access_token: forged(kid),
                ..victim.clone()
            };
            async move { a.whoami(&login).await }
        });
        for outcome in futures_util::future::join_all(sends).await {
            assert_eq!(outcome, UNAUTHORIZED);
        }
    }
    let windows = started.elapsed().as_secs() / LOOKUP_WINDOW_SECS + 2;
    let bound = u64::from(LOOKUPS_PER_WINDOW) * windows;
    let gets = calls(&redis, "get") - gets_before;
    assert!(
        gets <= bound,
        "{gets} GETs for 350 made-up kids (bound {bound})"
    );
    // Past the budget a kid is searched for in the list of published keys,
    // reread at most once per VIEW_FRESH_SECS (plus the publisher's own).
    let lists = calls(&redis, "zrange") - lists_before;
    let list_bound = started.elapsed().as_secs() / VIEW_FRESH_SECS + 3;
    assert!(
        lists <= list_bound,
        "{lists} key lists (bound {list_bound})"
    );

    let (_, text) = a.scrape().await;
    let samples = Samples::parse(&text);
    let lookups = |result| samples.or_zero("auth_key_lookups_total", &[("result", result)]);
    assert!(lookups("throttled") > 0.0, "the budget was reached");
    assert_eq!(lookups("found"), 0.0);
    assert!(lookups("missing") <= bound as f64);
    let peer = b.sign_in(BOB).await;
    assert_eq!(
        a.whoami(&peer).await,
        Ok("bob".into()),
        "a real peer key still passes"
    );
}
