//! Class 19, store outage, through the real binary on a private
//! `redis-server` (a free port, nothing kept on disk, killed on drop):
//! frozen with SIGSTOP, then stopped and restarted empty. Requests with a
//! valid access token keep working; login, refresh and logout answer 503
//! with `Retry-After` within the timeout; nothing fails open; when Redis
//! returns, the gateway recovers without a restart.

use crate::common;

use std::time::{Duration, Instant};

use common::Gateway;
use common::auth::ALICE;
use common::redis_util::{Prefix, RedisServer};
use common::session::{Jar, Login, merged};
use reqwest::StatusCode;

/// Redis round trips are bounded by 300 ms.
const TIMEOUT_MS: u64 = 300;
/// How fast a 503 must come back (generous for a loaded machine).
const PROMPT: Duration = Duration::from_secs(3);

/// The login rate limits are off: recovery is polled with repeated logins,
/// which is not what this test is about.
const NO_LOGIN_LIMITS: &str = "[rate_limit]\nlogin_per_ip = 0\nlogin_per_account = 0";

async fn gateway(prefix: &Prefix) -> Gateway {
    let config = merged(&[&prefix.config(TIMEOUT_MS), NO_LOGIN_LIMITS]);
    Gateway::start_with_users(&config, &[ALICE]).await
}

/// Asserts `resp` is a prompt 503 with `Retry-After` and sets no cookie.
fn assert_unavailable(what: &str, resp: &reqwest::Response, started: Instant) {
    let elapsed = started.elapsed();
    assert_eq!(resp.status(), 503, "{what}");
    assert!(
        resp.headers().contains_key("retry-after"),
        "{what}: Retry-After"
    );
    assert!(
        resp.headers().get("set-cookie").is_none(),
        "{what}: cookies"
    );
    assert!(elapsed < PROMPT, "{what} took {elapsed:?}");
}

/// `/health/ready` on the admin listener: its status.
async fn readiness(gw: &Gateway) -> u16 {
    let admin = gw.admin_addr.expect("admin listener");
    let url = format!("http://{admin}/health/ready");
    let resp = reqwest::Client::new().get(url).send().await.expect("admin");
    resp.status().as_u16()
}

/// While Redis is unusable: the valid access token still reaches the
/// upstream; login, refresh and logout are prompt 503s with `Retry-After`;
/// bad credentials are still refused (nothing fails open); not ready.
async fn check_outage(gw: &Gateway, s: &Login) {
    for _ in 0..3 {
        assert_eq!(gw.whoami(s).await, Ok("alice".into()), "access token works");
    }
    let started = Instant::now();
    let resp = gw.login_raw(ALICE.0, ALICE.1, "outage").await;
    assert_unavailable("login", &resp, started);
    let started = Instant::now();
    let resp = gw.refresh_raw(&s.jar).await;
    assert_unavailable("refresh", &resp, started);
    let started = Instant::now();
    let resp = gw.post_with("/auth/logout", &s.jar).await;
    assert_unavailable("logout", &resp, started);

    let forged = Login {
        access_token: format!("{}x", s.access_token),
        ..s.clone()
    };
    assert_eq!(gw.whoami(&forged).await, Err(StatusCode::UNAUTHORIZED));
    let no_fp = Login {
        jar: Jar::default(),
        ..s.clone()
    };
    assert_eq!(gw.whoami(&no_fp).await, Err(StatusCode::UNAUTHORIZED));
    let wrong = gw.login_raw(ALICE.0, "wrong-password-123", "outage").await;
    assert_ne!(wrong.status(), 200);
    let anonymous = gw
        .client()
        .get(gw.url("/headers"))
        .send()
        .await
        .expect("get");
    assert_eq!(anonymous.status(), 401);
    assert_ne!(readiness(gw).await, 200, "not ready without the store");
}

/// Logs in until it works (the connection manager reconnects on its own),
/// within a generous deadline; panics if it never does.
async fn login_when_back(gw: &Gateway) -> Login {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let resp = gw.login_raw(ALICE.0, ALICE.1, "after-outage").await;
        if resp.status() == 200 {
            let h = resp.headers().clone();
            let body: serde_json::Value = resp.json().await.expect("JSON");
            return Login {
                access_token: body["access_token"].as_str().expect("token").into(),
                jar: Jar::from_headers(&h),
                set_cookies: common::session::set_cookies(&h),
            };
        }
        assert_eq!(resp.status(), 503, "only 'try again' while recovering");
        assert!(Instant::now() < deadline, "the gateway did not recover");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// SIGSTOP: the server holds its connections and answers nothing. After
/// SIGCONT everything works again, the session from before included.
#[tokio::test]
async fn frozen_redis_fails_closed_and_recovers() {
    let redis = RedisServer::start();
    let prefix = Prefix::new(&redis.url());
    let gw = gateway(&prefix).await;
    let s = gw.sign_in(ALICE).await;
    assert_eq!(readiness(&gw).await, 200);

    redis.freeze();
    check_outage(&gw, &s).await;
    redis.thaw();

    let fresh = login_when_back(&gw).await;
    assert_eq!(gw.whoami(&fresh).await, Ok("alice".into()));
    let next = gw.refresh(&s.jar).await;
    assert_eq!(gw.whoami(&next).await, Ok("alice".into()));
    let resp = gw.post_with("/auth/logout", &next.jar).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(gw.whoami(&next).await, Err(StatusCode::UNAUTHORIZED));
    assert_eq!(readiness(&gw).await, 200);
    assert!(!gw.log_text().contains("panicked"));
}

/// SIGTERM: Redis is gone (connections refused). Then it comes back on the
/// same port with no data: a new login works without restarting the
/// gateway; the old session's refresh token is unknown now (401, not a
/// crash or a 500), while its access token keeps verifying until expiry.
#[tokio::test]
async fn stopped_redis_fails_closed_and_recovers_after_restart() {
    let mut redis = RedisServer::start();
    let prefix = Prefix::new(&redis.url());
    let gw = gateway(&prefix).await;
    let s = gw.sign_in(ALICE).await;

    redis.stop();
    check_outage(&gw, &s).await;
    redis.restart();

    let fresh = login_when_back(&gw).await;
    assert_eq!(gw.whoami(&fresh).await, Ok("alice".into()));
    let next = gw.refresh(&fresh.jar).await;
    assert_eq!(gw.whoami(&next).await, Ok("alice".into()));
    assert_eq!(gw.refresh_raw(&s.jar).await.status(), 401, "data is gone");
    assert_eq!(gw.whoami(&s).await, Ok("alice".into()));
    assert_eq!(readiness(&gw).await, 200);
    assert!(!gw.log_text().contains("panicked"));
}

/// A browser whose access cookie expired while Redis is frozen: the inline
/// refresh cannot reach the store, so the answer is a prompt 503 with
/// `Retry-After` that keeps the cookies (not a bounce to a login page that
/// cannot work either, and not a pass); once Redis is back, the same
/// cookies are refreshed inline.
#[tokio::test]
async fn expired_browser_session_during_outage_is_told_to_retry() {
    let redis = RedisServer::start();
    let prefix = Prefix::new(&redis.url());
    let short = "[auth]\naccess_token_ttl_secs = 2\nleeway_secs = 0";
    let config = merged(&[&prefix.config(TIMEOUT_MS), NO_LOGIN_LIMITS, short]);
    let gw = Gateway::start_with_users(&config, &[ALICE]).await;
    let s = gw.sign_in(ALICE).await;
    tokio::time::sleep(Duration::from_millis(3200)).await;

    redis.freeze();
    let navigate = || {
        gw.client()
            .get(gw.url("/headers"))
            .header("accept", "text/html")
            .header("cookie", s.jar.header())
    };
    let started = Instant::now();
    let resp = navigate().send().await.expect("get");
    assert_unavailable("inline refresh (GET)", &resp, started);
    let started = Instant::now();
    let resp = gw
        .client()
        .post(gw.url("/echo"))
        .header("cookie", s.jar.header())
        .body("form data")
        .send()
        .await
        .expect("post");
    assert_unavailable("inline refresh (POST)", &resp, started);
    redis.thaw();

    let deadline = Instant::now() + Duration::from_secs(20);
    let resp = loop {
        let resp = navigate().send().await.expect("get");
        if resp.status() != 503 || Instant::now() > deadline {
            break resp;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(resp.status(), 200, "refreshed inline once Redis is back");
    assert!(resp.headers().get("set-cookie").is_some());
}
