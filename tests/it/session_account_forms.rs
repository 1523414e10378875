//! The account page's forms over plain HTTPS (the browser tests cover the
//! happy path): another site's post is refused and changes nothing, so is
//! a form without its session's token, another user's session id revokes
//! nothing, a form without a session is 400, and a signed-out caller is
//! sent to the login page.

use crate::common;

use common::Gateway;
use common::auth::{ALICE, BOB};
use common::session::Jar;
use reqwest::StatusCode;

const FORM: &str = "application/x-www-form-urlencoded";

async fn post_form(
    gw: &Gateway,
    path: &str,
    jar: &Jar,
    origin: &str,
    body: &str,
) -> reqwest::Response {
    gw.client()
        .post(gw.url(path))
        .header("origin", origin)
        .header("accept", "text/html")
        .header("content-type", FORM)
        .header("cookie", jar.header())
        .body(body.to_string())
        .send()
        .await
        .expect("request")
}

/// The form token on `jar`'s account page.
async fn token_of(gw: &Gateway, jar: &Jar) -> String {
    let html = gw
        .client()
        .get(gw.url("/auth/account"))
        .header("cookie", jar.header())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = html.find(r#"name="csrf" value=""#).expect("a token field") + 19;
    let len = html[start..].find('"').expect("end of the token");
    html[start..start + len].to_string()
}

async fn sessions_of(gw: &Gateway, jar: &Jar) -> Vec<String> {
    let list: serde_json::Value = gw
        .client()
        .get(gw.url("/auth/sessions"))
        .header("cookie", jar.header())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

/// Refusals: cross-site posts and forms without this session's token (403,
/// nothing revoked), another user's
/// session (303 back, nothing revoked), no `session` field (400), and no
/// session at all (303 to the login page, returning to the account page).
#[tokio::test]
async fn account_forms_refuse_what_they_must() {
    let gw = Gateway::start_with_users("", &[ALICE, BOB]).await;
    let laptop = gw.sign_in_as(ALICE, "laptop").await;
    let phone = gw.sign_in_as(ALICE, "phone").await;
    let bob = gw.sign_in(BOB).await;
    let token = token_of(&gw, &laptop.jar).await;
    let phone_token = token_of(&gw, &phone.jar).await;
    assert_ne!(token, phone_token, "one token per session");
    let bob_sid = sessions_of(&gw, &bob.jar).await.remove(0);
    let alice_sids = sessions_of(&gw, &laptop.jar).await;
    assert_eq!(alice_sids.len(), 2);

    let evil = "https://evil.example";
    for (path, body) in [
        ("/auth/account/revoke-others", format!("csrf={token}")),
        (
            "/auth/account/revoke",
            format!("csrf={token}&session={}", alice_sids[1]),
        ),
    ] {
        let resp = post_form(&gw, path, &laptop.jar, evil, &body).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        sessions_of(&gw, &laptop.jar).await.len(),
        2,
        "nothing revoked"
    );

    // Same origin, but without this session's token: a stale or forged form.
    let origin = gw.origin();
    for body in [
        String::new(),
        "csrf=".to_string(),
        "csrf=AAAA".to_string(),
        format!("csrf={phone_token}"),
        format!("csrf={token}x"),
    ] {
        let resp = post_form(
            &gw,
            "/auth/account/revoke-others",
            &laptop.jar,
            &origin,
            &body,
        )
        .await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{body:?}");
        assert!(resp.text().await.unwrap().contains("This form has expired"));
    }
    assert_eq!(
        sessions_of(&gw, &laptop.jar).await.len(),
        2,
        "nothing revoked"
    );

    let body = format!("csrf={token}&session={bob_sid}");
    let resp = post_form(&gw, "/auth/account/revoke", &laptop.jar, &origin, &body).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], "/auth/account");
    assert_eq!(
        sessions_of(&gw, &bob.jar).await,
        vec![bob_sid],
        "bob untouched"
    );

    for body in ["", "&session=", "&session=a&session=b"] {
        let body = format!("csrf={token}{body}");
        let resp = post_form(&gw, "/auth/account/revoke", &laptop.jar, &origin, &body).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body:?}");
    }

    let nobody = Jar::default();
    for path in ["/auth/account/revoke-others", "/auth/account/revoke"] {
        let resp = post_form(&gw, path, &nobody, &origin, "session=x").await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(
            resp.headers()["location"],
            "/auth/login?return_to=%2Fauth%2Faccount"
        );
    }
    let page = gw
        .client()
        .get(gw.url("/auth/account"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(sessions_of(&gw, &laptop.jar).await.len(), 2);
}

/// Signing out this device from its own row is a sign-out: cookies
/// cleared, the login page saying so, and the session refused next.
#[tokio::test]
async fn own_row_signs_this_device_out() {
    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let laptop = gw.sign_in_as(ALICE, "laptop").await;
    let sid = common::flows::sid_of(&gw, &laptop).await;
    let body = format!("csrf={}&session={sid}", token_of(&gw, &laptop.jar).await);
    let resp = post_form(
        &gw,
        "/auth/account/revoke",
        &laptop.jar,
        &gw.origin(),
        &body,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()["location"], "/auth/login?signed_out=1");
    assert!(common::session::clears_session_cookies(resp.headers()));
    assert_eq!(gw.whoami(&laptop).await, Err(StatusCode::UNAUTHORIZED));
}

/// While the store is frozen, a browser's login form, sign-out form and
/// account page get a 503 page in plain words with `Retry-After`, not
/// JSON.
#[tokio::test]
async fn store_outage_is_told_to_browsers_in_plain_words() {
    use common::redis_util::{Prefix, RedisServer};
    let redis = RedisServer::start();
    let prefix = Prefix::new(&redis.url());
    let config = common::session::merged(&[
        &prefix.config(300),
        "[rate_limit]\nlogin_per_ip = 0\nlogin_per_account = 0",
    ]);
    let gw = Gateway::start_with_users(&config, &[ALICE]).await;
    let s = gw.sign_in(ALICE).await;
    redis.freeze();
    let origin = gw.origin();
    let login = format!("username=alice&password={}&return_to=%2Fx", ALICE.1);
    for (what, resp) in [
        (
            "login",
            post_form(&gw, "/auth/login", &Jar::default(), &origin, &login).await,
        ),
        (
            "logout",
            post_form(&gw, "/auth/logout", &s.jar, &origin, "").await,
        ),
        (
            "account",
            gw.client()
                .get(gw.url("/auth/account"))
                .header("accept", "text/html")
                .header("cookie", s.jar.header())
                .send()
                .await
                .unwrap(),
        ),
    ] {
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE, "{what}");
        assert!(resp.headers().contains_key("retry-after"), "{what}");
        assert_eq!(
            resp.headers()["content-type"],
            "text/html; charset=utf-8",
            "{what}"
        );
        let html = resp.text().await.unwrap();
        assert!(
            html.contains("Please try again in a few seconds."),
            "{what}: {html}"
        );
    }
    redis.thaw();
}
