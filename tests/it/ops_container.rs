//! The container files, exercised without a container engine: the binary
//! runs with exactly the environment `Dockerfile` and `docker-compose.yml`
//! give it (host names, ports and the volume mapped to this machine), in
//! front of the example app started with the compose file's command line,
//! on a private Redis; a login and a proxied request work, and the
//! Dockerfile's and compose file's health checks exit 0 against it.

use crate::common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::Gateway;
use common::auth::{ALICE, FP};
use common::redis_util::{Prefix, RedisServer};

fn repo_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The runtime stage of the Dockerfile: its `ENV`, `WORKDIR`, `ENTRYPOINT`,
/// `CMD` and `HEALTHCHECK` command.
#[derive(Debug, Default)]
struct Image {
    env: BTreeMap<String, String>,
    workdir: String,
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    healthcheck: Vec<String>,
    user: String,
    volumes: Vec<String>,
    stages: usize,
}

/// Reads the Dockerfile (line continuations joined); the instructions
/// after the last `FROM` describe the image.
fn image() -> Image {
    let text = repo_file("Dockerfile").replace("\\\n", " ");
    let mut image = Image::default();
    for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        let Some((word, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim();
        let json = |s: &str| -> Vec<String> {
            serde_json::from_str(s).unwrap_or_else(|e| panic!("exec form expected ({e}): {s}"))
        };
        match word {
            "FROM" => {
                image.stages += 1;
                image.env.clear();
            }
            "ENV" => {
                for pair in rest.split_whitespace() {
                    let (k, v) = pair.split_once('=').expect("ENV KEY=value");
                    image.env.insert(k.into(), v.into());
                }
            }
            "WORKDIR" => image.workdir = rest.into(),
            "ENTRYPOINT" => image.entrypoint = json(rest),
            "CMD" => image.cmd = json(rest),
            "USER" => image.user = rest.into(),
            "VOLUME" => image.volumes = json(rest),
            "HEALTHCHECK" => {
                let (_, cmd) = rest.split_once("CMD ").expect("HEALTHCHECK ... CMD [...]");
                image.healthcheck = json(cmd.trim());
            }
            _ => {}
        }
    }
    image
}

/// Compose's interpolation: `$$` is a `$`; `${NAME}`, `${NAME:?message}`
/// and `${NAME:-default}` come from `shell` (the operator's environment).
fn interpolate(value: &str, shell: &BTreeMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let inner = rest.strip_prefix('{').expect("only ${...} and $$ are used");
        let end = inner.find('}').expect("closing brace");
        let expr = &inner[..end];
        let name = expr.split([':', '-', '?']).next().unwrap();
        let value = match (shell.get(name), expr.split_once(":-")) {
            (Some(v), _) => v.clone(),
            (None, Some((_, default))) => default.to_string(),
            (None, None) => panic!("compose needs {name} from the environment: {expr}"),
        };
        out.push_str(&value);
        rest = &inner[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Replaces `from` (which must be there) by `to` in the variable `key`.
fn remap(env: &mut BTreeMap<String, String>, key: &str, from: &str, to: &str) {
    let value = env.get_mut(key).unwrap_or_else(|| panic!("{key} not set"));
    assert!(value.contains(from), "{key}={value} lacks {from}");
    *value = value.replace(from, to);
}

/// An `example-app` process, killed on drop.
struct App(Child);

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the example app with the compose command line, its listen
/// address moved to a free loopback port; returns it and its address.
fn start_app(command: &[String]) -> (App, std::net::SocketAddr) {
    assert_eq!(command[0], "example-app", "{command:?}");
    let mut args = command.to_vec();
    let at = args.iter().position(|a| a == "--listen").expect("--listen");
    assert_eq!(
        args[at + 1],
        "0.0.0.0:3000",
        "the port PORTCULLIS_ROUTES uses"
    );
    args[at + 1] = "127.0.0.1:0".into();
    let mut child = Command::new(common::binary())
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("example-app starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("example-app prints its address");
    let addr = line.trim().rsplit("http://").next().unwrap().parse();
    (App(child), addr.unwrap_or_else(|e| panic!("{e}: {line}")))
}

/// Runs a health-check command line (`/usr/local/bin/portcullis` is the
/// binary under test; the admin port is the real one): its exit code.
fn run_check(check: &[String], admin: std::net::SocketAddr) -> Option<i32> {
    assert_eq!(check[0], "/usr/local/bin/portcullis", "{check:?}");
    let args: Vec<String> = check[1..]
        .iter()
        .map(|a| a.replace("127.0.0.1:9090", &admin.to_string()))
        .collect();
    assert!(
        args.iter().any(|a| a.contains(&admin.to_string())),
        "{args:?}"
    );
    let out = Command::new(common::binary())
        .args(&args)
        .output()
        .expect("health runs");
    out.status.code()
}

/// The Dockerfile: two stages, a non-root user, `/data` a volume and the
/// working directory, and every path the build copies exists here.
#[test]
fn dockerfile_builds_from_files_that_exist() {
    let image = image();
    assert_eq!(image.stages, 2, "build stage, then runtime stage");
    assert_eq!(image.user, "nonroot:nonroot");
    assert_eq!(image.volumes, ["/data"]);
    assert_eq!(image.workdir, "/data");
    assert_eq!(image.env["PORTCULLIS_SERVER__DATA_DIR"], "/data");
    for line in repo_file("Dockerfile").lines() {
        let Some(rest) = line.strip_prefix("COPY ").filter(|r| !r.starts_with("--")) else {
            continue;
        };
        let parts: Vec<&str> = rest.split_whitespace().collect();
        for source in &parts[..parts.len() - 1] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(source);
            assert!(path.exists(), "COPY {source}: missing");
        }
    }
    // Every declared bench must be in the build context, or cargo refuses
    // the manifest.
    let manifest: toml::Table = repo_file("Cargo.toml").parse().unwrap();
    let copies_benches = repo_file("Dockerfile").contains("COPY benches ./benches");
    for bench in manifest["bench"].as_array().into_iter().flatten() {
        let name = bench["name"].as_str().unwrap();
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("benches/{name}.rs"));
        assert!(
            file.is_file() && copies_benches,
            "bench {name} not in the build"
        );
    }
}

/// The compose file's portcullis environment, over the image's, runs the
/// real binary: login and a proxied request work, sessions go to Redis,
/// and both health checks exit 0.
#[tokio::test]
async fn compose_environment_runs_the_gateway() {
    let compose: serde_json::Value =
        serde_norway::from_str(&repo_file("docker-compose.yml")).expect("compose is YAML");
    let services = &compose["services"];
    let service = &services["portcullis"];
    let image = image();

    // The operator's shell: the users, as the compose file asks for them.
    let hash = portcullis::auth::password::hash_password(ALICE.1).unwrap();
    let users = format!(r#"[{{username="{}", password_hash="{hash}"}}]"#, ALICE.0);
    let shell = BTreeMap::from([("PORTCULLIS_AUTH__USERS", users)]);
    let mut env = image.env.clone();
    for (k, v) in service["environment"].as_object().expect("environment map") {
        let v = v.as_str().unwrap_or_else(|| panic!("{k}: quote the value"));
        env.insert(k.clone(), interpolate(v, &shell));
    }

    // This machine instead of the compose network and the volume.
    let redis = RedisServer::start();
    let prefix = Prefix::new(&redis.url());
    let (_app, app_addr) = start_app(&json_strings(&services["app"]["command"]));
    let dir = tempfile::tempdir().unwrap();
    let volume = dir.path().join("data");
    std::fs::create_dir(&volume).unwrap();
    let volume_text = volume.display().to_string();
    remap(
        &mut env,
        "PORTCULLIS_SERVER__LISTEN",
        "0.0.0.0:8443",
        "127.0.0.1:0",
    );
    remap(
        &mut env,
        "PORTCULLIS_ADMIN__LISTEN",
        "127.0.0.1:9090",
        "127.0.0.1:0",
    );
    remap(
        &mut env,
        "PORTCULLIS_REDIS__URL",
        "redis://redis:6379",
        &redis.url(),
    );
    remap(
        &mut env,
        "PORTCULLIS_REDIS__KEY_PREFIX",
        "portcullis",
        &prefix.name,
    );
    remap(
        &mut env,
        "PORTCULLIS_ROUTES",
        "app:3000",
        &app_addr.to_string(),
    );
    for key in [
        "PORTCULLIS_SERVER__DATA_DIR",
        "PORTCULLIS_TLS__CERT",
        "PORTCULLIS_TLS__KEY",
    ] {
        remap(&mut env, key, "/data", &volume_text);
    }
    let mut cmd = Command::new(common::binary());
    cmd.args(image.entrypoint[1..].iter().chain(&image.cmd))
        .current_dir(&volume)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(&env);
    let cert = PathBuf::from(&env["PORTCULLIS_TLS__CERT"]);
    let gw = Gateway::spawn(cmd, dir, app_addr, cert)
        .unwrap_or_else(|f| panic!("did not start ({}):\n{}", f.status, f.logs));

    let client = gw.client();
    let (token, fp) = gw.login(&client, ALICE.0, ALICE.1).await;
    let resp = client
        .get(gw.url("/headers"))
        .bearer_auth(&token)
        .header("cookie", format!("{FP}={fp}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["headers"]["x-auth-request-user"], ALICE.0, "{body}");
    assert!(prefix.key_count() > 0, "sessions are in Redis");
    assert!(
        volume.join("keys/keyring.json").is_file(),
        "keys on the volume"
    );
    assert!(
        volume.join("tls/cert.pem").is_file(),
        "certificate on the volume"
    );

    let admin = gw.admin_addr.expect("admin listener");
    assert_eq!(
        run_check(&image.healthcheck, admin),
        Some(0),
        "Dockerfile HEALTHCHECK"
    );
    let compose_check = json_strings(&service["healthcheck"]["test"]);
    assert_eq!(compose_check[0], "CMD");
    assert_eq!(
        run_check(&compose_check[1..], admin),
        Some(0),
        "compose healthcheck"
    );
}

fn json_strings(v: &serde_json::Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("list of strings ({e}): {v}"))
}
