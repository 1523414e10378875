//! Session scenarios shared by the embedded-store and Redis test files:
//! each takes a running gateway (from `Gateway::start_with_users` with
//! `alice` and `bob`, and the settings its documentation names) and asserts the
//! behaviour through the real binary.

use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis::auth::cookie_names::{ACCESS, FINGERPRINT, REFRESH};
use reqwest::StatusCode;

use super::Gateway;
use super::auth::{ALICE, BOB};
use super::session::{Jar, Login, clears_session_cookies, set_cookie, set_cookies};

/// `[session]` for [`reuse_after_window`]: a one-second grace window.
pub const GRACE_1: &str = "[session]\nreuse_grace_secs = 1";
/// `[session]` for [`concurrent_refreshes`].
pub const GRACE_4: &str = "[session]\nreuse_grace_secs = 4";
/// `[session]` for [`session_limit`].
pub const LIMIT_2: &str = "[session]\nmax_per_user = 2";

/// Default refresh lifetime (30 days), the refresh cookie's Max-Age.
const REFRESH_LIFETIME: i64 = 30 * 86_400;
const UNAUTHORIZED: Result<String, StatusCode> = Err(StatusCode::UNAUTHORIZED);

/// Sleeps until `grace_secs` have surely passed since `since`, in the whole
/// Unix seconds the store counts (plus a margin).
pub async fn outlast_grace(since: Instant, grace_secs: u64) {
    let until = since + Duration::from_millis(grace_secs * 1000 + 1500);
    tokio::time::sleep_until(until.into()).await;
}

/// The session id (the `sid` claim) of a login, as the upstream is told.
pub async fn sid_of(gw: &Gateway, s: &Login) -> String {
    let resp = gw.api_get(&s.access_token, &s.jar).await;
    let body: serde_json::Value = resp.json().await.expect("JSON");
    let sid = body["headers"]["x-auth-request-session"].as_str();
    sid.expect("session header").to_string()
}

/// `GET /auth/sessions` with `jar`: the JSON list.
pub async fn sessions(gw: &Gateway, jar: &Jar) -> Vec<serde_json::Value> {
    let resp = gw
        .client()
        .get(gw.url("/auth/sessions"))
        .header("cookie", jar.header())
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.expect("JSON");
    body["sessions"].as_array().expect("sessions array").clone()
}

/// `DELETE /auth/sessions/{id}` with `jar` and an `Origin`.
pub async fn delete_session(gw: &Gateway, jar: &Jar, id: &str, origin: &str) -> reqwest::Response {
    gw.client()
        .delete(gw.url(&format!("/auth/sessions/{id}")))
        .header("origin", origin)
        .header("cookie", jar.header())
        .send()
        .await
        .expect("request")
}

/// Login sets `__Host-portcullis-rt` (HttpOnly, Secure, SameSite=Strict,
/// Path=/, Max-Age the refresh lifetime) next to the fingerprint and access
/// cookies; `POST /auth/refresh` answers a new access token bound to a new
/// fingerprint, rotates all three cookies, and the successor refreshes too.
pub async fn rotate_all_three(gw: &Gateway) {
    let s0 = gw.sign_in(ALICE).await;
    let rt = set_cookie(&s0.set_cookies, REFRESH);
    assert!(rt.has("HttpOnly") && rt.has("Secure"), "{rt:?}");
    assert_eq!(rt.attr("SameSite"), Some("Strict"));
    assert_eq!(rt.attr("Path"), Some("/"));
    assert!(!rt.has("Domain"));
    let age = rt.max_age().expect("Max-Age");
    assert!(
        (REFRESH_LIFETIME - 5..=REFRESH_LIFETIME).contains(&age),
        "{age}"
    );
    for name in [FINGERPRINT, ACCESS] {
        let c = set_cookie(&s0.set_cookies, name);
        assert!(c.has("HttpOnly") && c.has("Secure"), "{c:?}");
        assert_eq!(c.attr("SameSite"), Some("Strict"));
        assert_eq!(c.attr("Path"), Some("/"));
        assert_eq!(c.max_age(), Some(900));
    }
    assert_eq!(s0.jar.at(), s0.access_token);
    assert_eq!(gw.whoami(&s0).await, Ok("alice".into()));

    let s1 = gw.refresh(&s0.jar).await;
    assert_ne!(s1.access_token, s0.access_token);
    for name in [FINGERPRINT, ACCESS, REFRESH] {
        let new = set_cookie(&s1.set_cookies, name);
        assert!(!new.clears(), "{name} must be set, not cleared");
        assert!(new.has("HttpOnly") && new.has("Secure"));
        assert_eq!(new.attr("SameSite"), Some("Strict"));
        assert_ne!(
            Some(new.value.as_str()),
            s0.jar.get(name),
            "{name} not rotated"
        );
    }
    assert_eq!(s1.jar.at(), s1.access_token);
    assert_eq!(gw.whoami(&s1).await, Ok("alice".into()));
    let crossed = Login {
        jar: s0.jar.clone(),
        ..s1.clone()
    };
    assert_eq!(gw.whoami(&crossed).await, UNAUTHORIZED, "old fingerprint");
    let s2 = gw.refresh(&s1.jar).await;
    assert_eq!(gw.whoami(&s2).await, Ok("alice".into()));
}

/// A used refresh token replayed inside the grace window (default 10 s)
/// leaves the caller with a usable session (another tab); nothing is
/// revoked and both branches keep refreshing.
pub async fn grace_replay(gw: &Gateway) {
    let s0 = gw.sign_in(ALICE).await;
    let s1 = gw.refresh(&s0.jar).await;
    let tab = gw.refresh(&s0.jar).await;
    assert_ne!(tab.jar.rt(), s1.jar.rt());
    assert_eq!(gw.whoami(&tab).await, Ok("alice".into()));
    assert_eq!(gw.whoami(&s1).await, Ok("alice".into()));
    let tab2 = gw.refresh(&tab.jar).await;
    assert_eq!(gw.whoami(&tab2).await, Ok("alice".into()));
    let s2 = gw.refresh(&s1.jar).await;
    assert_eq!(gw.whoami(&s2).await, Ok("alice".into()));
    assert!(!gw.log_text().contains("auth.token.reuse"));
}

/// With [`GRACE_1`]: a used refresh token replayed after the window is
/// theft: 401, cookies cleared, `auth.token.reuse` logged at error level
/// (without the token), and the whole family is dead: the successor refresh
/// token is refused and every access token of the session on the very next
/// request. A fresh login is a fresh family.
pub async fn reuse_after_window(gw: &Gateway) {
    let s0 = gw.sign_in(ALICE).await;
    let s1 = gw.refresh(&s0.jar).await;
    let rotated = Instant::now();
    assert_eq!(gw.whoami(&s1).await, Ok("alice".into()));

    outlast_grace(rotated, 1).await;
    let resp = gw.refresh_raw(&s0.jar).await;
    assert_eq!(resp.status(), 401);
    assert!(
        clears_session_cookies(resp.headers()),
        "{:?}",
        resp.headers()
    );
    let line = gw.wait_for_log(&["auth.token.reuse"]).await;
    assert!(line.contains("ERROR"), "{line}");
    assert!(!line.contains(s0.jar.rt()), "the token must not be logged");

    let resp = gw.refresh_raw(&s1.jar).await;
    assert_eq!(resp.status(), 401, "the successor must be dead too");
    assert!(clears_session_cookies(resp.headers()));
    assert_eq!(gw.whoami(&s1).await, UNAUTHORIZED);
    assert_eq!(gw.whoami(&s0).await, UNAUTHORIZED);
    let fresh = gw.sign_in(ALICE).await;
    assert_eq!(gw.whoami(&fresh).await, Ok("alice".into()));
}

/// Class 18, with [`GRACE_4`]: 20 refreshes at once with the same token
/// inside the window all answer 200, each with its own successor whose
/// access token passes and whose refresh token rotates in turn. A replay
/// of that token after the window revokes the family, successors included.
pub async fn concurrent_refreshes(gw: Arc<Gateway>) {
    let s0 = gw.sign_in(ALICE).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (gw, jar) = (gw.clone(), s0.jar.clone());
            tokio::spawn(async move { gw.refresh_raw(&jar).await })
        })
        .collect();
    let answers: Vec<_> = futures_util::future::join_all(tasks).await;
    let burst_done = Instant::now();
    let mut successors = Vec::new();
    for resp in answers {
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
    let distinct: std::collections::HashSet<_> =
        successors.iter().map(|s| s.jar.rt().to_string()).collect();
    assert_eq!(distinct.len(), 20, "each caller gets its own successor");
    let mut grandchildren = Vec::new();
    for s in &successors {
        assert_eq!(gw.whoami(s).await, Ok("alice".into()));
        let next = gw.refresh(&s.jar).await;
        assert_eq!(gw.whoami(&next).await, Ok("alice".into()));
        grandchildren.push(next);
    }
    assert!(!gw.log_text().contains("auth.token.reuse"));

    outlast_grace(burst_done, 4).await;
    assert_eq!(gw.refresh_raw(&s0.jar).await.status(), 401);
    gw.wait_for_log(&["auth.token.reuse"]).await;
    for s in successors.iter().chain(&grandchildren) {
        assert_eq!(gw.whoami(s).await, UNAUTHORIZED);
    }
    for s in &grandchildren {
        assert_eq!(gw.refresh_raw(&s.jar).await.status(), 401);
    }
}

/// `POST /auth/logout` revokes this session only: its access token is
/// refused on the very next request (bearer or cookie), the cookies are
/// cleared, its refresh token is dead; another session lives on.
pub async fn logout(gw: &Gateway) {
    let s = gw.sign_in(ALICE).await;
    let other = gw.sign_in(ALICE).await;
    assert_eq!(gw.whoami(&s).await, Ok("alice".into()));

    let resp = gw.post_with("/auth/logout", &s.jar).await;
    assert_eq!(resp.status(), 200);
    assert!(
        clears_session_cookies(resp.headers()),
        "{:?}",
        resp.headers()
    );
    let body: serde_json::Value = resp.json().await.expect("JSON");
    assert_eq!(body["revoked"], 1);

    assert_eq!(gw.whoami(&s).await, UNAUTHORIZED);
    let by_cookie = gw
        .client()
        .get(gw.url("/headers"))
        .header("cookie", s.jar.only(&[FINGERPRINT, ACCESS]).header())
        .send()
        .await
        .expect("request");
    assert_eq!(by_cookie.status(), 401, "nor by the access cookie");
    assert_eq!(gw.refresh_raw(&s.jar).await.status(), 401);
    assert_eq!(
        gw.whoami(&other).await,
        Ok("alice".into()),
        "only this session"
    );
    gw.wait_for_log(&["\"auth.logout\""]).await;
}

/// `POST /auth/logout-all` revokes every session of the user (two here)
/// and no other user's.
pub async fn logout_all(gw: &Gateway) {
    let a = gw.sign_in_as(ALICE, "laptop").await;
    let b = gw.sign_in_as(ALICE, "phone").await;
    let bob = gw.sign_in(BOB).await;

    let resp = gw.post_with("/auth/logout-all", &a.jar).await;
    assert_eq!(resp.status(), 200);
    assert!(clears_session_cookies(resp.headers()));
    let body: serde_json::Value = resp.json().await.expect("JSON");
    assert_eq!(body["revoked"], 2);

    assert_eq!(gw.whoami(&a).await, UNAUTHORIZED);
    assert_eq!(gw.whoami(&b).await, UNAUTHORIZED);
    assert_eq!(gw.refresh_raw(&b.jar).await.status(), 401);
    assert_eq!(gw.whoami(&bob).await, Ok("bob".into()));
}

/// `GET /auth/sessions` lists the caller's own sessions (id, device, IP,
/// times, which one is current); `DELETE /auth/sessions/{id}` revokes one
/// (its token is refused next); another user's id is 404.
pub async fn list_and_revoke(gw: &Gateway) {
    let laptop = gw.sign_in_as(ALICE, "laptop-browser").await;
    let phone = gw.sign_in_as(ALICE, "phone-browser").await;
    let bob = gw.sign_in(BOB).await;
    let laptop_id = sid_of(gw, &laptop).await;
    let phone_id = sid_of(gw, &phone).await;
    let bob_id = sid_of(gw, &bob).await;

    let list = sessions(gw, &laptop.jar).await;
    assert_eq!(list.len(), 2, "{list:?}");
    for item in &list {
        for field in ["id", "user_agent", "ip", "created", "last_used", "current"] {
            assert!(!item[field].is_null(), "{field} missing in {item}");
        }
        assert_eq!(item["ip"], "127.0.0.1");
        assert!(item["last_used"].as_u64() >= item["created"].as_u64());
        let id = item["id"].as_str().expect("id");
        let (ua, current) = if id == laptop_id {
            ("laptop-browser", true)
        } else {
            assert_eq!(id, phone_id);
            ("phone-browser", false)
        };
        assert_eq!(item["user_agent"], ua);
        assert_eq!(item["current"], current);
    }
    assert!(!serde_json::to_string(&list).unwrap().contains(&bob_id));

    let origin = gw.origin();
    assert_eq!(
        delete_session(gw, &laptop.jar, &bob_id, &origin)
            .await
            .status(),
        404
    );
    assert_eq!(gw.whoami(&bob).await, Ok("bob".into()));
    let unknown = delete_session(gw, &laptop.jar, "no-such-session", &origin).await;
    assert_eq!(unknown.status(), 404);

    assert_eq!(
        delete_session(gw, &laptop.jar, &phone_id, &origin)
            .await
            .status(),
        204
    );
    assert_eq!(gw.whoami(&phone).await, UNAUTHORIZED);
    assert_eq!(gw.refresh_raw(&phone.jar).await.status(), 401);
    assert_eq!(gw.whoami(&laptop).await, Ok("alice".into()));
    let list = sessions(gw, &laptop.jar).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], laptop_id.as_str());
    let again = delete_session(gw, &laptop.jar, &phone_id, &origin).await;
    assert_eq!(again.status(), 404, "already revoked");
    gw.wait_for_log(&["auth.session.revoked", &phone_id]).await;
}

/// With [`LIMIT_2`]: a third login evicts the oldest session; its access
/// token is refused and its refresh fails; the newer two work;
/// `auth.session.revoked` is logged for it.
pub async fn session_limit(gw: &Gateway) {
    let first = gw.sign_in_as(ALICE, "one").await;
    let first_id = sid_of(gw, &first).await;
    // Sessions are ordered by `created` in whole seconds; a later second
    // makes "oldest" unambiguous.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = gw.sign_in_as(ALICE, "two").await;
    let third = gw.sign_in_as(ALICE, "three").await;

    assert_eq!(gw.whoami(&first).await, UNAUTHORIZED);
    let resp = gw.refresh_raw(&first.jar).await;
    assert_eq!(resp.status(), 401);
    assert!(clears_session_cookies(resp.headers()));
    assert_eq!(gw.whoami(&second).await, Ok("alice".into()));
    assert_eq!(gw.whoami(&third).await, Ok("alice".into()));
    assert_eq!(sessions(gw, &third.jar).await.len(), 2);
    let line = gw
        .wait_for_log(&["auth.session.revoked", "session_limit"])
        .await;
    assert!(line.contains(&first_id), "{line}");
}
