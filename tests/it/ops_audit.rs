//! `portcullis audit` on configurations: a good one passes with exit 0 and a
//! report naming every check; a weak one exits 1 naming what fails.

use std::path::Path;

use crate::common::audit::{CONFIG_IDS, audit_json, chmod, write_cert};
use crate::common::auth::{ALICE, write_users};
use crate::common::{Gateway, cli, merge};

/// The base test configuration made production-like: rate limits, lockout,
/// info logs, the HTTP redirect listener.
const HARDENED: &str = r#"
[server]
http_listen = "127.0.0.1:0"

[rate_limit]
login_per_ip = 30
login_per_account = 10
refresh_per_ip = 120

[lockout]
max_failures = 5

[log]
level = "info"
"#;

/// The configuration of a running, hardened gateway passes every check:
/// exit 0, every id in the Markdown, the JSON has every field.
#[tokio::test(flavor = "multi_thread")]
async fn good_configuration_passes() {
    let gw = Gateway::start_with_users(HARDENED, &[ALICE]).await;
    chmod(&gw.path("users.toml"), 0o600);
    let config = gw.config_path();
    let config = config.to_str().expect("utf-8 path");

    let md = cli(&["audit", "--config", config], &[]);
    let text = String::from_utf8_lossy(&md.stdout);
    assert_eq!(md.status.code(), Some(0), "{text}");
    for id in CONFIG_IDS {
        assert!(
            text.contains(&format!("| {id} |")),
            "{id} missing from:\n{text}"
        );
    }

    let a = audit_json(&["audit", "--config", config]);
    assert_eq!(a.code, 0);
    let checks = a.report["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), CONFIG_IDS.len());
    for c in checks {
        for field in ["id", "title", "critical", "result", "detail"] {
            assert!(!c[field].is_null(), "{field} missing in {c}");
        }
    }
    assert_eq!(a.ids("fail"), Vec::<String>::new(), "{:#}", a.report);
    assert_eq!(a.ids("warn"), Vec::<String>::new(), "{:#}", a.report);
    assert_eq!(a.report["summary"]["critical_fail"], 0);
    // Facts read from real material, not assumed.
    let crypto = a.check("CRYPTO-001")["detail"].as_str().unwrap();
    assert!(
        crypto.contains("pbkdf2-sha256, 600000 iterations, 16-byte salt, 32-byte output"),
        "{crypto}"
    );
    let kid = gw.signing_key().kid().to_owned();
    assert!(
        a.check("TOKEN-003")["detail"]
            .as_str()
            .unwrap()
            .contains(&kid)
    );
    assert!(
        a.check("KEYS-001")["detail"]
            .as_str()
            .unwrap()
            .contains("2048")
    );
    let tls = a.check("TLS-001")["detail"].as_str().unwrap();
    assert!(tls.contains("TLS 1.3 accepted, TLS 1.2 accepted"), "{tls}");
}

/// Writes a standalone configuration in `dir` with `extra` merged in, a
/// 200-day certificate, one user and a generated signing key.
fn standalone(dir: &Path, extra: &str) -> String {
    let d = dir.display();
    let base = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"{d}/data\"\n\
         [tls]\ncert = \"{d}/cert.pem\"\nkey = \"{d}/key.pem\"\n\
         [auth]\nusers_file = \"{d}/users.toml\"\n\
         [[routes]]\nprefix = \"/\"\nupstream = \"http://127.0.0.1:9\"\npolicy = \"public\"\n"
    );
    let mut table: toml::Table = base.parse().expect("base config");
    merge(&mut table, extra);
    let path = dir.join("portcullis.toml");
    std::fs::write(&path, toml::to_string(&table).expect("toml")).expect("write config");
    write_cert(&dir.join("cert.pem"), &dir.join("key.pem"), -1, 200);
    write_users(&dir.join("users.toml"), &[ALICE], &[]);
    chmod(&dir.join("users.toml"), 0o600);
    let path = path.to_str().expect("utf-8").to_owned();
    let out = cli(&["keys", "generate", "--config", &path], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

/// The only key file in `<dir>/data/keys`.
fn key_file(dir: &Path) -> std::path::PathBuf {
    std::fs::read_dir(dir.join("data/keys"))
        .expect("key dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "pem"))
        .expect("a key file")
}

/// Long tokens, a world-readable key, open directories, HSTS off and an
/// expired certificate fail (exit 1, each id named); rate limits, lockout,
/// logging and the missing redirect warn.
#[test]
fn weak_configuration_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let weak = "[auth]\naccess_token_ttl_secs = 3600\n\
                [headers]\nstrict_transport_security = \"\"\n\
                [rate_limit]\nlogin_per_ip = 0\nlogin_per_account = 0\nrefresh_per_ip = 0\n\
                [lockout]\nmax_failures = 0\n\
                [log]\nlevel = \"debug\"\nformat = \"pretty\"\n";
    let config = standalone(dir.path(), weak);
    chmod(&key_file(dir.path()), 0o644);
    chmod(&dir.path().join("data"), 0o755);
    chmod(&dir.path().join("key.pem"), 0o644);
    write_cert(
        &dir.path().join("cert.pem"),
        &dir.path().join("key.pem"),
        -60,
        -1,
    );
    chmod(&dir.path().join("key.pem"), 0o644);

    let a = audit_json(&["audit", "--config", &config]);
    assert_eq!(a.code, 1, "{:#}", a.report);
    assert_eq!(
        a.ids("fail"),
        [
            "PERM-001",
            "PERM-002",
            "PERM-003",
            "TOKEN-001",
            "TLS-003",
            "TLS-004"
        ],
        "{:#}",
        a.report
    );
    assert_eq!(
        a.ids("warn"),
        ["TLS-005", "INPUT-002", "INPUT-003", "LOG-001", "LOG-002"],
        "{:#}",
        a.report
    );
    assert!(
        a.check("TLS-003")["detail"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    assert!(
        a.check("PERM-001")["detail"]
            .as_str()
            .unwrap()
            .contains("0644")
    );
    assert!(
        a.check("INPUT-002")["detail"]
            .as_str()
            .unwrap()
            .contains("rate_limit.login_per_ip off")
    );

    let md = cli(&["audit", "--config", &config], &[]);
    assert_eq!(md.status.code(), Some(1));
    let text = String::from_utf8_lossy(&md.stdout);
    assert!(
        text.contains("| TOKEN-001 | access-token lifetime at most 15 minutes | yes | FAIL |"),
        "{text}"
    );
}

/// A certificate expiring within 30 days warns (exit 0); an outdated stored
/// hash is named without its hash; a TLS 1.3-only server refuses a TLS 1.2
/// handshake; without browser mode the refresh cookie is scoped to /auth.
#[test]
fn expiring_certificate_and_outdated_hash_warn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = "[tls]\nmin_version = \"1.3\"\n[auth]\nbrowser_mode = false\n";
    let config = standalone(dir.path(), extra);
    write_cert(
        &dir.path().join("cert.pem"),
        &dir.path().join("key.pem"),
        -1,
        10,
    );
    let weak_hash = "$pbkdf2-sha256$i=1000,l=32$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let users = std::fs::read_to_string(dir.path().join("users.toml")).expect("users");
    let users =
        format!("{users}\n[[users]]\nusername = \"legacy\"\npassword_hash = \"{weak_hash}\"\n");
    std::fs::write(dir.path().join("users.toml"), users).expect("write users");

    let a = audit_json(&["audit", "--config", &config]);
    assert_eq!(a.code, 0, "{:#}", a.report);
    assert_eq!(a.result("TLS-003"), "warn");
    let detail = a.check("TLS-003")["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("expires in") && detail.ends_with("day(s): renew it"),
        "{detail}"
    );
    let tls = a.check("TLS-001")["detail"].as_str().unwrap();
    assert!(tls.contains("TLS 1.3 accepted, TLS 1.2 refused"), "{tls}");
    // Without browser mode the refresh cookie is __Secure- on /auth only.
    let cookie = a.check("COOKIE-005")["detail"].as_str().unwrap();
    assert_eq!(
        cookie,
        "__Secure-portcullis-rt: Path=/auth (sent only to the refresh endpoints)"
    );
    assert_eq!(a.result("COOKIE-004"), "pass");
    assert_eq!(a.result("CRYPTO-002"), "warn");
    let detail = a.check("CRYPTO-002")["detail"].as_str().unwrap();
    assert!(
        detail.contains("legacy") && !detail.contains("alice"),
        "{detail}"
    );
    assert!(
        !a.report.to_string().contains("pbkdf2-sha256$i=1000"),
        "a hash was printed"
    );
}

/// A configuration error exits 2 and names the field.
#[test]
fn configuration_error_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[auth]\naccess_token_ttl_secs = 0\n").expect("write");
    let out = cli(&["audit", "--config", path.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("auth.access_token_ttl_secs"), "{err}");
    let out = cli(&["audit", "--format", "yaml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format"));
}
