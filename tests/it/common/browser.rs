//! Headless Chromium for the browser tests, driven through chromedriver
//! with fantoccini. Each [`Browser`] is one profile (a fresh
//! `--user-data-dir`) behind its own chromedriver on a free port; the
//! driver runs in its own process group, so dropping the browser ends
//! Chromium too, even when a test panics.
//!
//! Chromium is required: without it these tests fail, naming the packages
//! to install, unless `SKIP_BROWSER_TESTS=1` says to skip them.
//! (Not a `PORTCULLIS_` variable: the gateways these tests start would read
//! it as configuration.)

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

/// Where Debian's packages put the browser and its driver.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Flags for a headless Chromium on a closed network: nothing phones home.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--disable-quic",
    "--disable-features=HttpsUpgrades,MediaRouter,OptimizationHints,Translate",
    "--no-first-run",
    "--no-default-browser-check",
    "--password-store=basic",
    "--ignore-certificate-errors",
    "--window-size=1280,900",
];

/// One Chromium profile under its own chromedriver.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// True when the browser tests should run; panics with the fix when
/// Chromium is missing and skipping was not asked for.
pub fn available() -> bool {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return true;
    }
    if std::env::var("SKIP_BROWSER_TESTS").as_deref() == Ok("1") {
        eprintln!("SKIP_BROWSER_TESTS=1: skipping a browser test (no Chromium)");
        return false;
    }
    panic!(
        "the browser tests need {CHROMIUM} and {CHROMEDRIVER}: \
         `apt-get install chromium chromium-driver` (scripts/test.sh does), \
         or set SKIP_BROWSER_TESTS=1 to skip them"
    );
}

impl Browser {
    /// Starts chromedriver and a fresh headless Chromium profile.
    pub async fn start() -> Browser {
        let port = super::unused_addr().port();
        let mut cmd = Command::new(CHROMEDRIVER);
        cmd.arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let mut driver = cmd.spawn().expect("chromedriver starts");
        wait_for_port(port, &mut driver).await;
        let profile = tempfile::tempdir().expect("profile dir");
        let mut args: Vec<String> = FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let caps = serde_json::json!({
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!("a JSON object")
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        let client = match client {
            Ok(c) => c,
            Err(e) => {
                kill_group(&mut driver);
                panic!("chromedriver could not start Chromium: {e}");
            }
        };
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("navigate to {url}: {e}"));
    }

    /// The current URL's path and query.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Waits (up to 10 s) until the current path starts with `prefix`.
    pub async fn wait_path(&self, prefix: &str) {
        for _ in 0..200 {
            if self.path().await.starts_with(prefix) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("still at {} instead of {prefix}", self.path().await);
    }

    /// The text of the element `css`, waiting up to 10 s for it.
    pub async fn text(&self, css: &str) -> String {
        let found = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(el) => el.text().await.expect("element text"),
            Err(e) => panic!("no {css} on {}: {e}", self.path().await),
        }
    }

    /// Waits (up to 10 s) until the element `css` has text starting with
    /// `prefix` (a form post's answer replacing a page with the same ids).
    pub async fn wait_text(&self, css: &str, prefix: &str) -> String {
        let mut last = String::new();
        for _ in 0..200 {
            if let Ok(el) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = el.text().await
            {
                if text.starts_with(prefix) {
                    return text;
                }
                last = text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{css} says {last:?}, not {prefix:?}...");
    }

    /// Types `text` into the field `css`.
    pub async fn fill(&self, css: &str, text: &str) {
        let el = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no field {css}: {e}"));
        el.clear().await.expect("clear field");
        el.send_keys(text).await.expect("type");
    }

    /// Clicks the element `css`.
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Signs in on the login page shown now; waits to leave it.
    pub async fn sign_in(&self, user: &str, password: &str) {
        self.fill("#username", user).await;
        self.fill("#password", password).await;
        self.click("button[type=submit]").await;
        for _ in 0..200 {
            if !self.path().await.starts_with("/auth/login") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("still on the login page after signing in as {user}");
    }

    /// Saves a PNG of the page to `<target>/browser-screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// Ends the session (Chromium quits) and the driver.
    pub async fn close(mut self) {
        let client = self.client.clone();
        let _ = client.close().await;
        kill_group(&mut self.driver);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(&mut self.driver);
    }
}

/// `$CARGO_TARGET_DIR/browser-screenshots`, else `target/browser-screenshots`.
pub fn screenshot_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("browser-screenshots")
}

/// Ends chromedriver and everything it started (its process group).
fn kill_group(driver: &mut Child) {
    if driver.try_wait().ok().flatten().is_none() {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", driver.id())])
            .status();
    }
    let _ = driver.wait();
}

async fn wait_for_port(port: u16, driver: &mut Child) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        if let Ok(Some(status)) = driver.try_wait() {
            panic!("chromedriver exited at start: {status}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    kill_group(driver);
    panic!("chromedriver did not listen on {port}");
}

/// A page on another origin (`http://127.0.0.1:PORT/`, while the gateway
/// is `https://localhost:...`): every request gets `html`.
pub async fn other_site(
    html: String,
) -> (std::net::SocketAddr, tokio_util::sync::CancellationToken) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stop = tokio_util::sync::CancellationToken::new();
    let stopped = stop.clone();
    tokio::spawn(async move {
        loop {
            let (mut conn, _) = tokio::select! {
                a = listener.accept() => match a { Ok(c) => c, Err(_) => continue },
                () = stopped.cancelled() => return,
            };
            let html = html.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = conn.read(&mut buf).await;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = conn.write_all(resp.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    (addr, stop)
}
