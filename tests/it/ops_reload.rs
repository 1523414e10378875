//! SIGHUP through the real binary. A good new configuration: new routes
//! are served (removed ones 404), a replaced users file lets its new user
//! in, a replaced certificate is served on new connections while an open
//! HTTP/1.1 keep-alive connection keeps working, and a changed setting that
//! needs a restart is named. Bad files (a TOML syntax error, an invalid
//! route, a malformed hash, a broken certificate): the old routes, users and
//! certificate stay in force, the process stays up, the log names the problem.

use crate::common;

use std::time::Duration;

use common::Gateway;
use common::auth::{ALICE, BOB, write_users};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use reqwest::StatusCode;

/// Sends SIGHUP and waits until that reload has finished (its last step,
/// the keys, logged).
async fn hup(gw: &Gateway) {
    let done = || {
        let logs = gw.logs.lock().unwrap();
        logs.iter()
            .filter(|l| l.contains("\"reload.keys\"") || l.contains("\"part\":\"keys\""))
            .count()
    };
    let before = done();
    let sent = std::process::Command::new("kill")
        .args(["-HUP", &gw.pid().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while done() == before {
        assert!(
            std::time::Instant::now() < deadline,
            "no reload:\n{}",
            gw.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An open HTTP/1.1 keep-alive connection.
async fn keep_alive(gw: &Gateway) -> SendRequest<Empty<bytes::Bytes>> {
    let io = hyper_util::rt::TokioIo::new(gw.tls_stream().await);
    let (sender, conn) = hyper::client::conn::http1::handshake(io).await.expect("h1");
    tokio::spawn(conn);
    sender
}

/// The gateway's own 404 (no route), as opposed to an upstream's.
const NO_ROUTE: &str = "no route for this path";

/// `GET path` on the kept-alive connection: the status and the body.
async fn get_on(sender: &mut SendRequest<Empty<bytes::Bytes>>, path: &str) -> (u16, String) {
    sender.ready().await.expect("connection still open");
    let req = http::Request::get(path)
        .header("host", "localhost")
        .body(Empty::new())
        .unwrap();
    let resp = sender
        .send_request(req)
        .await
        .expect("answer on the old connection");
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// `GET path` on a new connection: the status and the body.
async fn get_new(client: &reqwest::Client, gw: &Gateway, path: &str) -> (u16, String) {
    let resp = client.get(gw.url(path)).send().await.expect("request");
    (resp.status().as_u16(), resp.text().await.expect("body"))
}

/// A client for new connections that trusts only `cert_pem`.
fn client_trusting(gw: &Gateway, cert_pem: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert_pem).expect("cert")])
        .resolve("localhost", gw.addr)
        .build()
        .expect("client")
}

/// `portcullis certs dev` into a scratch directory: the new (cert, key) PEM.
fn new_certificate() -> (Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let (c, k) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    let out = common::cli(
        &[
            "certs",
            "dev",
            "--cert",
            c.to_str().unwrap(),
            "--key",
            k.to_str().unwrap(),
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (std::fs::read(c).unwrap(), std::fs::read(k).unwrap())
}

/// Rewrites the gateway's configuration file with `edit` applied.
fn edit_config(gw: &Gateway, edit: impl FnOnce(&mut toml::Table)) {
    let path = gw.config_path();
    let mut cfg: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    edit(&mut cfg);
    std::fs::write(&path, toml::to_string(&cfg).unwrap()).unwrap();
}

fn route(prefix: &str, upstream: std::net::SocketAddr, policy: &str) -> toml::Value {
    let text =
        format!("prefix = \"{prefix}\"\nupstream = \"http://{upstream}\"\npolicy = \"{policy}\"");
    toml::Value::Table(text.parse().unwrap())
}

/// A good new configuration, users file and certificate take effect on
/// SIGHUP; the open connection keeps working and sees the new routes.
#[tokio::test]
async fn sighup_applies_new_routes_users_and_certificate() {
    let gw = Gateway::start_with_users("", &[ALICE]).await;
    let mut old_conn = keep_alive(&gw).await;
    assert_eq!(
        get_on(&mut old_conn, "/fresh").await.0,
        401,
        "under / (authenticated)"
    );
    let (_, body) = get_new(&gw.client(), &gw, "/public/x").await;
    assert!(!body.contains(NO_ROUTE), "routed before the reload");

    let upstream = gw.upstream;
    edit_config(&gw, |cfg| {
        cfg.insert(
            "routes".into(),
            toml::Value::Array(vec![
                route("/headers", upstream, "authenticated"),
                route("/fresh", upstream, "public"),
            ]),
        );
        let server = cfg["server"].as_table_mut().unwrap();
        server.insert("shutdown_timeout_secs".into(), toml::Value::Integer(7));
    });
    let users = gw.path("users.toml");
    std::fs::remove_file(&users).unwrap();
    write_users(&users, &[BOB], &[]);
    let (cert, key) = new_certificate();
    std::fs::write(gw.path("key.pem"), &key).unwrap();
    std::fs::write(gw.path("cert.pem"), &cert).unwrap();
    hup(&gw).await;
    let logs = gw.log_text();
    for event in ["reload.routes", "reload.tls", "reload.users"] {
        assert!(logs.contains(event), "{event}:\n{logs}");
    }
    let warning = gw.wait_for_log(&["reload.restart_needed"]).await;
    assert!(warning.contains("server"), "{warning}");

    // The open connection (old certificate) still works, with new routes.
    // (The example app answers its own 404 for paths it does not serve.)
    let (status, body) = get_on(&mut old_conn, "/fresh").await;
    assert!(
        status != 401 && !body.contains(NO_ROUTE),
        "new public route: {status} {body}"
    );
    let (status, body) = get_on(&mut old_conn, "/public/x").await;
    assert!(
        status == 404 && body.contains(NO_ROUTE),
        "removed route: {status} {body}"
    );
    // New connections get the new certificate only.
    let new = client_trusting(&gw, &cert);
    let (status, body) = get_new(&new, &gw, "/fresh").await;
    assert!(
        status != 401 && !body.contains(NO_ROUTE),
        "new certificate served: {status}"
    );
    assert!(
        gw.client().get(gw.url("/fresh/y")).send().await.is_err(),
        "old certificate"
    );
    // The new users file: bob signs in, alice no longer can.
    let login = |user: &str, password: &str| {
        new.post(gw.url("/auth/login"))
            .json(&serde_json::json!({ "username": user, "password": password }))
            .send()
    };
    let bob = login(BOB.0, BOB.1).await.unwrap();
    assert_eq!(bob.status(), 200);
    let fp = common::auth::set_cookie_value(&bob, common::auth::FP).expect("fingerprint");
    let token: serde_json::Value = bob.json().await.unwrap();
    let who = new
        .get(gw.url("/headers"))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .header("cookie", format!("{}={fp}", common::auth::FP))
        .send()
        .await
        .unwrap();
    assert_eq!(who.status(), 200);
    let body: serde_json::Value = who.json().await.unwrap();
    assert_eq!(body["headers"]["x-auth-request-user"], "bob");
    assert_eq!(
        login(ALICE.0, ALICE.1).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}

/// Broken files on SIGHUP: each failure is logged by name and the last good
/// routes, users and certificate keep working; the process stays up.
#[tokio::test]
async fn sighup_with_bad_files_keeps_the_last_good_ones() {
    let mut gw = Gateway::start_with_users("", &[ALICE]).await;
    let alice = gw.sign_in(ALICE).await;

    // A TOML syntax error, a users file with a malformed hash, and a
    // certificate file that is not PEM, all at once.
    let good_config = std::fs::read_to_string(gw.config_path()).unwrap();
    std::fs::write(
        gw.config_path(),
        format!("{good_config}\n[[routes]\nprefix = "),
    )
    .unwrap();
    let users = gw.path("users.toml");
    let good_users = std::fs::read_to_string(&users).unwrap();
    std::fs::write(
        &users,
        "[[users]]\nusername = \"mallory\"\npassword_hash = \"$pbkdf2-sha256$i=oops\"\n",
    )
    .unwrap();
    std::fs::write(gw.path("cert.pem"), "not a certificate").unwrap();
    hup(&gw).await;
    for part in ["config", "users", "tls"] {
        gw.wait_for_log(&["reload.failed", &format!("\"part\":\"{part}\"")])
            .await;
    }
    assert!(
        gw.log_text().contains("users.toml"),
        "users error names the file"
    );
    check_still_serving(&mut gw, &alice).await;

    // A configuration that parses but holds an invalid route.
    std::fs::write(&users, good_users).unwrap();
    std::fs::write(
        gw.config_path(),
        good_config.replacen("policy = \"public\"", "policy = \"sometimes\"", 1),
    )
    .unwrap();
    assert!(
        std::fs::read_to_string(gw.config_path())
            .unwrap()
            .contains("sometimes")
    );
    hup(&gw).await;
    let line = gw
        .wait_for_log(&["reload.failed", "routes[", "policy"])
        .await;
    assert!(line.contains("keeping the current routes"), "{line}");
    check_still_serving(&mut gw, &alice).await;
}

/// The process runs, the old routes answer (`/public` public, `/`
/// authenticated), alice's session and password still work, and new
/// connections still get the original certificate.
async fn check_still_serving(gw: &mut Gateway, alice: &common::session::Login) {
    assert!(
        gw.wait_exit(Duration::ZERO).await.is_none(),
        "process exited"
    );
    let client = gw.client();
    let (_, body) = get_new(&client, gw, "/public/x").await;
    assert!(!body.contains(NO_ROUTE), "old public route: {body}");
    assert_eq!(
        client.get(gw.url("/other")).send().await.unwrap().status(),
        401
    );
    assert_eq!(gw.whoami(alice).await, Ok("alice".into()));
    gw.sign_in(ALICE).await;
}
