//! Issue 3, the demo end to end through the real binary (the auth-flow
//! variant; issue 2's demo tests cover start-up): `portcullis demo` protects
//! the example app with a `demo` user, and a browser-style client is sent to
//! the login page, logs in with the form, and lands on the app's page that
//! shows who it is.

use crate::common;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::auth::{AT, FP, form, set_cookie_value};

/// A running `portcullis demo`, killed on drop.
struct Demo {
    child: Child,
    port: u16,
    password: String,
    dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the demo on a free port, with `password` or a generated one, and
/// reads the port and the password from what it prints.
fn start_demo(password: Option<&str>) -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("PORTCULLIS_DEMO_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(p) = password {
        cmd.args(["--password", p]);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (mut port, mut printed) = (None, None);
    while port.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("demo prints its URL");
        if let Some(pw) = line.strip_prefix("sign in as: demo / ") {
            printed = Some(pw.to_string());
        }
        if let Some(rest) = line.strip_prefix("https://localhost:") {
            port = rest.trim_end_matches('/').parse().ok();
        }
    }
    Demo {
        child,
        port: port.unwrap(),
        password: printed.expect("demo prints the credentials"),
        dir,
    }
}

impl Demo {
    fn client(&self) -> reqwest::Client {
        let pem = std::fs::read(self.dir.path().join("certs/cert.pem")).unwrap();
        reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
            .resolve("localhost", ([127, 0, 0, 1], self.port).into())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    async fn get_html(
        &self,
        client: &reqwest::Client,
        path: &str,
        cookie: Option<&str>,
    ) -> reqwest::Response {
        let mut req = client.get(self.url(path)).header("accept", "text/html");
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send().await.unwrap()
    }

    async fn post_login(
        &self,
        client: &reqwest::Client,
        password: &str,
        ret: &str,
    ) -> reqwest::Response {
        client
            .post(self.url("/auth/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("username", "demo"),
                ("password", password),
                ("return_to", ret),
            ]))
            .send()
            .await
            .unwrap()
    }
}

/// The whole browser flow: the app redirects to the login page, which
/// carries the return path; a wrong password stays on the page; the right
/// one redirects back with cookies, and the app's page shows `demo`.
#[tokio::test]
async fn demo_browser_login_flow() {
    let password = "demo-password-123";
    let demo = start_demo(Some(password));
    assert_eq!(demo.password, password);
    let client = demo.client();

    let resp = demo.get_html(&client, "/", None).await;
    assert_eq!(resp.status(), 303);
    let login_url = resp.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(login_url, "/auth/login?return_to=%2F");
    let page = demo.get_html(&client, &login_url, None).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<input type="hidden" name="return_to" value="/">"#),
        "{html}"
    );

    let wrong = demo.post_login(&client, "not-the-password", "/").await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());

    let ok = demo.post_login(&client, password, "/").await;
    assert_eq!(ok.status(), 303);
    assert_eq!(ok.headers()["location"], "/");
    let fp = set_cookie_value(&ok, FP).expect("fingerprint cookie");
    let at = set_cookie_value(&ok, AT).expect("access cookie");
    let cookies = format!("{FP}={fp}; {AT}={at}");
    let landing = demo.get_html(&client, "/", Some(&cookies)).await;
    assert_eq!(landing.status(), 200);
    let html = landing.text().await.unwrap();
    assert!(html.contains(r#"<dd id="user">demo</dd>"#), "{html}");
    assert!(
        html.contains(r#"<dd id="email">demo@example.com</dd>"#),
        "{html}"
    );
    assert!(
        !html.contains(&fp) && !html.contains(&at),
        "cookies reached the app"
    );

    // The access cookie alone (a stolen token) is not enough.
    let stolen = demo
        .get_html(&client, "/", Some(&format!("{AT}={at}")))
        .await;
    assert_eq!(stolen.status(), 303);
}

/// Without `--password` the demo prints a generated one, which works, and a
/// different demo run generates a different one.
#[tokio::test]
async fn demo_generated_password() {
    let demo = start_demo(None);
    assert!(demo.password.len() >= 12, "{}", demo.password);
    let client = demo.client();
    let resp = demo
        .post_login(&client, &demo.password, "/headers?x=1")
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/headers?x=1");
    let other = start_demo(None);
    assert_ne!(other.password, demo.password);
}
