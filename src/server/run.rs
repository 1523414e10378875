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
    /// The admin listener, if configured.
    pub admin: Option<SocketAddr>,
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

/// Runs until `shutdown` is cancelled, then drains. `source` is where the
/// configuration came from, for SIGHUP to read it again.
pub async fn run(
    config: Arc<Config>,
    source: super::reload::ConfigSource,
    shutdown: CancellationToken,
    ready: Option<oneshot::Sender<Bound>>,
) -> Result<(), StartError> {
    let tls_config = tls::server_config(&config.tls)?;
    let (tls_tx, tls_rx) = watch::channel(tls_config);
    let https = bind(config.server.listen).await?;
    let port = https.local_addr().map(|a| a.port()).unwrap_or(0);
    let config = Arc::new(Config::clone(&config).with_bound_port(port));
    let clock = Arc::new(crate::clock::SystemClock);
    let gateway = Arc::new(Gateway::new(config.clone(), clock).await?);
    super::reload::spawn(
        config.clone(),
        source,
        gateway.clone(),
        tls_tx,
        shutdown.clone(),
    );
    crate::auth::rotation::spawn(gateway.auth().clone(), shutdown.clone());
    if let Some(shared) = gateway.auth().shared_keys() {
        shared
            .clone()
            .spawn(gateway.auth().watch_ring(), shutdown.clone());
    }
    let auth = gateway.auth().clone();
    let keep = std::time::Duration::from_secs(crate::auth::service::grace_secs(auth.settings()));
    let stop = shutdown.clone();
    tokio::spawn(async move { auth.sessions().follow_revocations(keep, stop).await });
    let auth = gateway.auth().clone();
    let stop = shutdown.clone();
    tokio::spawn(async move { auth.sessions().purge_periodically(stop).await });
    crate::ratelimit::spawn_maintenance(gateway.auth().limiter().clone(), shutdown.clone());
    let http = match config.server.http_listen {
        Some(addr) => Some(bind(addr).await?),
        None => None,
    };
    let admin = match config.admin_listen {
        Some(addr) => Some(bind(addr).await?),
        None => None,
    };
    let bound = Bound {
        https: https.local_addr().unwrap_or(config.server.listen),
        http: http.as_ref().and_then(|l| l.local_addr().ok()),
        admin: admin.as_ref().and_then(|l| l.local_addr().ok()),
    };
    if let Some(l) = admin {
        tokio::spawn(crate::admin::serve(l, gateway.clone(), shutdown.clone()));
    }
    start_metrics(&gateway, &config, &shutdown);
    let text = |a: Option<SocketAddr>| a.map(|a| a.to_string()).unwrap_or_default();
    let handle = tokio::runtime::Handle::current();
    let runtime = match handle.runtime_flavor() {
        tokio::runtime::RuntimeFlavor::CurrentThread => "current_thread",
        _ => "multi_thread",
    };
    let workers = handle.metrics().num_workers();
    tracing::info!(
        https = %bound.https,
        http = %text(bound.http),
        admin = %text(bound.admin),
        runtime,
        workers,
        "listening"
    );
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

/// Dates the served certificate and starts recounting live sessions.
fn start_metrics(gateway: &Arc<Gateway>, config: &Config, shutdown: &CancellationToken) {
    match tls::expiry::leaf_not_after(&config.tls.cert) {
        Ok(not_after) => gateway.metrics().set_certificate_not_after(not_after),
        Err(e) => tracing::warn!(error = %e, "certificate expiry not exported"),
    }
    let (gateway, stop) = (gateway.clone(), shutdown.clone());
    tokio::spawn(async move {
        let sessions = gateway.auth().sessions();
        gateway.metrics().count_sessions(sessions, stop).await;
    });
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}
