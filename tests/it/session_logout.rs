//! Session control through the real binary, on the embedded store: logout,
//! logout-all, listing and revoking sessions, the per-user limit, and the
//! CSRF rule on every state-changing endpoint. The shared scenarios also
//! run on Redis in `session_redis.rs`.

use crate::common;

use common::Gateway;
use common::auth::{ALICE, BOB};
use common::flows::{self, LIMIT_2, delete_session, sessions, sid_of};

const EVIL: &str = "https://evil.example";

async fn gateway(extra: &str) -> Gateway {
    Gateway::start_with_users(extra, &[ALICE, BOB]).await
}

/// Logout refuses the old access token on the very next request.
#[tokio::test]
async fn logout_refuses_the_old_token_on_the_next_request() {
    flows::logout(&gateway("").await).await;
}

/// Logout-all revokes both sessions of the user.
#[tokio::test]
async fn logout_all_revokes_every_session_of_the_user() {
    flows::logout_all(&gateway("").await).await;
}

/// Sessions are listed with their devices and revoked one by one.
#[tokio::test]
async fn sessions_are_listed_and_revoked_one_by_one() {
    flows::list_and_revoke(&gateway("").await).await;
}

/// The per-user limit evicts the oldest session.
#[tokio::test]
async fn session_limit_evicts_the_oldest() {
    flows::session_limit(&gateway(LIMIT_2).await).await;
}

/// `[session] max_per_user = 1` and logins in quick succession (usually
/// within one second, the resolution of `created`): every login's own
/// session survives it and works; the one before is evicted.
#[tokio::test]
async fn newest_login_always_survives_the_limit() {
    let gw = gateway("[session]\nmax_per_user = 1").await;
    let mut previous = None;
    for i in 0..5 {
        let s = gw.sign_in_as(ALICE, &format!("device-{i}")).await;
        assert_eq!(gw.whoami(&s).await, Ok("alice".into()), "login {i}");
        if let Some(p) = previous.replace(s) {
            let code = gw.whoami(&p).await;
            assert_eq!(code, Err(reqwest::StatusCode::UNAUTHORIZED), "login {i}");
        }
    }
}

/// State-changing endpoints with `Origin: https://evil.example` (or
/// `Sec-Fetch-Site: cross-site`) answer 403 and change nothing: the
/// sessions live, the refresh token is not consumed, no session is created.
#[tokio::test]
async fn cross_origin_state_changes_are_refused() {
    let gw = gateway("").await;
    let s = gw.sign_in_as(ALICE, "laptop").await;
    let other = gw.sign_in_as(ALICE, "phone").await;
    let other_id = sid_of(&gw, &other).await;

    for path in ["/auth/logout", "/auth/logout-all", "/auth/refresh"] {
        for (name, value) in [("origin", EVIL), ("sec-fetch-site", "cross-site")] {
            let resp = gw
                .client()
                .post(gw.url(path))
                .header(name, value)
                .header("cookie", s.jar.header())
                .send()
                .await
                .expect("request");
            assert_eq!(resp.status(), 403, "{path} with {name}: {value}");
            assert!(resp.headers().get("set-cookie").is_none(), "{path}");
        }
    }
    let resp = delete_session(&gw, &s.jar, &other_id, EVIL).await;
    assert_eq!(resp.status(), 403);
    let resp = gw
        .client()
        .post(gw.url("/auth/login"))
        .header("origin", EVIL)
        .json(&serde_json::json!({ "username": ALICE.0, "password": ALICE.1 }))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 403);
    assert!(resp.headers().get("set-cookie").is_none());

    assert_eq!(gw.whoami(&s).await, Ok("alice".into()));
    assert_eq!(gw.whoami(&other).await, Ok("alice".into()));
    assert_eq!(sessions(&gw, &s.jar).await.len(), 2, "no session added");
    // The refresh token was not consumed: it rotates normally (no reuse).
    let next = gw.refresh(&s.jar).await;
    assert_eq!(gw.whoami(&next).await, Ok("alice".into()));
    assert!(!gw.log_text().contains("auth.token.reuse"));
    gw.wait_for_log(&["auth.security.csrf"]).await;
}

/// `GET /auth/logout` is a confirmation page with a POST form; it revokes
/// nothing (a cross-site `<img>` cannot sign anyone out).
#[tokio::test]
async fn get_logout_only_shows_a_confirmation_page() {
    let gw = gateway("").await;
    let s = gw.sign_in(ALICE).await;
    let resp = gw
        .client()
        .get(gw.url("/auth/logout"))
        .header("cookie", s.jar.header())
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("set-cookie").is_none());
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/html"), "{ct}");
    let html = resp.text().await.expect("body");
    assert!(
        html.contains("method=\"post\" action=\"/auth/logout\""),
        "{html}"
    );
    assert_eq!(gw.whoami(&s).await, Ok("alice".into()));
    assert_eq!(sessions(&gw, &s.jar).await.len(), 1);
    assert!(!gw.log_text().contains("auth.logout"));
}

/// `DELETE /auth/sessions/{id}` needs a signed-in caller: without one it is
/// 401 and the session lives.
#[tokio::test]
async fn revoking_a_session_needs_a_signed_in_caller() {
    let gw = gateway("").await;
    let s = gw.sign_in(BOB).await;
    let id = sid_of(&gw, &s).await;
    let nobody = common::session::Jar::default();
    let resp = delete_session(&gw, &nobody, &id, &gw.origin()).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(gw.whoami(&s).await, Ok("bob".into()));
}
