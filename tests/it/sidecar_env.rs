//! The sidecar deployment: the binary configured by environment variables
//! alone (no config file, no users file, a generated certificate), next to
//! the example app, proxying an authenticated request and answering
//! forward-auth.

use std::process::Command;

use crate::common;

use common::Gateway;
use common::auth::ALICE;
use portcullis::auth::password::hash_password;

/// The environment of the README's sidecar example, for `upstream`.
fn sidecar_env(upstream: std::net::SocketAddr, users: &str) -> Vec<(&'static str, String)> {
    let routes = format!(
        r#"[{{prefix="/", upstream="http://{upstream}"}}, {{prefix="/public", upstream="http://{upstream}", policy="public"}}]"#
    );
    vec![
        ("PORTCULLIS_SERVER__LISTEN", "127.0.0.1:0".into()),
        (
            "PORTCULLIS_SERVER__TRUSTED_PROXIES",
            r#"["127.0.0.2"]"#.into(),
        ),
        ("PORTCULLIS_TLS__GENERATE_DEV_CERT", "true".into()),
        ("PORTCULLIS_ADMIN__LISTEN", "127.0.0.1:0".into()),
        ("PORTCULLIS_AUTH__USERS", users.into()),
        ("PORTCULLIS_ROUTES", routes),
        ("PORTCULLIS_LOG__LEVEL", "debug".into()),
    ]
}

/// Inline users for the environment: `alice` with her test password.
fn alice_env() -> String {
    let hash = hash_password(ALICE.1).expect("hash");
    format!(
        r#"[{{username="alice", email="alice@example.com", roles=["admin"], password_hash="{hash}"}}]"#
    )
}

#[tokio::test]
async fn configured_by_environment_alone() {
    let (upstream, stop) = common::example_app().await;
    let _stop = stop.drop_guard();
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().to_path_buf();
    let env = sidecar_env(upstream, &alice_env());
    let check = Command::new(common::binary())
        .arg("check-config")
        .current_dir(&root)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("check-config runs");
    assert!(check.status.success(), "{check:?}");

    let mut cmd = Command::new(common::binary());
    cmd.arg("serve")
        .current_dir(&root)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let gw = Gateway::spawn(cmd, dir, upstream, root.join("certs/cert.pem"))
        .unwrap_or_else(|f| panic!("sidecar did not start: {}", f.logs));

    let alice = gw.sign_in(ALICE).await;
    assert_eq!(gw.whoami(&alice).await, Ok("alice".into()));
    let creds = gw.creds(ALICE).await;
    let resp = gw.verify("/x", Some(&creds)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-auth-request-user"], "alice");
    assert_eq!(gw.verify("/public/x", None).await.status(), 200);
    assert!(!root.join("users.toml").exists(), "no users file needed");
    assert!(root.join("data/keys/keyring.json").is_file());
}

/// A bad inline user is a configuration error naming `auth.users` and the
/// field, without echoing the hash.
#[tokio::test]
async fn bad_inline_users_are_named() {
    let hash = hash_password(ALICE.1).expect("hash");
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            format!(r#"[{{username="alice", email="no-at-sign", password_hash="{hash}"}}]"#),
            "email",
        ),
        (
            format!(r#"[{{username="alice", pasword_hash="{hash}"}}]"#),
            "pasword_hash",
        ),
        (
            format!(
                r#"[{{username="a", password_hash="{hash}"}}, {{username="a", password_hash="{hash}"}}]"#
            ),
            "duplicate",
        ),
    ];
    for (users, field) in cases {
        let out = Command::new(common::binary())
            .arg("check-config")
            .current_dir(dir.path())
            .env("PORTCULLIS_AUTH__USERS", &users)
            .output()
            .expect("check-config runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(2), "{users}: {text}");
        assert!(
            text.contains("auth.users") && text.contains(field),
            "{text}"
        );
        let salted = hash.rsplit('$').next().expect("hash digest");
        assert!(
            !text.contains(salted),
            "the hash must not be echoed: {text}"
        );
    }
}
