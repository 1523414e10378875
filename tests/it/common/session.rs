//! Session flows through the real binary: a small cookie jar (the tests send
//! `Cookie:` themselves, so they decide exactly which cookies and how many
//! copies go out), login / refresh / authenticated-request helpers, and a
//! restart of the same gateway on the same directory.

use std::collections::BTreeMap;
use std::process::Command;

use http::HeaderMap;
use portcullis::auth::cookie_names::{ACCESS, FINGERPRINT, REFRESH};
use reqwest::StatusCode;

use super::Gateway;
use super::auth::UserSpec;

/// One `Set-Cookie` header, parsed.
#[derive(Debug, Clone)]
pub struct SetCookieLine {
    /// Cookie name.
    pub name: String,
    /// Cookie value.
    pub value: String,
    /// Attributes in order, names lower-cased, values as sent.
    pub attrs: Vec<(String, Option<String>)>,
}

impl SetCookieLine {
    /// Parses `name=value; Attr; Attr=v`.
    pub fn parse(line: &str) -> SetCookieLine {
        let mut parts = line.split(';').map(str::trim);
        let (name, value) = parts
            .next()
            .and_then(|p| p.split_once('='))
            .expect("Set-Cookie starts with name=value");
        let attrs = parts
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim().to_string())),
                None => (p.to_ascii_lowercase(), None),
            })
            .collect();
        SetCookieLine {
            name: name.trim().to_string(),
            value: value.trim().to_string(),
            attrs,
        }
    }

    /// The value of attribute `name` (case-insensitive), if present with one.
    pub fn attr(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.attrs
            .iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.as_deref())
    }

    /// True when the flag attribute `name` (e.g. `HttpOnly`) is present.
    pub fn has(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        self.attrs.iter().any(|(k, _)| *k == name)
    }

    /// `Max-Age` in seconds.
    pub fn max_age(&self) -> Option<i64> {
        self.attr("max-age")
            .map(|v| v.parse().expect("numeric Max-Age"))
    }

    /// True when this line deletes the cookie.
    pub fn clears(&self) -> bool {
        self.value.is_empty() || self.max_age().is_some_and(|a| a <= 0)
    }
}

/// Every `Set-Cookie` of a response.
pub fn set_cookies(h: &HeaderMap) -> Vec<SetCookieLine> {
    h.get_all(http::header::SET_COOKIE)
        .iter()
        .map(|v| SetCookieLine::parse(v.to_str().expect("ASCII Set-Cookie")))
        .collect()
}

/// The one `Set-Cookie` for `name`; panics if absent or repeated.
pub fn set_cookie<'a>(lines: &'a [SetCookieLine], name: &str) -> &'a SetCookieLine {
    let mut found = lines.iter().filter(|l| l.name == name);
    let line = found
        .next()
        .unwrap_or_else(|| panic!("no Set-Cookie for {name}: {lines:?}"));
    assert!(found.next().is_none(), "{name} set twice");
    line
}

/// True when the response deletes all three session cookies.
pub fn clears_session_cookies(h: &HeaderMap) -> bool {
    let lines = set_cookies(h);
    [FINGERPRINT, ACCESS, REFRESH]
        .iter()
        .all(|n| lines.iter().any(|l| l.name == *n && l.clears()))
}

/// Cookies by name, as a browser would hold them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Jar(BTreeMap<String, String>);

impl Jar {
    /// The cookies a response sets.
    pub fn from_headers(h: &HeaderMap) -> Jar {
        let mut jar = Jar::default();
        jar.update(h);
        jar
    }

    /// Applies a response's `Set-Cookie`s (deletions included).
    pub fn update(&mut self, h: &HeaderMap) {
        for line in set_cookies(h) {
            if line.clears() {
                self.0.remove(&line.name);
            } else {
                self.0.insert(line.name, line.value);
            }
        }
    }

    /// One cookie's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The refresh cookie; panics if absent.
    pub fn rt(&self) -> &str {
        self.get(REFRESH).expect("refresh cookie")
    }

    /// The fingerprint cookie; panics if absent.
    pub fn fp(&self) -> &str {
        self.get(FINGERPRINT).expect("fingerprint cookie")
    }

    /// The access cookie; panics if absent.
    pub fn at(&self) -> &str {
        self.get(ACCESS).expect("access cookie")
    }

    /// A jar with only the named cookies.
    pub fn only(&self, names: &[&str]) -> Jar {
        let mut jar = self.clone();
        jar.0.retain(|k, _| names.contains(&k.as_str()));
        jar
    }

    /// This jar with `name` set to `value`.
    pub fn with(&self, name: &str, value: &str) -> Jar {
        let mut jar = self.clone();
        jar.0.insert(name.to_string(), value.to_string());
        jar
    }

    /// The `Cookie:` header value (`a=1; b=2`).
    pub fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A signed-in client: its access token and its cookies.
#[derive(Debug, Clone)]
pub struct Login {
    /// The access token from the JSON body.
    pub access_token: String,
    /// The cookies (fingerprint, access, refresh).
    pub jar: Jar,
    /// The `Set-Cookie` lines of the answer.
    pub set_cookies: Vec<SetCookieLine>,
}

impl Login {
    pub async fn from_response(resp: reqwest::Response) -> Login {
        let status = resp.status();
        let h = resp.headers().clone();
        let body: serde_json::Value = resp.json().await.expect("JSON body");
        assert_eq!(status, 200, "{body}");
        Login {
            access_token: body["access_token"].as_str().expect("token").to_string(),
            jar: Jar::from_headers(&h),
            set_cookies: set_cookies(&h),
        }
    }
}

impl Gateway {
    /// Our public origin, what a same-origin browser sends as `Origin`.
    pub fn origin(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    /// `POST /auth/login` (JSON) with a `User-Agent`; the raw answer.
    pub async fn login_raw(&self, user: &str, password: &str, ua: &str) -> reqwest::Response {
        self.client()
            .post(self.url("/auth/login"))
            .header("origin", self.origin())
            .header("user-agent", ua)
            .json(&serde_json::json!({ "username": user, "password": password }))
            .send()
            .await
            .expect("login request")
    }

    /// Logs in; panics unless 200.
    pub async fn sign_in(&self, user: UserSpec<'_>) -> Login {
        self.sign_in_as(user, "portcullis-tests").await
    }

    /// Logs in with a given `User-Agent`; panics unless 200.
    pub async fn sign_in_as(&self, user: UserSpec<'_>, ua: &str) -> Login {
        Login::from_response(self.login_raw(user.0, user.1, ua).await).await
    }

    /// A same-origin `POST` to one of the gateway's endpoints with `jar`.
    pub async fn post_with(&self, path: &str, jar: &Jar) -> reqwest::Response {
        self.client()
            .post(self.url(path))
            .header("origin", self.origin())
            .header("cookie", jar.header())
            .send()
            .await
            .expect("request")
    }

    /// `POST /auth/refresh` with `jar`; the raw answer.
    pub async fn refresh_raw(&self, jar: &Jar) -> reqwest::Response {
        self.post_with("/auth/refresh", jar).await
    }

    /// Refreshes; panics unless 200.
    pub async fn refresh(&self, jar: &Jar) -> Login {
        Login::from_response(self.refresh_raw(jar).await).await
    }

    /// `GET /headers` as an API client: `Authorization: Bearer` plus the
    /// fingerprint cookie from `jar`.
    pub async fn api_get(&self, access_token: &str, jar: &Jar) -> reqwest::Response {
        self.client()
            .get(self.url("/headers"))
            .bearer_auth(access_token)
            .header("cookie", jar.only(&[FINGERPRINT]).header())
            .send()
            .await
            .expect("request")
    }

    /// Who the upstream was told the caller is, or the refusal's status.
    pub async fn whoami(&self, s: &Login) -> Result<String, StatusCode> {
        let resp = self.api_get(&s.access_token, &s.jar).await;
        if resp.status() != 200 {
            return Err(resp.status());
        }
        let body: serde_json::Value = resp.json().await.expect("JSON");
        let user = body["headers"]["x-auth-request-user"].as_str();
        Ok(user.expect("identity header").to_string())
    }

    /// `kill -9` and reap the process (then [`Gateway::restart`] starts it
    /// again on the same files).
    pub fn kill9(&mut self) {
        let status = Command::new("kill")
            .args(["-KILL", &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        self.child.wait().expect("wait");
    }
}

impl Gateway {
    /// The first log line containing every one of `needles`, waiting up to
    /// 10 s for it (stderr is read by another thread).
    pub async fn wait_for_log(&self, needles: &[&str]) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let found = self
                .logs
                .lock()
                .unwrap()
                .iter()
                .find(|l| needles.iter().all(|n| l.contains(n)))
                .cloned();
            if let Some(line) = found {
                return line;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no log line with {needles:?}; logs:\n{}",
                self.log_text()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// Deep-merges TOML snippets (later ones win; arrays are replaced), so a
/// store choice and a flow's settings can both touch `[session]`.
pub fn merged(parts: &[&str]) -> String {
    let mut all = toml::Table::new();
    for part in parts {
        super::merge(&mut all, part);
    }
    toml::to_string(&all).expect("config serializes")
}
