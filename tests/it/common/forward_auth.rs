//! Forward-auth helpers: a gateway whose only trusted proxy is 127.0.0.2
//! (so one test can call from a trusted and an untrusted loopback address),
//! with routes for every policy, and `/auth/verify` callers.

use std::net::{IpAddr, Ipv4Addr};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::Gateway;
use super::auth::{ALICE, BOB, FP};

/// The loopback address the tests' "proxy" calls from; the only trusted one.
pub const PROXY_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
/// The public URL every absolute URL must be built from.
pub const PUBLIC_URL: &str = "https://app.example";

/// `/` authenticated, `/public` public, `/admin` needs `admin`, `/api/read`
/// allows GET only, `/hook` is public for POST only; the public URL and the
/// one trusted proxy.
pub const CONFIG: &str = r#"
[server]
public_url = "https://app.example"
trusted_proxies = ["127.0.0.2/32"]

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
roles = ["admin"]

[[routes]]
prefix = "/api/read"
upstream = "http://{upstream}"
methods = ["GET"]

[[routes]]
prefix = "/hook"
upstream = "http://{upstream}"
policy = "public"
methods = ["POST"]
"#;

/// A gateway with [`CONFIG`] and the users `alice` (admin) and `bob`.
pub async fn start() -> Gateway {
    let (upstream, stop) = super::example_app().await;
    let dir = tempfile::tempdir().expect("tempdir");
    super::auth::write_users(&dir.path().join("users.toml"), &[ALICE, BOB], &[]);
    let mut gw = Gateway::start_in(dir, upstream, CONFIG, &[]);
    gw.upstream_stop = Some(stop);
    gw
}

/// Credentials to present: a bearer token and its fingerprint cookie.
#[derive(Debug, Clone)]
pub struct Creds {
    /// The access token.
    pub token: String,
    /// The fingerprint cookie value.
    pub fp: String,
}

impl Gateway {
    /// A client calling from the trusted proxy address.
    pub fn proxy_client(&self) -> reqwest::Client {
        self.client_builder()
            .local_address(PROXY_IP)
            .build()
            .expect("client")
    }

    /// Logs `user` in; its credentials.
    pub async fn creds(&self, user: super::auth::UserSpec<'_>) -> Creds {
        let (token, fp) = self.login(&self.client(), user.0, user.1).await;
        Creds { token, fp }
    }

    /// `METHOD /auth/verify{query}` from `client` with `headers` (repeats
    /// kept) and, when given, the credentials.
    pub async fn verify_as(
        &self,
        client: &reqwest::Client,
        method: &str,
        query: &str,
        headers: &[(&str, &str)],
        creds: Option<&Creds>,
    ) -> reqwest::Response {
        let mut h = HeaderMap::new();
        for (name, value) in headers {
            h.append(
                HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        if let Some(c) = creds {
            h.append("authorization", bearer(&c.token));
            h.append("cookie", cookie(&c.fp));
        }
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        client
            .request(method, self.url(&format!("/auth/verify{query}")))
            .headers(h)
            .send()
            .await
            .expect("verify request")
    }

    /// `GET /auth/verify` from the trusted proxy about `uri`.
    pub async fn verify(&self, uri: &str, creds: Option<&Creds>) -> reqwest::Response {
        let client = self.proxy_client();
        let headers = [("x-forwarded-uri", uri)];
        self.verify_as(&client, "GET", "", &headers, creds).await
    }
}

fn bearer(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {token}")).expect("token is a header value")
}

fn cookie(fp: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("{FP}={fp}")).expect("cookie is a header value")
}

/// The identity headers of an answer, `(name, value)` sorted; a client can
/// never have put one there.
pub fn identity_of(resp: &reqwest::Response) -> Vec<(String, String)> {
    let mut out: Vec<_> = resp
        .headers()
        .iter()
        .filter(|(n, _)| {
            let canon = n.as_str().replace(['_', '.'], "-");
            canon.starts_with("x-auth-request") || canon == "authorization"
        })
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("?").to_string()))
        .collect();
    out.sort();
    out
}

/// The JSON `error` code of an answer.
pub async fn error_code(resp: reqwest::Response) -> String {
    let body: serde_json::Value = resp.json().await.expect("JSON error body");
    body["error"].as_str().expect("error code").to_string()
}
