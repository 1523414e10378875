//! Runs the bundled example upstream on its own, in front of nothing:
//! `cargo run --example legacy_app -- --listen 127.0.0.1:8080`.
//! Ctrl-C stops it.

use std::net::SocketAddr;

use clap::Parser;
use tokio_util::sync::CancellationToken;

/// A plain-HTTP "legacy app" that shows what the gateway tells it.
#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let app = portcullis::example_app::bind(args.listen).await?;
    println!("legacy app listening on http://{}", app.local_addr());
    let shutdown = CancellationToken::new();
    let on_ctrl_c = shutdown.clone();
    tokio::spawn(async move {
        // If the signal handler cannot be installed, run until killed.
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
    });
    app.serve(shutdown).await;
    Ok(())
}
