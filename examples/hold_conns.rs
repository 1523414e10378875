//! Opens many TLS keep-alive connections to a gateway, sends one request on
//! each (so every connection is a served HTTP/1.1 connection, not a bare
//! handshake) and holds them open, for the memory measurement in
//! `bench/load.sh`. Prints `holding N` once all are open, then waits until
//! its standard input closes (or `--secs` pass).
//!
//! Raise the open-file limit first (`ulimit -n 65536`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Holds TLS keep-alive connections open.
#[derive(Debug, Parser)]
struct Args {
    /// Gateway address.
    #[arg(long)]
    addr: SocketAddr,
    /// PEM certificate the gateway presents (trusted as the only root).
    #[arg(long)]
    cert: PathBuf,
    /// Connections to open.
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    /// Path requested once on each connection (a public route).
    #[arg(long, default_value = "/public/")]
    path: String,
    /// Handshakes in flight at once.
    #[arg(long, default_value_t = 64)]
    parallel: usize,
    /// Give up holding after this long even if stdin stays open.
    #[arg(long, default_value_t = 600)]
    secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let connector = connector(&args.cert)?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: hold_conns\r\n\r\n",
        args.path
    );
    let gate = Arc::new(tokio::sync::Semaphore::new(args.parallel.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.count {
        let permit = gate.clone().acquire_owned().await?;
        let (connector, request) = (connector.clone(), request.clone());
        let addr = args.addr;
        tasks.spawn(async move {
            let conn = open(&connector, addr, request.as_bytes()).await;
            drop(permit);
            conn
        });
    }
    let mut held = Vec::with_capacity(args.count);
    while let Some(done) = tasks.join_next().await {
        held.push(done??);
    }
    println!("holding {}", held.len());
    let mut stdin = BufReader::new(tokio::io::stdin());
    let mut line = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(args.secs), stdin.read_line(&mut line)).await;
    drop(held);
    Ok(())
}

/// A TLS client that trusts only the gateway's certificate, HTTP/1.1 only.
fn connector(cert: &PathBuf) -> anyhow::Result<TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(cert).context("certificate file")? {
        roots.add(c?)?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(cfg)))
}

/// Connects, sends `request`, reads the whole response, keeps the stream.
async fn open(
    connector: &TlsConnector,
    addr: SocketAddr,
    request: &[u8],
) -> anyhow::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost")?;
    let mut tls = connector.connect(name, tcp).await?;
    tls.write_all(request).await?;
    let mut reader = BufReader::new(&mut tls);
    let mut status = String::new();
    reader.read_line(&mut status).await?;
    if !status.starts_with("HTTP/1.1 200") {
        bail!("unexpected answer: {}", status.trim_end());
    }
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    if !reader.buffer().is_empty() {
        bail!("more bytes than the response");
    }
    Ok(tls)
}
