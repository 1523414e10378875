//! Starts everything `serve` needs: TLS, the gateway, the HTTPS and redirect
//! listeners; stops them together.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::gateway::{Gateway, GatewayError};
use crate::tls::{self, TlsError};

/// Addresses actually bound (useful with port 0).
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    /// The HTTPS listener.
    pub https: SocketAddr,
    /// The redirect listener, if configured.
    pub http: Option<SocketAddr>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error (e.g. address in use).
        source: std::io::Error,
    },
    /// TLS set-up failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The gateway could not be built.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
}

/// Runs until `shutdown` is cancelled, then drains.
pub async fn run(
    config: Arc<Config>,
    shutdown: CancellationToken,
    ready: Option<oneshot::Sender<Bound>>,
) -> Result<(), StartError> {
    let tls_config = tls::server_config(&config.tls)?;
    let (_tls_tx, tls_rx) = watch::channel(tls_config);
    let https = bind(config.server.listen).await?;
    let http = match config.server.http_listen {
        Some(addr) => Some(bind(addr).await?),
        None => None,
    };
    let bound = Bound {
        https: https.local_addr().unwrap_or(config.server.listen),
        http: http.as_ref().and_then(|l| l.local_addr().ok()),
    };
    let config = with_bound_port(config, bound.https);
    let gateway = Arc::new(Gateway::new(
        config.clone(),
        Arc::new(crate::clock::SystemClock),
    )?);
    let http_addr = bound.http.map(|a| a.to_string()).unwrap_or_default();
    tracing::info!(https = %bound.https, http = %http_addr, "listening");
    if let Some(tx) = ready {
        let _ = tx.send(bound);
    }
    let redirect = http.map(|l| {
        tokio::spawn(super::redirect::serve(
            l,
            config.server.public_origin.clone(),
            shutdown.clone(),
        ))
    });
    super::serve_https(
        https,
        tls_rx,
        gateway.clone(),
        shutdown,
        config.server.shutdown_timeout,
    )
    .await;
    gateway.stop();
    if let Some(r) = redirect {
        let _ = r.await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// With `listen` on port 0 the default origin reads `https://localhost:0`,
/// which no redirect, `X-Forwarded-Host` or token issuer should carry: name
/// the port actually bound instead.
fn with_bound_port(config: Arc<Config>, https: SocketAddr) -> Arc<Config> {
    const PORT_ZERO: &str = "https://localhost:0";
    if config.server.listen.port() != 0 || config.server.public_origin != PORT_ZERO {
        return config;
    }
    let mut c = (*config).clone();
    c.server.public_origin = format!("https://localhost:{}", https.port());
    if c.auth.issuer == PORT_ZERO {
        c.auth.issuer = c.server.public_origin.clone();
    }
    Arc::new(c)
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}
