//! Harness variant for the operations tests: a gateway whose users file is
//! written before it starts, with a protected route, plus helpers to sign
//! in and to scrape and parse `/metrics`.

use std::collections::{BTreeMap, HashMap};

use super::{Gateway, base_config, example_app, merge};

/// The user the operations tests sign in as.
pub const USER: &str = "ops-user";
/// Their password.
pub const PASSWORD: &str = "correct horse battery staple";
/// Prefix of the `authenticated` route (to the example app's `/headers`).
pub const PROTECTED: &str = "/headers";

impl Gateway {
    /// Starts the gateway in front of a fresh example app with [`USER`] in
    /// the users file, [`PROTECTED`] behind authentication, and `extra`
    /// TOML merged over the base configuration.
    pub async fn start_with_user(extra: &str) -> Gateway {
        let (upstream, stop) = example_app().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let hash = portcullis::auth::password::hash_password(PASSWORD).expect("hash");
        let user = portcullis::auth::users::User::new(USER, None, vec![], hash).expect("user");
        portcullis::auth::users::add_user(&dir.path().join("users.toml"), &user)
            .expect("users file");
        let mut cfg = base_config(upstream, dir.path());
        merge(
            &mut cfg,
            &format!(
                "[[routes]]\nprefix = \"/\"\nupstream = \"http://{upstream}\"\npolicy = \"public\"\n\
                 [[routes]]\nprefix = \"{PROTECTED}\"\nupstream = \"http://{upstream}\"\n"
            ),
        );
        merge(&mut cfg, extra);
        let path = dir.path().join("portcullis.toml");
        std::fs::write(&path, toml::to_string(&cfg).expect("config serializes"))
            .expect("write config");
        let mut cmd = std::process::Command::new(super::binary());
        cmd.args(["serve", "--config"]).arg(&path);
        let cert = dir.path().join("cert.pem");
        let mut gw = Self::spawn(cmd, dir, upstream, cert)
            .unwrap_or_else(|f| panic!("gateway did not start ({}); logs:\n{}", f.status, f.logs));
        gw.upstream_stop = Some(stop);
        gw
    }

    /// `POST /auth/login` as JSON; the response.
    pub async fn login_response(&self, username: &str, password: &str) -> reqwest::Response {
        self.client()
            .post(self.url("/auth/login"))
            .json(&serde_json::json!({ "username": username, "password": password }))
            .send()
            .await
            .expect("login request")
    }

    /// `GET /metrics` on the admin listener with a plain HTTP client:
    /// the `Content-Type` and the body.
    pub async fn scrape(&self) -> (String, String) {
        let admin = self.admin_addr.expect("admin listener");
        let resp = reqwest::get(format!("http://{admin}/metrics"))
            .await
            .expect("scrape");
        assert_eq!(resp.status(), 200);
        let ct = resp.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .to_string();
        (ct, resp.text().await.expect("body"))
    }
}

/// The `name=value` pairs of every `Set-Cookie` of a response.
pub fn set_cookies(resp: &reqwest::Response) -> HashMap<String, String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| {
            let pair = v.to_str().ok()?.split(';').next()?;
            let (name, value) = pair.split_once('=')?;
            Some((name.trim().to_string(), value.to_string()))
        })
        .collect()
}

/// Samples of a Prometheus/OpenMetrics text exposition, keyed by
/// [`series`] (name plus labels sorted by name).
#[derive(Debug, Default)]
pub struct Samples(pub HashMap<String, f64>);

impl Samples {
    /// Parses every sample line `name{labels} value [timestamp]`; comments
    /// (`# TYPE`, `# HELP`, `# UNIT`, `# EOF`) are skipped.
    pub fn parse(text: &str) -> Samples {
        let mut out = HashMap::new();
        for line in text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (name, labels, rest) = match line.find('{') {
                Some(open) => {
                    let close = line.rfind('}').expect("closing brace");
                    (
                        &line[..open],
                        parse_labels(&line[open + 1..close]),
                        &line[close + 1..],
                    )
                }
                None => {
                    let (name, rest) = line.split_once(' ').expect("value");
                    (name, BTreeMap::new(), rest)
                }
            };
            let value = rest.split_whitespace().next().expect("value");
            let value: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}"));
            let pairs: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, *v)).collect();
            out.insert(series(name, &pairs), value);
        }
        Samples(out)
    }

    /// The value of a series, if present.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.0.get(&series(name, labels)).copied()
    }

    /// The value of a series, 0 when absent (a counter not yet created).
    pub fn or_zero(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or(0.0)
    }
}

/// `k="v"` pairs (values without escapes, as ours are) by label name.
fn parse_labels(text: &str) -> BTreeMap<&str, &str> {
    text.split("\",")
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once("=\"").expect("label");
            (k, v.trim_end_matches('"'))
        })
        .collect()
}

/// The canonical key of a series: labels sorted by name.
pub fn series(name: &str, labels: &[(&str, &str)]) -> String {
    let mut sorted = labels.to_vec();
    sorted.sort();
    let inner: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{name}{{{}}}", inner.join(","))
}
