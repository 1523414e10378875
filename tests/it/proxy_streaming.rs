//! Bodies stream both ways through the real binary, over HTTP/1.1 and
//! HTTP/2: a 64 MiB upload echoes back intact, a 256 MiB download arrives
//! whole, and the gateway's memory stays flat while 512 MiB flows through it
//! in each direction at once.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use common::Gateway;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

const MIB: u64 = 1024 * 1024;

/// One public route to the example app with the body cap raised to 1 GiB.
const BIG_BODIES: &str = r#"
[limits]
max_body_bytes = 1073741824

[[routes]]
prefix = "/"
upstream = "http://{upstream}"
policy = "public"
max_body_bytes = 1073741824
"#;

/// The HTTP versions a client can speak to the gateway.
#[derive(Debug, Clone, Copy)]
enum Proto {
    H1,
    H2,
}

fn client(gw: &Gateway, proto: Proto) -> reqwest::Client {
    let b = gw.client_builder().timeout(Duration::from_secs(300));
    match proto {
        Proto::H1 => b.http1_only(),
        Proto::H2 => b.http2_prior_knowledge(),
    }
    .build()
    .expect("client")
}

fn expected_version(proto: Proto) -> reqwest::Version {
    match proto {
        Proto::H1 => reqwest::Version::HTTP_11,
        Proto::H2 => reqwest::Version::HTTP_2,
    }
}

/// `n` deterministic pseudo-random bytes in 64 KiB chunks (xorshift64), so
/// a shifted, dropped or repeated chunk changes the hash.
fn random_chunks(n: u64, seed: u64) -> impl Iterator<Item = Bytes> {
    let mut state = seed | 1;
    let mut left = n;
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let len = left.min(64 * 1024) as usize;
        left -= len as u64;
        let mut chunk = Vec::with_capacity(len + 8);
        while chunk.len() < len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.extend_from_slice(&state.to_le_bytes());
        }
        chunk.truncate(len);
        Some(Bytes::from(chunk))
    })
}

fn sha256_of(chunks: impl Iterator<Item = Bytes>) -> Vec<u8> {
    let mut h = Sha256::new();
    chunks.for_each(|c| h.update(&c));
    h.finalize().to_vec()
}

/// A 64 MiB POST to `/echo` comes back byte for byte (SHA-256 compared),
/// over HTTP/1.1 and HTTP/2, with the length the upstream received.
#[tokio::test]
async fn upload_echoes_back_intact() {
    let gw = Gateway::start(BIG_BODIES).await;
    let size = 64 * MIB;
    let want = sha256_of(random_chunks(size, 7));
    for proto in [Proto::H1, Proto::H2] {
        let stream =
            futures_util::stream::iter(random_chunks(size, 7).map(Ok::<_, std::io::Error>));
        let resp = client(&gw, proto)
            .post(gw.url("/echo"))
            .header("content-type", "application/octet-stream")
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{proto:?}");
        assert_eq!(resp.version(), expected_version(proto));
        let mut h = Sha256::new();
        let mut got = 0u64;
        let mut body = resp.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.expect("body chunk");
            got += chunk.len() as u64;
            h.update(&chunk);
        }
        assert_eq!(got, size, "{proto:?}: echoed length");
        assert_eq!(
            h.finalize().to_vec(),
            want,
            "{proto:?}: echoed bytes differ"
        );
    }
}

/// A 256 MiB download from `/bytes/N` arrives whole, every byte `k` being
/// `k % 256`, over both versions.
#[tokio::test]
async fn large_download_passes() {
    let gw = Gateway::start(BIG_BODIES).await;
    let size = 256 * MIB;
    for proto in [Proto::H1, Proto::H2] {
        let resp = client(&gw, proto)
            .get(gw.url(&format!("/bytes/{size}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.version(), expected_version(proto));
        let mut offset = 0u64;
        let mut body = resp.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.expect("body chunk");
            for (i, b) in chunk.iter().enumerate() {
                if *b != ((offset + i as u64) % 256) as u8 {
                    panic!("{proto:?}: byte {} is {b}", offset + i as u64);
                }
            }
            offset += chunk.len() as u64;
        }
        assert_eq!(offset, size, "{proto:?}: downloaded length");
    }
}

/// While 512 MiB is uploaded to `/echo` and echoed back at the same time,
/// the gateway's resident memory grows by less than 100 MiB: neither
/// direction is buffered.
#[tokio::test]
async fn memory_stays_flat_during_512_mib_transfer() {
    let gw = Gateway::start(BIG_BODIES).await;
    let client = client(&gw, Proto::H1);
    // Warm up: connection pools, TLS sessions, allocator arenas.
    let warm = client.post(gw.url("/echo")).body(vec![1u8; 4 << 20]).send();
    assert_eq!(warm.await.unwrap().bytes().await.unwrap().len(), 4 << 20);
    let baseline = rss_of(gw.pid()).expect("VmRSS");

    let peak = Arc::new(AtomicU64::new(baseline));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done, pid) = (peak.clone(), done.clone(), gw.pid());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                if let Some(kib) = rss_of(pid) {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    let size = 512 * MIB;
    let chunk = Bytes::from(vec![0x5au8; 256 * 1024]);
    let count = size / chunk.len() as u64;
    let upload =
        futures_util::stream::iter((0..count).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    let resp = client
        .post(gw.url("/echo"))
        .body(reqwest::Body::wrap_stream(upload))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut got = 0u64;
    let mut body = resp.bytes_stream();
    while let Some(c) = body.next().await {
        let c = c.expect("body chunk");
        assert!(c.iter().all(|&b| b == 0x5a), "echoed bytes differ");
        got += c.len() as u64;
    }
    done.store(true, Ordering::Relaxed);
    sampler.await.unwrap();
    assert_eq!(got, size);
    let growth_mib = (peak.load(Ordering::Relaxed).saturating_sub(baseline)) / 1024;
    eprintln!(
        "baseline {baseline} KiB, peak {} KiB",
        peak.load(Ordering::Relaxed)
    );
    assert!(
        growth_mib < 100,
        "RSS grew by {growth_mib} MiB during a 512 MiB transfer (baseline {} MiB)",
        baseline / 1024
    );
}

fn rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Plain requests work over both versions, with the negotiated version
/// visible to the client and the request reaching the example app.
#[tokio::test]
async fn http1_and_http2_both_serve() {
    let gw = Gateway::start("").await;
    for proto in [Proto::H1, Proto::H2] {
        let c = client(&gw, proto);
        let resp = c.get(gw.url("/headers?v=1")).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{proto:?}");
        assert_eq!(resp.version(), expected_version(proto), "{proto:?}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["path"], "/headers");
        assert_eq!(body["query"], "v=1");
        let resp = c.post(gw.url("/echo")).body("hello").send().await.unwrap();
        assert_eq!(resp.version(), expected_version(proto));
        assert_eq!(resp.text().await.unwrap(), "hello", "{proto:?}");
    }
    // A client offering both protocols gets HTTP/2 from ALPN.
    let resp = gw.client().get(gw.url("/")).send().await.unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
}
