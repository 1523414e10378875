//! `portcullis serve` start-up and shutdown through the real binary: clear
//! errors and a non-zero exit for a port in use, an unreadable certificate
//! or key and a bad configuration; SIGTERM and Ctrl-C drain in-flight
//! requests within `shutdown_timeout_secs`, then exit 0.

use crate::common;

use std::time::{Duration, Instant};

use common::upstream::{Reply, Upstream};
use common::{Gateway, StartFailure};

async fn fails(extra: &str) -> StartFailure {
    let (upstream, _stop) = common::example_app().await;
    match Gateway::try_start_with_upstream(upstream, extra, &[]) {
        Ok(_) => panic!("started with {extra}"),
        Err(f) => f,
    }
}

/// A listen address in use (HTTPS or redirect listener) stops start-up with
/// a non-zero exit and a message naming the address.
#[tokio::test]
async fn port_in_use_names_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    for extra in [
        format!("[server]\nlisten = \"{addr}\"\n"),
        format!("[server]\nhttp_listen = \"{addr}\"\n"),
    ] {
        let f = fails(&extra).await;
        assert!(!f.status.success(), "{extra}");
        assert!(f.logs.contains(&addr.to_string()), "{extra}: {}", f.logs);
        assert!(f.logs.to_ascii_lowercase().contains("in use"), "{}", f.logs);
    }
}

/// A missing certificate or an unreadable key stops start-up with a
/// non-zero exit and a message naming the file.
#[tokio::test]
async fn missing_certificate_names_the_file() {
    let f = fails(
        "[tls]\ngenerate_dev_cert = false\ncert = \"{dir}/missing-cert.pem\"\nkey = \"{dir}/missing-key.pem\"\n",
    )
    .await;
    assert!(!f.status.success());
    assert!(f.logs.contains("missing-cert.pem"), "{}", f.logs);

    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    let (c, k) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let out = common::cli(&["certs", "dev", "--cert", c, "--key", k], &[]);
    assert!(out.status.success());
    std::fs::write(&key, "not a key").unwrap();
    let f = fails(&format!(
        "[tls]\ngenerate_dev_cert = false\ncert = \"{c}\"\nkey = \"{k}\"\n"
    ))
    .await;
    assert!(!f.status.success());
    assert!(f.logs.contains("k.pem"), "{}", f.logs);
}

/// `serve` with an invalid configuration exits non-zero and names the key.
#[tokio::test]
async fn bad_config_stops_serve() {
    let f = fails("[limits]\nidle_timeout_secs = 0\n[server]\nlisen = \"x\"\n").await;
    assert!(!f.status.success());
    assert!(f.logs.contains("limits.idle_timeout_secs"), "{}", f.logs);
    assert!(f.logs.contains("server.lisen"), "{}", f.logs);
}

/// An upstream that announces each request, then answers after `delay`.
async fn slow_upstream(delay: Duration) -> Upstream {
    Upstream::start(move |_| Reply {
        body: b"finished".to_vec(),
        delay,
        ..Reply::default()
    })
    .await
}

/// SIGTERM (and SIGINT) while a request is in flight: the request still
/// completes with 200, then the process exits 0 well within
/// `shutdown_timeout_secs`.
#[tokio::test]
async fn signal_drains_in_flight_requests() {
    for signal in ["-TERM", "-INT"] {
        let mut up = slow_upstream(Duration::from_millis(1500)).await;
        let mut gw =
            Gateway::start_with_upstream(up.addr, "[server]\nshutdown_timeout_secs = 10\n", &[])
                .await;
        let client = gw.client();
        let url = gw.url("/slow");
        let in_flight = tokio::spawn(async move { client.get(url).send().await });
        up.arrival().await;
        let signalled = Instant::now();
        let sent = std::process::Command::new("kill")
            .args([signal, &gw.pid().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let resp = in_flight
            .await
            .unwrap()
            .expect("in-flight request completes");
        assert_eq!(resp.status(), 200, "{signal}");
        assert_eq!(resp.text().await.unwrap(), "finished");
        let status = gw
            .wait_exit(Duration::from_secs(15))
            .await
            .unwrap_or_else(|| panic!("{signal}: still running; logs:\n{}", gw.log_text()));
        assert!(
            status.success(),
            "{signal}: {status}; logs:\n{}",
            gw.log_text()
        );
        assert!(
            signalled.elapsed() < Duration::from_secs(10),
            "{:?}",
            signalled.elapsed()
        );
        assert!(gw.log_text().contains("shutdown signal received"));
    }
}

/// A request that outlasts `shutdown_timeout_secs` does not hold the
/// process: it exits 0 about then, and the client's request fails rather
/// than hanging.
#[tokio::test]
async fn drain_gives_up_after_shutdown_timeout() {
    let mut up = slow_upstream(Duration::from_secs(60)).await;
    let mut gw =
        Gateway::start_with_upstream(up.addr, "[server]\nshutdown_timeout_secs = 1\n", &[]).await;
    let client = gw.client();
    let url = gw.url("/slow");
    let in_flight = tokio::spawn(async move { client.get(url).send().await });
    up.arrival().await;
    let signalled = Instant::now();
    gw.signal_term();
    let status = gw.wait_exit(Duration::from_secs(20)).await.expect("exits");
    let waited = signalled.elapsed();
    assert!(status.success(), "{status}");
    assert!(
        waited >= Duration::from_millis(900),
        "did not wait to drain: {waited:?}"
    );
    assert!(waited < Duration::from_secs(8), "waited {waited:?}");
    let result = tokio::time::timeout(Duration::from_secs(10), in_flight).await;
    assert!(result.expect("client not left hanging").unwrap().is_err());
}

/// After SIGTERM the listener closes at once: new connections are refused
/// while an in-flight request is still draining.
#[tokio::test]
async fn stops_accepting_while_draining() {
    let mut up = slow_upstream(Duration::from_secs(60)).await;
    let mut gw =
        Gateway::start_with_upstream(up.addr, "[server]\nshutdown_timeout_secs = 30\n", &[]).await;
    let client = gw.client();
    let url = gw.url("/slow");
    let _in_flight = tokio::spawn(async move { client.get(url).send().await });
    up.arrival().await;
    gw.signal_term();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if tokio::net::TcpStream::connect(gw.addr).await.is_err() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still accepting 10 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        gw.wait_exit(Duration::ZERO).await.is_none(),
        "exited instead of draining the in-flight request"
    );
}
