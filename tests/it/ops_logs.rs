//! Structured logs through the real binary: a full flow (JSON and form
//! login, proxied requests with a Bearer token and with cookies, refresh,
//! logout, logout-all, a wrong password, bad tokens, a fingerprint
//! mismatch, a hash upgrade) writes JSON lines with the stable event names
//! and the required fields, masks the email-shaped user name, and never
//! writes any secret the flow used.

use crate::common;

use common::Gateway;
use common::auth::{post_form, set_cookie_value};
use common::session::{Jar, Login};
use portcullis::auth::users::{User, add_user};

/// Random text no log line could contain by chance.
fn random(tag: &str) -> String {
    format!(
        "{tag}-{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    )
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A PHC string with only 1,000 PBKDF2 iterations: outdated, so the first
/// login upgrades it (`auth.password.changed`).
fn outdated_hash(password: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let salt: [u8; 16] = rand::random();
    let mut out = [0u8; 32];
    portcullis::auth::password::pbkdf2_sha256(password.as_bytes(), &salt, 1000, &mut out);
    format!(
        "$pbkdf2-sha256$i=1000,l=32${}${}",
        b64.encode(salt),
        b64.encode(out)
    )
}

/// Every event name the flow below must produce.
const EVENTS: &[&str] = &[
    "auth.login.success",
    "auth.login.failure",
    "auth.session.created",
    "auth.password.changed",
    "auth.token.refresh",
    "auth.token.refresh.failure",
    "auth.token.verify.failure",
    "auth.security.fingerprint_mismatch",
    "auth.logout",
    "auth.logout.all",
];

const USER: &str = "carol.ops@example.com";
const MASKED: &str = "c***@example.com";

/// Runs the flow; returns every secret value it used.
async fn flow(gw: &Gateway, password: &str) -> Vec<String> {
    let mut secrets = vec![password.to_string()];
    let keep = |secrets: &mut Vec<String>, jar: &Jar| {
        for name in [
            "__Host-portcullis-fp",
            "__Host-portcullis-at",
            "__Host-portcullis-rt",
        ] {
            if let Some(v) = jar.get(name) {
                secrets.push(v.to_string());
                // The refresh token's part after the public session id.
                if let Some((_, random)) = v.split_once('.') {
                    secrets.push(random.to_string());
                }
            }
        }
    };
    // JSON login (upgrades the outdated hash), then a proxied request with
    // `Authorization: Bearer` and one with the browser's cookies.
    let json = Login::from_response(gw.login_raw(USER, password, "ops-logs").await).await;
    secrets.push(json.access_token.clone());
    keep(&mut secrets, &json.jar);
    assert_eq!(gw.whoami(&json).await, Ok(USER.into()));
    let cookies = gw
        .client()
        .get(gw.url("/headers"))
        .header("cookie", json.jar.header());
    assert_eq!(cookies.send().await.unwrap().status(), 200);
    gw.wait_for_log(&["auth.password.changed"]).await;

    // Form login.
    let client = gw.client();
    let form = post_form(gw, &client, &[("username", USER), ("password", password)]).await;
    assert_eq!(form.status(), 303, "form login");
    let form_jar = Jar::from_headers(form.headers());
    keep(&mut secrets, &form_jar);
    assert!(set_cookie_value(&form, "__Host-portcullis-at").is_some());

    // Refresh, then refused requests: a forged and a random token, a
    // fingerprint that does not match, an unknown refresh token, a wrong
    // password.
    let refreshed = gw.refresh(&json.jar).await;
    secrets.push(refreshed.access_token.clone());
    keep(&mut secrets, &refreshed.jar);
    let forged = Login {
        access_token: format!("{}A", refreshed.access_token),
        ..refreshed.clone()
    };
    assert!(gw.whoami(&forged).await.is_err());
    let garbage = random("eyJnotatoken");
    secrets.push(garbage.clone());
    let garbage_login = Login {
        access_token: garbage,
        ..refreshed.clone()
    };
    assert!(gw.whoami(&garbage_login).await.is_err());
    let other_fp = random("fp");
    secrets.push(other_fp.clone());
    let mismatch = Login {
        jar: refreshed.jar.with("__Host-portcullis-fp", &other_fp),
        ..refreshed.clone()
    };
    assert!(gw.whoami(&mismatch).await.is_err());
    // Well formed (the real session id, 32 other random bytes) but unknown.
    let sid = refreshed.jar.rt().split_once('.').expect("sid.random").0;
    let bad_rt = format!("{sid}.{}", b64url(&rand::random::<[u8; 32]>()));
    secrets.push(bad_rt.clone());
    let resp = gw
        .refresh_raw(&refreshed.jar.with("__Host-portcullis-rt", &bad_rt))
        .await;
    assert_eq!(resp.status(), 401);
    let wrong = random("wrong-password");
    secrets.push(wrong.clone());
    assert_eq!(gw.login_raw(USER, &wrong, "ops-logs").await.status(), 401);

    // Logout, then logout-all from the form session.
    assert_eq!(
        gw.post_with("/auth/logout", &refreshed.jar).await.status(),
        200
    );
    assert_eq!(
        gw.post_with("/auth/logout-all", &form_jar).await.status(),
        200
    );
    gw.wait_for_log(&["auth.logout.all"]).await;
    gw.wait_for_log(&["portcullis::access", "/auth/logout-all"])
        .await;
    secrets
}

/// The whole flow's log: required fields on every line, the event names,
/// the masked user on the events and the access log, and no secret.
#[tokio::test]
async fn logs_carry_events_and_no_secret() {
    let (upstream, stop) = common::example_app().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let password = random("pw");
    let user = User::new(USER, None, vec![], outdated_hash(&password)).expect("user");
    add_user(&dir.path().join("users.toml"), &user).expect("users file");
    let config = common::auth::routes(upstream);
    let gw = Gateway::start_in(dir, upstream, &config, &[]);
    let secrets = flow(&gw, &password).await;
    drop(stop);

    let text = gw.log_text();
    for secret in &secrets {
        assert!(
            secret.len() >= 16,
            "secret too short to mean anything: {secret}"
        );
        assert!(
            !text.contains(secret.as_str()),
            "secret {secret} logged:\n{text}"
        );
    }
    assert!(!text.contains(USER), "unmasked email logged:\n{text}");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for line in &lines {
        for field in ["timestamp", "level", "message", "service", "target"] {
            assert!(line[field].is_string(), "no {field}: {line}");
        }
        assert_eq!(line["service"], "portcullis");
    }
    let event = |name: &str| lines.iter().find(|l| l["event"] == name);
    for name in EVENTS {
        let found = event(name).unwrap_or_else(|| panic!("no {name}:\n{text}"));
        assert!(
            found["request_id"].is_string(),
            "{name} without request id: {found}"
        );
    }
    let success = event("auth.login.success").unwrap();
    assert_eq!(success["user"], MASKED, "{success}");
    assert!(success["sid"].is_string(), "{success}");
    // The access log: its own target, the request id, and the user and
    // session of an authenticated request.
    let proxied = lines
        .iter()
        .find(|l| {
            l["target"] == "portcullis::access" && l["path"] == "/headers" && l["status"] == 200
        })
        .unwrap_or_else(|| panic!("no access line for /headers:\n{text}"));
    assert_eq!(proxied["user"], MASKED, "{proxied}");
    assert!(
        proxied["sid"].is_string() && proxied["request_id"].is_string(),
        "{proxied}"
    );
}

/// A refresh after the session's idle timeout is refused and logged as
/// `auth.session.expired` with the (masked) user and the session id.
#[tokio::test]
async fn expired_session_is_logged_on_refresh() {
    let (upstream, stop) = common::example_app().await;
    let _stop = stop.drop_guard();
    let dir = tempfile::tempdir().expect("tempdir");
    let password = random("pw");
    let user = User::new(USER, None, vec![], outdated_hash(&password)).expect("user");
    add_user(&dir.path().join("users.toml"), &user).expect("users file");
    let config = format!(
        "{}\n[session]\nidle_timeout_secs = 1\n",
        common::auth::routes(upstream)
    );
    let gw = Gateway::start_in(dir, upstream, &config, &[]);
    let login = Login::from_response(gw.login_raw(USER, &password, "ops-logs").await).await;
    let sid = login
        .jar
        .rt()
        .split_once('.')
        .expect("sid.random")
        .0
        .to_string();
    // Session time is whole seconds: 2.2 s is past a 1 s idle timeout.
    tokio::time::sleep(std::time::Duration::from_millis(2200)).await;
    assert_eq!(gw.refresh_raw(&login.jar).await.status(), 401);
    let line = gw.wait_for_log(&["auth.session.expired"]).await;
    let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(v["user"], MASKED, "{line}");
    assert_eq!(v["sid"], sid.as_str(), "{line}");
    assert!(v["request_id"].is_string(), "{line}");
}

/// A TLS 1.2 ClientHello whose SNI is the text of an IP address, which
/// rustls reports with a warning (RFC 6066 allows host names only).
fn client_hello_with_ip_sni() -> Vec<u8> {
    let name = b"127.0.0.1";
    let mut sni = vec![0x00]; // host_name
    sni.extend((name.len() as u16).to_be_bytes());
    sni.extend(name);
    let mut ext = vec![0x00, 0x00]; // server_name
    ext.extend((sni.len() as u16 + 2).to_be_bytes());
    ext.extend((sni.len() as u16).to_be_bytes());
    ext.extend(sni);
    let mut hello = vec![0x03, 0x03];
    hello.extend(rand::random::<[u8; 32]>());
    hello.push(0); // no session id
    hello.extend([0x00, 0x04, 0xc0, 0x2f, 0x13, 0x01]); // two suites
    hello.extend([0x01, 0x00]); // null compression
    hello.extend((ext.len() as u16).to_be_bytes());
    hello.extend(ext);
    let mut handshake = vec![0x01];
    handshake.extend(&(hello.len() as u32).to_be_bytes()[1..]);
    handshake.extend(hello);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend((handshake.len() as u16).to_be_bytes());
    record.extend(handshake);
    record
}

/// Sends the odd ClientHello, waits for the gateway to end that connection,
/// then makes a normal request to `path` and waits for its access line, so
/// anything the handshake logged is in the log by then.
async fn odd_handshake_then_request(gw: &Gateway, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(gw.addr)
        .await
        .expect("connect");
    tcp.write_all(&client_hello_with_ip_sni())
        .await
        .expect("hello");
    let mut rest = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tcp.read_to_end(&mut rest),
    );
    // An alert then close (or a reset): either way the handshake is over.
    let _ = read.await.expect("gateway ended the handshake");
    gw.client().get(gw.url(path)).send().await.expect("request");
    gw.wait_for_log(&["portcullis::access", path]).await;
    gw.log_text()
}

/// A client cannot make the gateway write a warning per connection with an
/// odd handshake (log flooding): rustls's peer-triggered warnings are off
/// at every level unless a directive names rustls, which brings them back
/// as ordinary JSON lines with rustls's own target.
#[tokio::test]
async fn peer_triggered_tls_warnings_stay_out_of_the_log() {
    let quiet = Gateway::start("[log]\nlevel = \"debug\"\n").await;
    let text = odd_handshake_then_request(&quiet, "/after-odd-sni").await;
    assert!(!text.contains("Illegal SNI"), "rustls warned:\n{text}");

    let named = Gateway::start("[log]\nlevel = \"info,rustls=warn\"\n").await;
    let text = odd_handshake_then_request(&named, "/after-odd-sni").await;
    let line = text
        .lines()
        .find(|l| l.contains("Illegal SNI"))
        .unwrap_or_else(|| {
            panic!("rustls=warn shows the warning (and the hello triggers it):\n{text}")
        });
    // A dependency's `log` record reads like our own lines: its real target,
    // no `log.*` bookkeeping fields.
    let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
    assert_eq!(v["target"], "rustls::msgs::handshake", "{line}");
    assert_eq!(v["level"], "WARN", "{line}");
    assert_eq!(v["service"], "portcullis", "{line}");
    assert!(
        v.as_object()
            .unwrap()
            .keys()
            .all(|k| !k.starts_with("log.")),
        "{line}"
    );
}
