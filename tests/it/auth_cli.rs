//! Issue 3, the command line through the real binary: `hash-password` (PHC
//! output that verifies, the length policy), `keys list|rotate` against a
//! gateway's key directory (old tokens keep verifying within the grace
//! period, not after), and `serve` refusing key files open to others.

use crate::common;

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::Gateway;
use common::auth::{ALICE, assert_reached, assert_refused};
use common::jose::split;
use portcullis::auth::password::verify_password;

fn portcullis() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
}

/// Runs `portcullis hash-password` with `stdin`.
fn hash_password(stdin: &[u8]) -> Output {
    let mut child = portcullis()
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `cmd` to completion, killing it after `limit`; returns the output and
/// whether it exited by itself.
fn run_bounded(mut cmd: Command, limit: Duration) -> (Output, bool) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let exited = loop {
        if child.try_wait().unwrap().is_some() {
            break true;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            break false;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (child.wait_with_output().unwrap(), exited)
}

/// `hash-password` prints a PBKDF2-SHA256 PHC string (600 000 iterations,
/// 16-byte salt, 32-byte output) that verifies, with a fresh salt each time,
/// and never prints the password.
#[test]
fn hash_password_prints_a_verifying_phc() {
    let password = "correct horse battery";
    let mut seen = Vec::new();
    for input in [
        format!("{password}\n"),
        format!("{password}\r\n"),
        password.to_string(),
    ] {
        let out = hash_password(input.as_bytes());
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        let phc = stdout.trim_end();
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        let fields: Vec<&str> = phc.split('$').collect();
        assert_eq!(fields[..3], ["", "pbkdf2-sha256", "i=600000,l=32"], "{phc}");
        assert_eq!(fields.len(), 5, "{phc}");
        assert_eq!(fields[3].len(), 22, "16-byte salt: {phc}");
        assert_eq!(fields[4].len(), 43, "32-byte hash: {phc}");
        assert!(verify_password(password, phc).unwrap().ok);
        assert!(!verify_password("correct horse battery!", phc).unwrap().ok);
        let all = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(!all.contains(password));
        seen.push(fields[3].to_string());
    }
    seen.dedup();
    assert_eq!(seen.len(), 3, "salts repeat");
}

/// The policy: fewer than 12 characters or more than 1024 bytes is refused
/// with a message and a non-zero exit; the bounds themselves pass.
#[test]
fn hash_password_policy() {
    for (password, message) in [
        ("elevenchars".to_string(), "at least 12 characters"),
        (String::new(), "at least 12 characters"),
        ("ééééééééééé".to_string(), "at least 12 characters"),
        ("a".repeat(1025), "at most 1024 bytes"),
        ("é".repeat(513), "at most 1024 bytes"),
    ] {
        let out = hash_password(format!("{password}\n").as_bytes());
        assert!(
            !out.status.success(),
            "{} chars accepted",
            password.chars().count()
        );
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(message), "{stderr}");
        assert!(password.is_empty() || !stderr.contains(&password));
    }
    for ok in ["twelve chars".to_string(), "a".repeat(1024), "é".repeat(12)] {
        let out = hash_password(format!("{ok}\n").as_bytes());
        assert!(out.status.success(), "{} bytes refused: {out:?}", ok.len());
    }
}

/// Runs `portcullis keys <args>` for `gw`'s configuration, `--config` after
/// the action.
fn keys(gw: &Gateway, action: &str) -> String {
    let out = portcullis()
        .args(["keys", action, "--config"])
        .arg(gw.config_path())
        .output()
        .unwrap();
    assert!(out.status.success(), "keys {action}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The kids in the gateway's JWKS.
async fn jwks_kids(gw: &Gateway) -> Vec<String> {
    let jwks = common::auth::jwks(gw).await;
    let keys = jwks["keys"].as_array().unwrap();
    keys.iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

/// `keys rotate` adds an active key and retires the old one; after a
/// restart the gateway signs with the new key, publishes both, and still
/// accepts tokens of the old key. Once the old key's grace period is over
/// (its retirement moved into the past), it is gone and its tokens refused.
#[tokio::test]
async fn keys_rotate_and_grace() {
    let mut gw = Gateway::start_with_users("", &[ALICE]).await;
    let (old_token, old_fp) = gw.login(&gw.client(), ALICE.0, ALICE.1).await;
    let old_kid = split(&old_token).0["kid"].as_str().unwrap().to_string();
    let list = keys(&gw, "list");
    let line = list
        .lines()
        .find(|l| l.starts_with(&old_kid))
        .expect("old kid listed");
    assert!(line.contains("active"), "{list}");

    let rotated = keys(&gw, "rotate");
    let list = keys(&gw, "list");
    let new_kid = list
        .lines()
        .find(|l| l.contains("active"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    assert_ne!(new_kid, old_kid);
    assert!(rotated.contains(&new_kid), "{rotated}");
    let old_line = list.lines().find(|l| l.starts_with(&old_kid)).unwrap();
    assert!(old_line.contains("retired"), "{list}");
    let mode = std::fs::metadata(gw.path(&format!("data/keys/{new_kid}.pem"))).unwrap();
    assert_eq!(mode.permissions().mode() & 0o777, 0o600);

    gw.restart().await;
    let client = gw.client();
    assert_eq!(jwks_kids(&gw).await, [new_kid.clone(), old_kid.clone()]);
    let resp = gw
        .get_with(&client, "/headers", &old_token, Some(&old_fp))
        .await;
    assert_reached(resp, "alice", "old key within grace").await;
    let (new_token, new_fp) = gw.login(&client, ALICE.0, ALICE.1).await;
    assert_eq!(split(&new_token).0["kid"], new_kid.as_str());

    // Move the retirement an hour into the past: beyond ttl + leeway.
    let state_path = gw.path("data/keys/keyring.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    for key in state["keys"].as_array_mut().unwrap() {
        if key["kid"] == old_kid.as_str() {
            let at = key["retired_at"].as_u64().unwrap();
            key["retired_at"] = (at - 3600).into();
        }
    }
    std::fs::write(&state_path, state.to_string()).unwrap();
    gw.restart().await;
    let client = gw.client();
    assert_eq!(jwks_kids(&gw).await, vec![new_kid.clone()]);
    let resp = gw
        .get_with(&client, "/headers", &old_token, Some(&old_fp))
        .await;
    assert_refused(resp, "old key after grace").await;
    let resp = gw
        .get_with(&client, "/headers", &new_token, Some(&new_fp))
        .await;
    assert_reached(resp, "alice", "new key").await;
}

/// `serve` refuses to start when a key file is readable by group or others,
/// or the key directory is open to them, and says which chmod fixes it.
#[tokio::test]
async fn serve_refuses_open_key_files() {
    let mut gw = Gateway::start_with_users("", &[ALICE]).await;
    gw.stop().await;
    let keys_dir = gw.path("data/keys");
    let pem = std::fs::read_dir(&keys_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "pem"))
        .unwrap();
    let set = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    for (path, mode, fix) in [
        (&pem, 0o644, "chmod 600"),
        (&pem, 0o640, "chmod 600"),
        (&keys_dir, 0o755, "chmod 700"),
    ] {
        set(path, mode);
        let (out, exited) = run_bounded(gw.serve_command(), Duration::from_secs(30));
        assert!(exited, "started with mode {mode:o}");
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(fix), "{mode:o}: {stderr}");
        assert!(stderr.contains(&path.display().to_string()), "{stderr}");
        let secret = std::fs::read_to_string(&pem).unwrap_or_default();
        assert!(!stderr.contains("PRIVATE KEY") && !secret.is_empty());
        set(path, if path == &pem { 0o600 } else { 0o700 });
    }
    gw.restart().await;
    let resp = gw
        .client()
        .get(gw.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "starts again once fixed");
}
