//! Scheduled key rotation: a background task checks the key directory,
//! rotates the active key when it is older than `auth.key_rotation_days`,
//! prunes retired keys past their grace period, and publishes the new ring
//! (to Redis first, with the Redis store, so peers can verify its tokens).
//! Rotation state lives in the key directory, so it survives restarts.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::keys::{KeyDir, KeyError};
use super::service::{AuthService, grace_secs};

/// How often the schedule is checked.
pub const CHECK_EVERY: Duration = Duration::from_secs(300);

impl AuthService {
    /// Rotates if due, prunes expired keys and reloads the ring. Key
    /// generation runs off the async runtime.
    pub async fn rotate_if_due(&self) -> Result<bool, KeyError> {
        let dir = self.cfg.key_dir.clone();
        let bits = self.cfg.key_bits;
        let now = self.clock.unix();
        let grace = grace_secs(&self.cfg);
        let every = self.cfg.key_rotation.as_secs();
        let task = tokio::task::spawn_blocking(move || -> Result<_, KeyError> {
            let dir = KeyDir::open(&dir)?;
            let rotated = if dir.rotation_due(now, every)? {
                Some(dir.rotate(bits, now)?.kid)
            } else {
                None
            };
            dir.prune(now, grace)?;
            Ok((rotated, dir.ring(now, grace)?))
        });
        let (rotated, ring) = task.await.map_err(|e| KeyError::Io {
            path: self.cfg.key_dir.clone(),
            source: std::io::Error::other(e.to_string()),
        })??;
        // Peers must be able to find a new key before any token names it.
        if let Some(shared) = &self.shared
            && let Err(e) = shared.publish(&ring).await
        {
            tracing::warn!(error = %e, "publishing the public keys failed; retrying soon");
        }
        self.keys.send_replace(Arc::new(ring));
        if let Some(kid) = &rotated {
            tracing::info!(event = "auth.key.rotated", kid = %kid, "signing key rotated");
        }
        Ok(rotated.is_some())
    }
}

/// Runs the rotation schedule until `shutdown`.
pub fn spawn(auth: Arc<AuthService>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(e) = auth.rotate_if_due().await {
                        tracing::error!(error = %e, "key rotation check failed; keeping the current keys");
                    }
                }
                _ = shutdown.cancelled() => return,
            }
        }
    });
}
