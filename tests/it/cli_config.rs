//! The command line through the real binary: `check-config` (every error
//! at once, each naming its key; environment overrides), `--version` and
//! `--help` everywhere, and `certs dev`.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{Gateway, cli};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A copy of the reference configuration next to the files it names (a
/// development certificate and a users file), as an operator would set it up.
fn reference_config() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portcullis.toml");
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/portcullis.toml");
    std::fs::copy(shipped, &path).unwrap();
    let (cert, key) = (
        dir.path().join("certs/cert.pem"),
        dir.path().join("certs/key.pem"),
    );
    let out = cli(
        &[
            "certs",
            "dev",
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    common::auth::write_users(&dir.path().join("users.toml"), &[common::auth::BOB], &[]);
    (dir, path)
}

/// Runs `check-config` on `path`; (success, stderr).
fn check(path: &Path, env: &[(&str, &str)]) -> (bool, String) {
    let out = cli(&["check-config", "--config", path.to_str().unwrap()], env);
    (out.status.success(), text(&out.stderr))
}

/// The line of `stderr` reporting `key`.
fn line_for<'a>(stderr: &'a str, key: &str) -> &'a str {
    stderr
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{key}:")))
        .unwrap_or_else(|| panic!("{key} not reported:\n{stderr}"))
}

/// `check-config` loads what the configuration names, like `serve`: a
/// missing certificate, a key of another certificate, a users file with a
/// bad hash and an admin listener on the HTTPS port are each refused under
/// their key, naming the file; a missing certificate that `serve` would
/// generate is fine.
#[test]
fn check_config_loads_named_files() {
    let (dir, path) = reference_config();
    let (ok, stderr) = check(&path, &[]);
    assert!(ok, "{stderr}");

    let cert = dir.path().join("certs/cert.pem");
    let key = dir.path().join("certs/key.pem");
    std::fs::rename(&cert, dir.path().join("moved.pem")).unwrap();
    let (ok, stderr) = check(&path, &[]);
    assert!(!ok, "missing certificate accepted");
    assert!(
        line_for(&stderr, "tls.cert").contains(cert.to_str().unwrap()),
        "{stderr}"
    );
    // Reported together with the errors of other keys.
    let (ok, stderr) = check(&path, &[("PORTCULLIS_SERVER__LISTN", "x")]);
    assert!(!ok);
    assert!(
        line_for(&stderr, "server.listn").contains("unknown key"),
        "{stderr}"
    );
    assert!(
        line_for(&stderr, "tls.cert").contains(cert.to_str().unwrap()),
        "{stderr}"
    );
    // With generation on and both files missing, `serve` makes them.
    std::fs::rename(&key, dir.path().join("moved-key.pem")).unwrap();
    let generate = [("PORTCULLIS_TLS__GENERATE_DEV_CERT", "true")];
    let (ok, stderr) = check(&path, &generate);
    assert!(ok, "{stderr}");
    assert!(!cert.exists(), "check-config wrote a certificate");

    // A key that is not the certificate's.
    std::fs::rename(dir.path().join("moved.pem"), &cert).unwrap();
    let other = dir.path().join("other");
    let out = cli(
        &[
            "certs",
            "dev",
            "--cert",
            other.join("c.pem").to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (ok, stderr) = check(&path, &[]);
    assert!(!ok, "mismatched key accepted");
    assert!(
        line_for(&stderr, "tls.key").contains(key.to_str().unwrap()),
        "{stderr}"
    );
    std::fs::copy(other.join("c.pem"), &cert).unwrap();

    // A users file whose hash is not a PHC string.
    let users = dir.path().join("users.toml");
    let good = std::fs::read_to_string(&users).unwrap();
    let bad = good
        .lines()
        .map(|l| {
            if l.starts_with("password_hash") {
                "password_hash = \"$pbkdf2-sha256$nonsense\""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(bad, good);
    std::fs::write(&users, bad).unwrap();
    let (ok, stderr) = check(&path, &[]);
    assert!(!ok, "bad hash accepted");
    let line = line_for(&stderr, "auth.users_file");
    assert!(
        line.contains(users.to_str().unwrap()) && line.contains("password_hash"),
        "{line}"
    );
    assert!(!line.contains("nonsense"), "hash text echoed: {line}");
    std::fs::write(&users, good).unwrap();

    // The admin listener on the HTTPS port; `serve` refuses it the same way.
    let collide = [("PORTCULLIS_ADMIN__LISTEN", "127.0.0.1:8443")];
    let (ok, stderr) = check(&path, &collide);
    assert!(!ok, "admin = listen accepted");
    assert!(
        line_for(&stderr, "admin.listen").contains("server.listen"),
        "{stderr}"
    );
    let out = cli(&["serve", "--config", path.to_str().unwrap()], &collide);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("admin.listen:"),
        "{}",
        text(&out.stderr)
    );

    let (ok, stderr) = check(&path, &[]);
    assert!(ok, "{stderr}");
}

/// A file with an unknown key, an old TLS version, a zero timeout, a route
/// without upstream, a bad CIDR and a wrong type, naming certificate files
/// that do not exist: non-zero exit, and every key named (once) with
/// advice, in one run.
#[test]
fn check_config_reports_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"
[server]
lisen = "0.0.0.0:8443"
trusted_proxies = ["10.0.0.0/33"]

[tls]
min_version = "1.0"

[upstream]
response_timeout_ms = 0
connect_timeout_ms = "soon"

[[routes]]
prefix = "/"
policy = "public"
"#,
    )
    .unwrap();
    let out = cli(&["check-config", "--config", path.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    for (key, advice) in [
        ("server.lisen", "unknown key"),
        ("server.trusted_proxies[0]", "10.0.0.0/8"),
        ("tls.min_version", "\"1.2\" or \"1.3\""),
        ("upstream.response_timeout_ms", "greater than zero"),
        ("upstream.connect_timeout_ms", "invalid type"),
        ("routes[0].upstream", "http://127.0.0.1:3000"),
        // The files it names are loaded too, though other keys are wrong.
        ("tls.cert", "certs/cert.pem"),
        ("tls.key", "certs/key.pem"),
    ] {
        let line = stderr
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{key}:")))
            .unwrap_or_else(|| panic!("{key} not reported:\n{stderr}"));
        assert!(line.contains(advice), "{key}: {line}");
    }
    assert!(!stderr.contains("lisen.lisen"), "{stderr}");
    assert!(stderr.contains("8 error(s)"), "{stderr}");
}

/// The reference configuration is valid as shipped.
#[test]
fn check_config_accepts_reference_config() {
    let (_dir, config) = reference_config();
    let out = cli(&["check-config", "--config", config.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("configuration OK"));
}

/// Environment variables override the file and are judged like it: a bad
/// value is reported under its key, an unknown one as unknown, a good one
/// passes; a missing file is named.
#[test]
fn check_config_environment_overrides() {
    let (_dir, config) = reference_config();
    let config = config.to_str().unwrap();
    let args = ["check-config", "--config", config];
    // (environment, what stderr must say; None when the config is valid)
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);
    let cases: &[Case] = &[
        (
            &[("PORTCULLIS_SERVER__LISTEN", "bad")],
            Some("server.listen: `bad`"),
        ),
        (
            &[("PORTCULLIS_TLS__MIN_VERSION", "1.1")],
            Some("tls.min_version"),
        ),
        (
            &[("PORTCULLIS_SERVER__LISTN", "x")],
            Some("server.listn: unknown key"),
        ),
        (
            &[("PORTCULLIS_LIMITS__IDLE_TIMEOUT_SECS", "0")],
            Some("limits.idle_timeout_secs"),
        ),
        (&[("PORTCULLIS_SERVER__LISTEN", "127.0.0.1:9443")], None),
    ];
    for (env, want) in cases {
        let out = cli(&args, env);
        let stderr = text(&out.stderr);
        match want {
            Some(w) => {
                assert!(!out.status.success(), "{env:?}");
                assert!(stderr.contains(w), "{env:?}: {stderr}");
            }
            None => assert!(out.status.success(), "{env:?}: {stderr}"),
        }
    }
    let out = cli(
        &["check-config", "--config", "/nonexistent/portcullis.toml"],
        &[],
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("/nonexistent/portcullis.toml"));
}

/// Every command and subcommand answers `--help` (usage, exit 0) and
/// `--version` (the package version).
#[test]
fn help_and_version_everywhere() {
    let commands: &[(&[&str], &[&str])] = &[
        (&[], &["serve", "check-config", "certs", "demo", "keys"]),
        (&["serve"], &["--config"]),
        (&["check-config"], &["--config"]),
        (&["certs"], &["dev"]),
        (&["certs", "dev"], &["--cert", "--key", "--force"]),
        (
            &["demo"],
            &["--listen", "--upstream", "--password", "--data-dir"],
        ),
        (&["hash-password"], &[]),
        (&["keys"], &["generate", "rotate", "list"]),
        (&["keys", "generate"], &[]),
        (&["keys", "rotate"], &[]),
        (&["keys", "list"], &[]),
    ];
    // clap names subcommands `portcullis-serve 0.1.0`.
    let version = format!(" {}\n", env!("CARGO_PKG_VERSION"));
    for (cmd, mentions) in commands {
        let help = cli(&[cmd, &["--help"][..]].concat(), &[]);
        assert!(help.status.success(), "{cmd:?} --help");
        let out = text(&help.stdout);
        assert!(out.contains("Usage: portcullis"), "{cmd:?}: {out}");
        for m in *mentions {
            assert!(
                out.contains(m),
                "{cmd:?} --help does not mention {m}:\n{out}"
            );
        }
        let v = cli(&[cmd, &["--version"][..]].concat(), &[]);
        assert!(v.status.success(), "{cmd:?} --version");
        let v = text(&v.stdout);
        assert!(
            v.starts_with("portcullis") && v.ends_with(&version),
            "{cmd:?}: {v}"
        );
    }
}

/// `certs dev` writes a certificate and a 0600 key that `serve` can use;
/// it refuses to overwrite without `--force`.
#[tokio::test]
async fn certs_dev_writes_usable_files() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("out/cert.pem");
    let key = dir.path().join("out/key.pem");
    let (c, k) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let out = cli(&["certs", "dev", "--cert", c, "--key", k], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "key mode {mode:o}");
    let pem = std::fs::read_to_string(&cert).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .contains("PRIVATE KEY-----")
    );

    let again = cli(&["certs", "dev", "--cert", c, "--key", k], &[]);
    assert!(!again.status.success(), "overwrote without --force");
    assert!(text(&again.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&cert).unwrap(), pem, "file changed");
    let forced = cli(&["certs", "dev", "--cert", c, "--key", k, "--force"], &[]);
    assert!(forced.status.success());
    assert_ne!(std::fs::read_to_string(&cert).unwrap(), pem, "not replaced");

    // The pair serves HTTPS for localhost.
    let config = format!("[tls]\ncert = \"{c}\"\nkey = \"{k}\"\ngenerate_dev_cert = false\n");
    let gw = Gateway::start(&config).await;
    let resp = gw.client().get(gw.url("/headers")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

/// `[redis]` deployments from the environment alone: `mode` and `nodes`
/// (a TOML list, quoted or bare) and `master_name`; what a mode lacks or
/// does not use is named.
#[test]
fn check_config_redis_modes_from_environment() {
    let (_dir, config) = reference_config();
    let args = ["check-config", "--config", config.to_str().unwrap()];
    let store = ("PORTCULLIS_SESSION__STORE", "redis");
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<&'a str>);
    let cases: &[Case] = &[
        (
            &[
                store,
                ("PORTCULLIS_REDIS__MODE", "cluster"),
                (
                    "PORTCULLIS_REDIS__NODES",
                    r#"["redis://127.0.0.1:7000", "redis://127.0.0.1:7001"]"#,
                ),
            ],
            None,
        ),
        (
            &[
                store,
                ("PORTCULLIS_REDIS__MODE", "sentinel"),
                ("PORTCULLIS_REDIS__NODES", "[redis://127.0.0.1:26379]"),
                ("PORTCULLIS_REDIS__MASTER_NAME", "main"),
                ("PORTCULLIS_REDIS__PASSWORD", "s3cret"),
            ],
            None,
        ),
        (
            &[
                store,
                ("PORTCULLIS_REDIS__MODE", "sentinel"),
                ("PORTCULLIS_REDIS__NODES", "[redis://127.0.0.1:26379]"),
            ],
            Some("redis.master_name: is required when redis.mode = \"sentinel\""),
        ),
        (
            &[store, ("PORTCULLIS_REDIS__MODE", "cluster")],
            Some("redis.nodes: is required when redis.mode = \"cluster\""),
        ),
        (
            &[
                store,
                ("PORTCULLIS_REDIS__URL", "redis://:s3cret@127.0.0.1:6379"),
                ("PORTCULLIS_REDIS__MASTER_NAME", "main"),
            ],
            Some("redis.master_name: is not used when redis.mode = \"standalone\""),
        ),
        (
            &[store, ("PORTCULLIS_REDIS__MODE", "ring")],
            Some("redis.mode: `ring` is not a mode"),
        ),
    ];
    for (env, want) in cases {
        let out = cli(&args, env);
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("s3cret"), "{env:?}: {stderr}");
        match want {
            Some(w) => {
                assert!(!out.status.success(), "{env:?}");
                assert!(stderr.contains(w), "{env:?}: {stderr}");
            }
            None => assert!(out.status.success(), "{env:?}: {stderr}"),
        }
    }
}

/// Runs `portcullis ARGS` with standard output a pipe whose reader is
/// already closed (`portcullis keys list | head -0`), so every write fails
/// with a broken pipe.
fn into_closed_pipe(args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    std::process::Command::new(common::binary())
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap()
}

/// A reader that goes away early ends the command quietly with success, as
/// for any Unix tool: no panic, no "Broken pipe" message. The same commands
/// do print when someone reads.
#[test]
fn closed_stdout_is_a_quiet_success() {
    let (_dir, path) = reference_config();
    let path = path.to_str().unwrap();
    let out = cli(&["keys", "rotate", "--config", path], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let commands: [&[&str]; 3] = [
        &["keys", "list", "--config", path],
        &["keys", "rotate", "--config", path],
        &["check-config", "--config", path],
    ];
    for args in commands {
        let read = cli(args, &[]);
        assert!(read.status.success(), "{args:?}: {}", text(&read.stderr));
        assert!(!read.stdout.is_empty(), "{args:?} printed nothing");
        let out = into_closed_pipe(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            !stderr.to_lowercase().contains("broken pipe"),
            "{args:?}: {stderr}"
        );
    }
}
