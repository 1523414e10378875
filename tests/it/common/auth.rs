//! Authentication helpers for the integration tests: a gateway with users and
//! the three routes of the auth tests, logging in, and presenting a token.

use std::path::Path;

use portcullis::auth::keys::SigningKey;
use portcullis::auth::password::hash_password;
use portcullis::auth::users::{User, add_user};
use reqwest::header::{AUTHORIZATION, COOKIE};

use super::{Gateway, example_app};

/// Name of the fingerprint cookie.
pub const FP: &str = "__Host-portcullis-fp";
/// Name of the browser-mode access-token cookie.
pub const AT: &str = "__Host-portcullis-at";

/// Test users: `(username, password, roles)`.
pub type UserSpec<'a> = (&'a str, &'a str, &'a [&'a str]);

/// The users most tests need: `alice` (admin) and `bob` (no role).
pub const ALICE: UserSpec<'static> = ("alice", "password-alice-123", &["admin"]);
/// A user without the admin role.
pub const BOB: UserSpec<'static> = ("bob", "password-bob-4567", &[]);

/// `/` authenticated, `/public` public, `/admin` needs the `admin` role; all
/// to the example app at `upstream`.
pub fn routes(upstream: std::net::SocketAddr) -> String {
    format!(
        r#"
[[routes]]
prefix = "/"
upstream = "http://{upstream}"
policy = "authenticated"

[[routes]]
prefix = "/public"
upstream = "http://{upstream}"
policy = "public"

[[routes]]
prefix = "/admin"
upstream = "http://{upstream}"
policy = "authenticated"
roles = ["admin"]
"#
    )
}

/// Writes `users` to a users file (email `<name>@example.com`); the names in
/// `disabled` are written disabled.
pub fn write_users(path: &Path, users: &[UserSpec<'_>], disabled: &[&str]) {
    for (name, password, roles) in users {
        let hash = hash_password(password).expect("hash");
        let roles = roles.iter().map(|r| r.to_string()).collect();
        let user =
            User::new(*name, Some(format!("{name}@example.com")), roles, hash).expect("valid user");
        add_user(path, &user).expect("add user");
    }
    if !disabled.is_empty() {
        set_disabled(path, disabled);
    }
}

/// Marks the named users disabled in the users file.
pub fn set_disabled(path: &Path, names: &[&str]) {
    let text = std::fs::read_to_string(path).expect("users file");
    let mut doc: toml_edit::DocumentMut = text.parse().expect("users toml");
    let users = doc["users"]
        .as_array_of_tables_mut()
        .expect("[[users]] tables");
    for user in users.iter_mut() {
        let name = user["username"].as_str().unwrap_or("").to_string();
        if names.contains(&name.as_str()) {
            user.insert("disabled", toml_edit::value(true));
        }
    }
    std::fs::write(path, doc.to_string()).expect("write users file");
}

impl Gateway {
    /// Starts a gateway with [`routes`] and `users` (all enabled), with
    /// `extra` TOML merged last.
    pub async fn start_with_users(extra: &str, users: &[UserSpec<'_>]) -> Gateway {
        Self::start_with_disabled(extra, users, &[]).await
    }

    /// As [`Gateway::start_with_users`], with the `disabled` users disabled.
    pub async fn start_with_disabled(
        extra: &str,
        users: &[UserSpec<'_>],
        disabled: &[&str],
    ) -> Gateway {
        let (upstream, stop) = example_app().await;
        let dir = tempfile::tempdir().expect("tempdir");
        write_users(&dir.path().join("users.toml"), users, disabled);
        let config = format!("{}\n{extra}", routes(upstream));
        let mut gw = Self::start_in(dir, upstream, &config, &[]);
        gw.upstream_stop = Some(stop);
        gw
    }

    /// Logs in with JSON; returns `(access_token, fingerprint_cookie_value)`.
    pub async fn login(
        &self,
        client: &reqwest::Client,
        user: &str,
        pass: &str,
    ) -> (String, String) {
        let resp = client
            .post(self.url("/auth/login"))
            .json(&serde_json::json!({ "username": user, "password": pass }))
            .send()
            .await
            .expect("login request");
        assert_eq!(resp.status(), 200, "login of {user} failed");
        let fp = set_cookie_value(&resp, FP).expect("fingerprint cookie set");
        let body: serde_json::Value = resp.json().await.expect("login JSON");
        let token = body["access_token"].as_str().expect("access_token");
        (token.to_string(), fp)
    }

    /// The key the gateway signs with (read from `<data_dir>/keys`), for
    /// tokens that must carry a valid signature over bad claims or headers.
    pub fn signing_key(&self) -> SigningKey {
        let state = std::fs::read_to_string(self.path("data/keys/keyring.json")).expect("state");
        let state: serde_json::Value = serde_json::from_str(&state).expect("state JSON");
        let active = state["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .find(|k| k["status"] == "active")
            .expect("an active key");
        let kid = active["kid"].as_str().expect("kid");
        let pem = std::fs::read_to_string(self.path(&format!("data/keys/{kid}.pem"))).expect("pem");
        SigningKey::from_pkcs8_pem(&pem).expect("key parses")
    }

    /// `GET {path}` with `Authorization: Bearer {token}` and the fingerprint
    /// cookie (when given).
    pub async fn get_with(
        &self,
        client: &reqwest::Client,
        path: &str,
        token: &str,
        fp: Option<&str>,
    ) -> reqwest::Response {
        let mut req = client
            .get(self.url(path))
            .header(AUTHORIZATION, format!("Bearer {token}"));
        if let Some(fp) = fp {
            req = req.header(COOKIE, format!("{FP}={fp}"));
        }
        req.send().await.expect("request")
    }
}

/// The value of the `name` cookie set by `resp`, if any.
pub fn set_cookie_value(resp: &reqwest::Response, name: &str) -> Option<String> {
    set_cookie_line(resp, name).map(|line| {
        let pair = line.split(';').next().unwrap_or("");
        pair.split_once('=')
            .map(|(_, v)| v.to_string())
            .unwrap_or_default()
    })
}

/// The whole `Set-Cookie` line for `name`, if any.
pub fn set_cookie_line(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

/// Asserts the gateway refused a presented token: 401, a Bearer challenge
/// with `error="invalid_token"`, and the gateway's own JSON error (so the
/// upstream, whose `/headers` answers with the received headers, was never
/// reached). `what` names the case in failure messages.
pub async fn assert_refused(resp: reqwest::Response, what: &str) {
    assert_eq!(resp.status(), 401, "{what}: status");
    let challenge = resp
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .unwrap_or_else(|| panic!("{what}: no WWW-Authenticate"))
        .to_str()
        .expect("ascii challenge")
        .to_string();
    assert!(challenge.starts_with("Bearer "), "{what}: {challenge}");
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{what}: {challenge}"
    );
    let body: serde_json::Value = resp.json().await.expect("JSON error body");
    assert_eq!(body["error"], "unauthorized", "{what}: {body}");
    assert!(body.get("headers").is_none(), "{what}: reached upstream");
}

/// Asserts the request reached the upstream's `/headers` as `user`; returns
/// the headers the upstream received.
pub async fn assert_reached(resp: reqwest::Response, user: &str, what: &str) -> serde_json::Value {
    assert_eq!(resp.status(), 200, "{what}: status");
    let body: serde_json::Value = resp.json().await.expect("upstream JSON");
    let headers = body["headers"].clone();
    assert_eq!(headers["x-auth-request-user"], user, "{what}: {body}");
    headers
}

/// `application/x-www-form-urlencoded` text of `pairs`.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A form POST to `/auth/login`.
pub async fn post_form(
    gw: &Gateway,
    client: &reqwest::Client,
    pairs: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(gw.url("/auth/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(pairs))
        .send()
        .await
        .expect("form login request")
}

/// A logged-in user of a fresh gateway, with what an attack test needs: the
/// real token and its fingerprint, its decoded parts, and the gateway's
/// signing key (to put a valid signature over bad headers or claims).
pub struct Victim {
    /// The gateway (routes of [`routes`], user [`ALICE`]).
    pub gw: Gateway,
    /// A client trusting the gateway.
    pub client: reqwest::Client,
    /// alice's access token.
    pub token: String,
    /// Its fingerprint cookie value.
    pub fp: String,
    /// The gateway's active signing key.
    pub key: SigningKey,
    /// The token's header.
    pub header: serde_json::Value,
    /// The token's claims.
    pub claims: serde_json::Value,
}

impl Victim {
    /// Starts a gateway with `extra` TOML and logs alice in.
    pub async fn new(extra: &str) -> Victim {
        let gw = Gateway::start_with_users(extra, &[ALICE]).await;
        let client = gw.client();
        let (token, fp) = gw.login(&client, ALICE.0, ALICE.1).await;
        let key = gw.signing_key();
        let (header, claims, _) = super::jose::split(&token);
        assert_eq!(header["kid"], key.kid(), "signing key read from disk");
        Victim {
            gw,
            client,
            token,
            fp,
            key,
            header,
            claims,
        }
    }

    /// The gateway's kid.
    pub fn kid(&self) -> &str {
        self.key.kid()
    }

    /// `header` and `payload` texts signed with the gateway's own key.
    pub fn sign(&self, header: &str, payload: &str) -> String {
        super::jose::rs256(&self.key, header, payload)
    }

    /// The token's claims as text, with `name` set to `value` (or removed).
    pub fn claims_with(&self, name: &str, value: Option<serde_json::Value>) -> String {
        super::jose::with_claim(&self.claims, name, value)
    }

    /// Sends `token` (with the right fingerprint) to `/headers`.
    pub async fn send(&self, token: &str) -> reqwest::Response {
        self.gw
            .get_with(&self.client, "/headers", token, Some(&self.fp))
            .await
    }

    /// Asserts `token` is refused as [`assert_refused`] describes.
    pub async fn refused(&self, token: &str, what: &str) {
        assert_refused(self.send(token).await, what).await;
    }

    /// Asserts `token` reaches the upstream as alice.
    pub async fn accepted(&self, token: &str, what: &str) {
        assert_reached(self.send(token).await, ALICE.0, what).await;
    }
}

/// The gateway's JWKS document.
pub async fn jwks(gw: &Gateway) -> serde_json::Value {
    gw.client()
        .get(gw.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
