//! Defences through the real binary: account lockout (identical answers,
//! growing lock, admin unlock), login and refresh rate limits (429 with
//! Retry-After), and a credential-stuffing run from one client IP.

use crate::common;

use common::Gateway;
use common::auth::{ALICE, BOB};

/// One JSON login: status, body and `Retry-After`, from `ip` (sent as
/// `X-Forwarded-For`, believed because loopback is a trusted proxy here).
async fn attempt(
    gw: &Gateway,
    client: &reqwest::Client,
    ip: &str,
    user: &str,
    pass: &str,
) -> (u16, String, Option<String>) {
    let resp = client
        .post(gw.url("/auth/login"))
        .header("x-forwarded-for", ip)
        .json(&serde_json::json!({ "username": user, "password": pass }))
        .send()
        .await
        .expect("login request");
    let status = resp.status().as_u16();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, resp.text().await.unwrap(), retry)
}

const TRUST_LOOPBACK: &str = "[server]\ntrusted_proxies = [\"127.0.0.1/32\"]\n";

/// After `max_failures` wrong passwords the account is locked: the right
/// password gets the same 401 as a wrong one; other accounts are
/// unaffected; `users unlock` through the admin listener clears it.
#[tokio::test]
async fn lockout_is_silent_and_unlockable() {
    let extra =
        format!("{TRUST_LOOPBACK}[lockout]\nmax_failures = 3\nbase_secs = 600\nmax_secs = 3600\n");
    let gw = Gateway::start_with_users(&extra, &[ALICE, BOB]).await;
    let client = gw.client();
    let (_, wrong_body, _) = attempt(&gw, &client, "10.0.0.1", "alice", "not-the-password").await;
    for _ in 0..2 {
        assert_eq!(
            attempt(&gw, &client, "10.0.0.1", "alice", "not-the-password")
                .await
                .0,
            401
        );
    }
    let (status, body, _) = attempt(&gw, &client, "10.0.0.2", ALICE.0, ALICE.1).await;
    assert_eq!(
        (status, body.as_str()),
        (401, wrong_body.as_str()),
        "locked answers like a wrong password"
    );
    let (status, unknown, _) =
        attempt(&gw, &client, "10.0.0.2", "nobody", "whatever-password").await;
    assert_eq!((status, unknown.as_str()), (401, wrong_body.as_str()));
    assert_eq!(
        attempt(&gw, &client, "10.0.0.3", BOB.0, BOB.1).await.0,
        200,
        "bob is not locked"
    );
    assert!(
        gw.log_text().contains("auth.security.lockout"),
        "lockout logged"
    );
    let admin = format!("http://{}", gw.admin_addr.expect("admin listener"));
    let out = common::cli(&["users", "unlock", "alice", "--admin-url", &admin], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        attempt(&gw, &client, "10.0.0.2", ALICE.0, ALICE.1).await.0,
        200,
        "unlocked"
    );
}

/// Per-IP and per-account login limits answer 429 with `Retry-After`, logged
/// as `auth.security.rate_limit`; other IPs and accounts keep working.
#[tokio::test]
async fn login_rate_limits() {
    let extra = format!("{TRUST_LOOPBACK}[rate_limit]\nlogin_per_ip = 4\nlogin_per_account = 3\n");
    let gw = Gateway::start_with_users(&extra, &[ALICE, BOB]).await;
    let client = gw.client();
    for _ in 0..3 {
        assert_eq!(
            attempt(&gw, &client, "10.1.0.1", "alice", "wrong-password-x")
                .await
                .0,
            401
        );
    }
    let (status, _, retry) = attempt(&gw, &client, "10.1.0.2", ALICE.0, ALICE.1).await;
    assert_eq!(status, 429, "fourth login for alice inside the minute");
    let secs: u64 = retry.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&secs), "{secs}");
    assert_eq!(
        attempt(&gw, &client, "10.1.0.1", BOB.0, BOB.1).await.0,
        200,
        "fourth from this IP"
    );
    assert_eq!(
        attempt(&gw, &client, "10.1.0.1", BOB.0, BOB.1).await.0,
        429,
        "fifth from this IP"
    );
    assert_eq!(
        attempt(&gw, &client, "10.1.0.3", BOB.0, BOB.1).await.0,
        200,
        "another IP"
    );
    assert!(gw.log_text().contains("auth.security.rate_limit"));
}

/// Credential stuffing: 200 wrong logins from one IP across 20 accounts end
/// in lockouts (the accounts it reached) and then 429s (the IP), never a
/// success or an echoed password, while a valid user from another IP still
/// logs in.
#[tokio::test]
async fn credential_stuffing_is_contained() {
    let extra = format!(
        "{TRUST_LOOPBACK}[rate_limit]\nlogin_per_ip = 100\nlogin_per_account = 100\n[lockout]\nmax_failures = 3\n"
    );
    let gw = Gateway::start_with_users(&extra, &[ALICE]).await;
    let client = gw.client();
    let mut statuses = std::collections::HashMap::<u16, usize>::new();
    for i in 0..200 {
        let user = format!("user{}", i % 20);
        let (status, body, _) = attempt(&gw, &client, "10.2.0.66", &user, "Winter2026!pass").await;
        assert!(!body.contains("Winter2026"), "password echoed");
        *statuses.entry(status).or_default() += 1;
    }
    let limited = statuses.get(&429).copied().unwrap_or(0);
    let refused = statuses.get(&401).copied().unwrap_or(0);
    assert_eq!(limited + refused, 200, "{statuses:?}");
    assert!(limited >= 50 && refused >= 100, "{statuses:?}");
    let locks = gw.log_text().matches("auth.security.lockout").count();
    assert!(locks >= 20, "every account reached was locked: {locks}");
    assert_eq!(
        attempt(&gw, &client, "10.2.0.7", ALICE.0, ALICE.1).await.0,
        200
    );
}
