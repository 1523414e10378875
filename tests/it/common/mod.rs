//! Integration-test harness: starts the real `portcullis` binary on
//! 127.0.0.1:0 with a temporary config, data directory and generated
//! certificate, in front of the bundled example app, and gives clients that
//! trust that certificate.
#![allow(dead_code)]

pub mod audit;
pub mod auth;
pub mod browser;
pub mod flows;
pub mod forward_auth;
pub mod jose;
pub mod ops;
pub mod raw;
pub mod redis_procs;
pub mod redis_util;
pub mod session;
pub mod upstream;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// A running gateway process.
pub struct Gateway {
    child: Child,
    /// The HTTPS address.
    pub addr: SocketAddr,
    /// The redirect listener, when configured.
    pub http_addr: Option<SocketAddr>,
    /// The admin listener.
    pub admin_addr: Option<SocketAddr>,
    /// Temporary directory holding config, certs and data.
    pub dir: tempfile::TempDir,
    /// Every stderr line the process wrote so far.
    pub logs: Arc<Mutex<Vec<String>>>,
    /// The PEM certificate the gateway serves.
    pub cert_pem: Vec<u8>,
    /// The example app's address.
    pub upstream: SocketAddr,
    upstream_stop: Option<CancellationToken>,
}

/// The `portcullis` binary under test: `$TESTS_PORTCULLIS_BIN` if set (a
/// private copy, when a shared target directory may be rebuilt by others
/// while tests run), else the one cargo built for these tests.
pub fn binary() -> PathBuf {
    std::env::var_os("TESTS_PORTCULLIS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_portcullis")))
}

/// Starts the example app on loopback.
pub async fn example_app() -> (SocketAddr, CancellationToken) {
    portcullis::example_app::spawn_local()
        .await
        .expect("example app starts")
}

/// The base configuration every test starts from; `{upstream}` and `{dir}` are
/// filled in. Tests merge their own TOML on top (see [`merge`]).
pub fn base_config(upstream: SocketAddr, dir: &std::path::Path) -> toml::Table {
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
data_dir = "{dir}/data"
shutdown_timeout_secs = 5

[tls]
cert = "{dir}/cert.pem"
key = "{dir}/key.pem"
generate_dev_cert = true

[auth]
users_file = "{dir}/users.toml"

[admin]
listen = "127.0.0.1:0"

# Tests log in far more often than people; the defence tests set their own.
[rate_limit]
login_per_ip = 1000000
login_per_account = 1000000
refresh_per_ip = 1000000

[lockout]
max_failures = 0

[log]
level = "debug"
format = "json"

[[routes]]
prefix = "/"
upstream = "http://{upstream}"
policy = "public"
"#,
        dir = dir.display()
    );
    text.parse().expect("base config parses")
}

/// Deep-merges `extra` into `base`; arrays (e.g. `routes`) are replaced.
/// `{upstream}` and `{dir}` in `extra` are not expanded here (see
/// [`Gateway::start_with_upstream`]).
pub fn merge(base: &mut toml::Table, extra: &str) {
    let extra: toml::Table = extra.parse().expect("test config parses");
    merge_tables(base, extra);
}

fn merge_tables(base: &mut toml::Table, extra: toml::Table) {
    for (k, v) in extra {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(e)) => merge_tables(b, e),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

impl Gateway {
    /// Starts the gateway in front of a fresh example app, with `extra` TOML
    /// merged over the base configuration.
    pub async fn start(extra: &str) -> Gateway {
        let (upstream, stop) = example_app().await;
        let mut g = Self::start_with_upstream(upstream, extra, &[]).await;
        g.upstream_stop = Some(stop);
        g
    }

    /// Starts the gateway in front of `upstream`, with extra environment.
    /// `{upstream}` and `{dir}` in `extra` become the upstream address and the
    /// temporary directory, so tests can write whole `[[routes]]` tables.
    pub async fn start_with_upstream(
        upstream: SocketAddr,
        extra: &str,
        env: &[(&str, &str)],
    ) -> Gateway {
        Self::try_start_with_upstream(upstream, extra, env)
            .unwrap_or_else(|f| panic!("gateway did not start ({}); logs:\n{}", f.status, f.logs))
    }

    /// Like [`Gateway::start_with_upstream`], but a process that exits
    /// before listening is returned as a [`StartFailure`].
    pub fn try_start_with_upstream(
        upstream: SocketAddr,
        extra: &str,
        env: &[(&str, &str)],
    ) -> Result<Gateway, StartFailure> {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::try_start_in(dir, upstream, extra, env)
    }

    /// Starts the gateway with its files in `dir` (prepared by the caller,
    /// e.g. with a users file), in front of `upstream`.
    pub fn start_in(
        dir: tempfile::TempDir,
        upstream: SocketAddr,
        extra: &str,
        env: &[(&str, &str)],
    ) -> Gateway {
        Self::try_start_in(dir, upstream, extra, env)
            .unwrap_or_else(|f| panic!("gateway did not start ({}); logs:\n{}", f.status, f.logs))
    }

    /// Like [`Gateway::start_in`], but a process that exits before listening
    /// is returned as a [`StartFailure`].
    pub fn try_start_in(
        dir: tempfile::TempDir,
        upstream: SocketAddr,
        extra: &str,
        env: &[(&str, &str)],
    ) -> Result<Gateway, StartFailure> {
        let mut cfg = base_config(upstream, dir.path());
        let extra = extra
            .replace("{upstream}", &upstream.to_string())
            .replace("{dir}", &dir.path().display().to_string());
        merge(&mut cfg, &extra);
        // An empty users file (unless the caller wrote one), so
        // authenticated routes can start.
        let users = dir.path().join("users.toml");
        if !users.exists() {
            std::fs::write(&users, "").expect("write users file");
        }
        let path = dir.path().join("portcullis.toml");
        std::fs::write(&path, toml::to_string(&cfg).expect("config serializes"))
            .expect("write config");
        let cert = cfg["tls"]["cert"].as_str().expect("tls.cert").into();
        let mut cmd = Command::new(binary());
        cmd.args(["serve", "--config"]).arg(&path);
        cmd.envs(env.iter().copied());
        Self::spawn(cmd, dir, upstream, cert)
    }

    /// Runs `cmd` (a `serve` prepared by the caller, e.g. configured by
    /// environment only) with its files in `dir`, serving `cert`.
    pub fn spawn(
        cmd: Command,
        dir: tempfile::TempDir,
        upstream: SocketAddr,
        cert: PathBuf,
    ) -> Result<Gateway, StartFailure> {
        let (child, addr, http_addr, admin_addr, logs) = launch(cmd)?;
        let cert_pem = std::fs::read(&cert).expect("cert written");
        Ok(Gateway {
            child,
            addr,
            http_addr,
            admin_addr,
            dir,
            logs,
            cert_pem,
            upstream,
            upstream_stop: None,
        })
    }

    /// Stops the process (SIGTERM) and starts it again with the same
    /// configuration and files; the addresses and logs are the new process's.
    pub async fn restart(&mut self) {
        self.relaunch(self.serve_command()).await;
    }

    /// Stops the process and starts it again under `wrapper` (a command
    /// that runs the rest of its arguments, e.g. `taskset -c 0`), with the
    /// same configuration and files.
    pub async fn restart_under(&mut self, wrapper: &[&str]) {
        let mut cmd = Command::new(wrapper[0]);
        cmd.args(&wrapper[1..])
            .arg(binary())
            .args(["serve", "--config"])
            .arg(self.config_path());
        self.relaunch(cmd).await;
    }

    async fn relaunch(&mut self, cmd: Command) {
        self.stop().await;
        let (child, addr, http_addr, admin_addr, logs) = launch(cmd).unwrap_or_else(|f| {
            panic!("gateway did not restart ({}); logs:\n{}", f.status, f.logs)
        });
        (
            self.child,
            self.addr,
            self.http_addr,
            self.admin_addr,
            self.logs,
        ) = (child, addr, http_addr, admin_addr, logs);
    }

    /// `portcullis serve --config <this gateway's config>`, not started.
    pub fn serve_command(&self) -> Command {
        let mut cmd = Command::new(binary());
        cmd.args(["serve", "--config"]).arg(self.config_path());
        cmd
    }

    /// The configuration file the gateway was started with.
    pub fn config_path(&self) -> PathBuf {
        self.path("portcullis.toml")
    }

    /// `https://localhost:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    /// A client that trusts the gateway's certificate, does not follow
    /// redirects and resolves `localhost` to the gateway.
    pub fn client(&self) -> reqwest::Client {
        self.client_builder().build().expect("client")
    }

    /// The builder behind [`Gateway::client`], for variations.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        let cert = reqwest::Certificate::from_pem(&self.cert_pem).expect("cert");
        reqwest::Client::builder()
            .tls_certs_only([cert])
            .resolve("localhost", self.addr)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
    }

    /// A raw TLS connection (for malformed requests), ALPN http/1.1.
    pub async fn tls_stream(&self) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
        self.tls_stream_alpn(b"http/1.1").await
    }

    /// An HTTP/2 connection (ALPN h2) whose request targets are sent
    /// verbatim, for paths a client library would normalize.
    pub async fn h2_sender(&self) -> hyper::client::conn::http2::SendRequest<String> {
        let io = hyper_util::rt::TokioIo::new(self.tls_stream_alpn(b"h2").await);
        let (sender, conn) =
            hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), io)
                .await
                .expect("h2 handshake");
        tokio::spawn(conn);
        sender
    }

    /// A raw TLS connection offering one ALPN protocol.
    pub async fn tls_stream_alpn(
        &self,
        alpn: &[u8],
    ) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
        let mut roots = rustls::RootCertStore::empty();
        use rustls::pki_types::pem::PemObject;
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(&self.cert_pem) {
            roots.add(c.expect("cert")).expect("root");
        }
        let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        cfg.alpn_protocols = vec![alpn.to_vec()];
        let tcp = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
        tokio_rustls::TlsConnector::from(Arc::new(cfg))
            .connect(name, tcp)
            .await
            .expect("tls")
    }

    /// Every log line so far, joined.
    pub fn log_text(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// A raw TLS connection wrapped for writing requests byte by byte and
    /// reading responses (see [`raw::RawConn`]).
    pub async fn raw(&self) -> raw::RawConn {
        raw::RawConn::new(self.tls_stream().await)
    }

    /// Sends SIGTERM without waiting.
    pub fn signal_term(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
    }

    /// Waits up to `limit` for the process to exit; `None` if it did not.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("wait")
    }

    /// Sends SIGTERM and waits for the exit without blocking the runtime, so
    /// this test's client connections can answer the drain and close.
    pub async fn stop(&mut self) -> std::process::ExitStatus {
        if let Some(status) = self.child.try_wait().expect("try_wait") {
            return status;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Path of a file in the temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// What [`launch`] returns: the process, its HTTPS and HTTP addresses, and
/// its collected stderr lines.
type Launched = (
    Child,
    SocketAddr,
    Option<SocketAddr>,
    Option<SocketAddr>,
    Arc<Mutex<Vec<String>>>,
);

/// Spawns `cmd` (a `serve`) and waits for its "listening" log line.
fn launch(mut cmd: Command) -> Result<Launched, StartFailure> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("portcullis starts");
    let stderr = child.stderr.take().expect("stderr");
    let logs = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let sink = logs.clone();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            // Kept before the caller is told, so its logs hold the line.
            sink.lock().unwrap().push(line.clone());
            if line.contains("\"listening\"")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(line);
            }
        }
    });
    let line = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(line) => line,
        Err(_) => {
            // stderr closed (the process exited) or it never listened.
            let _ = child.kill();
            let status = child.wait().expect("wait");
            let logs = logs.lock().unwrap().join("\n");
            return Err(StartFailure { status, logs });
        }
    };
    let v: serde_json::Value = serde_json::from_str(&line).expect("listening line is JSON");
    let addr = v["https"]
        .as_str()
        .expect("https addr")
        .parse()
        .expect("addr");
    let http_addr = v["http"].as_str().and_then(|s| s.parse().ok());
    let admin_addr = v["admin"].as_str().and_then(|s| s.parse().ok());
    Ok((child, addr, http_addr, admin_addr, logs))
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(stop) = &self.upstream_stop {
            stop.cancel();
        }
    }
}

/// A gateway process that exited instead of listening.
#[derive(Debug)]
pub struct StartFailure {
    /// Its exit status.
    pub status: std::process::ExitStatus,
    /// Everything it wrote to stderr.
    pub logs: String,
}

/// Runs `portcullis ARGS` to completion with extra environment and returns
/// its status and output.
pub fn cli(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(binary())
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("portcullis runs")
}

/// A loopback address nothing listens on (bound, then released).
pub fn unused_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

// Helpers shared by the vector tests: fixture loading and hex.

/// Reads `tests/fixtures/<name>` as JSON.
pub fn fixture(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Decodes lowercase or uppercase hex.
pub fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// Big-endian integer bytes without leading zero octets.
pub fn trim(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// The string member `name` of a JSON object.
pub fn string<'a>(value: &'a serde_json::Value, name: &str) -> &'a str {
    value[name]
        .as_str()
        .unwrap_or_else(|| panic!("missing string member {name}"))
}
