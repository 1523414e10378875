//! SIGHUP: reload the TLS certificate, the users file and the signing keys.
//! A file that fails to load is logged and the last good value is kept.

use std::sync::Arc;

use rustls::ServerConfig;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::gateway::Gateway;

/// Installs the SIGHUP handler now (so the signal never kills the process)
/// and reloads on every signal until `shutdown`.
pub fn spawn(
    config: Arc<Config>,
    gateway: Arc<Gateway>,
    tls: watch::Sender<Arc<ServerConfig>>,
    shutdown: CancellationToken,
) {
    let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup());
    let mut hup = match signal {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "SIGHUP handler not installed; reload needs a restart");
            return;
        }
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                Some(()) = hup.recv() => reload(&config, &gateway, &tls).await,
                _ = shutdown.cancelled() => return,
            }
        }
    });
}

/// Reloads everything that can change on disk.
pub async fn reload(config: &Config, gateway: &Gateway, tls: &watch::Sender<Arc<ServerConfig>>) {
    tracing::info!("SIGHUP: reloading certificate, users and keys");
    match crate::tls::server_config(&config.tls) {
        Ok(new) => {
            tls.send_replace(new);
            tracing::info!(event = "reload.tls", "certificate reloaded");
        }
        Err(e) => tracing::error!(error = %e, "certificate reload failed; keeping the current one"),
    }
    match gateway.auth().reload_users() {
        Ok(n) => tracing::info!(event = "reload.users", users = n, "users reloaded"),
        Err(e) => tracing::error!(error = %e, "users reload failed; keeping the current users"),
    }
    match gateway.auth().rotate_if_due().await {
        Ok(_) => tracing::info!(event = "reload.keys", "signing keys reloaded"),
        Err(e) => tracing::error!(error = %e, "key reload failed; keeping the current keys"),
    }
}
