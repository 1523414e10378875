//! `portcullis demo` end to end through the real binary: it prints the
//! HTTPS URL with the port it actually bound, the example app behind it is
//! protected, and logging in as `demo` shows the app's page naming `demo`.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PASSWORD: &str = "a-long-demo-password";

/// The running demo; killed (and its data directory removed) on drop.
struct Demo {
    child: Child,
    url: String,
    port: u16,
    data_dir: PathBuf,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Starts `portcullis demo --listen 127.0.0.1:0` and reads its stdout until
/// the URL line.
fn start_demo() -> Demo {
    let child = Command::new(common::binary())
        .args(["demo", "--listen", "127.0.0.1:0", "--password", PASSWORD])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("demo starts");
    // Owned from here on, so any panic below still kills the process.
    let mut demo = Demo {
        child,
        url: String::new(),
        port: 0,
        data_dir: PathBuf::new(),
    };
    let stdout = demo.child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("no URL line; stdout so far: {printed:?}"));
        printed.push(line.clone());
        if let Some(d) = line.strip_prefix("portcullis demo: data in ") {
            demo.data_dir = PathBuf::from(d);
        }
        if line.starts_with("https://") {
            assert!(
                demo.data_dir.is_dir(),
                "the data directory is printed first"
            );
            demo.port = line
                .trim_start_matches("https://localhost:")
                .trim_end_matches('/')
                .parse()
                .unwrap_or_else(|_| panic!("no port in {line}"));
            assert!(printed.iter().any(|l| l.contains(PASSWORD)), "{printed:?}");
            demo.url = line;
            return demo;
        }
    }
}

/// The demo prints a working URL, protects the app, and after a JSON login
/// as `demo` the app's page shows `demo` (by Bearer token and by cookies),
/// with the gateway's identity and forwarded headers; SIGTERM stops it.
#[tokio::test]
async fn demo_end_to_end() {
    let mut demo = start_demo();
    assert_ne!(
        demo.port, 0,
        "the URL must name the bound port: {}",
        demo.url
    );
    assert_eq!(demo.url, format!("https://localhost:{}/", demo.port));
    let cert = std::fs::read(demo.data_dir.join("certs/cert.pem")).expect("demo certificate");
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&cert).unwrap()])
        .resolve("localhost", ([127, 0, 0, 1], demo.port).into())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let url = |path: &str| format!("https://localhost:{}{path}", demo.port);

    let resp = client.get(url("/")).send().await.unwrap();
    assert_eq!(resp.status(), 401, "the demo app is protected");

    let wrong = serde_json::json!({"username": "demo", "password": "not-the-password"});
    let resp = client
        .post(url("/auth/login"))
        .json(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    let login = serde_json::json!({"username": "demo", "password": PASSWORD});
    let resp = client
        .post(url("/auth/login"))
        .json(&login)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let cookies: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect();
    let body: serde_json::Value = resp.json().await.unwrap();
    let token = body["access_token"].as_str().expect("access token");
    let fingerprint = cookies
        .iter()
        .find(|c| c.starts_with("__Host-portcullis-fp="))
        .expect("fingerprint cookie");

    // API style: Bearer token plus the fingerprint cookie.
    let page = client
        .get(url("/"))
        .bearer_auth(token)
        .header("cookie", fingerprint)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<dd id="user">demo</dd>"#), "{html}");
    assert!(
        html.contains(r#"<dd id="email">demo@example.com</dd>"#),
        "{html}"
    );

    // Browser style: the cookies alone.
    let page = client
        .get(url("/"))
        .header("cookie", cookies.join("; "))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains(r#"<dd id="user">demo</dd>"#)
    );

    // What the app receives: identity from the gateway, forwarded headers
    // naming the bound port, none of the gateway's cookies.
    let headers: serde_json::Value = client
        .get(url("/headers"))
        .header("cookie", cookies.join("; "))
        .header("x-auth-request-user", "spoof")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seen = &headers["headers"];
    assert_eq!(seen["x-auth-request-user"], "demo", "{seen}");
    assert_eq!(seen["x-forwarded-host"], format!("localhost:{}", demo.port));
    assert!(seen.get("cookie").is_none(), "{seen}");

    let sent = Command::new("kill")
        .args(["-TERM", &demo.child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = demo.child.try_wait().unwrap() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "demo did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status}");
}
