//! Readiness: each dependency checked by name, with a timeout and its
//! duration, as healthy, degraded or unhealthy.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::gateway::Gateway;
use crate::session::SessionStore;

/// Time allowed for each check.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The state of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Working.
    Healthy,
    /// Working with reduced function.
    Degraded,
    /// Not working.
    Unhealthy,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Healthy => "healthy",
            Status::Degraded => "degraded",
            Status::Unhealthy => "unhealthy",
        }
    }
}

/// One named check's result.
#[derive(Debug, Clone)]
pub struct Check {
    /// Its name.
    pub name: &'static str,
    /// Its state.
    pub status: Status,
    /// How long it took.
    pub duration: Duration,
    /// Why it is not healthy.
    pub detail: Option<String>,
}

/// Every check.
#[derive(Debug, Clone)]
pub struct Report(pub Vec<Check>);

impl Report {
    /// Ready unless a check is unhealthy.
    pub fn ok(&self) -> bool {
        self.0.iter().all(|c| c.status != Status::Unhealthy)
    }

    /// The JSON body of `/health/ready`.
    pub fn to_json(&self) -> serde_json::Value {
        let overall = self
            .0
            .iter()
            .map(|c| c.status)
            .max_by_key(|s| *s as u8)
            .unwrap_or(Status::Healthy);
        let checks: Vec<_> = self
            .0
            .iter()
            .map(|c| {
                serde_json::json!({
                    "name": c.name, "status": c.status.as_str(),
                    "duration_ms": c.duration.as_secs_f64() * 1000.0, "detail": c.detail,
                })
            })
            .collect();
        serde_json::json!({ "status": overall.as_str(), "checks": checks })
    }
}

/// Runs every readiness check.
pub async fn ready(gateway: &Gateway) -> Report {
    let auth = gateway.auth();
    let store = check("store", async {
        auth.sessions()
            .store()
            .ping()
            .await
            .map_err(|e| e.to_string())
    })
    .await;
    let keys = check("signing_key", async {
        let ring = auth.ring();
        ring.active()
            .sign(b"health")
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;
    Report(vec![store, keys])
}

async fn check(name: &'static str, f: impl Future<Output = Result<(), String>>) -> Check {
    let started = Instant::now();
    let (status, detail) = match tokio::time::timeout(CHECK_TIMEOUT, f).await {
        Ok(Ok(())) => (Status::Healthy, None),
        Ok(Err(e)) => (Status::Unhealthy, Some(e)),
        Err(_) => (Status::Unhealthy, Some("timed out".into())),
    };
    Check {
        name,
        status,
        duration: started.elapsed(),
        detail,
    }
}
