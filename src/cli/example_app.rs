//! `portcullis example-app [--listen ADDR]`: serves only the bundled
//! example app (plain HTTP), so a container image of the gateway can also
//! run the app it protects in a demo (see `docker-compose.yml`).

use std::net::SocketAddr;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

/// Default listen address: loopback, the sidecar layout.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";

/// Binds, prints the bound address, and serves until SIGTERM or Ctrl-C.
pub async fn run(listen: SocketAddr) -> anyhow::Result<ExitCode> {
    let app = match crate::example_app::bind(listen).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("portcullis example-app: cannot listen on {listen}: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    // A banner nobody reads (stdout closed) does not stop the app.
    let _ = super::out::outln!("example app listening on http://{}", app.local_addr());
    let shutdown = CancellationToken::new();
    super::spawn_signal_handler(shutdown.clone());
    app.serve(shutdown).await;
    Ok(ExitCode::SUCCESS)
}
