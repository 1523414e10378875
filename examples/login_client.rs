//! Logins against a running gateway, for `bench/load.sh`:
//!
//! - `mint N FILE`: logs in N times and writes one `token fingerprint` line
//!   per login (tokens for the load generator);
//! - `flood --rate R --secs S`: R logins per second for S seconds whatever
//!   the answers (an open loop, like an attacker), then the count of each
//!   status;
//! - `saturate --concurrency C --secs S`: C logins in flight at all times;
//!   prints the successful logins per second.
//!
//! The password comes from `BENCH_PASSWORD`, never from the command line.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use tokio::sync::Mutex;

/// Logs in to a gateway many times.
#[derive(Debug, Parser)]
struct Args {
    /// Base URL of the gateway, e.g. https://127.0.0.1:8443.
    #[arg(long)]
    url: String,
    /// PEM certificate the gateway presents (trusted as the only root).
    #[arg(long)]
    cert: PathBuf,
    /// User to log in as.
    #[arg(long)]
    user: String,
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Subcommand)]
enum What {
    /// Log in N times; write `token fingerprint` lines to FILE.
    Mint { count: usize, file: PathBuf },
    /// R logins per second for S seconds, whatever the answers.
    Flood {
        #[arg(long, default_value_t = 20.0)]
        rate: f64,
        #[arg(long, default_value_t = 10)]
        secs: u64,
    },
    /// C logins in flight for S seconds; prints successful logins/s.
    Saturate {
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        secs: u64,
    },
}

/// What one login needs.
struct Login {
    client: reqwest::Client,
    url: String,
    body: serde_json::Value,
}

impl Login {
    /// Posts the login; the status, and the token and fingerprint on 200.
    async fn once(&self) -> anyhow::Result<(u16, Option<(String, String)>)> {
        let resp = self.client.post(&self.url).json(&self.body).send().await?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Ok((status, None));
        }
        let fp = resp
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("__Host-portcullis-fp="))
            .and_then(|c| c.split(';').next())
            .context("no fingerprint cookie")?
            .to_string();
        let body: serde_json::Value = resp.json().await?;
        let token = body["access_token"]
            .as_str()
            .context("no access_token")?
            .to_string();
        Ok((status, Some((token, fp))))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let password = std::env::var("BENCH_PASSWORD").context("set BENCH_PASSWORD")?;
    let cert = reqwest::Certificate::from_pem(&std::fs::read(&args.cert)?)?;
    let client = reqwest::Client::builder()
        .tls_certs_only([cert])
        .timeout(Duration::from_secs(30))
        .build()?;
    let login = Arc::new(Login {
        client,
        url: format!("{}/auth/login", args.url.trim_end_matches('/')),
        body: serde_json::json!({ "username": args.user, "password": password }),
    });
    match args.what {
        What::Mint { count, file } => mint(&login, count, &file).await,
        What::Flood { rate, secs } => flood(login, rate, secs).await,
        What::Saturate { concurrency, secs } => saturate(login, concurrency, secs).await,
    }
}

/// Logs in `count` times, a few at a time, and writes the pairs.
async fn mint(login: &Arc<Login>, count: usize, file: &PathBuf) -> anyhow::Result<()> {
    let lines = Arc::new(Mutex::new(Vec::with_capacity(count)));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..count.min(4) {
        let (login, lines) = (login.clone(), lines.clone());
        tasks.spawn(async move {
            loop {
                if lines.lock().await.len() >= count {
                    return anyhow::Ok(());
                }
                match login.once().await? {
                    (200, Some((t, fp))) => lines.lock().await.push(format!("{t} {fp}")),
                    (status, _) => bail!("login answered {status}"),
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let mut lines = lines.lock().await;
    lines.truncate(count);
    std::fs::write(file, lines.join("\n") + "\n")?;
    Ok(())
}

/// Starts a login every `1/rate` seconds for `secs`; prints status counts.
async fn flood(login: Arc<Login>, rate: f64, secs: u64) -> anyhow::Result<()> {
    if rate <= 0.0 {
        bail!("--rate must be positive");
    }
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let end = Instant::now() + Duration::from_secs(secs);
    let mut tasks = tokio::task::JoinSet::new();
    while Instant::now() < end {
        tick.tick().await;
        let login = login.clone();
        tasks.spawn(async move { login.once().await.map(|(s, _)| s) });
    }
    let mut counts = BTreeMap::new();
    while let Some(done) = tasks.join_next().await {
        let key = match done? {
            Ok(status) => status.to_string(),
            Err(_) => "error".to_string(),
        };
        *counts.entry(key).or_insert(0u64) += 1;
    }
    println!("flood {counts:?}");
    Ok(())
}

/// Keeps `concurrency` logins in flight for `secs`; prints logins/s.
async fn saturate(login: Arc<Login>, concurrency: usize, secs: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    let end = started + Duration::from_secs(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let login = login.clone();
        tasks.spawn(async move {
            let (mut ok, mut other) = (0u64, 0u64);
            while Instant::now() < end {
                match login.once().await {
                    Ok((200, _)) => ok += 1,
                    _ => other += 1,
                }
            }
            (ok, other)
        });
    }
    let (mut ok, mut other) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        let (o, x) = done?;
        ok += o;
        other += x;
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "saturate ok={ok} other={other} secs={took:.2} logins_per_sec={:.2}",
        ok as f64 / took
    );
    Ok(())
}
