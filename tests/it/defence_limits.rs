//! Defences through the real binary: account lockout (identical answers,
//! growing lock, admin unlock), login and refresh rate limits (429 with
//! Retry-After), and a credential-stuffing run from one client IP.

use crate::common;

use common::Gateway;
use common::auth::{ALICE, BOB};
use portcullis::auth::users::{User, add_user};

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

/// A PHC string for `password` with only 1,000 PBKDF2 iterations: 20
/// accounts of the stuffing test would otherwise cost seconds of hashing to
/// create (logins still verify them for real).
fn cheap_hash(password: &str, salt: &[u8; 16]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let mut out = [0u8; 32];
    portcullis::auth::password::pbkdf2_sha256(password.as_bytes(), salt, 1000, &mut out);
    format!(
        "$pbkdf2-sha256$i=1000,l=32${}${}",
        b64.encode(salt),
        b64.encode(out)
    )
}

/// alice plus `user0`..`user19` (password `right-password-N`).
async fn stuffing_gateway(extra: &str) -> Gateway {
    let (upstream, stop) = common::example_app().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let users = dir.path().join("users.toml");
    common::auth::write_users(&users, &[ALICE], &[]);
    for i in 0..20u8 {
        let hash = cheap_hash(&format!("right-password-{i}"), &[i; 16]);
        let user = User::new(format!("user{i}"), None, vec![], hash).expect("valid user");
        add_user(&users, &user).expect("add user");
    }
    let config = format!("{}\n{extra}", common::auth::routes(upstream));
    // Not cancelled: the example app stops with the test's runtime.
    drop(stop);
    Gateway::start_in(dir, upstream, &config, &[])
}

/// Credential stuffing: 200 wrong logins from one IP across 20 real
/// accounts end in 429s (with `Retry-After`) for that IP and a lockout of
/// every account it reached (its right password from elsewhere now gets
/// the wrong-password answer), never a success or an echoed password; the
/// attacker's IP is refused even with alice's right password, while alice
/// from another IP logs in.
#[tokio::test]
async fn credential_stuffing_is_contained() {
    let extra = format!(
        "{TRUST_LOOPBACK}[rate_limit]\nlogin_per_ip = 100\nlogin_per_account = 100\n[lockout]\nmax_failures = 3\n"
    );
    let gw = stuffing_gateway(&extra).await;
    let client = gw.client();
    let attacker = "10.2.0.66";
    let mut statuses = std::collections::HashMap::<u16, usize>::new();
    for i in 0..200 {
        let user = format!("user{}", i % 20);
        let (status, body, retry) = attempt(&gw, &client, attacker, &user, "Winter2026!pass").await;
        assert!(!body.contains("Winter2026"), "password echoed");
        if status == 429 {
            let secs: u64 = retry.expect("Retry-After on 429").parse().unwrap();
            assert!((1..=60).contains(&secs), "{secs}");
        }
        *statuses.entry(status).or_default() += 1;
    }
    let limited = statuses.get(&429).copied().unwrap_or(0);
    let refused = statuses.get(&401).copied().unwrap_or(0);
    assert_eq!(limited + refused, 200, "{statuses:?}");
    assert!(limited >= 50 && refused >= 100, "{statuses:?}");
    let locks = gw.log_text().matches("auth.security.lockout").count();
    assert!(locks >= 20, "every account was locked: {locks}");

    let (_, wrong, _) = attempt(&gw, &client, "10.2.0.9", "user0", "not-the-password").await;
    for i in 0..20 {
        let (status, body, _) = attempt(
            &gw,
            &client,
            "10.2.0.9",
            &format!("user{i}"),
            &format!("right-password-{i}"),
        )
        .await;
        assert_eq!(
            (status, body.as_str()),
            (401, wrong.as_str()),
            "user{i} is locked"
        );
    }
    assert_eq!(
        attempt(&gw, &client, attacker, ALICE.0, ALICE.1).await.0,
        429
    );
    assert_eq!(
        attempt(&gw, &client, "10.2.0.7", ALICE.0, ALICE.1).await.0,
        200
    );
}
