//! The whole in-process request pipeline, without the network between
//! client and gateway: a client speaks HTTP/1.1 to `Gateway::handle` over an
//! in-memory pipe, and the gateway forwards to a small upstream started on
//! loopback inside the bench (the pooled upstream client only speaks TCP).
//! No TLS and no log subscriber: what is measured is request parsing, the
//! pipeline stages, the upstream exchange and the response.
//!
//! Also `authenticate_*`: `AuthService::authenticate` alone, with the
//! verified-token cache hit and with the cache off.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue, Request, Response, header};
use http_body_util::{BodyExt, Empty, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use portcullis::auth::password::hash_password;
use portcullis::auth::users::{User, add_user};
use portcullis::clock::SystemClock;
use portcullis::config::raw::{RawConfig, RawRoute};
use portcullis::gateway::Gateway;
use portcullis::server::ConnInfo;
use tokio::runtime::Runtime;

/// A gateway in a temporary directory in front of `upstream`, with user
/// `bench`; `cache` verified tokens kept (0: off).
async fn gateway(dir: &std::path::Path, upstream: SocketAddr, cache: u64) -> Arc<Gateway> {
    std::fs::create_dir_all(dir).expect("bench directory");
    let mut raw = RawConfig::default();
    raw.server.data_dir = dir.display().to_string();
    raw.auth.users_file = dir.join("users.toml").display().to_string();
    raw.auth.verified_cache_entries = cache;
    raw.admin.listen = None;
    let route = |prefix: &str, policy: &str| RawRoute {
        prefix: prefix.into(),
        upstream: Some(format!("http://{upstream}")),
        policy: Some(policy.into()),
        ..RawRoute::default()
    };
    raw.routes = vec![route("/", "authenticated"), route("/public", "public")];
    let config = portcullis::config::from_raw(raw, dir).expect("bench config");
    let hash = hash_password("bench-password-1234").expect("hash");
    let user = User::new("bench", None, vec!["user".into()], hash).expect("user");
    add_user(&config.auth.users_file, &user).expect("users file");
    Arc::new(
        Gateway::new(Arc::new(config), Arc::new(SystemClock))
            .await
            .expect("gateway"),
    )
}

/// A loopback upstream answering every request with a small 200.
async fn upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = tcp.set_nodelay(true);
            let svc = service_fn(|_req| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok\n"))))
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), svc),
            );
        }
    });
    addr
}

/// A keep-alive HTTP/1.1 connection to `gw` over an in-memory pipe.
async fn connect(gw: Arc<Gateway>) -> SendRequest<Empty<Bytes>> {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let info = ConnInfo {
        peer: "127.0.0.1:40000".parse().expect("addr"),
        local: "127.0.0.1:8443".parse().expect("addr"),
    };
    let svc = service_fn(move |req| {
        let gw = gw.clone();
        async move { Ok::<_, Infallible>(gw.handle(req, info).await) }
    });
    tokio::spawn(
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(server), svc),
    );
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(client))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    sender
}

/// `Authorization` and fingerprint cookie headers for a fresh token.
fn credentials(gw: &Gateway) -> HeaderMap {
    let issued = gw
        .auth()
        .issue("bench", &["user".to_string()], "bench-session")
        .expect("issue");
    let mut h = HeaderMap::new();
    let bearer = format!("Bearer {}", issued.access_token);
    h.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&bearer).expect("ascii"),
    );
    let cookie = format!("__Host-portcullis-fp={}", issued.fingerprint);
    h.insert(
        header::COOKIE,
        HeaderValue::from_str(&cookie).expect("ascii"),
    );
    h
}

/// Sends one GET and reads the whole answer, which must be 200.
async fn get(sender: &mut SendRequest<Empty<Bytes>>, path: &str, creds: &HeaderMap) {
    let mut req = Request::get(path)
        .header(header::HOST, "localhost")
        .header(header::USER_AGENT, "bench")
        .body(Empty::new())
        .expect("request");
    req.headers_mut().extend(creds.clone());
    sender.ready().await.expect("ready");
    let resp = sender.send_request(req).await.expect("response");
    assert_eq!(resp.status(), 200, "{path}");
    resp.into_body().collect().await.expect("body");
}

fn pipeline(c: &mut Criterion) {
    let rt = Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let (cached, uncached) = rt.block_on(async {
        let up = upstream().await;
        let on = gateway(&dir.path().join("on"), up, 10_000).await;
        let off = gateway(&dir.path().join("off"), up, 0).await;
        (on, off)
    });
    let none = HeaderMap::new();
    let mut public = rt.block_on(connect(cached.clone()));
    c.bench_function("pipeline_public", |b| {
        b.iter(|| rt.block_on(get(&mut public, "/public/index.html", &none)))
    });
    for (name, gw) in [
        ("pipeline_authenticated_cached", &cached),
        ("pipeline_authenticated_uncached", &uncached),
    ] {
        let creds = credentials(gw);
        let mut conn = rt.block_on(connect(gw.clone()));
        c.bench_function(name, |b| {
            b.iter(|| rt.block_on(get(&mut conn, "/app/index.html", &creds)))
        });
    }
    for (name, gw) in [
        ("authenticate_cached", &cached),
        ("authenticate_uncached", &uncached),
    ] {
        let creds = credentials(gw);
        c.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(gw.auth().authenticate(&creds))
                    .expect("authenticated")
            })
        });
    }
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
