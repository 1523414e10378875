//! SIGHUP: reload the routes (from the configuration file), the TLS
//! certificate, the users file and the signing keys. Whatever fails to load
//! is logged and the last good value kept; settings that cannot change in a
//! running process are named in a warning instead of being ignored.

mod changes;

use std::path::PathBuf;
use std::sync::Arc;

use rustls::ServerConfig;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::{self, Config};
use crate::gateway::Gateway;

/// Where the running configuration came from, so SIGHUP can read it again.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    /// `config::load` of this file and the environment (the environment
    /// alone when `None`).
    Load(Option<PathBuf>),
    /// Built in code (the demo): only certificate, users and keys reload.
    Fixed,
}

/// What a reload works on.
struct Reloader {
    config: Arc<Config>,
    source: ConfigSource,
    /// The merged settings at start, to tell which changed since.
    started_with: Option<serde_json::Value>,
    gateway: Arc<Gateway>,
    tls: watch::Sender<Arc<ServerConfig>>,
}

/// Installs the SIGHUP handler now (so the signal never kills the process)
/// and reloads on every signal until `shutdown`.
pub fn spawn(
    config: Arc<Config>,
    source: ConfigSource,
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
    let started_with = match &source {
        ConfigSource::Load(file) => changes::settings(file.as_deref()).ok(),
        ConfigSource::Fixed => None,
    };
    let reloader = Reloader {
        config,
        source,
        started_with,
        gateway,
        tls,
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                Some(()) = hup.recv() => reloader.reload().await,
                _ = shutdown.cancelled() => return,
            }
        }
    });
}

impl Reloader {
    /// Reloads everything that can change without a restart.
    async fn reload(&self) {
        tracing::info!("SIGHUP: reloading routes, certificate, users and keys");
        self.reload_routes();
        match crate::tls::server_config(&self.config.tls) {
            Ok(new) => {
                self.tls.send_replace(new);
                if let Ok(not_after) = crate::tls::expiry::leaf_not_after(&self.config.tls.cert) {
                    self.gateway.metrics().set_certificate_not_after(not_after);
                }
                tracing::info!(event = "reload.tls", "certificate reloaded");
            }
            Err(e) => {
                tracing::error!(event = "reload.failed", part = "tls", error = %e, "certificate reload failed; keeping the current one")
            }
        }
        match self.gateway.auth().reload_users() {
            Ok(n) => tracing::info!(event = "reload.users", users = n, "users reloaded"),
            Err(e) => {
                tracing::error!(event = "reload.failed", part = "users", error = %e, "users reload failed; keeping the current users")
            }
        }
        match self.gateway.auth().rotate_if_due().await {
            Ok(_) => tracing::info!(event = "reload.keys", "signing keys reloaded"),
            Err(e) => {
                tracing::error!(event = "reload.failed", part = "keys", error = %e, "key reload failed; keeping the current keys")
            }
        }
    }

    /// Reads the configuration again; swaps in its routes when it is valid
    /// and names the other sections that changed (they need a restart).
    fn reload_routes(&self) {
        let ConfigSource::Load(file) = &self.source else {
            return;
        };
        let new = match config::load(file.as_deref()) {
            Ok(new) => new,
            Err(errs) => {
                let keys: Vec<_> = errs.0.iter().map(|e| e.key.as_str()).collect();
                tracing::error!(
                    event = "reload.failed",
                    part = "config",
                    keys = %keys.join(", "),
                    error = %errs.to_string().replace('\n', "; "),
                    "configuration reload failed; keeping the current routes"
                );
                return;
            }
        };
        let count = new.routes.len();
        self.gateway.replace_routes(new.routes);
        tracing::info!(event = "reload.routes", routes = count, "routes reloaded");
        let (Some(before), Ok(now)) = (&self.started_with, changes::settings(file.as_deref()))
        else {
            return;
        };
        let changed = changes::changed_sections(before, &now);
        if !changed.is_empty() {
            tracing::warn!(
                event = "reload.restart_needed",
                sections = %changed.join(", "),
                "restart needed for [{}]: these settings changed but only take effect at start",
                changed.join("], [")
            );
        }
    }
}
